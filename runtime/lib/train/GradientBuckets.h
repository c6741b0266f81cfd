//===- GradientBuckets.h - zero2: gradients sent in the backward *- C++ -*-===//
//
// ZeRO stage 2 keeps only this rank's shard of the gradients. The
// parameters, in model order, are one flat vector of P values of which
// rank r owns [r·S, (r+1)·S) (ZeroShards.h, one segment). As the backward
// finishes a parameter's gradient (a post hook on its AccumulateGrad node,
// as c10d's Reducer listens), the gradient is added into its bucket and
// dropped; a bucket is a run of consecutive parameters of one gather unit,
// at most 25 MiB (a larger parameter is a bucket of its own). A complete
// bucket [a, b) is reduce-scattered at once: rank q receives the part of it
// inside its own range, summed over the ranks (alltoall with per-rank
// lengths), which is added (÷N) into this rank's gradient shard, and the
// bucket's buffer is freed.
//
// Buckets go out in one fixed order, the last parameters first (the order
// the backward finishes them), a bucket only after every bucket before
// it, so every rank runs the same collectives in the same order whatever
// order its hooks fire in. finish(), after the backward, sends what is
// left (parameters the backward did not reach count as zero gradients).
//
// So between steps a rank holds S gradient values, and during the
// backward at most its shard plus the buckets not yet sent; peakBytes()
// measures the latter.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_GRADIENTBUCKETS_H
#define S2S_RUNTIME_TRAIN_GRADIENTBUCKETS_H

#include "comm/Communicator.h"

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace torch::autograd {
struct Node;
}

namespace s2s::rt {

class GradientBuckets {
public:
  /// A bucket never grows past this unless one parameter is larger.
  static constexpr int64_t kCapBytes = 25 << 20;

  /// `params`: the leaves, in model order; `units`: [first, end) parameter
  /// ranges covering them in order; `shardGrad`: this rank's S gradient
  /// values, [rank·S, (rank+1)·S) of the flat vector, added into.
  GradientBuckets(Communicator &comm, std::vector<torch::Tensor> params,
                  const std::vector<std::pair<size_t, size_t>> &units,
                  torch::Tensor shardGrad);
  ~GradientBuckets();

  /// After loss.backward(): the buckets not sent yet go out (zeros for
  /// what the backward did not reach); the next backward starts afresh.
  void finish();

  /// Whether a backward so far gave parameter `index` a gradient.
  bool reached(size_t index) const { return reached_.at(index); }
  /// Most bytes of gradients held at once beyond the shard (buckets
  /// filling, and a parameter's gradient before it moves into one).
  int64_t peakBytes() const { return peakBytes_; }

private:
  struct Bucket {
    size_t firstParam = 0, endParam = 0;
    int64_t begin = 0, end = 0; ///< in the flat vector
    size_t pending = 0;         ///< gradients not in yet
    torch::Tensor buffer;
  };
  /// Parameter `index`'s gradient is final: into its bucket, then send
  /// whatever is next in order and complete.
  void ready(size_t index);
  /// Its buffer, zeros, unless it has one.
  void allocate(Bucket &b);
  /// The buckets next in the fixed order (last first) that are complete,
  /// or with `all` every one not sent yet.
  void sendInOrder(bool all);
  void send(Bucket &b);
  void account(int64_t bytes);

  Communicator &comm_;
  std::vector<torch::Tensor> params_;
  std::vector<int64_t> offsets_; ///< each parameter's first flat value
  std::vector<size_t> bucketOf_;
  std::vector<bool> arrived_; ///< in this backward
  std::vector<bool> reached_; ///< with a gradient, in any backward
  std::vector<Bucket> buckets_;
  size_t sent_ = 0; ///< this backward's, from the last bucket down
  torch::Tensor shardGrad_;
  int64_t shardBegin_ = 0;
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<uintptr_t> hooks_;
  int64_t liveBytes_ = 0, peakBytes_ = 0;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_GRADIENTBUCKETS_H
