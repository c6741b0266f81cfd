//===- Split.cpp - One split of a data set, planned from metadata ---------===//
//
// planSplit globs the files, checks their layout against each other and
// against the spec's data section and plans the split's samples and
// windows; the eager read of a whole split and the normalisation from the
// stats file.
//
//===----------------------------------------------------------------------===//

#include "data/Split.h"

#include "data/Ring.h"
#include "data/ServerSource.h"
#include "hdf5/Hdf5.h"
#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/Grid.h"
#include "support/Text.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <set>

namespace s2s::rt {

const char *splitName(Split s) {
  switch (s) {
  case Split::Train:
    return "train";
  case Split::Valid:
    return "valid";
  case Split::Test:
    return "test";
  }
  return "?";
}

namespace data_detail {

namespace {

/// Where the samples come from, for messages.
std::string sourceText(const DataConfig &cfg) {
  if (!cfg.server.empty())
    return "data set '" + cfg.serverSet + "' on data server '" + cfg.server +
           "'";
  return "the files matching '" + cfg.pattern + "'";
}

/// The data section's values that need no file.
void checkConfig(const DataConfig &cfg, const std::string &setName,
                 int64_t window) {
  if (window < 1)
    throw Error("a window of " + std::to_string(window) +
                " frames was asked of " + setName + "; it must be at least 1");
  if (!cfg.grid.empty() && cfg.grid.size() != 2)
    throw Error("the data section's grid has " +
                std::to_string(cfg.grid.size()) +
                " sizes; it must be [lat, lon]");
  if (cfg.stepSeconds < 0)
    throw Error("the data section's step is negative (" +
                std::to_string(cfg.stepSeconds) + " s)");
}

/// The channels of the data section (all of the file's when it names
/// none), found by name in the first file; and the grid checked.
void selectChannels(const DataConfig &cfg, const FileMeta &f0,
                    SplitPlan &plan) {
  plan.names = cfg.channels.empty() ? f0.channels : cfg.channels;
  const std::vector<std::string> &names = plan.names;
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (names[i] == names[j])
        throw Error("the data section lists channel '" + names[i] +
                    "' twice; each channel once");
    auto it = std::find(f0.channels.begin(), f0.channels.end(), names[i]);
    if (it == f0.channels.end())
      throw Error("channel '" + names[i] + "' is not in file '" + f0.path +
                  "' (its channels: " + join(f0.channels) + ")" +
                  didYouMean(names[i], f0.channels) +
                  "; fix the data section's channels");
    plan.chans.push_back(it - f0.channels.begin());
  }
  if (cfg.grid.size() == 2 &&
      (cfg.grid[0] != f0.nlat || cfg.grid[1] != f0.nlon))
    throw Error(
        "file '" + f0.path + "' has grid " + std::to_string(f0.nlat) + "x" +
        std::to_string(f0.nlon) + " but the spec's data section says " +
        std::to_string(cfg.grid[0]) + "x" + std::to_string(cfg.grid[1]));
}

/// The window step (the data section's, else the files' spacing) and the
/// samples it spans.
void planStep(const DataConfig &cfg, const std::vector<int64_t> &all,
              SplitPlan &plan) {
  int64_t spacing = 0;
  for (size_t i = 1; i < all.size(); ++i) {
    const int64_t d = all[i] - all[i - 1];
    if (spacing == 0 || d < spacing)
      spacing = d;
  }
  if (spacing == 0) // a single sample
    spacing = cfg.stepSeconds > 0 ? cfg.stepSeconds : 1;
  const int64_t step = cfg.stepSeconds > 0 ? cfg.stepSeconds : spacing;
  if (step % spacing != 0)
    throw Error("the data section's step " + formatDuration(step) +
                " is not a multiple of the files' time spacing " +
                formatDuration(spacing) + " (" + sourceText(cfg) +
                "); use a multiple of " + formatDuration(spacing));
  plan.step = step;
  plan.stride = step / spacing;
}

/// The split's years: all of them for a train split the data section
/// leaves empty.
YearRange splitYears(const DataConfig &cfg, Split split,
                     const YearRange &avail) {
  YearRange years;
  switch (split) {
  case Split::Train:
    years = cfg.train.empty() ? YearRange{std::numeric_limits<int>::min(),
                                          std::numeric_limits<int>::max()}
                              : cfg.train;
    break;
  case Split::Valid:
    years = cfg.valid;
    break;
  case Split::Test:
    years = cfg.test;
    break;
  }
  if (years.empty())
    throw Error(std::string("the data section gives no ") + splitName(split) +
                " years; add them to its split, e.g. split = { ..., " +
                splitName(split) + ": " + std::to_string(avail.last) +
                " } (the data covers " + formatYears(avail.first, avail.last) +
                ")");
  return years;
}

/// Which samples of which file are in `years` (times increase across
/// files, so the split is one contiguous run), with their times.
void planParts(const std::vector<FileMeta> &files, const YearRange &years,
               SplitPlan &plan) {
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const auto &t = files[fi].times;
    int64_t b = -1, e = -1;
    for (int64_t i = 0; i < int64_t(t.size()); ++i)
      if (years.contains(yearOf(t[size_t(i)]))) {
        if (b < 0)
          b = i;
        e = i + 1;
      }
    if (b < 0)
      continue;
    plan.parts.push_back({fi, b, e - b, plan.total});
    plan.times.insert(plan.times.end(), t.begin() + b, t.begin() + e);
    plan.total += e - b;
  }
}

/// A year missing inside the split (a lost year file) is a hole the
/// windows would silently skip: say which.
void checkNoMissingYear(const DataConfig &cfg, const SplitPlan &plan) {
  std::set<int> present;
  for (int64_t t : plan.times)
    present.insert(yearOf(t));
  for (int y = *present.begin(); y <= *present.rbegin(); ++y)
    if (!present.count(y))
      throw Error(plan.splitText + " of " + plan.setName +
                  " has no samples in " + std::to_string(y) + ", between " +
                  std::to_string(*present.begin()) + " and " +
                  std::to_string(*present.rbegin()) + ": is the file for " +
                  std::to_string(y) + " missing from " + sourceText(cfg) +
                  "? Add it, or change the data section's split");
}

} // namespace

