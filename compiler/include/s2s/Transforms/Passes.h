//===- Passes.h - The s2s passes and the pipeline that runs them -*- C++
//-*-===//

#ifndef S2S_TRANSFORMS_PASSES_H
#define S2S_TRANSFORMS_PASSES_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace s2s {

#define GEN_PASS_DECL
#include "s2s/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "s2s/Transforms/Passes.h.inc"

/// What `s2sc` runs after lowering (`--emit=mlir-opt` shows the result).
struct PipelineOptions {
  bool unrollRollout = true;
  bool fuse = true;
  bool shard = true;
  bool planMemory = true;
  /// s2s-plan-memory's max-rank-bytes: a plan above it is an error (0: none).
  int64_t maxRankBytes = 0;
};

/// Builds the s2s pipeline: shape inference first (every later pass needs
/// shapes), then the rollout, fusion, sharding and memory planning.
void buildS2SPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

} // namespace s2s

#endif // S2S_TRANSFORMS_PASSES_H
