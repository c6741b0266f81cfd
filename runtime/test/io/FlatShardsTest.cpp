//===- FlatShardsTest.cpp - io/FlatShards.h against an index loop ---------===//

#include "io/FlatShards.h"

#include <gtest/gtest.h>

using s2s::rt::FlatShards;

namespace {

/// Rank r's shard written out by the definition: for each segment in
/// order, its values r·c .. r·c + c - 1 (c = ceil(length / N)), zero past
/// the segment's end.
std::vector<double> naiveShard(const std::vector<double> &flat,
                               const std::vector<int64_t> &lengths,
                               int64_t world, int64_t r) {
  std::vector<double> out;
  int64_t begin = 0;
  for (int64_t length : lengths) {
    const int64_t c = (length + world - 1) / world;
    for (int64_t k = r * c; k < (r + 1) * c; ++k)
      out.push_back(k < length ? flat[size_t(begin + k)] : 0.0);
    begin += length;
  }
  return out;
}

} // namespace

TEST(FlatShards, ShardsAreEachSegmentsChunksAndUnshardInverts) {
  const std::vector<std::vector<int64_t>> layouts = {
      {10}, {7, 1, 5}, {3, 0, 9, 4}, {1}, {12, 12}};
  for (const auto &lengths : layouts)
    for (int64_t world : {1, 2, 3, 4, 5}) {
      int64_t total = 0;
      for (int64_t l : lengths)
        total += l;
      std::vector<double> flat;
      for (int64_t i = 0; i < total; ++i)
        flat.push_back(1.0 + double(i));
      const FlatShards f(lengths, world);
      const torch::Tensor t =
          torch::tensor(flat, torch::dtype(torch::kFloat64));
      ASSERT_EQ(f.total(), total);
      std::vector<torch::Tensor> shards;
      for (int64_t r = 0; r < world; ++r) {
        const std::vector<double> want = naiveShard(flat, lengths, world, r);
        ASSERT_EQ(f.shardValues(), int64_t(want.size()));
        const torch::Tensor got = f.shardOf(t, r);
        for (size_t k = 0; k < want.size(); ++k)
          EXPECT_EQ(got[int64_t(k)].item<double>(), want[k])
              << "world " << world << " rank " << r << " value " << k;
        shards.push_back(got);
      }
      EXPECT_TRUE(torch::equal(f.rankMajor(t), torch::cat(shards)));
      EXPECT_TRUE(torch::equal(f.unshard(torch::cat(shards)), t))
          << "world " << world;
    }
}
