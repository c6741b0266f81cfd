//===- GradientReducer.h - DDP's all-reduce, in the backward --*- C++ -*-===//
//
// c10d's Reducer, the engine of PyTorch's DistributedDataParallel, over a
// model's parameters: gradients are packed into buckets (1 MiB first, then
// 25 MiB, in reverse parameter order, roughly the order the backward makes
// them), and each bucket's all-reduce starts as soon as its last gradient
// is ready, overlapping the rest of the backward. When backward() returns,
// every parameter's .grad is the average over the processes, and a view of
// its bucket (gradient_as_bucket_view: the gradients take no memory beyond
// the buckets).
//
// A backward after expectSync() is reduced; one without (the first n-1
// micro-batches of gradient accumulation) only accumulates locally, as
// DDP's no_sync().
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_COMM_GRADIENTREDUCER_H
#define S2S_RUNTIME_COMM_GRADIENTREDUCER_H

#include "comm/Communicator.h"

#include <memory>
#include <vector>

namespace c10d {
class Reducer;
}

namespace s2s::rt {

class GradientReducer {
public:
  /// `params`: leaf tensors with requires_grad, the same shapes in the same
  /// order on every process.
  GradientReducer(Communicator &comm, std::vector<torch::Tensor> params);
  ~GradientReducer();

  /// The next backward's gradients are averaged over the processes.
  void expectSync();
  /// loss.backward(), with a failed bucket all-reduce reported as
  /// Communicator's collectives report theirs; a synced one's buckets are
  /// counted in the Communicator's stats().
  void backward(const torch::Tensor &loss);
  /// The number of buckets (for the banner and tests).
  size_t buckets() const { return buckets_; }
  /// The buckets' flat buffers (what the gradients are views of).
  std::vector<torch::Tensor> bucketBuffers() const;

private:
  /// Counts each bucket's all-reduce (a synced backward does one each).
  void recordBuckets();

  Communicator &comm_;
  std::unique_ptr<c10d::Reducer> reducer_;
  size_t buckets_ = 0;
  bool syncing_ = false; ///< expectSync() since the last backward
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_COMM_GRADIENTREDUCER_H
