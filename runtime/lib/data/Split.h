//===- Split.h - One split of a data set, planned from metadata -*- C++ -*-===//
//
// What every way of holding the data (data/Dataset.h, data/Loader.h) starts
// from: the files of the data section scanned and checked (hdf5/FileMeta.h),
// the channels found by name, the split's samples and window spacing
// planned, the normalisation read from the stats file; and the eager read
// of a whole split. Every problem throws s2s::rt::Error naming the file,
// channel or index.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_SPLIT_H
#define S2S_RUNTIME_DATA_SPLIT_H

#include "hdf5/FieldReader.h"
#include "s2s/runtime/Config.h"

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

enum class Split { Train, Valid, Test };
const char *splitName(Split s);

namespace data_detail {

using hdf5::FileMeta;
using hdf5::Normalization;

/// One split of a data set, planned from the files' metadata (no field
/// values read): the samples FieldReader reads, plus what windows and
/// messages need. Dataset::open and the BatchLoader modes share it.
struct SplitPlan : hdf5::SampleRuns {
  std::string setName;            ///< "data set 'x'" or "the data set"
  std::string splitText;          ///< "the train split (years ...)"
  std::vector<std::string> names; ///< channels, model order
  int64_t step = 0, stride = 1;   ///< window spacing, in s and samples
  std::vector<int64_t> times;     ///< [total] valid times

  int64_t channels() const { return int64_t(names.size()); }
};

/// Checks the config's window, grid and step, scans the files, finds the
/// channels by name and the split's samples; throws Dataset's errors (no
/// samples in the split, unknown channel, ...).
SplitPlan planSplit(const DataConfig &cfg, Split split, int64_t window);

/// Reads the whole split into `out` ([total, C, lat, lon]), checking every
/// value is finite (Dataset's eager load) and, given `norm`, normalising
/// each block as it arrives; FieldReader::readAll with loadThreads()
/// threads. `bytes` counts the field bytes read.
void readSplit(const SplitPlan &plan, const std::string &field, float *out,
               const Normalization *norm = nullptr,
               std::atomic<int64_t> *bytes = nullptr);

/// An uninitialised float32 tensor for a whole split, in its own mapping
/// with transparent huge pages requested: filling gigabytes page-faults
/// 512x less often than on 4 KiB pages (the eager load's main cost on a VM,
/// measured with bench/data).
torch::Tensor emptySplitTensor(torch::IntArrayRef sizes);

/// Per-channel normalisation from the stats file (none without one).
Normalization loadNormalization(const DataConfig &cfg,
                                const std::vector<std::string> &names);
/// The first sample of each window of `window` frames `step` apart inside
/// the split (no gap in time); throws Dataset's error when there is none.
std::vector<int64_t> windowStarts(const SplitPlan &plan, int64_t window);
/// The grid's coordinates (the files' /lat, /lon or the defaults).
std::vector<double> latitudes(const SplitPlan &plan);
std::vector<double> longitudes(const SplitPlan &plan);

} // namespace data_detail
} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_SPLIT_H