SplitPlan planSplit(const DataConfig &cfg, Split split, int64_t window) {
  std::lock_guard<std::recursive_mutex> lock(hdf5::hdf5Mutex());
  hdf5::silenceHdf5();
  SplitPlan plan;
  plan.setName = cfg.name.empty() ? std::string("the data set")
                                  : "data set '" + cfg.name + "'";
  checkConfig(cfg, plan.setName, window);
  std::vector<FileMeta> files;
  if (cfg.server.empty()) {
    files = hdf5::scanFiles(cfg.pattern, cfg.field);
  } else {
    ServerSource src = openServerSource(cfg, ringSplit(cfg, split));
    files.push_back(std::move(src.meta));
    plan.external = std::move(src.samples);
  }
  selectChannels(cfg, files.front(), plan);
  std::vector<int64_t> all;
  for (const auto &f : files)
    all.insert(all.end(), f.times.begin(), f.times.end());
  planStep(cfg, all, plan);
  const YearRange avail{yearOf(all.front()), yearOf(all.back())};
  const YearRange years = splitYears(cfg, split, avail);
  planParts(files, years, plan);
  plan.splitText =
      std::string("the ") + splitName(split) + " split" +
      (split == Split::Train && cfg.train.empty()
           ? std::string(" (all years)")
           : " (years " + formatYears(years.first, years.last) + ")");
  if (plan.total == 0)
    throw Error(plan.splitText + " of " + plan.setName +
                " has no samples: " + sourceText(cfg) +
                (cfg.server.empty() ? " cover " : " covers ") +
                formatYears(avail.first, avail.last) +
                "; change the data section's split");
  if (!ringSplit(cfg, split)) // a ring holds the newest samples, any years
    checkNoMissingYear(cfg, plan);
  plan.files = std::move(files);
  return plan;
}

