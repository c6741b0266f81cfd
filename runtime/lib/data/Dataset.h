//===- Dataset.h - One split of a data set, read into memory ----*- C++ -*-===//
//
// The eager split on its own (bench/quickstart's hand-written baseline and
// the tests use it; the training program's loaders give the same batches,
// bit for bit, in every memory mode).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_DATASET_H
#define S2S_RUNTIME_DATA_DATASET_H

#include "data/Split.h"
#include "s2s/runtime/Config.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

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

  int64_t size() const; ///< number of windows
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

  torch::Tensor latitude() const { return lat_; }  ///< [lat] float64 degrees
  torch::Tensor longitude() const { return lon_; } ///< [lon] float64 degrees
  /// Per-channel normalisation, [channel] float64 (0 and 1 when none).
  torch::Tensor mean() const { return mean_; }
  torch::Tensor stddev() const { return std_; }

private:
  int64_t window_ = 1;
  std::vector<std::string> files_, names_;
  torch::Tensor samples_;       ///< [time, channel, lat, lon]
  torch::Tensor sampleTimes_;   ///< [time] int64
  std::vector<int64_t> starts_; ///< first sample index of each window
  int64_t stride_ = 1;          ///< samples between window frames
  torch::Tensor lat_, lon_, mean_, std_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_DATASET_H
