//===- Plan.cpp - What a training step costs each rank of a mesh ----------===//
//
// The formulas and their sources are in docs/plan.md.
//
//===----------------------------------------------------------------------===//

#include "s2s/Analysis/Plan.h"

#include "s2s/Analysis/ParameterCount.h"

#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <algorithm>
#include <numeric>

using namespace mlir;
using namespace s2s;

namespace {

int64_t numel(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape())
    return 0;
  int64_t total = 1;
  for (int64_t n : t.getShape())
    total = saturatingMul(total, n);
  return total;
}

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
  explicit ElementBytes(bool reduced) : reduced_(reduced) {}

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
  return saturatingMul(numel(op->getResult(0)), eb.of(op->getResult(0)));
}

/// [batch, tokens, embed] of a value, or nothing.
std::optional<std::array<int64_t, 3>> tokens(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || t.getRank() != 3)
    return std::nullopt;
  return std::array<int64_t, 3>{t.getShape()[0], t.getShape()[1],
                                t.getShape()[2]};
}

/// Values an attention op keeps inside itself for the backward (LibTorch
/// 1.13's math path, Ops.cpp multiHead): the q/k/v projection (3 b s e),
/// the scaled scores' softmax (b a s^2) and the merged heads the output
/// projection reads (b s e); with dropout on the weights, the mask and
/// the dropped weights (2 b a s^2).
int64_t attentionInternals(AttentionOp op) {
  auto bse = tokens(op.getInput());
  if (!bse)
    return 0;
  auto [b, s, e] = *bse;
  int64_t scores =
      saturatingMul(saturatingMul(b, op.getHeads()), saturatingMul(s, s));
  int64_t copies = op.getDropout().convertToDouble() > 0 ? 3 : 1;
  return saturatingAdd(saturatingMul(4, saturatingMul(b, saturatingMul(s, e))),
                       saturatingMul(copies, scores));
}

/// Ops whose backward needs none of their inputs (sums, copies, views,
/// gathers and scatters by a static index, the tensor axis' f and g):
/// a value only they use is freed once the forward has moved on.
bool savesNoInput(Operation *op) {
  return isa<AddOp, SubOp, NegOp, PadOp, PadSphereOp, ConcatOp, SliceOp,
             FlattenOp, ReshapeOp, PermuteOp, StopGradientOp, CallTimesOp,
             GraphGatherOp, GraphScatterSumOp, TpCopyOp, TpAllReduceOp>(op);
}

