//===- SamplerTest.cpp - Which samples each rank trains on ----------------===//

#include "data/Sampler.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace rt = s2s::rt;

namespace {

std::vector<std::vector<int64_t>> allRanks(int64_t n, int64_t world,
                                           uint64_t seed, int64_t epoch,
                                           bool shuffle, bool dropLast) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t r = 0; r < world; ++r)
    out.push_back(
        rt::epochIndices(n, r, world, seed, epoch, shuffle, dropLast));
  return out;
}

const std::pair<int64_t, int64_t> kCombos[] = {
    {0, 1},    {0, 3},    {1, 1},     {1, 4},  {2, 5},  {7, 1},  {7, 2},
    {7, 3},    {8, 4},    {10, 4},    {12, 4}, {13, 8}, {97, 8}, {100, 7},
    {256, 16}, {1000, 3}, {1001, 64}, {5, 5},  {3, 8}};

TEST(Sampler, EveryIndexOncePerEpochAcrossRanks) {
  for (auto [n, world] : kCombos)
    for (bool shuffle : {false, true})
      for (int64_t epoch : {0, 1, 5}) {
        SCOPED_TRACE("n=" + std::to_string(n) +
                     " world=" + std::to_string(world) +
                     " shuffle=" + std::to_string(shuffle) +
                     " epoch=" + std::to_string(epoch));
        // dropLast = false: ceil(n / world) each, every index at least once,
        // (per * world - n) of them twice (the wrap-around padding).
        auto ranks = allRanks(n, world, 42, epoch, shuffle, false);
        const int64_t per = n == 0 ? 0 : (n + world - 1) / world;
        std::map<int64_t, int> seen;
        for (const auto &r : ranks) {
          EXPECT_EQ(int64_t(r.size()), per);
          EXPECT_EQ(rt::samplesPerRank(n, world, false), per);
          for (int64_t i : r) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, n);
            ++seen[i];
          }
        }
        EXPECT_EQ(int64_t(seen.size()), n) << "some index never visited";
        int64_t twice = 0;
        for (auto [i, count] : seen) {
          EXPECT_LE(count, (per * world + n - 1) / std::max<int64_t>(n, 1));
          twice += count - 1;
        }
        EXPECT_EQ(twice, per * world - n);
        if (n % world == 0) {
          for (auto [i, count] : seen)
            EXPECT_EQ(count, 1) << "index " << i;
        }

        // dropLast = true: floor(n / world) each, disjoint, none twice.
        auto dropped = allRanks(n, world, 42, epoch, shuffle, true);
        std::set<int64_t> all;
        for (const auto &r : dropped) {
          EXPECT_EQ(int64_t(r.size()), n / world);
          EXPECT_EQ(rt::samplesPerRank(n, world, true), n / world);
          for (int64_t i : r) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, n);
            EXPECT_TRUE(all.insert(i).second) << "index " << i << " twice";
          }
        }
        EXPECT_EQ(int64_t(all.size()), n / world * world);
      }
}

TEST(Sampler, DisjointAcrossRanksWhenDivisible) {
  for (auto [n, world] : {std::pair<int64_t, int64_t>{12, 4}, {64, 8}, {9, 3}})
    for (bool dropLast : {false, true}) {
      auto ranks = allRanks(n, world, 7, 3, true, dropLast);
      for (int64_t a = 0; a < world; ++a)
        for (int64_t b = a + 1; b < world; ++b)
          for (int64_t i : ranks[size_t(a)])
            EXPECT_EQ(
                std::count(ranks[size_t(b)].begin(), ranks[size_t(b)].end(), i),
                0);
    }
}

