//===- TensorParallel.cpp - Megatron's f and g, column and row layers -----===//

#include "tp/TensorParallel.h"

#include "s2s/runtime/Error.h"

#include <cstdint>

namespace s2s::rt {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The group travels through autograd's saved data as an integer.
int64_t handle(Communicator &tp) { return reinterpret_cast<intptr_t>(&tp); }
Communicator &group(AutogradContext *ctx) {
  return *reinterpret_cast<Communicator *>(
      intptr_t(ctx->saved_data["tp"].toInt()));
}

/// The sum of `x` over the group, in a fresh tensor.
Tensor summed(Communicator &tp, const Tensor &x) {
  std::vector<Tensor> t = {x.contiguous().clone()};
  tp.allReduceSum(t);
  return t[0];
}

struct CopyToTensorRanks : torch::autograd::Function<CopyToTensorRanks> {
  static Tensor forward(AutogradContext *ctx, const Tensor &x, int64_t tp) {
    ctx->saved_data["tp"] = tp;
    return x;
  }
  static variable_list backward(AutogradContext *ctx, variable_list grad) {
    return {summed(group(ctx), grad[0]), Tensor()};
  }
};

struct ReduceFromTensorRanks
    : torch::autograd::Function<ReduceFromTensorRanks> {
  static Tensor forward(AutogradContext *ctx, const Tensor &x, int64_t tp) {
    (void)ctx;
    return summed(*reinterpret_cast<Communicator *>(intptr_t(tp)), x);
  }
  static variable_list backward(AutogradContext *, variable_list grad) {
    return {grad[0], Tensor()};
  }
};

bool endsWith(const std::string &s, const std::string &tail) {
  return s.size() >= tail.size() &&
         s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

Tensor copyToTensorRanks(Communicator &tp, const Tensor &x) {
  return CopyToTensorRanks::apply(x, handle(tp));
}

Tensor reduceFromTensorRanks(Communicator &tp, const Tensor &x) {
  return ReduceFromTensorRanks::apply(x, handle(tp));
}

ShardSpec shardSpec(const std::string &path, TensorLayout layout) {
  const bool weight = endsWith(path, ".weight");
  switch (layout) {
  case TensorLayout::Replicated:
    return {};
  case TensorLayout::Row:
    return weight ? ShardSpec{0, 1} : ShardSpec{};
  case TensorLayout::Column:
    if (endsWith(path, "qkv.weight"))
      return {1, 3};
    if (endsWith(path, "qkv.bias"))
      return {0, 3};
    if (endsWith(path, "proj.weight")) // attention's row-parallel half
      return {0, 1};
    if (endsWith(path, "proj.bias"))
      return {};
    return weight ? ShardSpec{1, 1} : ShardSpec{0, 1};
  }
  return {};
}

Tensor tensorShard(const Tensor &full, ShardSpec spec, int64_t rank,
                   int64_t size) {
  if (spec.dim < 0 || size == 1)
    return full;
  const int64_t n = full.size(spec.dim);
  if (n % (spec.groups * size) != 0)
    throw Error("a parameter of shape " + shapeStr(full.sizes()) +
                " does not split over " + std::to_string(size) +
                " tensor ranks along dim " + std::to_string(spec.dim));
  std::vector<Tensor> parts;
  for (const Tensor &block : full.chunk(spec.groups, spec.dim))
    parts.push_back(block.chunk(size, spec.dim)[size_t(rank)]);
  return torch::cat(parts, spec.dim).contiguous();
}

Tensor gatherFull(Communicator &tp, const Tensor &shard, ShardSpec spec) {
  const int64_t size = tp.size();
  if (spec.dim < 0 || size == 1)
    return shard;
  // Every rank's shard in rank order, then each group's parts side by side.
  Tensor all =
      tp.allGather(shard.detach().reshape({-1})).view({size, shard.numel()});
  std::vector<Tensor> ranks;
  for (int64_t r = 0; r < size; ++r)
    ranks.push_back(all[r].view(shard.sizes()));
  std::vector<Tensor> blocks;
  for (int64_t g = 0; g < spec.groups; ++g) {
    std::vector<Tensor> parts;
    for (const Tensor &s : ranks)
      parts.push_back(s.chunk(spec.groups, spec.dim)[size_t(g)]);
    blocks.push_back(torch::cat(parts, spec.dim));
  }
  return torch::cat(blocks, spec.dim);
}

void materializeShards(Model &m, const Manifest &manifest, int64_t rank,
                       int64_t size) {
  Model whole(m.seed(), m.device(), m.dtype());
  whole.materialize(manifest);
  const auto &params = whole.namedParameters();
  // This rank's manifest: the slices' shapes, the same names and units.
  Manifest mine = manifest;
  std::vector<Tensor> shards;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto &[name, value] = params[i];
    shards.push_back(tensorShard(value.detach(),
                                 shardSpec(name, manifest[i].sharding.tensor),
                                 rank, size));
    mine[i].shape = shards.back().sizes().vec();
    mine[i].init = Init{};
  }
  m.materialize(mine);
  for (size_t i = 0; i < shards.size(); ++i)
    m.load(mine[i].path, shards[i]);
}

namespace {

/// g, then layer `biasOf`'s bias (nullptr: none) and `act`: the tail of a
/// row-parallel layer, added once after the sum.
Tensor reducedWithBias(Communicator &tp, Model &m, const Tensor &partial,
                       const char *biasOf, Activation act) {
  Tensor y = reduceFromTensorRanks(tp, partial);
  if (biasOf)
    y = y + m.param(std::string(biasOf) + ".bias", {partial.size(-1)});
  return activation(y, act);
}

} // namespace

// The layers are f, the sliced kernels generated code calls (Ops.h:
// linear_column, linear_row, attention_heads) and g: one copy of the math.

Tensor columnLinear(Model &m, Communicator &tp, const char *name,
                    const Tensor &x, int64_t out, bool bias, Activation act) {
  return linear_column(m, name, copyToTensorRanks(tp, x), out, bias, act,
                       tp.size());
}

Tensor rowLinear(Model &m, Communicator &tp, const char *name, const Tensor &x,
                 int64_t out, bool bias, Activation act) {
  return reducedWithBias(tp, m, linear_row(m, name, x, out),
                         bias ? name : nullptr, act);
}

Tensor parallelAttention(Model &m, Communicator &tp, const char *name,
                         const Tensor &x, int64_t heads, bool qkvBias,
                         double dropoutP) {
  const std::string proj = std::string(name) + ".proj";
  return reducedWithBias(tp, m,
                         attention_heads(m, name, copyToTensorRanks(tp, x),
                                         heads, qkvBias, dropoutP, tp.size()),
                         proj.c_str(), Activation::None);
}

// --- the kernels generated code calls (s2s/runtime/Ops.h) -----------------

namespace {

/// The model's tensor group, which must have the compiler's `parts` ranks.
Communicator &tensorGroupOf(Model &m, int64_t parts, const char *op) {
  Communicator *tp = m.tensorGroup();
  if (!tp)
    throw Error(std::string(op) +
                ": the program was compiled for a tensor axis of " +
                std::to_string(parts) +
                " but this run has no tensor group: a tensor-parallel "
                "program trains on the mesh it was compiled for (forecast "
                "and evaluate run in one process: compile the spec with "
                "[tensor: 1]; its checkpoints hold whole tensors and load "
                "there)");
  if (tp->size() != parts)
    throw Error(std::string(op) +
                ": the program was compiled for a tensor "
                "axis of " +
                std::to_string(parts) + " but the run's tensor group has " +
                std::to_string(tp->size()) + " ranks");
  return *tp;
}

} // namespace

Tensor tp_copy(Model &m, const Tensor &x, int64_t parts) {
  return copyToTensorRanks(tensorGroupOf(m, parts, "tp_copy"), x);
}

Tensor tp_all_reduce(Model &m, const Tensor &x, int64_t parts,
                     const char *biasOf, Activation act) {
  return reducedWithBias(tensorGroupOf(m, parts, "tp_all_reduce"), m, x, biasOf,
                         act);
}

} // namespace s2s::rt
