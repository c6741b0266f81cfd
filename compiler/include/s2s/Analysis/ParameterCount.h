//===- ParameterCount.h - Learnable parameters of a model forward -*- C++
//-*-===//
//
// An analysis of a model forward (a func.func with `s2s.model`): every
// parameter its layers own (ParameterizedOpInterface), with path, shape and
// initialiser, and the totals per top-level component. Used by memory
// planning, `--emit=summary` and the parameter manifest of the generated
// program.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_ANALYSIS_PARAMETERCOUNT_H
#define S2S_ANALYSIS_PARAMETERCOUNT_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <string>

namespace s2s {

/// One learnable tensor of a model, by its full path
/// (`AFNOBlock.3.linear.0.weight`), with the op that owns it.
struct ModelParameter {
  std::string path;
  /// Its top-level component (`AFNOBlock.3`, `head`): the unit zero3/fsdp
  /// gathers it with and the memory plan pads per rank.
  std::string unit;
  ParameterInfo info;
  ParameterizedOp owner;
};

/// Total learnable parameters of one model forward, and per top-level
/// component (the first segment of each parameter path, with its index:
/// `AFNOBlock.3`), in order of first appearance.
struct ParameterCount {
  int64_t total = 0;
  llvm::SmallVector<std::pair<std::string, int64_t>> components;
};

/// Every parameter of `model` in op order; fails if some shape is not yet
/// known (it depends on a grid read at run time).
mlir::FailureOr<llvm::SmallVector<ModelParameter>>
collectParameters(mlir::func::FuncOp model);

/// The counts of collectParameters.
mlir::FailureOr<ParameterCount> countParameters(mlir::func::FuncOp model);

/// The values of each run of consecutive parameters of one unit, in order:
/// the segments the runtime's zero3 layout splits over the ranks. `values`
/// counts a parameter's (default: all of them; the plan: one tensor rank's).
llvm::SmallVector<int64_t> unitLengths(
    llvm::ArrayRef<ModelParameter> params,
    llvm::function_ref<int64_t(const ModelParameter &)> values = nullptr);

} // namespace s2s

#endif // S2S_ANALYSIS_PARAMETERCOUNT_H
