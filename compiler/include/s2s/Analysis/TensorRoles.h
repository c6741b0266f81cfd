//===- TensorRoles.h - Megatron's layout of a model's layers -----*- C++
//-*-===//
//
// Which layers of a model function a tensor axis splits, and how
// (Shoeybi et al. 2019, "Megatron-LM", §3): a linear whose result reaches
// another linear through pointwise ops only is `column` (its outputs
// split), that second linear `row` (its inputs split, a partial product
// all-reduced), each attention `column` (its heads split, its output
// projection the row half). Every other parameter-owning op is replicated.
// The roles do not depend on the axis' size: s2s-shard writes them and
// their collectives for the spec's mesh, the plan reads them for any mesh.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_ANALYSIS_TENSORROLES_H
#define S2S_ANALYSIS_TENSORROLES_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/DenseMap.h"

namespace s2s {

/// The split layers of `fn` (linears and attentions); absent ones are
/// replicated. The same on `fn` before and after s2s-shard.
llvm::DenseMap<mlir::Operation *, TensorLayout>
tensorRoles(mlir::func::FuncOp fn);

/// Whether the tensor axis splits the parameter `path` of an op laid out
/// as `role` (runtime/lib/tp/TensorParallel.cpp shardSpec): a column
/// layer's all (attention's output projection bias aside), a row layer's
/// weight.
bool splitsParameter(TensorLayout role, llvm::StringRef path);

} // namespace s2s

#endif // S2S_ANALYSIS_TENSORROLES_H
