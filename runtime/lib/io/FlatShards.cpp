//===- FlatShards.cpp - A flat vector split over ranks --------------------===//

#include "io/FlatShards.h"

#include "s2s/runtime/Error.h"

namespace s2s::rt {

FlatShards::FlatShards(const std::vector<int64_t> &lengths, int64_t world)
    : world_(world) {
  if (world < 1)
    throw Error("internal error: shards over " + std::to_string(world) +
                " ranks");
  for (int64_t length : lengths) {
    Segment s;
    s.begin = total_;
    s.length = length;
    s.chunk = (length + world - 1) / world;
    s.offset = shard_;
    segments_.push_back(s);
    total_ += length;
    shard_ += s.chunk;
  }
}

std::vector<int64_t> FlatShards::lengths() const {
  std::vector<int64_t> out;
  for (const Segment &s : segments_)
    out.push_back(s.length);
  return out;
}

torch::Tensor FlatShards::shardOf(const torch::Tensor &flat,
                                  int64_t rank) const {
  if (flat.numel() != total_)
    throw Error("internal error: a flat vector of " +
                std::to_string(flat.numel()) + " values, the layout has " +
                std::to_string(total_));
  torch::Tensor out = torch::zeros({shard_}, flat.options());
  for (const Segment &s : segments_) {
    const int64_t from = rank * s.chunk;
    const int64_t n = std::min(s.chunk, std::max<int64_t>(s.length - from, 0));
    if (n > 0)
      out.narrow(0, s.offset, n).copy_(flat.narrow(0, s.begin + from, n));
  }
  return out;
}

torch::Tensor FlatShards::rankMajor(const torch::Tensor &flat) const {
  if (segments_.size() == 1 && flat.numel() == total_) // padding only
    return torch::cat({flat, flat.new_zeros({world_ * shard_ - total_})});
  std::vector<torch::Tensor> shards;
  for (int64_t r = 0; r < world_; ++r)
    shards.push_back(shardOf(flat, r));
  return torch::cat(shards);
}

torch::Tensor FlatShards::unshard(const torch::Tensor &shards) const {
  if (shards.numel() != world_ * shard_)
    throw Error("internal error: " + std::to_string(shards.numel()) +
                " shard values, the layout has " +
                std::to_string(world_ * shard_));
  torch::Tensor rows = shards.reshape({world_, shard_});
  std::vector<torch::Tensor> pieces;
  for (const Segment &s : segments_)
    pieces.push_back(
        rows.narrow(1, s.offset, s.chunk).reshape({-1}).narrow(0, 0, s.length));
  return pieces.empty() ? shards.new_zeros({0}) : torch::cat(pieces);
}

} // namespace s2s::rt
