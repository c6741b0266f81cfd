//===- Sampler.cpp - Which samples each rank trains on
//---------------------===//

#include "data/Sampler.h"

#include "s2s/runtime/Error.h"
#include "support/Hash.h"

#include <numeric>
#include <random>

namespace s2s::rt {

namespace {

/// Uniform in [0, bound] (bound < 2^64 - 1) by rejection: unbiased and the
/// same with every standard library.
uint64_t drawAtMost(std::mt19937_64 &gen, uint64_t bound) {
  const uint64_t range = bound + 1;
  // The largest multiple of `range` that fits: reject draws at or above it.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % range + 1) % range;
  for (;;) {
    uint64_t x = gen();
    if (x <= limit)
      return x % range;
  }
}

void checkArgs(int64_t n, int64_t rank, int64_t worldSize, int64_t epoch) {
  if (n < 0)
    throw Error("sampler: the data set size " + std::to_string(n) +
                " is negative");
  if (worldSize < 1)
    throw Error("sampler: the world size " + std::to_string(worldSize) +
                " must be at least 1");
  if (rank < 0 || rank >= worldSize)
    throw Error("sampler: rank " + std::to_string(rank) + " is outside 0.." +
                std::to_string(worldSize - 1));
  if (epoch < 0)
    throw Error("sampler: the epoch " + std::to_string(epoch) + " is negative");
}

} // namespace

int64_t samplesPerRank(int64_t n, int64_t worldSize, bool dropLast) {
  checkArgs(n, 0, worldSize, 0);
  return dropLast ? n / worldSize : (n + worldSize - 1) / worldSize;
}

std::vector<int64_t> epochIndices(int64_t n, int64_t rank, int64_t worldSize,
                                  uint64_t seed, int64_t epoch, bool shuffle,
                                  bool dropLast) {
  checkArgs(n, rank, worldSize, epoch);
  const int64_t per = samplesPerRank(n, worldSize, dropLast);
  std::vector<int64_t> out;
  if (per == 0)
    return out;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  if (shuffle) {
    std::mt19937_64 gen(splitmix64(seed) ^ splitmix64(~uint64_t(epoch)));
    for (int64_t i = n - 1; i > 0; --i)
      std::swap(order[size_t(i)], order[drawAtMost(gen, uint64_t(i))]);
  }
  out.reserve(size_t(per));
  for (int64_t k = 0; k < per; ++k)
    out.push_back(order[size_t((rank + k * worldSize) % n)]);
  return out;
}

} // namespace s2s::rt
