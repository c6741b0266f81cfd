//===- FlatShards.h - A flat vector split over ranks -------------*- C++
//-*-===//
//
// How the ZeRO strategies split the model's P values (in model order, and
// every optimizer moment the same way) over N ranks, in memory and in a
// sharded checkpoint. The flat vector is cut into segments — one for zero1
// and zero2, one per gather unit for zero3 — and each segment is padded
// with zeros to a multiple of N and cut into N equal chunks:
//
//   segment s: values [begin_s, begin_s + length_s), chunk_s = ⌈length_s/N⌉
//   rank r's shard: chunk r of segment 0, chunk r of segment 1, ...
//                   S = Σ chunk_s values
//
// So a unit's all-gather moves chunk_s values from each rank (no rank sends
// padding for a unit it holds none of) and its gradient's reduce-scatter
// leaves each rank exactly its chunk.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_FLATSHARDS_H
#define S2S_RUNTIME_IO_FLATSHARDS_H

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace s2s::rt {

class FlatShards {
public:
  struct Segment {
    int64_t begin = 0;  ///< its first value in the flat vector
    int64_t length = 0; ///< its values
    int64_t chunk = 0;  ///< values of it each rank holds, ⌈length/N⌉
    int64_t offset = 0; ///< where a rank's chunk of it starts in its shard
  };

  FlatShards() = default;
  /// Segments of `lengths` values, in order, over `world` ranks.
  FlatShards(const std::vector<int64_t> &lengths, int64_t world);

  int64_t world() const { return world_; }
  int64_t total() const { return total_; }       ///< P
  int64_t shardValues() const { return shard_; } ///< S
  const std::vector<Segment> &segments() const { return segments_; }
  std::vector<int64_t> lengths() const;

  /// Rank `rank`'s shard (S values) of a flat tensor of P values.
  torch::Tensor shardOf(const torch::Tensor &flat, int64_t rank) const;
  /// Every rank's shard laid end to end (N·S values, rank-major): what a
  /// reduce-scatter takes to leave each rank its shard.
  torch::Tensor rankMajor(const torch::Tensor &flat) const;
  /// The flat P values from the N shards laid end to end (what an
  /// all-gather of the shards, or the shard files in rank order, give).
  torch::Tensor unshard(const torch::Tensor &shards) const;

private:
  int64_t world_ = 1, total_ = 0, shard_ = 0;
  std::vector<Segment> segments_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_FLATSHARDS_H
