//===- TensorParallel.h - Megatron tensor parallel layers ------*- C++ -*-===//
//
// Megatron-LM's tensor parallelism (Shoeybi et al. 2019, section 3) over
// the tensor group of a mesh (comm/Mesh.h), T processes:
//
//   f  copyToTensorRanks      identity forward, all-reduce backward: before
//                             a column-parallel layer (its input replicated)
//   g  reduceFromTensorRanks  all-reduce forward, identity backward: after
//                             a row-parallel layer (its output summed)
//
//   columnLinear  weight [in, out/T] (s2s stores linear weights [in, out],
//                 so this is a split of dim 1), bias [out/T]; output split
//                 on its last dim
//   rowLinear     weight [in/T, out] (split of dim 0) on an input split on
//                 its last dim; bias [out] whole, added once after g
//   attention     heads split: qkv.weight [e, 3e/T] (each rank's q, k and
//                 v columns, in that order), qkv.bias [3e/T], proj.weight
//                 [e/T, e] row-parallel, proj.bias [e] whole
//
// Layer norms and embeddings stay whole on every tensor rank: their inputs
// and the gradients reaching them are the same on every rank (g hands each
// rank the full sum). The parameters of a rank are slices of the full
// ones (tensorShard), so a model created whole and sliced trains exactly as
// one process does; gatherFull puts a parameter back together (what a
// checkpoint saves: full tensors).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TP_TENSORPARALLEL_H
#define S2S_RUNTIME_TP_TENSORPARALLEL_H

#include "comm/Communicator.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <torch/torch.h>

#include <string>

namespace s2s::rt {

/// f: identity forward, the sum over `tp` of the gradient backward.
torch::Tensor copyToTensorRanks(Communicator &tp, const torch::Tensor &x);
/// g: the sum over `tp` forward, identity backward.
torch::Tensor reduceFromTensorRanks(Communicator &tp, const torch::Tensor &x);

/// How one parameter is split over the tensor ranks: along `dim` (-1:
/// whole), in `groups` equal blocks each cut into T parts (qkv: 3).
struct ShardSpec {
  int64_t dim = -1;
  int64_t groups = 1;
};

/// The split of parameter `path` of an op laid out `layout` by s2s-shard
/// (attention's whole op is marked column: its qkv is column-parallel and
/// its proj row-parallel; a row linear's bias stays whole).
ShardSpec shardSpec(const std::string &path, TensorLayout layout);
/// Rank `rank` of `size`'s slice of the full parameter `full`.
torch::Tensor tensorShard(const torch::Tensor &full, ShardSpec spec,
                          int64_t rank, int64_t size);
/// The full parameter from every rank's `shard` (a collective over tp).
torch::Tensor gatherFull(Communicator &tp, const torch::Tensor &shard,
                         ShardSpec spec);

/// Creates in `m` (empty, unsealed) tensor rank `rank` of `size`'s slice
/// of every parameter of `manifest`, valued as the whole parameter
/// Model::materialize would create (its draw by name, then sliced), so the
/// ranks together hold one process's model. The whole model exists in
/// memory for a moment: fine at the sizes trained here, a slice-wise
/// draw is the step a model larger than one rank's memory needs.
void materializeShards(Model &m, const Manifest &manifest, int64_t rank,
                       int64_t size);

/// The layers (see the header); `out` is the full output width.
torch::Tensor columnLinear(Model &m, Communicator &tp, const char *name,
                           const torch::Tensor &x, int64_t out, bool bias,
                           Activation activation);
torch::Tensor rowLinear(Model &m, Communicator &tp, const char *name,
                        const torch::Tensor &x, int64_t out, bool bias,
                        Activation activation);
/// Self-attention on [b, n, e] with heads/T heads per rank. Attention
/// dropout is refused under tensor parallel (Error): each rank would draw
/// its own mask for its heads, which no single process reproduces.
torch::Tensor parallelAttention(Model &m, Communicator &tp, const char *name,
                                const torch::Tensor &x, int64_t heads,
                                bool qkvBias, double dropout);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TP_TENSORPARALLEL_H
