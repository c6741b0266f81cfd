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
/// 1.13's math path, Ops.cpp multiHead): the q, k and v copies its batched
/// products read and the merged heads the output projection reads
/// (4 b s e), the softmax (b a s^2); with dropout on the weights, the mask
/// and the dropped weights (2 b a s^2).
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

/// Ops whose result is a view of their input in the runtime (no storage of
/// its own): views, and dropout, drop_path and a zero pad, which return
/// their input when they change nothing.
bool isAlias(Operation *op) {
  if (isa<SliceOp, FlattenOp, ReshapeOp, PermuteOp, StopGradientOp, CallTimesOp,
          TpCopyOp>(op))
    return true;
  if (auto d = dyn_cast<DropoutOp>(op))
    return d.getP().convertToDouble() <= 0;
  if (auto d = dyn_cast<DropPathOp>(op))
    return d.getP().convertToDouble() <= 0;
  if (auto p = dyn_cast<PadOp>(op))
    return llvm::all_of(p.getPad(), [](int64_t v) { return v == 0; });
  return false;
}

/// Ops whose backward needs none of their inputs (sums, copies, gathers
/// and scatters by a static index, the tensor axis' g).
bool savesNoInput(Operation *op) {
  return isAlias(op) ||
         isa<AddOp, SubOp, NegOp, PadOp, PadSphereOp, ConcatOp, DropPathOp,
             UnpatchOp, ExtractPatchesOp, GraphGatherOp, GraphScatterSumOp,
             TpAllReduceOp, ParamOp, ConstantOp, func::ReturnOp, func::CallOp>(
             op);
}

bool savesOwnResult(std::optional<ActivationKind> kind) {
  return kind &&
         (*kind == ActivationKind::relu || *kind == ActivationKind::tanh ||
          *kind == ActivationKind::sigmoid);
}

/// What autograd keeps of one op for the backward (LibTorch 1.13's
/// derivatives, the runtime's kernels in Ops.cpp): the operands it saves,
/// whether it saves its own result, and bytes it keeps of its own; and the
/// bytes it allocates and frees again within itself.
struct Saves {
  SmallVector<Value, 2> operands;
  bool result = false;
  int64_t internal = 0, transient = 0;
};

Saves savesOf(Operation *op, ElementBytes &bytes) {
  Saves s;
  if (savesNoInput(op)) {
    if (auto d = dyn_cast<DropoutOp>(op); d && !isAlias(op))
      s.internal = resultBytes(op, bytes); // the scaled mask
    return s;
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    s.operands.push_back(a.getInput());
    int64_t e = bytes.of(a.getResult());
    s.internal = saturatingMul(attentionInternals(a), e);
    if (auto bse = tokens(a.getInput())) // the packed q, k, v
      s.transient = saturatingMul(3 * (*bse)[0] * (*bse)[1] * (*bse)[2], e);
    return s;
  }
  if (auto n = dyn_cast<LayerNormOp>(op)) { // and its mean and 1/std
    s.operands.push_back(n.getInput());
    auto t = cast<RankedTensorType>(n.getInput().getType());
    if (t.hasStaticShape() && t.getRank() > 0)
      s.internal =
          saturatingMul(2 * 4, numel(n.getInput()) / t.getShape().back());
    return s;
  }
  std::optional<ActivationKind> act;
  if (auto l = dyn_cast<LinearOp>(op))
    act = l.getActivation();
  else if (auto c = dyn_cast<Conv2dOp>(op))
    act = c.getActivation();
  if (isa<LinearOp, Conv2dOp>(op)) {
    s.operands.push_back(op->getOperand(0));
    s.result = savesOwnResult(act);
    if (act && !s.result) // gelu, silu: the product before the activation
      s.internal = resultBytes(op, bytes);
    return s;
  }
  if (auto a = dyn_cast<ActivationOp>(op)) {
    s.result = savesOwnResult(a.getKind());
    if (!s.result)
      s.operands.push_back(a.getInput());
    return s;
  }
  if (isa<SoftmaxOp>(op)) {
    s.result = true;
    return s;
  }
  if (auto l = dyn_cast<LossOp>(op)) {
    // The pointwise loss keeps the prediction (the target is data); with
    // latitude weights its elementwise values and their weighted copy
    // exist at once before the mean.
    s.operands.push_back(l.getPrediction());
    s.transient = saturatingMul(l.getWeight() == Weighting::latitude ? 2 : 1,
                                saturatingMul(numel(l.getPrediction()), 4));
    return s;
  }
  for (Value v : op->getOperands())
    if (isa<TensorType>(v.getType()))
      s.operands.push_back(v);
  return s;
}

/// A model function's storage in one training step, as the generated code
/// runs it: every value is a local of the C++ function until it returns,
/// so at its return all of them are alive (`all`); autograd keeps what the
/// backward saves (`kept`) after it. Values that are views (isAlias) and
/// the function's arguments have no storage of their own here.
struct FunctionMemory {
  int64_t all = 0;    ///< alive at its return, with gradients
  int64_t values = 0; ///< the same without gradients (no internals)
  int64_t kept = 0;   ///< kept for the backward, its result aside
  int64_t output = 0; ///< its result's own storage
  bool outputSaved = false;
  int64_t largest = 0; ///< its largest value
  llvm::SmallVector<bool> argumentSaved;
};

