//===- Plan.h - What a training step costs each rank of a mesh -*- C++ -*-===//
//
// The model of s2s-plan-memory and `s2sc --emit=plan` (docs/plan.md): from
// the IR after the pipeline, what one training step of a model costs
// independent of the mesh (ModelCost: parameter units, the activations the
// backward keeps with and without recomputation, the batch, FLOPs), and
// from that, what each rank of a layout holds and sends (planRank).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_ANALYSIS_PLAN_H
#define S2S_ANALYSIS_PLAN_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/SmallVector.h"

namespace s2s {

/// Bytes of storage a training step has alive on top of what lives between
/// steps, at the forward's peak and at the backward's, for the whole
/// (global) batch: the values of the generated code (each a local until its
/// function returns) and what autograd keeps for the backward.
struct StepPeaks {
  int64_t forward = 0, backward = 0;
};

/// One training step of a model, for the whole (global) batch on one rank
/// of a tensor axis.
struct ModelCost {
  int64_t tensor = 1; ///< the tensor axis it is for
  /// Values per zero3 gather unit on one rank of that axis (the split
  /// layers' slices, the rest whole).
  llvm::SmallVector<int64_t> units;
  int64_t parameters = 0; ///< values of the whole model
  /// Under autocast (bf16, fp16) the layers that run in the reduced type
  /// keep 2-byte outputs and every parameter has a 2-byte copy in the
  /// step; parameters, gradients and optimizer state stay fp32.
  bool reducedPrecision = false;
  int64_t optimizerStates = 2; ///< fp32 values per parameter
  /// The step's peaks: as the spec recomputes, with nothing recomputed,
  /// and with every model call recomputed.
  StepPeaks activations, activationsKept, activationsRecomputed;
  int64_t batchBytes = 0;  ///< the step's input window and targets
  int64_t modelCalls = 1;  ///< forward calls per step (the rollout's)
  int64_t recomputed = 0;  ///< of those, recomputed in the backward
  double forwardFlops = 0; ///< of the step's forward calls
  /// b s h bytes summed over the transformer layers (attention ops) of
  /// the step's model calls: what a tensor axis all-reduces per layer.
  int64_t tensorBlockBytes = 0;
};

/// The cost of `model` in `module` (after the pipeline) on a tensor axis
/// of `tensor` (Analysis/TensorRoles.h's layout); fails when a parameter
/// shape is known only at run time.
mlir::FailureOr<ModelCost>
modelCost(mlir::ModuleOp module, mlir::func::FuncOp model, int64_t tensor = 1);

/// A mesh and strategy.
struct Layout {
  int64_t data = 1, tensor = 1;
  Strategy strategy = Strategy::ddp;
  bool recompute = false; ///< every model call recomputed
  /// The spec's own choice of recomputation (ModelCost::activations).
  bool asSpec = true;
};

/// What one rank holds and sends in one step under a layout (whose tensor
/// axis is the cost's).
struct RankPlan {
  int64_t params = 0, grads = 0, optimizer = 0; ///< between steps
  int64_t activations = 0; ///< the larger of the step's peaks (values)
  int64_t transient = 0;   ///< gathered units, gradient shards in flight
  /// The step's peak above the state between steps and the batch: the
  /// activations with what is in flight at that moment, less the
  /// gradients a strategy frees at the step's start (what S2S_STATS=1
  /// measures as step_peak_bytes).
  int64_t step = 0;
  int64_t batch = 0; ///< this rank's share of the batch
  int64_t peak = 0;  ///< the state between steps, the batch and the step
  /// Bytes handed to each collective per step (input sizes: what the
  /// runtime counts, S2S_STATS) and sent on the wire by a ring.
  int64_t allReduce = 0, reduceScatter = 0, allGather = 0, tensorReduce = 0;
  int64_t wire = 0;
  double flops = 0; ///< per rank per step, forward and backward
};

RankPlan planRank(const ModelCost &cost, const Layout &layout);

/// The layout of `module`'s parallel section (one process without one).
Layout specLayout(mlir::ModuleOp module);

} // namespace s2s

#endif // S2S_ANALYSIS_PLAN_H