Normalization loadNormalization(const DataConfig &cfg,
                                const std::vector<std::string> &names) {
  std::lock_guard<std::recursive_mutex> lock(hdf5::hdf5Mutex());
  Normalization n;
  std::vector<double> &a = n.a, &b = n.b;
  const size_t C = names.size();
  a.assign(C, 0.0);
  b.assign(C, 1.0);
  if (cfg.normalize == Normalizer::None)
    return n;
  n.apply = true;
  const bool zscore = cfg.normalize == Normalizer::Zscore;
  const std::string kind = name(cfg.normalize);
  if (cfg.stats.empty())
    throw Error("the data section normalises with " + kind +
                " but names no stats file; write normalize = " + kind +
                "(stats = \"stats.h5\") (make one with s2s-data stats)");
  hdf5::Hid file = hdf5::openFile(cfg.stats, "stats");
  const char *lo = zscore ? "mean" : "min";
  const char *hi = zscore ? "std" : "max";
  auto va = hdf5::readDoubles(file.get(), lo, cfg.stats);
  auto vb = hdf5::readDoubles(file.get(), hi, cfg.stats);
  if (!va || !vb)
    throw Error("stats file '" + cfg.stats + "' has no /" + (va ? hi : lo) +
                " dataset, which " + kind +
                " needs; recompute it with s2s-data stats");
  // The channels attribute of /mean (or /min), else of /std (or /max).
  const std::optional<std::vector<std::string>> chans =
      hdf5::statsChannels(file.get(), lo, hi, "stats file '" + cfg.stats + "'");
  if (!chans)
    throw Error("stats file '" + cfg.stats + "': /" + lo +
                " has no \"channels\" attribute naming its entries; "
                "recompute it with s2s-data stats");
  if (chans->size() != va->size() || chans->size() != vb->size())
    throw Error("stats file '" + cfg.stats + "': /" + lo + " and /" + hi +
                " have " + std::to_string(va->size()) + " and " +
                std::to_string(vb->size()) + " entries but " +
                std::to_string(chans->size()) +
                " channel names; recompute it with s2s-data stats");
  for (size_t c = 0; c < C; ++c) {
    auto it = std::find(chans->begin(), chans->end(), names[c]);
    if (it == chans->end())
      throw Error("stats file '" + cfg.stats + "' has no channel '" + names[c] +
                  "' (its channels: " + join(*chans) + ")" +
                  didYouMean(names[c], *chans) +
                  "; recompute it with s2s-data stats over data that has '" +
                  names[c] + "'");
    const size_t i = size_t(it - chans->begin());
    const double x = (*va)[i], y = (*vb)[i];
    if (zscore) {
      if (!std::isfinite(x) || !std::isfinite(y) || !(y > 0))
        throw Error("stats file '" + cfg.stats + "': channel '" + names[c] +
                    "' has mean " + formatNumber(x) + " and std " +
                    formatNumber(y) +
                    "; z-scoring needs a finite mean and a std > 0 (a "
                    "constant channel cannot be normalised)");
      // float32 data resolves about 1e-7 of its magnitude: a std below
      // 1e-6 |mean| (or 1e-20) only amplifies rounding noise.
      if (y < 1e-6 * std::fabs(x) || y < 1e-20)
        throw Error("stats file '" + cfg.stats + "': channel '" + names[c] +
                    "' has std " + formatNumber(y) + " with mean " +
                    formatNumber(x) +
                    ": too small to z-score float32 data (it needs std >= "
                    "1e-6 |mean| and >= 1e-20; dividing by it blows float "
                    "rounding up to huge values); recompute it with s2s-data "
                    "stats, or drop the channel if it is constant");
      a[c] = x;
      b[c] = y;
    } else {
      if (!std::isfinite(x) || !std::isfinite(y) || !(y > x))
        throw Error("stats file '" + cfg.stats + "': channel '" + names[c] +
                    "' has min " + formatNumber(x) + " and max " +
                    formatNumber(y) +
                    "; min-max scaling needs finite values with max > min");
      a[c] = x;
      b[c] = y - x;
    }
  }
  return n;
}

torch::Tensor emptySplitTensor(torch::IntArrayRef sizes) {
  int64_t n = 1;
  for (int64_t d : sizes)
    n *= d;
  const size_t bytes = size_t(n) * sizeof(float);
  if (bytes < (64u << 20))
    return torch::empty(sizes, torch::kFloat32);
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error("cannot allocate " + std::to_string(bytes >> 20) +
                " MiB for the data set in memory: " + std::strerror(errno) +
                "; use memory = in_memory(lazy = true) or stream(...)");
  madvise(p, bytes, MADV_HUGEPAGE); // a hint; ignored where THP is off
  return torch::from_blob(
      p, sizes, [bytes](void *q) { munmap(q, bytes); },
      torch::TensorOptions().dtype(torch::kFloat32));
}

void readSplit(const SplitPlan &plan, const std::string &field, float *out,
               const Normalization *norm, std::atomic<int64_t> *bytes) {
  hdf5::FieldReader reader(plan, field, norm, bytes);
  reader.readAll(out, hdf5::FieldReader::loadThreads());
}

std::vector<int64_t> windowStarts(const SplitPlan &plan, int64_t window) {
  // Windows: `window` frames exactly `step` apart, inside the split.
  const std::vector<int64_t> &times = plan.times;
  const int64_t stride = plan.stride, step = plan.step, total = plan.total;
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + (window - 1) * stride < total; ++s) {
    bool ok = true;
    for (int64_t k = 1; k < window && ok; ++k)
      ok = times[size_t(s + k * stride)] == times[size_t(s)] + k * step;
    if (ok)
      starts.push_back(s);
  }
  if (starts.empty())
    throw Error(plan.splitText + " of " + plan.setName + " has " +
                std::to_string(total) + " samples but no run of " +
                std::to_string(window) + " frames " + formatDuration(step) +
                " apart without a gap in time; shorten the rollout or give "
                "the split more years");
  return starts;
}

std::vector<double> latitudes(const SplitPlan &plan) {
  const FileMeta &f0 = plan.files.front();
  return f0.lat.empty() ? defaultLatitudes(f0.nlat) : f0.lat;
}

std::vector<double> longitudes(const SplitPlan &plan) {
  const FileMeta &f0 = plan.files.front();
  return f0.lon.empty() ? defaultLongitudes(f0.nlon) : f0.lon;
}

} // namespace data_detail
} // namespace s2s::rt