/// The value whose storage `v` is.
Value storageOf(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isAlias(def) || def->getNumOperands() == 0)
      break;
    v = def->getOperand(0);
  }
  return v;
}

FunctionMemory functionMemory(func::FuncOp fn, ElementBytes &bytes) {
  FunctionMemory m;
  llvm::DenseSet<Value> saved;
  int64_t internals = 0, allocated = 0;
  fn.walk([&](Operation *op) {
    Saves s = savesOf(op, bytes);
    for (Value v : s.operands)
      saved.insert(storageOf(v));
    if (s.result && op->getNumResults() == 1)
      saved.insert(op->getResult(0));
    internals = saturatingAdd(internals, s.internal);
    if (isAlias(op) || isa<ParamOp, ConstantOp>(op))
      return;
    int64_t r = resultBytes(op, bytes);
    allocated = saturatingAdd(allocated, r);
    m.largest = std::max(m.largest, r);
    if (auto a = dyn_cast<AttentionOp>(op)) // its score matrix
      m.largest = std::max(m.largest, saturatingMul(attentionInternals(a) -
                                                        4 * numel(a.getInput()),
                                                    bytes.of(a.getResult())));
  });
  Value result = storageOf(fn.front().getTerminator()->getOperand(0));
  bool own = !isa<BlockArgument>(result);
  m.output = own ? resultBytes(result.getDefiningOp(), bytes) : 0;
  m.outputSaved = own && saved.contains(result);
  for (Value v : saved)
    if (!isa<BlockArgument>(v) && v != result)
      m.kept = saturatingAdd(m.kept, resultBytes(v.getDefiningOp(), bytes));
  m.kept = saturatingAdd(m.kept, internals);
  m.values = allocated;
  m.all = saturatingAdd(allocated, internals);
  for (BlockArgument a : fn.getArguments())
    m.argumentSaved.push_back(saved.contains(a));
  return m;
}

/// One model call of the rollout.
struct Call {
  FunctionMemory callee;
  bool recomputed;
};

/// The backward's working set through a call: the gradient arriving at a
/// value and the one it hands on, at most its largest value each
/// (measured: LibTorch's engine frees a node's saved values and incoming
/// gradient as it moves on).
constexpr int64_t kBackwardWorkingSet = 2;

/// The rollout function's own storage: its values (the calls' results,
/// concatenations, losses) stay alive until it returns, as the model
/// functions' do; a call keeps what its callee keeps (a recomputed call
/// only its input, and runs its forward again in the backward).
/// `recompute`: 0 none, 1 every call, -1 as the spec says.
StepPeaks rolloutPeaks(func::FuncOp rollout, SymbolTable &symbols,
                       ElementBytes &bytes, int recompute,
                       SmallVectorImpl<Call> &calls) {
  llvm::DenseSet<Value> saved;
  int64_t alive = 0, keptByCalls = 0, internals = 0, forward = 0;
  calls.clear();
  rollout.walk([&](Operation *op) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (!callee)
        return;
      FunctionMemory m = functionMemory(callee, bytes);
      bool re = recompute < 0 ? call->hasAttr(attrs::kRecompute) : recompute;
      calls.push_back({m, re});
      int64_t base =
          saturatingAdd(saturatingAdd(alive, keptByCalls), internals);
      forward = std::max(forward, saturatingAdd(base, re ? m.values : m.all));
      for (auto [i, arg] : llvm::enumerate(call.getOperands()))
        if (re || m.argumentSaved[i])
          saved.insert(storageOf(arg));
      if (!re)
        keptByCalls = saturatingAdd(keptByCalls, m.kept);
      if (m.outputSaved && !re)
        saved.insert(call.getResult(0));
      alive = saturatingAdd(alive, m.output);
      return;
    }
    Saves s = savesOf(op, bytes);
    for (Value v : s.operands)
      saved.insert(storageOf(v));
    internals = saturatingAdd(internals, s.internal);
    if (!isAlias(op))
      alive = saturatingAdd(alive, resultBytes(op, bytes));
    forward =
        std::max(forward, saturatingAdd(saturatingAdd(alive, keptByCalls),
                                        saturatingAdd(internals, s.transient)));
  });
  // The backward starts once the rollout has returned its loss: what the
  // calls keep, and the rollout's saved values. Going back through the
  // calls, a recomputed one runs its forward again (every value of it
  // alive until it returns) before its backward.
  int64_t rolloutKept = internals;
  for (Value v : saved)
    if (!isa<BlockArgument>(v))
      rolloutKept =
          saturatingAdd(rolloutKept, resultBytes(v.getDefiningOp(), bytes));
  StepPeaks peaks;
  peaks.forward = forward;
  int64_t before = rolloutKept;
  for (const Call &c : calls) {
    const FunctionMemory &m = c.callee;
    int64_t backward =
        saturatingAdd(m.kept, saturatingMul(kBackwardWorkingSet, m.largest));
    // A recomputed call: its forward again (the peak at its return), then
    // the backward through what it keeps, from its result's gradient.
    if (c.recomputed)
      backward = std::max(m.all, saturatingAdd(backward, m.output));
    int64_t here = saturatingAdd(before, backward);
    peaks.backward = std::max(peaks.backward, here);
    if (!c.recomputed)
      before = saturatingAdd(before, c.callee.kept);
  }
  return peaks;
}

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

