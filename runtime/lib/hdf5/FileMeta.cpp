//===- FileMeta.cpp - What a data file holds, read and checked ------------===//

#include "hdf5/FileMeta.h"

#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/Text.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace s2s::rt::hdf5 {

namespace {

/// How FieldReader reads the file itself (FileMeta::rawFloat32, deflate) or
/// why it leaves it to HDF5 (hdf5Why): one look at the type, layout,
/// filters and user block.
void decideReads(FileMeta &m, hid_t f, hid_t ds, hid_t type, hid_t dcpl,
                 H5D_layout_t layout) {
  hsize_t userblock = 0;
  Hid fcpl(H5Fget_create_plist(f), H5Pclose);
  const bool described = dcpl >= 0 && fcpl.valid() &&
                         H5Pget_userblock(fcpl.get(), &userblock) >= 0;
  m.userblock = int64_t(userblock);
  std::vector<H5Z_filter_t> filters;
  for (int i = 0, n = described ? H5Pget_nfilters(dcpl) : 0; i < n; ++i) {
    unsigned flags = 0, config = 0;
    size_t nelem = 0;
    char name[64];
    filters.push_back(H5Pget_filter2(dcpl, unsigned(i), &flags, &nelem, nullptr,
                                     sizeof name, name, &config));
  }
  const std::vector<H5Z_filter_t> deflate = {H5Z_FILTER_DEFLATE},
                                  shuffleDeflate = {H5Z_FILTER_SHUFFLE,
                                                    H5Z_FILTER_DEFLATE};
  if (m.typeName != "float32") {
    m.hdf5Why = m.typeName + " values";
  } else if (H5Tequal(type, H5T_NATIVE_FLOAT) <= 0) {
    m.hdf5Why = "float32 values in the other byte order";
  } else if (!described) {
    m.hdf5Why = "a layout HDF5 does not describe";
  } else if (H5Pget_external_count(dcpl) > 0) {
    m.hdf5Why = "values in external files";
  } else if (layout == H5D_CONTIGUOUS) {
    // H5Dget_offset counts a user block: no special case here.
    const haddr_t a = H5Dget_offset(ds);
    if (a == HADDR_UNDEF) {
      m.hdf5Why = "no values written";
    } else {
      m.address = int64_t(a);
      m.rawFloat32 = true;
    }
  } else if (layout != H5D_CHUNKED) {
    m.hdf5Why = "a compact or virtual layout";
  } else if (m.chunk.size() != 4) {
    m.hdf5Why = "chunk dimensions HDF5 does not describe";
  } else if (m.chunk[2] != m.nlat || m.chunk[3] != m.nlon) {
    m.hdf5Why = "chunks [" + std::to_string(m.chunk[0]) + ", " +
                std::to_string(m.chunk[1]) + ", " + std::to_string(m.chunk[2]) +
                ", " + std::to_string(m.chunk[3]) +
                "] that cut the lat-lon planes";
  } else if (userblock > 0) {
    // HDF5 1.10's chunk addresses do not count a user block (later
    // releases changed that): rather than trust either, HDF5 reads.
    m.hdf5Why = "a user block before chunked values";
  } else if (filters.empty()) {
    m.rawFloat32 = true;
  } else if (filters != deflate && filters != shuffleDeflate) {
    m.hdf5Why = "filters other than deflate and shuffle";
  } else if (const int64_t bytes = m.chunk[0] * m.chunk[1] * m.chunk[2] *
                                   m.chunk[3] * int64_t(sizeof(float));
             bytes > FileMeta::kMaxInflatedChunk) {
    // Each reader thread keeps the chunk it inflated.
    m.hdf5Why = "deflated chunks of " + std::to_string(bytes >> 20) +
                " MiB (over " +
                std::to_string(FileMeta::kMaxInflatedChunk >> 20) +
                " MiB, which the loader's threads would each keep)";
  } else {
    m.deflate = true;
    m.shuffleFilter = filters == shuffleDeflate ? 0 : -1;
    m.deflateFilter = filters == shuffleDeflate ? 1 : 0;
  }
}

/// /time: int64 seconds since 1970, one per sample, increasing.
void readTimes(FileMeta &m, hid_t f, const std::string &field) {
  const std::string &path = m.path;
  if (!linkExists(f, "time", path))
    throw Error("file " + inQuotes(path) +
                " has no dataset 'time'; it must hold int64 seconds since "
                "1970-01-01 UTC, one per sample");
  Hid t(H5Dopen2(f, "time", H5P_DEFAULT), H5Dclose);
  if (!t.valid())
    readFailure(path, "dataset 'time'");
  Hid tt(H5Dget_type(t.get()), H5Tclose);
  if (H5Tget_class(tt.get()) != H5T_INTEGER)
    throw Error("file " + inQuotes(path) + ": dataset 'time' holds " +
                typeName(tt.get()) +
                " values; expected int64 seconds since 1970-01-01 UTC");
  const auto td = extent(t.get());
  if (td.size() != 1 || int64_t(td[0]) != m.nt)
    throw Error("file " + inQuotes(path) + ": dataset 'time' has " +
                (td.size() == 1 ? std::to_string(td[0]) + " entries"
                                : "rank " + std::to_string(td.size())) +
                " but '" + field + "' has " + std::to_string(m.nt) +
                " samples; it needs one time per sample");
  m.times.resize(size_t(m.nt));
  if (H5Dread(t.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
              m.times.data()) < 0)
    readFailure(path, "dataset 'time'");
  for (size_t i = 1; i < m.times.size(); ++i)
    if (m.times[i] <= m.times[i - 1])
      throw Error("file " + inQuotes(path) +
                  ": /time is not increasing at index " + std::to_string(i) +
                  " (" + formatTime(m.times[i]) + " after " +
                  formatTime(m.times[i - 1]) +
                  "); samples must be in time order without repeats");
}

std::string gridText(const FileMeta &m) {
  return std::to_string(m.nlat) + "x" + std::to_string(m.nlon);
}

bool sameCoords(const std::vector<double> &a, const std::vector<double> &b) {
  if (a.empty() || b.empty())
    return true;
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > 1e-6)
      return false;
  return true;
}

} // namespace

