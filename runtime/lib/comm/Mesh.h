//===- Mesh.h - A 2D mesh [data: D, tensor: T] of processes --*- C++ -*-===//
//
// Rank r of D*T processes sits at data index r / T and tensor index r % T
// (tensor ranks adjacent, as Megatron places them on one node). Its
// tensor group is {d*T, ..., d*T + T-1}, its data group {t, T+t, 2T+t,
// ...}; each is a Communicator of its own (Communicator::subgroup, a Gloo
// group on a PrefixStore over the job's store) beside the world one.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_COMM_MESH_H
#define S2S_RUNTIME_COMM_MESH_H

#include "comm/Communicator.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace s2s::rt {

struct MeshGroups {
  int64_t dataIndex = 0, tensorIndex = 0;
  std::unique_ptr<Communicator> data, tensor;
};

/// The members of rank `rank`'s tensor and data groups in a mesh of
/// `world` processes with tensor size `tensor` (ascending).
std::vector<int64_t> tensorGroupRanks(int64_t rank, int64_t world,
                                      int64_t tensor);
std::vector<int64_t> dataGroupRanks(int64_t rank, int64_t world,
                                    int64_t tensor);

/// Forms this process's two groups. Every process of `world` calls it with
/// the same `tensor`, which must divide world.size() (else Error).
MeshGroups splitMesh(Communicator &world, int64_t tensor);

} // namespace s2s::rt

#endif // S2S_RUNTIME_COMM_MESH_H
