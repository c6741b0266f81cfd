//===- GradientReducer.cpp - DDP's all-reduce, in the backward -----------===//

#include "comm/GradientReducer.h"

#include "s2s/runtime/Error.h"

#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <algorithm>
#include <unordered_map>

namespace s2s::rt {

GradientReducer::GradientReducer(Communicator &comm,
                                 std::vector<torch::Tensor> params)
    : comm_(comm) {
  const size_t n = params.size();
  // As DistributedDataParallel: a small first bucket so communication
  // starts early, then 25 MiB ones, assigned in reverse parameter order.
  std::vector<size_t> limits = {size_t(c10d::kDefaultFirstBucketBytes),
                                size_t(c10d::kDefaultBucketBytesCap)};
  auto [indices, perBucket] = c10d::compute_bucket_assignment_by_size(
      params, limits, std::vector<bool>(n, false));
  std::reverse(indices.begin(), indices.end());
  std::reverse(perBucket.begin(), perBucket.end());
  buckets_ = indices.size();
  reducer_ = std::make_unique<c10d::Reducer>(
      std::move(params), std::move(indices), std::move(perBucket), comm.group(),
      std::vector<bool>(n, false), int64_t(c10d::kDefaultBucketBytesCap),
      /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/true,
      std::unordered_map<size_t, std::string>{},
      int64_t(c10d::kDefaultFirstBucketBytes));
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::expectSync() {
  reducer_->prepare_for_forward();
  reducer_->prepare_for_backward({});
  syncing_ = true;
}

std::vector<torch::Tensor> GradientReducer::bucketBuffers() const {
  std::vector<torch::Tensor> out;
  for (const c10d::GradBucket &b :
       reducer_->get_grad_buckets(/*return_zero_tensors=*/false))
    out.push_back(b.getBuffer());
  return out;
}

void GradientReducer::recordBuckets() {
  for (const torch::Tensor &b : bucketBuffers())
    comm_.record(b.numel() * b.element_size());
}

void GradientReducer::backward(const torch::Tensor &loss) {
  try {
    loss.backward();
  } catch (const c10::Error &e) {
    // A bucket's all-reduce failed inside the backward (a peer died or
    // hangs): the same report as any other collective.
    comm_.fail("allreduce of a gradient bucket", e.what_without_backtrace());
  } catch (const std::exception &e) { // Gloo's own (a timeout)
    comm_.fail("allreduce of a gradient bucket", e.what());
  }
  // The Reducer all-reduced every bucket on the group directly: count
  // them as the Communicator counts its own collectives.
  if (syncing_)
    recordBuckets();
  syncing_ = false;
}

} // namespace s2s::rt
