//===- PlanMemory.cpp - The s2s-plan-memory pass
//---------------------------===//

#include "s2s/Transforms/Passes.h"

#include "s2s/Analysis/ParameterCount.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <numeric>

namespace s2s {
#define GEN_PASS_DEF_S2SPLANMEMORY
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

/// Bytes per element of the values of a training step, as the runtime
/// makes them (runtime/lib/model/Autocast.h). fp32: 4 everywhere. Under
/// autocast (bf16, fp16): 2 for the layers it runs in the reduced type
/// (linear, conv2d, attention, patch_embed, graph_message); 4 for what the
/// kernels keep in fp32 (norms, FFTs, losses, the Jacobian penalty), for
/// parameters and for a function's arguments (the window is fp32; a
/// reduced prediction passed on is counted at 4); any other op follows
/// LibTorch's type promotion: 2 when every tensor operand is 2, else 4.
class ElementBytes {
public:
  explicit ElementBytes(Precision precision)
      : reduced_(precision != Precision::fp32) {}

  bool reduced() const { return reduced_; }

  int64_t of(Value v) {
    if (!reduced_)
      return 4;
    if (auto fn = v.getParentRegion()->getParentOfType<func::FuncOp>())
      fill(fn);
    return known_.lookup(v) == 2 ? 2 : 4;
  }

private:
  /// Every value of `fn`, once, in program order (operands first: no
  /// recursion, however long the function).
  void fill(func::FuncOp fn) {
    if (!filled_.insert(fn.getOperation()).second)
      return;
    fn.walk([&](Operation *op) {
      int64_t bytes = 4;
      if (isa<LinearOp, Conv2dOp, AttentionOp, CrossAttentionOp, PatchEmbedOp,
              GraphMessageOp>(op)) {
        bytes = 2;
      } else if (!isa<LayerNormOp, GroupNormOp, InstanceNormOp, LossOp, Rfft2Op,
                      Irfft2Op, Fft2Op, Ifft2Op, JacobianPenaltyOp, ParamOp,
                      ConstantOp, func::CallOp>(op)) {
        bool any = false, allReduced = true;
        for (Value operand : op->getOperands())
          if (isa<TensorType>(operand.getType())) {
            any = true;
            allReduced &= known_.lookup(operand) == 2;
          }
        if (any && allReduced)
          bytes = 2;
      }
      for (Value r : op->getResults())
        known_[r] = bytes;
    });
  }

  bool reduced_;
  llvm::DenseMap<Value, int64_t> known_;
  llvm::SmallPtrSet<Operation *, 8> filled_;
};

int64_t resultBytes(Operation *op, ElementBytes &eb) {
  if (op->getNumResults() != 1)
    return 0;
  auto t = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!t || !t.hasStaticShape())
    return 0;
  int64_t total = eb.of(op->getResult(0));
  for (int64_t n : t.getShape())
    total = saturatingMul(total, n);
  return total;
}

/// Ops whose backward needs none of their inputs (sums, copies, views,
/// gathers and scatters by a static index):
/// a value only they use is freed once the forward has moved on.
bool savesNoInput(Operation *op) {
  return isa<AddOp, SubOp, NegOp, PadOp, PadSphereOp, ConcatOp, SliceOp,
             FlattenOp, ReshapeOp, PermuteOp, StopGradientOp, CallTimesOp,
             GraphGatherOp, GraphScatterSumOp, TpCopyOp, TpAllReduceOp>(op);
}

/// Bytes of the layer outputs of `fn` that autograd keeps for the backward:
/// those some op saves (a convolution's, a norm's, an activation's input,
/// both factors of a product) and the function's result; parameters not
/// included.
int64_t forwardBytes(func::FuncOp fn, ElementBytes &bytes) {
  int64_t total = 0;
  fn.walk([&](Operation *op) {
    if (isa<ParamOp>(op) || op->getNumResults() != 1)
      return;
    bool kept = llvm::any_of(op->getResult(0).getUsers(), [](Operation *u) {
      return isa<func::ReturnOp>(u) || !savesNoInput(u);
    });
    if (kept)
      total = saturatingAdd(total, resultBytes(op, bytes));
  });
  return total;
}