TEST(Sampler, LikeDistributedSamplerWithoutShuffle) {
  // torch DistributedSampler(shuffle=False) on 10 samples, 4 replicas:
  // padded order 0..9,0,1; rank r takes r, r+4, r+8.
  EXPECT_EQ(rt::epochIndices(10, 0, 4, 0, 0, false, false),
            (std::vector<int64_t>{0, 4, 8}));
  EXPECT_EQ(rt::epochIndices(10, 1, 4, 0, 0, false, false),
            (std::vector<int64_t>{1, 5, 9}));
  EXPECT_EQ(rt::epochIndices(10, 2, 4, 0, 0, false, false),
            (std::vector<int64_t>{2, 6, 0}));
  EXPECT_EQ(rt::epochIndices(10, 3, 4, 0, 0, false, false),
            (std::vector<int64_t>{3, 7, 1}));
  EXPECT_EQ(rt::epochIndices(10, 3, 4, 0, 0, false, true),
            (std::vector<int64_t>{3, 7}));
  // Fewer samples than ranks: wraps again and again.
  EXPECT_EQ(rt::epochIndices(2, 4, 5, 0, 0, false, false),
            (std::vector<int64_t>{0}));
  EXPECT_TRUE(rt::epochIndices(2, 4, 5, 0, 0, false, true).empty());
}

TEST(Sampler, ReproducibleAndDifferentAcrossEpochsAndSeeds) {
  const int64_t n = 1000, world = 4;
  for (int64_t r = 0; r < world; ++r) {
    auto a = rt::epochIndices(n, r, world, 123, 2, true, false);
    EXPECT_EQ(a, rt::epochIndices(n, r, world, 123, 2, true, false));
    EXPECT_NE(a, rt::epochIndices(n, r, world, 123, 3, true, false));
    EXPECT_NE(a, rt::epochIndices(n, r, world, 124, 2, true, false));
  }
  // Shuffled, not the identity.
  auto s = rt::epochIndices(n, 0, 1, 0, 0, true, false);
  std::vector<int64_t> identity(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    identity[size_t(i)] = i;
  EXPECT_NE(s, identity);
  // Unshuffled ignores seed and epoch.
  EXPECT_EQ(rt::epochIndices(n, 1, world, 1, 0, false, false),
            rt::epochIndices(n, 1, world, 2, 9, false, false));
  // Pinned: the same order with every compiler and standard library (our
  // own bounded draw over std::mt19937_64, whose output the standard
  // fixes). A change here changes every training run's order.
  EXPECT_EQ(rt::epochIndices(10, 0, 1, 2024, 0, true, false),
            (std::vector<int64_t>{9, 5, 1, 2, 7, 4, 8, 3, 6, 0}));
}

TEST(Sampler, ShuffleIsRoughlyUniform) {
  // Position of sample 0 over many epochs: each of the 8 slots about 1/8.
  const int64_t n = 8, epochs = 8000;
  std::vector<int> where(size_t(n), 0);
  for (int64_t e = 0; e < epochs; ++e) {
    auto order = rt::epochIndices(n, 0, 1, 99, e, true, false);
    ++where[size_t(std::find(order.begin(), order.end(), 0) - order.begin())];
  }
  for (int count : where) {
    EXPECT_GT(count, epochs / n * 85 / 100);
    EXPECT_LT(count, epochs / n * 115 / 100);
  }
}

std::string samplerError(int64_t n, int64_t rank, int64_t world,
                         int64_t epoch) {
  try {
    rt::epochIndices(n, rank, world, 0, epoch, true, false);
  } catch (const rt::Error &e) {
    return e.what();
  }
  return "no error";
}

TEST(Sampler, BadArguments) {
  EXPECT_EQ(samplerError(-1, 0, 1, 0),
            "sampler: the data set size -1 is negative");
  EXPECT_EQ(samplerError(5, 0, 0, 0),
            "sampler: the world size 0 must be at least 1");
  EXPECT_EQ(samplerError(5, 2, 2, 0), "sampler: rank 2 is outside 0..1");
  EXPECT_EQ(samplerError(5, -1, 2, 0), "sampler: rank -1 is outside 0..1");
  EXPECT_EQ(samplerError(5, 0, 2, -3), "sampler: the epoch -3 is negative");
}

} // namespace
