//===- Data.h - Gridded time series from HDF5 files -------------*- C++ -*-===//
//
// The file layout (what `s2s-data synth` writes and `s2s-data import` will
// convert ERA5 NetCDF into), one or many files matched by a glob pattern,
// e.g. one per year:
//
//   /fields    float32 [time, channel, lat, lon]  (dataset name configurable)
//     attribute "channels": variable-length strings, one per channel
//   /time      int64 [time]  seconds since 1970-01-01 UTC, increasing
//   /lat       float64 [lat] degrees north (optional; default: equally spaced
//              from +90 to -90, poles included when lat is odd, cell centres
//              otherwise)
//   /lon       float64 [lon] degrees east (optional; default 0, 360/lon, ...)
//
// Files are ordered by their first time; times must increase across files.
//
// A stats file (HDF5) holds /mean and /std float64 [channel] with the same
// "channels" attribute on each; z-score normalisation divides by std after
// subtracting the mean, per channel, selected by name.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_H
#define S2S_RUNTIME_DATA_H

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt {

/// An inclusive range of calendar years (UTC) of valid times.
struct YearRange {
  int first = 0, last = -1;
  bool empty() const { return last < first; }
  bool contains(int year) const { return year >= first && year <= last; }
};

struct DataConfig {
  std::string name;                   ///< the spec's data set name
  std::string pattern;                ///< glob, relative to the working dir
  std::string field = "fields";
  std::vector<std::string> channels;  ///< names, in model order
  std::vector<int64_t> grid;          ///< [lat, lon] or empty (take the files')
  int64_t stepSeconds = 0;            ///< 0: the files' own spacing
  std::string normalize;              ///< "" (none), "zscore", "minmax"
  std::string stats;                  ///< stats file for normalize
  YearRange train, valid, test;       ///< splits; an empty train = all years
  int64_t history = 1;
  /// The spec's `memory = ...` arguments as written (in_memory: shared,
  /// lazy, prefetch; stream: buffer, prefetch, refresh).
  std::map<std::string, std::string> memory;
};

enum class Split { Train, Valid, Test };
const char *splitName(Split s);

/// One split of a data set, loaded eagerly into memory, as windows of
/// `window` consecutive samples `step` apart (no window crosses a gap in
/// time or a split boundary).
class Dataset {
public:
  /// Opens the files, checks them (the same grid and channels in every
  /// file, channels found by name, grid equal to config.grid when given,
  /// increasing times, finite values) and loads the split. Throws
  /// s2s::rt::Error naming the file, channel or index on any problem.
  static Dataset open(const DataConfig &config, Split split, int64_t window);

  int64_t size() const;                 ///< number of windows
  int64_t window() const { return window_; }
  int64_t channels() const;
  int64_t lat() const;
  int64_t lon() const;
  const std::vector<std::string> &channelNames() const { return names_; }
  const std::vector<std::string> &files() const { return files_; }

  /// Windows `indices` stacked: [b, window, channel, lat, lon] float32,
  /// normalised.
  torch::Tensor batch(const std::vector<int64_t> &indices) const;
  /// Valid time of the first frame of each window, [b] int64.
  torch::Tensor times(const std::vector<int64_t> &indices) const;

  torch::Tensor latitude() const { return lat_; }   ///< [lat] float64 degrees
  torch::Tensor longitude() const { return lon_; }  ///< [lon] float64 degrees
  /// Per-channel normalisation, [channel] float64 (0 and 1 when none).
  torch::Tensor mean() const { return mean_; }
  torch::Tensor stddev() const { return std_; }

private:
  int64_t window_ = 1;
  std::vector<std::string> files_, names_;
  torch::Tensor samples_;               ///< [time, channel, lat, lon]
  torch::Tensor sampleTimes_;           ///< [time] int64
  std::vector<int64_t> starts_;         ///< first sample index of each window
  int64_t stride_ = 1;                  ///< samples between window frames
  torch::Tensor lat_, lon_, mean_, std_;
};

/// Options of the synthetic data set (s2s-data synth).
struct SynthConfig {
  std::string dir;                 ///< output folder, one file per year
  std::vector<std::string> channels = {"u", "v", "t"};
  int64_t lat = 32, lon = 64;
  int firstYear = 2000, lastYear = 2009;
  int64_t stepsPerYear = 64;       ///< samples per year file
  int64_t stepSeconds = 6 * 3600;
  uint64_t seed = 0;
};

/// Writes `dir/<year>.h5` for each year and `dir/stats.h5` (stats over the
/// first year..last year - 2). Fields are advected by a known, smooth,
/// time-constant velocity field and diffused on the periodic lat-lon grid,
/// starting from smooth random fields; deterministic from the seed.
void synthesize(const SynthConfig &config);

/// Streams over the files matched by `pattern` in years `years` and
/// writes per-channel mean/std to `out` (HDF5, the stats layout above).
/// An empty `years` means all years. Files matched by the pattern that are
/// stats files themselves (/mean and /std, no `field`) are skipped, here
/// and in Dataset::open, so `dir/*.h5` works beside `dir/stats.h5`. The
/// stats file also holds /min and /max (for "minmax"); the statistics are
/// unweighted over samples, latitudes and longitudes (population std).
void computeStats(const std::string &pattern, const std::string &field,
                  const YearRange &years, const std::string &out);

/// A readable summary of one file (s2s-data inspect): its layout, channels,
/// time range and spacing, chunking and per-channel min/mean/max/std
/// (streamed one sample at a time; non-finite values are counted, not
/// thrown); for a stats file, its per-channel entries.
std::string inspectFile(const std::string &path,
                        const std::string &field = "fields");

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_H