FileMeta readMeta(const std::string &path, const std::string &field) {
  FileMeta m;
  m.path = path;
  Hid file = openFile(path, "data");
  const hid_t f = file.get();

  if (!linkExists(f, field, path)) {
    if (linkExists(f, "mean", path) && linkExists(f, "std", path)) {
      m.isStats = true;
      return m;
    }
    const auto names = rootNames(f, path);
    throw Error("file " + inQuotes(path) + " has no dataset '" + field + "'" +
                (names.empty() ? std::string(" (it is empty)")
                               : " (it holds: " + join(names) + ")") +
                didYouMean(field, names) +
                "; name the right one in the data section: hdf5(\"...\", "
                "field = \"...\")");
  }
  const std::string fieldWhere =
      "file " + inQuotes(path) + ", dataset '" + field + "'";
  Hid ds(H5Dopen2(f, field.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    readFailure(path, "dataset '" + field + "'");
  Hid type(H5Dget_type(ds.get()), H5Tclose);
  if (!type.valid())
    readFailure(path, "the type of dataset '" + field + "'");
  m.typeName = typeName(type.get());
  if (H5Tget_class(type.get()) != H5T_FLOAT)
    throw Error(fieldWhere + " holds " + m.typeName +
                " values; expected floating point (float32 or float64)");
  const auto d = extent(ds.get());
  if (d.size() != 4)
    throw Error(fieldWhere + " has rank " + std::to_string(d.size()) +
                "; expected 4 dimensions [time, channel, lat, lon]");
  m.nt = int64_t(d[0]);
  m.nc = int64_t(d[1]);
  m.nlat = int64_t(d[2]);
  m.nlon = int64_t(d[3]);
  if (m.nt == 0)
    throw Error(fieldWhere + " has no samples (0 time steps); drop the file "
                             "or fill it");
  if (m.nc == 0 || m.nlat == 0 || m.nlon == 0)
    throw Error(fieldWhere + " has an empty shape [" + std::to_string(m.nt) +
                ", " + std::to_string(m.nc) + ", " + std::to_string(m.nlat) +
                ", " + std::to_string(m.nlon) + "]");

  Hid dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  const H5D_layout_t layout =
      dcpl.valid() ? H5Pget_layout(dcpl.get()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_CHUNKED) {
    hsize_t c[4] = {0, 0, 0, 0};
    if (H5Pget_chunk(dcpl.get(), 4, c) == 4)
      m.chunk = {int64_t(c[0]), int64_t(c[1]), int64_t(c[2]), int64_t(c[3])};
  }
  decideReads(m, f, ds.get(), type.get(), dcpl.get(), layout);
  H5Eclear2(H5E_DEFAULT);

  auto chans = readStringsAttr(ds.get(), "channels", fieldWhere);
  if (!chans)
    throw Error(fieldWhere +
                " has no \"channels\" attribute; it must list the channel "
                "names as strings, one per channel (s2s-data synth and "
                "import write it)");
  if (int64_t(chans->size()) != m.nc)
    throw Error(fieldWhere + " has " + std::to_string(m.nc) +
                " channels but its \"channels\" attribute names " +
                std::to_string(chans->size()) + " (" + join(*chans) + ")");
  m.channels = std::move(*chans);
  for (size_t i = 0; i < m.channels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (m.channels[i] == m.channels[j])
        throw Error(fieldWhere + " names channel '" + m.channels[i] +
                    "' twice in its \"channels\" attribute");

  readTimes(m, f, field);

  // /lat, /lon (optional)
  auto coord = [&](const char *name, int64_t n, std::vector<double> &out) {
    auto v = readDoubles(f, name, path);
    if (!v)
      return;
    if (int64_t(v->size()) != n)
      throw Error("file " + inQuotes(path) + ": dataset '" + name + "' has " +
                  std::to_string(v->size()) + " entries but '" + field +
                  "' has " + std::to_string(n) + " " +
                  (std::string(name) == "lat" ? "latitudes" : "longitudes"));
    out = std::move(*v);
  };
  coord("lat", m.nlat, m.lat);
  coord("lon", m.nlon, m.lon);
  return m;
}

std::vector<FileMeta> scanFiles(const std::string &pattern,
                                const std::string &field) {
  silenceHdf5();
  if (pattern.empty())
    throw Error("the data section's source pattern is empty; give the files, "
                "e.g. hdf5(\"data/*.h5\")");
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> paths;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      paths.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (rc == GLOB_NOMATCH || (rc == 0 && paths.empty())) {
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    throw Error("no files match the data section's source pattern " +
                inQuotes(pattern) + " (relative to the working directory " +
                inQuotes(ec ? std::string("?") : cwd.string()) +
                "); check the path, or make data with s2s-data synth");
  }
  if (rc != 0)
    throw Error("cannot list the files of the data section's source pattern " +
                inQuotes(pattern) + ": " +
                (rc == GLOB_ABORTED ? "a directory could not be read"
                                    : "out of memory"));

  std::vector<FileMeta> files;
  size_t skipped = 0;
  for (const auto &p : paths) {
    FileMeta m = readMeta(p, field);
    if (m.isStats) {
      ++skipped;
      continue;
    }
    files.push_back(std::move(m));
  }
  if (files.empty())
    throw Error("the " + std::to_string(skipped) + " file(s) matching " +
                inQuotes(pattern) +
                " are stats files (/mean, /std) without a '" + field +
                "' dataset; point the source pattern at the data files");

  std::stable_sort(files.begin(), files.end(),
                   [](const FileMeta &a, const FileMeta &b) {
                     return a.times.front() < b.times.front();
                   });
  const FileMeta &first = files.front();
  for (size_t i = 1; i < files.size(); ++i) {
    const FileMeta &a = files[i - 1], &b = files[i];
    if (b.nlat != first.nlat || b.nlon != first.nlon)
      throw Error("files " + inQuotes(first.path) + " and " + inQuotes(b.path) +
                  " have different grids (" + gridText(first) + " vs " +
                  gridText(b) +
                  "); every file of a data set needs the same grid");
    if (b.channels != first.channels)
      throw Error("files " + inQuotes(first.path) + " and " + inQuotes(b.path) +
                  " have different channels (" + join(first.channels) + " vs " +
                  join(b.channels) +
                  "); every file of a data set needs the same channels in "
                  "the same order");
    if (!sameCoords(first.lat, b.lat))
      throw Error("files " + inQuotes(first.path) + " and " + inQuotes(b.path) +
                  " have different latitudes (/lat); every file of a data "
                  "set needs the same grid");
    if (!sameCoords(first.lon, b.lon))
      throw Error("files " + inQuotes(first.path) + " and " + inQuotes(b.path) +
                  " have different longitudes (/lon); every file of a data "
                  "set needs the same grid");
    if (b.times.front() <= a.times.back())
      throw Error("files " + inQuotes(a.path) + " and " + inQuotes(b.path) +
                  " overlap in time: " + inQuotes(a.path) + " ends at " +
                  formatTime(a.times.back()) + " but " + inQuotes(b.path) +
                  " starts at " + formatTime(b.times.front()) +
                  "; times must increase across files");
  }
  return files;
}

} // namespace s2s::rt::hdf5
