//===- Lowering.h - The pieces of s2s-to-emitc ------------------*- C++ -*-===//
//
// Private to the conversion: the pass (S2SToEmitC.cpp) lowers functions and
// calls these for the parameter manifests (ParameterManifest.cpp) and the
// sections (SectionLowering.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_CONVERSION_S2STOEMITC_LOWERING_H
#define S2S_CONVERSION_S2STOEMITC_LOWERING_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/IR/Builders.h"

#include <string>

namespace s2s {

/// The section ops of a module (each may be null) and what the program is
/// called.
struct SpecSources {
  DataOp data;
  RolloutOp rollout;
  ParallelOp parallel;
  TrainOp train;
  std::string programName, specFile;
};

/// Errors, at their spec lines, for section values the runtime does not
/// carry out yet (so that none is accepted and dropped).
mlir::LogicalResult checkRuntimeSupport(DataOp data, RolloutOp rollout,
                                        ParallelOp parallel, TrainOp train);

/// `s2s::rt::Spec configure()` at the builder's insertion point.
void buildConfigure(mlir::OpBuilder &b, mlir::Location loc,
                    const SpecSources &sources);

/// `void <model>_parameters(s2s::rt::Manifest &)`: one declaration per
/// learnable tensor of `model` (path, shape, initialiser, sharding), at the
/// builder's insertion point. Fails (with an error) when a shape is not
/// static.
mlir::LogicalResult buildParameterManifest(mlir::OpBuilder &b,
                                           mlir::func::FuncOp model);

} // namespace s2s

#endif // S2S_CONVERSION_S2STOEMITC_LOWERING_H
