//===- Mesh.cpp - The data and tensor groups of a 2D mesh -----------------===//

#include "comm/Mesh.h"

#include "s2s/runtime/Error.h"

namespace s2s::rt {

std::vector<int64_t> tensorGroupRanks(int64_t rank, int64_t world,
                                      int64_t tensor) {
  (void)world;
  std::vector<int64_t> ranks;
  for (int64_t t = 0; t < tensor; ++t)
    ranks.push_back(rank / tensor * tensor + t);
  return ranks;
}

std::vector<int64_t> dataGroupRanks(int64_t rank, int64_t world,
                                    int64_t tensor) {
  std::vector<int64_t> ranks;
  for (int64_t r = rank % tensor; r < world; r += tensor)
    ranks.push_back(r);
  return ranks;
}

MeshGroups splitMesh(Communicator &world, int64_t tensor) {
  const int64_t n = world.size(), r = world.rank();
  if (tensor < 1 || n % tensor != 0)
    throw Error("mesh: the tensor axis of size " + std::to_string(tensor) +
                " does not divide the " + std::to_string(n) +
                " processes of the job; start data * tensor processes");
  MeshGroups g;
  g.dataIndex = r / tensor;
  g.tensorIndex = r % tensor;
  g.tensor = world.subgroup("tensor-" + std::to_string(g.dataIndex),
                            tensorGroupRanks(r, n, tensor));
  g.data = world.subgroup("data-" + std::to_string(g.tensorIndex),
                          dataGroupRanks(r, n, tensor));
  return g;
}

} // namespace s2s::rt