/// The largest single layer output of `fn`.
int64_t largestOutput(func::FuncOp fn, ElementBytes &bytes) {
  int64_t most = 0;
  fn.walk(
      [&](Operation *op) { most = std::max(most, resultBytes(op, bytes)); });
  return most;
}

/// The backward's working set while it runs through one call, in layer
/// outputs of that call: the gradient arriving and the one leaving, and
/// the copies a convolution's backward makes of its input and gradient.
constexpr int64_t kBackwardWorkingSet = 4;

/// The peak of one training step: the unrolled rollout's own tensors
/// (views of the window and of predictions, which share memory, left out)
/// and, as the backward runs through the model calls from the last to the
/// first, the largest sum of the kept layer outputs of the calls it has not
/// reached (a recomputed call keeps only its output, and its layer outputs
/// again while its backward runs) and that call's working set.
int64_t rolloutBytes(func::FuncOp rollout, SymbolTable &symbols,
                     ElementBytes &bytes) {
  struct Call {
    int64_t kept, largest;
    bool recomputed;
  };
  SmallVector<Call> calls;
  int64_t own = 0;
  rollout.walk([&](Operation *op) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (!callee)
        return;
      bool recomputed = call->hasAttr(attrs::kRecompute);
      calls.push_back({forwardBytes(callee, bytes),
                       largestOutput(callee, bytes), recomputed});
      if (recomputed)
        own = saturatingAdd(own, resultBytes(op, bytes));
      return;
    }
    if (isa<SliceOp, FlattenOp, ReshapeOp, PermuteOp, StopGradientOp,
            JacobianInputOp, CallTimesOp>(op))
      return;
    own = saturatingAdd(own, resultBytes(op, bytes));
  });
  int64_t before = 0, peak = 0; // kept by the calls before call i
  for (const Call &c : calls) {
    peak = std::max(
        peak, saturatingAdd(saturatingAdd(before, c.kept),
                            saturatingMul(kBackwardWorkingSet, c.largest)));
    if (!c.recomputed)
      before = saturatingAdd(before, c.kept);
  }
  return saturatingAdd(own, peak);
}

