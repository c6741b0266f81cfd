//===- CollectiveBytes.h - Bytes handed to each kind of collective -*- C++
//-*-===//
//
// Communicator::processTotals() by kind of collective, for S2S_STATS=1 and
// the plan's check (docs/plan.md): what a ring moves per rank is a fixed
// multiple of it (an all-reduce sends 2(n-1)/n of its input, a
// reduce-scatter (n-1)/n of its input, an all-gather (n-1)/n of its
// gathered output). Collectives launched on the group directly and
// counted with Communicator::record (c10d's Reducer) are all-reduces.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_COMM_COLLECTIVEBYTES_H
#define S2S_RUNTIME_COMM_COLLECTIVEBYTES_H

#include <cstdint>

namespace s2s::rt {

enum class Collective { AllReduce, ReduceScatter, AllGather, Broadcast };
inline constexpr int kCollectives = 4;

/// Bytes this process handed to collectives of `kind` so far.
int64_t collectiveBytes(Collective kind);

} // namespace s2s::rt

#endif // S2S_RUNTIME_COMM_COLLECTIVEBYTES_H
