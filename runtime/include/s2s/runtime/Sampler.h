//===- Sampler.h - Which samples each rank trains on ------------*- C++ -*-===//
//
// Distributed data parallel training: each of `worldSize` ranks takes a
// disjoint part of every epoch, the same on every run for the same seed and
// epoch, like torch.utils.data.distributed.DistributedSampler:
//
//   1. order: 0..n-1, shuffled (shuffle = true) by a Fisher-Yates shuffle
//      driven by std::mt19937_64 seeded from (seed, epoch) and an unbiased
//      bounded draw of our own (not std::uniform_int_distribution, whose
//      output differs between standard libraries), so the order is the
//      same with every compiler and on every machine;
//   2. dropLast = false: the order is padded to a multiple of worldSize by
//      repeating it from its start (wrapping, again and again when
//      n < worldSize), so every rank gets ceil(n / worldSize) indices and
//      (n mod worldSize) samples are seen twice in that epoch;
//      dropLast = true: its tail is cut to a multiple of worldSize, so every
//      rank gets floor(n / worldSize) indices and (n mod worldSize) samples
//      (different ones each epoch when shuffled) are not seen that epoch;
//   3. rank r takes positions r, r + worldSize, r + 2 worldSize, ...
//
// Without padding or dropping (n divisible by worldSize) the ranks together
// cover every sample exactly once per epoch.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SAMPLER_H
#define S2S_RUNTIME_SAMPLER_H

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace s2s::rt {

/// The indices (into 0..n-1) rank `rank` of `worldSize` visits in epoch
/// `epoch`, in order. Throws Error for n < 0, worldSize < 1, a rank outside
/// 0..worldSize-1 or a negative epoch.
std::vector<int64_t> epochIndices(int64_t n, int64_t rank, int64_t worldSize,
                                  uint64_t seed, int64_t epoch, bool shuffle,
                                  bool dropLast);

/// How many indices each rank gets per epoch (the size of epochIndices).
int64_t samplesPerRank(int64_t n, int64_t worldSize, bool dropLast);

/// This process's place in the job.
struct RankInfo {
  int64_t rank = 0;
  int64_t worldSize = 1;
  std::string source; ///< the variables it came from, "" for the default
};

/// From RANK/WORLD_SIZE (torchrun), SLURM_PROCID/SLURM_NTASKS (srun),
/// OMPI_COMM_WORLD_RANK/OMPI_COMM_WORLD_SIZE (Open MPI) or PMI_RANK/PMI_SIZE
/// (MPICH, Intel MPI), the first pair whose rank variable is set; 0/1 when
/// none is. Throws Error naming the variable when a value is not a whole
/// number, the size variable of the pair is missing, the world size is
/// below 1 or the rank is not in 0..size-1.
RankInfo rankInfo();
/// The same with another environment (tests): `env(name)` is the value or
/// nullptr.
RankInfo rankInfo(const std::function<const char *(const char *)> &env);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SAMPLER_H