/// Multiply-adds x 2 of `fn`'s forward: each layer with weights applies
/// them once per output position (a linear or attention projection per
/// token, a convolution per pixel), attention adds its two s x s products.
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
  if (!rollout) {
    // A model without a rollout: one call whose result is the loss.
    FunctionMemory m = functionMemory(fn, bytes);
    cost.forwardFlops = forwardFlops(fn);
    cost.tensorBlockBytes = layerTokens(fn, bytes);
    for (BlockArgument a : fn.getArguments())
      cost.batchBytes =
          saturatingAdd(cost.batchBytes, saturatingMul(numel(a), 4));
    int64_t backward =
        saturatingAdd(saturatingAdd(m.kept, m.output),
                      saturatingMul(kBackwardWorkingSet, m.largest));
    cost.activations = cost.activationsKept = {m.all, backward};
    cost.activationsRecomputed = {m.values, saturatingAdd(m.output, backward)};
    return cost;
  }
  SmallVector<Call> calls;
  cost.activations = rolloutPeaks(rollout, symbols, bytes, -1, calls);
  cost.activationsKept = rolloutPeaks(rollout, symbols, bytes, 0, calls);
  cost.activationsRecomputed = rolloutPeaks(rollout, symbols, bytes, 1, calls);
  cost.modelCalls = 0;
  rollout.walk([&](func::CallOp call) {
    auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
    if (!callee)
      return;
    cost.forwardFlops += forwardFlops(callee);
    cost.tensorBlockBytes =
        saturatingAdd(cost.tensorBlockBytes, layerTokens(callee, bytes));
    ++cost.modelCalls;
    cost.recomputed += call->hasAttr(attrs::kRecompute);
  });
  for (BlockArgument a : rollout.getArguments())
    cost.batchBytes =
        saturatingAdd(cost.batchBytes, saturatingMul(numel(a), 4));
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
  const StepPeaks &acts = layout.asSpec      ? cost.activations
                          : layout.recompute ? cost.activationsRecomputed
                                             : cost.activationsKept;
  int64_t forward = acts.forward / n / t, backward = acts.backward / n / t;
  // Autocast's reduced copy of every parameter, made in the forward and
  // kept for the backward (whole: zero3 gathers each unit).
  if (cost.reducedPrecision) {
    forward = saturatingAdd(forward, saturatingMul(perRank(false), 2));
    backward = saturatingAdd(backward, saturatingMul(perRank(false), 2));
  }
  p.activations = std::max(forward, backward);
  p.batch = cost.batchBytes / n;
  const int64_t calls = std::max<int64_t>(1, cost.modelCalls);
  const int64_t recomputed = layout.asSpec      ? cost.recomputed
                             : layout.recompute ? calls
                                                : 0;
  // In flight during the step (train/ShardedParameters.h, ZeroShards.h):
  // zero3's gathered units, one resident and the next being gathered in
  // the forward, two resident and the gradient of one before its
  // reduce-scatter in the backward (ZeRO §5.3); zero1/2's all-gather after
  // the backward (its input is this rank's shard repeated, its output the
  // whole parameter vector), which is not at the same time as the
  // activations.
  int64_t largestUnit = 0;
  for (int64_t u : cost.units)
    largestUnit = std::max(largestUnit, (u / t + n - 1) / n * n);
  const int64_t unitBytes = saturatingMul(largestUnit, bytes);
  int64_t afterBackward = 0;
  if (zero3) {
    p.transient = saturatingMul(3, unitBytes);
    forward = saturatingAdd(forward, saturatingMul(2, unitBytes));
    backward = saturatingAdd(backward, p.transient);
  } else if (zero1 && n > 1) {
    p.transient = afterBackward = saturatingMul(2 * padded, bytes);
  }
  // One process (and zero3's shards) drops the gradients at the step's
  // start (zero_grad(set_to_none)); the backward makes them again.
  const int64_t freed = (n == 1 || zero3) ? p.grads : 0;
  p.step = std::max<int64_t>(0, std::max({forward, backward, afterBackward}) -
                                    freed);
  p.peak = saturatingAdd(saturatingAdd(p.params, p.grads),
                         saturatingAdd(p.optimizer, p.batch));
  p.peak = saturatingAdd(p.peak, p.step);
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
  double perCall = cost.forwardFlops / double(calls > 0 ? calls : 1);
  p.flops = perCall * double(3 * calls + recomputed) / double(n * t);
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
