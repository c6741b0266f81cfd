//===- Sampler.cpp - Which samples each rank trains on ---------------------===//

#include "s2s/runtime/Sampler.h"
#include "s2s/runtime/Error.h"

#include <cerrno>
#include <cstdlib>
#include <numeric>
#include <random>

namespace s2s::rt {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

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
    throw Error("sampler: the epoch " + std::to_string(epoch) +
                " is negative");
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

RankInfo rankInfo() {
  return rankInfo([](const char *name) { return std::getenv(name); });
}

RankInfo rankInfo(const std::function<const char *(const char *)> &env) {
  static const char *const pairs[][2] = {
      {"RANK", "WORLD_SIZE"},
      {"SLURM_PROCID", "SLURM_NTASKS"},
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
      {"PMI_RANK", "PMI_SIZE"},
  };
  auto number = [&](const char *var) {
    const char *v = env(var);
    std::string s = v ? v : "";
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? "" : s.substr(b, e - b + 1);
    errno = 0;
    char *end = nullptr;
    long long x = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || errno || *end)
      throw Error(std::string("environment variable ") + var + "='" +
                  (v ? v : "") + "' is not a whole number");
    return int64_t(x);
  };
  for (const auto &p : pairs) {
    if (!env(p[0]))
      continue;
    if (!env(p[1]))
      throw Error(std::string("environment variable ") + p[0] +
                  " is set but " + p[1] + " is not; set both or neither");
    RankInfo r;
    r.rank = number(p[0]);
    r.worldSize = number(p[1]);
    r.source = std::string(p[0]) + "/" + p[1];
    if (r.worldSize < 1)
      throw Error(std::string("environment variable ") + p[1] + "=" +
                  std::to_string(r.worldSize) + " must be at least 1");
    if (r.rank < 0 || r.rank >= r.worldSize)
      throw Error(std::string("environment variable ") + p[0] + "=" +
                  std::to_string(r.rank) + " must be in 0.." +
                  std::to_string(r.worldSize - 1) + " (" + p[1] + "=" +
                  std::to_string(r.worldSize) + ")");
    return r;
  }
  return RankInfo{};
}

} // namespace s2s::rt
