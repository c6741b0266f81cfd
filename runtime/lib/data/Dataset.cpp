//===- Dataset.cpp - One split of a data set, read into memory ------------===//
//
// Dataset::open plans the split (data/Split.h) and loads it eagerly into a
// single float32 tensor: only the selected channels and the split's time
// range, normalised, every value checked finite.
//
//===----------------------------------------------------------------------===//

#include "data/Dataset.h"

#include "s2s/runtime/Error.h"

namespace s2s::rt {

using namespace data_detail;

Dataset Dataset::open(const DataConfig &cfg, Split split, int64_t window) {
  // Each step takes hdf5Mutex() itself; readSplit's threads need it free.
  const SplitPlan plan = planSplit(cfg, split, window);
  const int64_t C = plan.channels(), total = plan.total;

  Dataset d;
  d.window_ = window;
  d.stride_ = plan.stride;
  d.names_ = plan.names;
  for (const auto &f : plan.files)
    d.files_.push_back(f.path);
  d.samples_ = emptySplitTensor({total, C, plan.lat(), plan.lon()});
  readSplit(plan, cfg.field, d.samples_.data_ptr<float>());
  d.sampleTimes_ = torch::tensor(plan.times, torch::kInt64);

  // Normalise.
  const Normalization norm = loadNormalization(cfg, plan.names);
  d.mean_ = torch::tensor(norm.a, torch::kFloat64);
  d.std_ = torch::tensor(norm.b, torch::kFloat64);
  if (norm.apply) {
    auto shape = std::vector<int64_t>{1, C, 1, 1};
    d.samples_.sub_(d.mean_.to(torch::kFloat32).view(shape))
        .div_(d.std_.to(torch::kFloat32).view(shape));
  }

  d.starts_ = windowStarts(plan, window);
  d.lat_ = torch::tensor(latitudes(plan), torch::kFloat64);
  d.lon_ = torch::tensor(longitudes(plan), torch::kFloat64);
  return d;
}

int64_t Dataset::size() const { return int64_t(starts_.size()); }
int64_t Dataset::channels() const { return int64_t(names_.size()); }
int64_t Dataset::lat() const {
  return samples_.defined() ? samples_.size(2) : 0;
}
int64_t Dataset::lon() const {
  return samples_.defined() ? samples_.size(3) : 0;
}

static void checkIndices(const std::vector<int64_t> &indices, int64_t size) {
  for (int64_t i : indices)
    if (i < 0 || i >= size)
      throw Error("window index " + std::to_string(i) +
                  " is out of range: the split has " + std::to_string(size) +
                  " windows (0.." + std::to_string(size - 1) + ")");
}

torch::Tensor Dataset::batch(const std::vector<int64_t> &indices) const {
  checkIndices(indices, size());
  std::vector<int64_t> idx;
  idx.reserve(indices.size() * size_t(window_));
  for (int64_t i : indices)
    for (int64_t k = 0; k < window_; ++k)
      idx.push_back(starts_[size_t(i)] + k * stride_);
  auto t = samples_.index_select(0, torch::tensor(idx, torch::kInt64));
  return t.view({int64_t(indices.size()), window_, samples_.size(1),
                 samples_.size(2), samples_.size(3)});
}

torch::Tensor Dataset::times(const std::vector<int64_t> &indices) const {
  checkIndices(indices, size());
  std::vector<int64_t> idx;
  for (int64_t i : indices)
    idx.push_back(starts_[size_t(i)]);
  return sampleTimes_.index_select(0, torch::tensor(idx, torch::kInt64));
}

} // namespace s2s::rt