/// Bytes of the layer outputs of `fn` that autograd keeps for the backward:
/// those some op saves (a convolution's, a norm's, an activation's input,
/// both factors of a product), what attention keeps inside, and the
/// function's result; parameters not included.
int64_t forwardBytes(func::FuncOp fn, ElementBytes &bytes) {
  int64_t total = 0;
  fn.walk([&](Operation *op) {
    if (auto a = dyn_cast<AttentionOp>(op))
      total = saturatingAdd(
          total, saturatingMul(attentionInternals(a), bytes.of(a.getResult())));
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

/// The largest single layer output of `fn` (an attention's score matrix
/// counted as one).
int64_t largestOutput(func::FuncOp fn, ElementBytes &bytes) {
  int64_t most = 0;
  fn.walk([&](Operation *op) {
    most = std::max(most, resultBytes(op, bytes));
    if (auto a = dyn_cast<AttentionOp>(op))
      if (auto bse = tokens(a.getInput()))
        most = std::max(
            most,
            saturatingMul(saturatingMul((*bse)[0], a.getHeads()),
                          saturatingMul(saturatingMul((*bse)[1], (*bse)[1]),
                                        bytes.of(a.getResult()))));
  });
  return most;
}

/// Multiply-adds x 2 of `fn`'s forward: each layer with weights applies
/// them once per output position (a linear or attention projection per
/// token, a convolution per pixel), attention adds its two s x s products.
/// b s h bytes (attention's output type) summed over the attention layers
/// of `fn`.
int64_t layerTokens(func::FuncOp fn, ElementBytes &bytes) {
  int64_t total = 0;
  fn.walk([&](AttentionOp a) {
    if (auto bse = tokens(a.getInput()))
      total = saturatingAdd(total,
                            saturatingMul((*bse)[0] * (*bse)[1],
                                          (*bse)[2] * bytes.of(a.getResult())));
  });
  return total;
}

double forwardFlops(func::FuncOp fn) {
  double flops = 0;
  fn.walk([&](Operation *op) {
    auto owner = dyn_cast<ParameterizedOp>(op);
    if (owner && op->getNumResults() == 1) {
      auto t = dyn_cast<RankedTensorType>(op->getResult(0).getType());
      if (!t || !t.hasStaticShape() || t.getRank() < 2)
        return;
      SmallVector<ParameterInfo> params;
      if (failed(owner.getParameters(params)))
        return;
      int64_t weights = 0; // matrices and kernels, not biases or scales
      for (const ParameterInfo &p : params)
        if (p.shape.size() >= 2)
          weights = saturatingAdd(weights, p.numElements());
      bool channelsFirst = isa<Conv2dOp>(op);
      int64_t channels = channelsFirst ? t.getShape()[1] : t.getShape().back();
      flops += 2.0 * double(weights) * double(numel(op->getResult(0))) /
               double(std::max<int64_t>(channels, 1));
    }
    if (auto a = dyn_cast<AttentionOp>(op))
      if (auto bse = tokens(a.getInput()))
        flops += 4.0 * double((*bse)[0]) * double((*bse)[1]) *
                 double((*bse)[1]) * double((*bse)[2]);
  });
  return flops;
}

/// The backward's working set while it runs through one call, in layer
/// outputs of that call: the gradient arriving and the one leaving, and
/// the copies a convolution's backward makes of its input and gradient.
constexpr int64_t kBackwardWorkingSet = 4;

struct Call {
  int64_t kept, largest, output;
  bool recomputed;
};

/// The peak of one training step: the unrolled rollout's own tensors
/// (views of the window and of predictions, which share memory, left out)
/// and, as the backward runs through the model calls from the last to the
/// first, the largest sum of the kept layer outputs of the calls it has not
/// reached (a recomputed call keeps only its output, and its layer outputs
/// again while its backward runs) and that call's working set. `recompute`
/// overrides the spec's choice: 0 none, 1 every call, -1 as the spec says.
int64_t stepPeak(ArrayRef<Call> calls, int64_t own, int recompute) {
  int64_t before = 0, peak = 0; // kept by the calls before call i
  for (const Call &c : calls) {
    bool re = recompute < 0 ? c.recomputed : recompute > 0;
    if (re)
      own = saturatingAdd(own, c.output);
    peak = std::max(
        peak, saturatingAdd(saturatingAdd(before, c.kept),
                            saturatingMul(kBackwardWorkingSet, c.largest)));
    if (!re)
      before = saturatingAdd(before, c.kept);
  }
  return saturatingAdd(own, peak);
}

} // namespace

FailureOr<ModelCost> s2s::modelCost(ModuleOp module, func::FuncOp fn) {
  FailureOr<SmallVector<ModelParameter>> list = collectParameters(fn);
  if (failed(list))
    return failure();
  ModelCost cost;
  cost.units = unitLengths(*list);
  cost.parameters = std::accumulate(cost.units.begin(), cost.units.end(),
                                    int64_t(0), saturatingAdd);
  module.walk([&](TrainOp t) {
    cost.reducedPrecision = t.getPrecision() != Precision::fp32;
    // Adam's two moments, SGD's momentum buffer (the runtime keeps one
    // whatever the momentum).
    cost.optimizerStates =
        t.getOptimizer().getKind() == OptimizerKind::sgd ? 1 : 2;
  });
  ElementBytes bytes(cost.reducedPrecision);
  SymbolTable symbols(module);
  func::FuncOp rollout;
  module.walk([&](RolloutOp r) {
    if (r.getModel() != fn.getSymName())
      return;
    if (auto u = r->getAttrOfType<FlatSymbolRefAttr>(attrs::kUnrolled))
      rollout = symbols.lookup<func::FuncOp>(u.getValue());
  });
  SmallVector<Call> calls;
  int64_t own = 0;
  if (!rollout) {
    calls.push_back({forwardBytes(fn, bytes), largestOutput(fn, bytes),
                     resultBytes(fn.front().getTerminator(), bytes), false});
    cost.forwardFlops = forwardFlops(fn);
    cost.tensorBlockBytes = layerTokens(fn, bytes);
    for (BlockArgument a : fn.getArguments())
      cost.batchBytes =
          saturatingAdd(cost.batchBytes, saturatingMul(numel(a), 4));
  } else {
    cost.modelCalls = 0;
    rollout.walk([&](Operation *op) {
      if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
        if (!callee)
          return;
        bool re = call->hasAttr(attrs::kRecompute);
        calls.push_back({forwardBytes(callee, bytes),
                         largestOutput(callee, bytes), resultBytes(op, bytes),
                         re});
        cost.forwardFlops += forwardFlops(callee);
        cost.tensorBlockBytes =
            saturatingAdd(cost.tensorBlockBytes, layerTokens(callee, bytes));
        ++cost.modelCalls;
        cost.recomputed += re;
        return;
      }
      if (isa<SliceOp, FlattenOp, ReshapeOp, PermuteOp, StopGradientOp,
              JacobianInputOp, CallTimesOp>(op))
        return;
      own = saturatingAdd(own, resultBytes(op, bytes));
    });
    for (BlockArgument a : rollout.getArguments())
      cost.batchBytes =
          saturatingAdd(cost.batchBytes, saturatingMul(numel(a), 4));
  }
  // A recomputed call keeps its output for the rollout's next steps.
  cost.activations = stepPeak(calls, own, -1);
  cost.activationsKept = stepPeak(calls, own, 0);
  cost.activationsRecomputed = stepPeak(calls, own, 1);
  return cost;
}

RankPlan s2s::planRank(const ModelCost &cost, const Layout &layout) {
  const int64_t n = layout.data, t = layout.tensor, bytes = 4;
  const Strategy st = layout.strategy;
  const bool zero1 = st != Strategy::ddp;
  const bool zero2 =
      st == Strategy::zero2 || st == Strategy::zero3 || st == Strategy::fsdp;
  const bool zero3 = st == Strategy::zero3 || st == Strategy::fsdp;
  // A sharded state is a flat vector of the values split into segments,
  // each padded to a multiple of the data axis (io/FlatShards.h):
  // zero1/zero2 one segment, ceil(P / N) values per rank; zero3/fsdp one
  // per gather unit, sum of ceil(unit / N) - what the runtime allocates
  // (train/ZeroShards.h). zero1/zero2's parameters (and zero1's gradients)
  // are views of one padded flat buffer of N ceil(P / N) values; ddp's
  // gradients are views of its buckets (P values). A tensor axis of T
  // splits every unit T ways first (Megatron's column/row layout).
  SmallVector<int64_t> segments(cost.units);
  if (!zero3)
    segments = {cost.parameters};
  auto perRank = [&](bool sharded) {
    int64_t values = 0;
    for (int64_t length : segments)
      values = saturatingAdd(values,
                             sharded ? (length / t + n - 1) / n : length / t);
    return values;
  };
  const int64_t padded =
      zero1 ? saturatingMul(perRank(true), n) : perRank(false);
  RankPlan p;
  // Parameters, gradients and optimizer state are fp32 in every
  // precision: under autocast the parameters are the master weights.
  p.params = saturatingMul(zero3 ? perRank(true) : padded, bytes);
  p.grads = saturatingMul(zero2 ? perRank(true) : padded, bytes);
  p.optimizer = saturatingMul(perRank(zero1), 4 * cost.optimizerStates);
  // The batch and every activation split over the data axis; over the
  // tensor axis too, with sequence parallelism (Korthikanti et al. 2022,
  // sbh(34/t + 5as/(ht)) per layer).
  const int64_t acts = layout.asSpec      ? cost.activations
                       : layout.recompute ? cost.activationsRecomputed
                                          : cost.activationsKept;
  p.activations = acts / n / t;
  // Autocast's reduced copy of every parameter, made in the forward and
  // kept for the backward (whole: zero3 gathers each unit).
  if (cost.reducedPrecision)
    p.activations =
        saturatingAdd(p.activations, saturatingMul(perRank(false), 2));
  p.batch = cost.batchBytes / n;
  const int64_t calls = std::max<int64_t>(1, cost.modelCalls);
  const int64_t recomputed = layout.asSpec      ? cost.recomputed
                             : layout.recompute ? calls
                                                : 0;
  // In flight during the step: zero3's gathered units (the one in use and
  // the next, ZeRO §5.3), zero2's gradient of a unit before it is
  // reduce-scattered, zero1's all-gather buffers (its input is this rank's
  // shard repeated, its output the whole parameter vector).
  int64_t largestUnit = 0;
  for (int64_t u : cost.units)
    largestUnit = std::max(largestUnit, (u / t + n - 1) / n * n);
  if (zero3)
    p.transient = saturatingMul(2 * largestUnit, bytes);
  else if (zero1 && n > 1)
    p.transient = saturatingMul(2 * padded, bytes);
  p.peak = saturatingAdd(saturatingAdd(p.params, p.grads),
                         saturatingAdd(p.optimizer, p.batch));
  p.peak = saturatingAdd(p.peak, saturatingAdd(p.activations, p.transient));
  // Communication per step (Rajbhandari et al. 2020, §7.2.1: DDP 2Ψ,
  // ZeRO-1/2 2Ψ as a reduce-scatter and an all-gather, ZeRO-3 3Ψ).
  const int64_t grad = saturatingMul(padded, bytes);
  if (n > 1) {
    if (st == Strategy::ddp) {
      p.allReduce = grad;
    } else if (!zero3) {
      p.reduceScatter = grad;
      p.allGather = grad;
    } else {
      // Per model call: a gather of every unit in the forward and again in
      // the backward (a third in the recomputed forward), one
      // reduce-scatter of every unit's gradient.
      p.allGather = saturatingMul(grad, 2 * calls + recomputed);
      p.reduceScatter = saturatingMul(grad, calls);
    }
  }
  // Megatron tensor parallel (Shoeybi et al. 2019 §3, Korthikanti §4.2.2):
  // per transformer layer 2 all-reduces of b s h in the forward, 2 in the
  // backward (with sequence parallelism the same bytes as all-gathers and
  // reduce-scatters); a third forward pair under recomputation.
  if (t > 1)
    p.tensorReduce = saturatingMul(cost.tensorBlockBytes / n / calls,
                                   4 * calls + 2 * recomputed);
  auto ring = [&](int64_t handed, int64_t k, int64_t numer) {
    return k > 1 ? saturatingMul(handed / k, numer * (k - 1)) : 0;
  };
  p.wire = saturatingAdd(
      saturatingAdd(ring(p.allReduce, n, 2), ring(p.reduceScatter, n, 1)),
      saturatingAdd(ring(p.allGather, n, 1), ring(p.tensorReduce, t, 2)));
  // Forward and backward: 3 forwards' FLOPs (the backward twice the
  // forward), a fourth for the recomputed calls.
  double forward = cost.forwardFlops / double(calls > 0 ? calls : 1);
  p.flops = forward * double(3 * calls + recomputed) / double(n * t);
  return p;
}

Layout s2s::specLayout(ModuleOp module) {
  Layout layout;
  module.walk([&](ParallelOp p) {
    layout.strategy = p.getStrategy();
    layout.tensor = p.getAxisSize("tensor");
    layout.data = p.getNumProcesses() / layout.tensor;
  });
  return layout;
}