struct PlanMemoryPass : public s2s::impl::S2SPlanMemoryBase<PlanMemoryPass> {
  using S2SPlanMemoryBase::S2SPlanMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t data = 1, tensor = 1;
    Strategy strategy = Strategy::ddp;
    Precision precision = Precision::fp32;
    module.walk([&](ParallelOp p) {
      strategy = p.getStrategy();
      tensor = p.getAxisSize("tensor");
      data = p.getNumProcesses() / tensor;
    });
    // Optimizer state values per parameter: Adam's two moments, SGD's
    // momentum buffer (the runtime keeps one whatever the momentum).
    int64_t states = 2;
    module.walk([&](TrainOp t) {
      precision = t.getPrecision();
      if (t.getOptimizer().getKind() == OptimizerKind::sgd)
        states = 1;
    });
    ElementBytes bytes(precision);
    bool zero1 = strategy != Strategy::ddp;
    bool zero2 = strategy == Strategy::zero2 || strategy == Strategy::zero3 ||
                 strategy == Strategy::fsdp;
    bool zero3 = strategy == Strategy::zero3 || strategy == Strategy::fsdp;
    SymbolTable symbols(module);
    // model -> its unrolled rollout
    llvm::StringMap<StringRef> rollouts;
    module.walk([&](RolloutOp r) {
      if (auto u = r->getAttrOfType<FlatSymbolRefAttr>(attrs::kUnrolled))
        rollouts[r.getModel()] = u.getValue();
    });
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(attrs::kModel))
        return;
      FailureOr<SmallVector<ModelParameter>> list = collectParameters(fn);
      if (failed(list)) {
        // Shapes that depend on a grid read at run time: nothing to plan.
        fn.emitWarning() << "no memory plan for '" << fn.getSymName()
                         << "': its parameter shapes depend on sizes known "
                            "only at run time (give the data set a 'grid')";
        return;
      }
      // A sharded state is a flat vector of the values split into
      // segments, each padded to a multiple of the data axis
      // (io/FlatShards.h): zero1/zero2 one segment, ceil(P / N) values per
      // rank; zero3/fsdp one per gather unit, sum of ceil(unit / N) - what
      // the runtime allocates (train/ZeroShards.h). zero1/zero2's
      // parameters (and zero1's gradients) are views of one padded flat
      // buffer of N ceil(P / N) values; ddp's gradients are views of its
      // buckets (P values).
      SmallVector<int64_t> segments = unitLengths(*list);
      if (!zero3)
        segments = {std::accumulate(segments.begin(), segments.end(),
                                    int64_t(0), saturatingAdd)};
      auto perRank = [&](bool sharded) {
        int64_t values = 0;
        for (int64_t length : segments)
          values = saturatingAdd(values,
                                 sharded ? (length / tensor + data - 1) / data
                                         : length / tensor);
        return values;
      };
      const int64_t padded =
          zero1 ? saturatingMul(perRank(true), data) : perRank(false);
      // Parameters, gradients and optimizer state are fp32 in every
      // precision: under autocast the parameters are the master weights.
      int64_t params = saturatingMul(zero3 ? perRank(true) : padded, 4);
      int64_t grads = saturatingMul(zero2 ? perRank(true) : padded, 4);
      int64_t optimizer = saturatingMul(perRank(zero1), 4 * states);
      // Every layer output is kept for the backward; with a rollout, one
      // training step is the unrolled tableau (every order's batched call);
      // the batch is split over the data axis.
      int64_t activations = saturatingAdd(
          forwardBytes(fn, bytes),
          saturatingMul(kBackwardWorkingSet, largestOutput(fn, bytes)));
      if (StringRef unrolled = rollouts.lookup(fn.getSymName());
          !unrolled.empty())
        if (auto r = symbols.lookup<func::FuncOp>(unrolled))
          activations = rolloutBytes(r, symbols, bytes);
      activations /= data;
      // Autocast's reduced copy of every parameter, made in the forward
      // and kept for the backward (whole: zero3 gathers each unit).
      if (bytes.reduced())
        activations =
            saturatingAdd(activations, saturatingMul(perRank(false), 2));
      int64_t total = saturatingAdd(saturatingAdd(params, grads),
                                    saturatingAdd(optimizer, activations));
      fn->setAttr(attrs::kMemory,
                  MemoryPlanAttr::get(&getContext(), params, grads, optimizer,
                                      activations, total));
      if (maxRankBytes > 0 && total > maxRankBytes) {
        overBudget(fn, total);
        signalPassFailure();
      }
    });
  }

  /// The plan of `fn` needs `total` bytes per rank, above maxRankBytes.
  void overBudget(func::FuncOp fn, int64_t total) {
    auto plan = fn->getAttrOfType<MemoryPlanAttr>(attrs::kMemory);
    std::string needs = total == INT64_MAX ? "more than " + formatBytes(total)
                                           : formatBytes(total);
    fn.emitError() << "the memory plan of '" << fn.getSymName() << "' needs "
                   << needs << " per rank (parameters "
                   << formatBytes(plan.getParams()) << ", gradients "
                   << formatBytes(plan.getGrads()) << ", optimizer state "
                   << formatBytes(plan.getOptimizer()) << ", activations "
                   << formatBytes(plan.getActivations()) << "), above the "
                   << formatBytes(maxRankBytes)
                   << " a rank may use (s2sc --max-rank-memory); make the "
                      "model, the batch or the grid smaller, or the mesh "
                      "larger";
  }
};
} // namespace
