//===- PlanReport.h - s2sc --emit=plan --------------------------*- C++ -*-===//
//
// The plan of a spec (docs/plan.md): what each rank of its mesh holds and
// sends per training step, and whether it fits a GPU; or, with a GPU
// count, every mesh and strategy on that many GPUs, those that fit first,
// by estimated step time.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DRIVER_PLANREPORT_H
#define S2S_DRIVER_PLANREPORT_H

#include "mlir/IR/BuiltinOps.h"

namespace llvm {
class raw_ostream;
}

namespace s2s {

struct PlanOptions {
  int64_t gpus = 0;             ///< 0: the spec's mesh
  int64_t gpuMemory = 0;        ///< bytes per GPU; 0: not checked
  double gpuFlops = 989e12;     ///< peak FLOP/s (H100 SXM bf16 dense)
  double netBandwidth = 50e9;   ///< bytes/s per GPU on the data axis
  double linkBandwidth = 450e9; ///< bytes/s per GPU on the tensor axis
};

/// Prints the plan of every model of `module` (after the pipeline). False
/// (with an error) when some model has no plan; a layout that does not fit
/// is said, with its numbers, and makes it false too when it is the spec's.
bool printPlan(mlir::ModuleOp module, const PlanOptions &options,
               llvm::raw_ostream &os);

} // namespace s2s

#endif // S2S_DRIVER_PLANREPORT_H
