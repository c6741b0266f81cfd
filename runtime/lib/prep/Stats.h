//===- Stats.h - Per-channel statistics and file summaries ------*- C++ -*-===//
//
// s2s-data stats and inspect. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_STATS_H
#define S2S_RUNTIME_PREP_STATS_H

#include "hdf5/FileMeta.h"
#include "s2s/runtime/Config.h"

#include <string>
#include <vector>

namespace s2s::rt {

/// Streams over the files matched by `pattern` in years `years` and
/// writes per-channel mean/std to `out` (HDF5, the stats layout above).
/// An empty `years` means all years. Files matched by the pattern that are
/// stats files themselves (/mean and /std, no `field`) are skipped, here
/// and in the loader, so `dir/*.h5` works beside `dir/stats.h5`. The
/// stats file also holds /min and /max (for "minmax"); the statistics are
/// unweighted over samples, latitudes and longitudes (population std).
void computeStats(const std::string &pattern, const std::string &field,
                  const YearRange &years, const std::string &out);

/// Writes `out` (the Config.h stats layout plus /min and /max) over the
/// samples of `files` whose year is in `years` (empty: all), streaming one
/// time slice at a time; `source` names the files in messages and in the
/// file's "source" attribute.
void computeStatsFiles(const std::vector<hdf5::FileMeta> &files,
                       const std::string &field, const YearRange &years,
                       const std::string &out, const std::string &source);

/// A readable summary of one file (s2s-data inspect): its layout, channels,
/// time range and spacing, chunking and per-channel min/mean/max/std
/// (streamed one sample at a time; non-finite values are counted, not
/// thrown); for a stats file, its per-channel entries.
std::string inspectFile(const std::string &path,
                        const std::string &field = "fields");

} // namespace s2s::rt

#endif // S2S_RUNTIME_PREP_STATS_H
