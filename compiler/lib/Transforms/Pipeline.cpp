//===- Pipeline.cpp - The pass pipeline s2sc runs
//--------------------------===//

#include "s2s/Transforms/Passes.h"

void s2s::buildS2SPipeline(mlir::OpPassManager &pm,
                           const PipelineOptions &options) {
  pm.addPass(createS2SInferShapes());
  if (options.unrollRollout)
    pm.addPass(createS2SUnrollRollout());
  if (options.fuse)
    pm.addPass(createS2SFuse());
  if (options.shard)
    pm.addPass(createS2SShard());
  if (options.planMemory)
    pm.addPass(createS2SPlanMemory({options.maxRankBytes}));
}
