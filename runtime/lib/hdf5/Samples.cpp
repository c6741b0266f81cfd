//===- Samples.cpp - Blocks of samples through HDF5, checked finite -------===//
//
// Built with -ftree-vectorize (runtime/CMakeLists.txt): the finiteness
// check runs over every value read.
//
//===----------------------------------------------------------------------===//

#include "hdf5/Samples.h"

#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/Text.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace s2s::rt::hdf5 {

void readSamples(const FileMeta &meta, hid_t dataset, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, float *out,
                 bool checkFinite) {
  if (n <= 0 || chans.empty())
    return;
  const int64_t plane = meta.nlat * meta.nlon;
  const auto k = int64_t(chans.size());

  // The file selection returns channels in increasing file order; map them
  // back to the order wanted.
  std::vector<int64_t> sorted(chans);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const auto ks = int64_t(sorted.size());
  std::vector<int64_t> slot(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j)
    slot[size_t(j)] =
        std::lower_bound(sorted.begin(), sorted.end(), chans[size_t(j)]) -
        sorted.begin();
  const bool direct = ks == k && std::is_sorted(chans.begin(), chans.end());

  Hid fspace(H5Dget_space(dataset), H5Sclose);
  if (!fspace.valid())
    readFailure(meta.path, "dataset space");

  // Blocks of whole time slices, about 32 MiB each.
  const int64_t sliceBytes = ks * plane * int64_t(sizeof(float));
  const int64_t block =
      std::max<int64_t>(1, std::min<int64_t>(n, (32 << 20) / sliceBytes));
  std::vector<float> tmp;
  if (!direct)
    tmp.resize(size_t(block * ks * plane));

  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t nb = std::min(block, n - b0);
    H5Sselect_none(fspace.get());
    // Runs of consecutive channels make one hyperslab each.
    for (int64_t s = 0; s < ks;) {
      int64_t e = s + 1;
      while (e < ks && sorted[size_t(e)] == sorted[size_t(e - 1)] + 1)
        ++e;
      const hsize_t start[4] = {hsize_t(t0 + b0), hsize_t(sorted[size_t(s)]), 0,
                                0};
      const hsize_t count[4] = {hsize_t(nb), hsize_t(e - s), hsize_t(meta.nlat),
                                hsize_t(meta.nlon)};
      if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_OR, start, nullptr,
                              count, nullptr) < 0)
        readFailure(meta.path, "a selection of dataset samples");
      s = e;
    }
    const hsize_t mdims[4] = {hsize_t(nb), hsize_t(ks), hsize_t(meta.nlat),
                              hsize_t(meta.nlon)};
    Hid mspace(H5Screate_simple(4, mdims, nullptr), H5Sclose);
    float *dst = direct ? out + b0 * k * plane : tmp.data();
    if (H5Dread(dataset, H5T_NATIVE_FLOAT, mspace.get(), fspace.get(),
                H5P_DEFAULT, dst) < 0)
      readFailure(meta.path, "samples " + std::to_string(t0 + b0) + ".." +
                                 std::to_string(t0 + b0 + nb - 1));
    if (!direct)
      for (int64_t t = 0; t < nb; ++t)
        for (int64_t j = 0; j < k; ++j)
          std::memcpy(out + ((b0 + t) * k + j) * plane,
                      tmp.data() + (t * ks + slot[size_t(j)]) * plane,
                      size_t(plane) * sizeof(float));
    if (checkFinite)
      hdf5::checkFinite(meta, t0 + b0, nb, chans, out + b0 * k * plane);
  }
}

static void checkFiniteExact(const FileMeta &meta, int64_t t0,
                             const std::vector<int64_t> &chans,
                             const float *data, int64_t from, int64_t to,
                             int64_t plane, int64_t k);

/// Exponent bits from which a float is absurd as data: |x| >= 2^99
/// (about 6.3e29) -- no physical quantity in any unit s2s sees is that
/// large, but fill values (NetCDF's default, 9.97e36) and garbage are.
/// NaN and infinity (all exponent bits set) are above it.
constexpr uint32_t kAbsurdExponent = uint32_t(127 + 99) << 23;

/// Whether any of n floats is NaN, infinite or absurdly large.
/// Built for AVX2 too where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static bool
anyAbsurd(const float *data, int64_t n) {
  uint32_t bad = 0;
  for (int64_t e = 0; e < n; ++e) {
    uint32_t bits;
    std::memcpy(&bits, data + e, sizeof bits);
    bad |= uint32_t((bits & 0x7f800000u) >= kAbsurdExponent);
  }
  return bad != 0;
}

void checkFinite(const FileMeta &meta, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, const float *data) {
  const int64_t plane = meta.nlat * meta.nlon;
  const auto k = int64_t(chans.size());
  const int64_t count = n * k * plane;
  // A branch-free pass first (a float is not finite exactly when its
  // exponent bits are all set; an integer OR the compiler vectorises); the
  // exact place only where it finds one.
  constexpr int64_t kBlock = 1 << 16;
  for (int64_t b = 0; b < count; b += kBlock) {
    const int64_t end = std::min(count, b + kBlock);
    if (anyAbsurd(data + b, end - b))
      checkFiniteExact(meta, t0, chans, data, b, end, plane, k);
  }
}

static void checkFiniteExact(const FileMeta &meta, int64_t t0,
                             const std::vector<int64_t> &chans,
                             const float *data, int64_t from, int64_t to,
                             int64_t plane, int64_t k) {
  for (int64_t e = from; e < to; ++e) {
    uint32_t bits;
    std::memcpy(&bits, data + e, sizeof bits);
    if ((bits & 0x7f800000u) < kAbsurdExponent)
      continue;
    const int64_t t = t0 + e / (k * plane);
    const int64_t c = chans[size_t((e / plane) % k)];
    const bool finite = std::isfinite(data[e]);
    const std::string what = std::isnan(data[e]) ? "NaN"
                             : !finite ? (data[e] > 0 ? "+Inf" : "-Inf")
                                       : "the value " + formatNumber(data[e]);
    throw Error("file " + inQuotes(meta.path) + ": channel '" +
                meta.channels[size_t(c)] + "' has " + what + " at time index " +
                std::to_string(t) + " (" + formatTime(meta.times[size_t(t)]) +
                ")" +
                (finite ? std::string(": no physical quantity is that large "
                                      "(|x| >= 2^99, 6.3e29); a fill value "
                                      "(NetCDF's default is 9.97e36) or "
                                      "garbage? ")
                        : std::string("; ")) +
                "fix or drop that sample");
  }
}

} // namespace s2s::rt::hdf5
