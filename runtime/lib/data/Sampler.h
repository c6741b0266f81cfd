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
// cover every sample exactly once per epoch. The rank and world size come
// from the launch environment (dist/Launch.h).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_SAMPLER_H
#define S2S_RUNTIME_DATA_SAMPLER_H

#include <cstdint>
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

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_SAMPLER_H
