//===- Plan.cpp - What a training step costs each rank of a mesh ----------===//
//
// The formulas and their sources are in docs/plan.md.
//
//===----------------------------------------------------------------------===//

#include "s2s/Analysis/Plan.h"

#include "s2s/Analysis/ParameterCount.h"
#include "s2s/Analysis/TensorRoles.h"

#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <algorithm>
#include <cassert>
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
/// their input when they change nothing; on one tensor rank (`parts` 1)
/// the tensor axis' sum too.
bool isAlias(Operation *op, int64_t parts = 2) {
  if (isa<SliceOp, FlattenOp, ReshapeOp, PermuteOp, StopGradientOp, CallTimesOp,
          TpCopyOp>(op))
    return true;
  if (parts == 1 && isa<TpAllReduceOp>(op))
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

/// The value whose storage `v` is.
Value storageOf(Value v, int64_t parts) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isAlias(def, parts) || def->getNumOperands() == 0)
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Bytes of a function's values on one rank of a tensor axis of `parts`
/// (1: none): ElementBytes' element sizes, divided by the axis for the
/// values its layers split (Analysis/TensorRoles.h: a column linear's
/// output and what pointwise ops make of it; an attention's heads, inside
/// the op). A row layer's and an attention's results are partial sums,
/// whole; the tensor axis' all-reduce makes another whole value, in the IR
/// after s2s-shard (s2s.tp_all_reduce) and counted here before it.
class RankBytes {
public:
  RankBytes(ElementBytes &element, int64_t parts)
      : element_(element), parts_(parts) {}

  int64_t parts() const { return parts_; }
  ElementBytes &element() { return element_; }

  /// Call once per function before asking about its values.
  void layOut(func::FuncOp fn) {
    split_.clear();
    roles_.clear();
    reduced_ = false;
    if (parts_ == 1)
      return;
    roles_ = tensorRoles(fn);
    fn.walk([&](Operation *op) {
      reduced_ |= isa<TpAllReduceOp>(op);
      bool splitOut = role(op) == TensorLayout::column && isa<LinearOp>(op);
      if (isa<ActivationOp, DropoutOp>(op))
        splitOut = split_.contains(storageOf(op->getOperand(0), parts_));
      if (splitOut)
        split_.insert(op->getResult(0));
    });
  }

  TensorLayout role(Operation *op) const {
    auto it = roles_.find(op);
    return it == roles_.end() ? TensorLayout::replicated : it->second;
  }
  /// A split layer's own values (attention's internals) divide by this.
  int64_t partsOf(Operation *op) const {
    return role(op) == TensorLayout::column ? parts_ : 1;
  }
  /// The all-reduce after a row layer or attention is not in the IR yet.
  bool reducesAfter(Operation *op) const {
    return parts_ > 1 && !reduced_ &&
           (role(op) == TensorLayout::row || isa<AttentionOp>(op));
  }

  int64_t of(Operation *op) {
    if (op->getNumResults() != 1)
      return 0;
    Value v = op->getResult(0);
    int64_t b = saturatingMul(numel(v), element_.of(v));
    return split_.contains(v) ? b / parts_ : b;
  }

private:
  ElementBytes &element_;
  int64_t parts_;
  llvm::DenseMap<Operation *, TensorLayout> roles_;
  llvm::DenseSet<Value> split_;
  bool reduced_ = false;
};

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

Saves savesOf(Operation *op, RankBytes &bytes) {
  Saves s;
  if (auto g = dyn_cast<TpAllReduceOp>(op); g && bytes.parts() > 1) {
    // The sum in a fresh copy, then the bias added (a new tensor), then
    // the activation.
    if (g.getBiasOf())
      s.transient = bytes.of(op);
    if (g.getActivation() && !savesOwnResult(g.getActivation()))
      s.internal = bytes.of(op);
    s.result = savesOwnResult(g.getActivation());
    return s;
  }
  if (savesNoInput(op)) {
    if (auto d = dyn_cast<DropoutOp>(op); d && !isAlias(op))
      s.internal = bytes.of(op); // the scaled mask
    return s;
  }
  if (auto a = dyn_cast<AttentionOp>(op)) {
    s.operands.push_back(a.getInput());
    int64_t e = bytes.element().of(a.getResult()), parts = bytes.partsOf(op);
    s.internal = saturatingMul(attentionInternals(a), e) / parts;
    if (auto bse = tokens(a.getInput())) // the packed q, k, v
      s.transient =
          saturatingMul(3 * (*bse)[0] * (*bse)[1] * (*bse)[2], e) / parts;
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
      s.internal = bytes.of(op);
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

/// A function's storage in one training step, as the generated code runs
/// it: each value is a C++ local released right after its last use
/// (S2SToEmitC), so its storage goes then unless autograd saved it for the
/// backward (`kept`, until the backward passes) or it is the result. Views
/// (isAlias) share their input's storage; the arguments are the caller's.
struct FunctionMemory {
  int64_t all = 0;    ///< the forward's peak, with gradients
  int64_t values = 0; ///< the same without (nothing saved)
  int64_t kept = 0;   ///< kept for the backward, its result aside
  int64_t output = 0; ///< its result's own storage
  bool outputSaved = false;
  int64_t largest = 0; ///< its largest value
  llvm::SmallVector<bool> argumentSaved;
};

/// Whether `op`'s result has storage of its own.
bool allocates(Operation *op, int64_t parts) {
  return op->getNumResults() == 1 && !isAlias(op, parts) &&
         !isa<ParamOp, ConstantOp>(op);
}

/// Where each storage of `body` is used last (views' uses count for the
/// storage they share).
llvm::DenseMap<Value, Operation *> lastUses(Block &body, int64_t parts) {
  llvm::DenseMap<Value, Operation *> last;
  for (Operation &op : body)
    for (Value v : op.getOperands())
      last[storageOf(v, parts)] = &op;
  return last;
}

/// The storages to free after each op: every one it used last that is
/// neither kept (`keep`) nor returned.
llvm::DenseMap<Operation *, SmallVector<Value>>
freedAfter(Block &body, int64_t parts, const llvm::DenseSet<Value> &keep) {
  llvm::DenseMap<Value, Operation *> last = lastUses(body, parts);
  Value result = storageOf(body.getTerminator()->getOperand(0), parts);
  llvm::DenseMap<Operation *, SmallVector<Value>> freed;
  for (Operation &op : body)
    if (allocates(&op, parts)) {
      Value v = op.getResult(0);
      if (v == result || keep.contains(v))
        continue;
      Operation *at = last.lookup(v);
      freed[at ? at : &op].push_back(v);
    }
  return freed;
}

FunctionMemory functionMemory(func::FuncOp fn, RankBytes &bytes) {
  FunctionMemory m;
  const int64_t parts = bytes.parts();
  bytes.layOut(fn);
  Block &body = fn.front();
  llvm::DenseSet<Value> saved;
  llvm::DenseMap<Operation *, Saves> saves;
  int64_t internals = 0;
  for (Operation &op : body) {
    const Saves &s = saves[&op] = savesOf(&op, bytes);
    for (Value v : s.operands)
      saved.insert(storageOf(v, parts));
    if (s.result && op.getNumResults() == 1)
      saved.insert(op.getResult(0));
    internals = saturatingAdd(internals, s.internal);
    if (!allocates(&op, parts))
      continue;
    m.largest = std::max(m.largest, bytes.of(&op));
    if (auto a = dyn_cast<AttentionOp>(op)) // its score matrix
      m.largest =
          std::max(m.largest, saturatingMul(attentionInternals(a) -
                                                4 * numel(a.getInput()),
                                            bytes.element().of(a.getResult())) /
                                  bytes.partsOf(&op));
  }
  // The forward's peak: what is live when each op runs, its result, what
  // it has in flight inside (and, before s2s-shard, the tensor axis' sum
  // after a row layer: the partial product and the sum's copy).
  auto peakOf = [&](bool grad) {
    llvm::DenseSet<Value> none;
    auto freed = freedAfter(body, parts, grad ? saved : none);
    int64_t live = 0, peak = 0;
    for (Operation &op : body) {
      const Saves &s = saves[&op];
      int64_t r = allocates(&op, parts) ? bytes.of(&op) : 0;
      int64_t inFlight = saturatingAdd(
          s.transient, bytes.reducesAfter(&op) ? saturatingMul(2, r) : 0);
      int64_t own = saturatingAdd(r, grad ? s.internal : 0);
      peak = std::max(peak, saturatingAdd(live, saturatingAdd(own, inFlight)));
      live = saturatingAdd(live, own);
      for (Value v : freed.lookup(&op))
        live -= bytes.of(v.getDefiningOp());
    }
    return peak;
  };
  m.all = peakOf(true);
  m.values = peakOf(false);
  Value result = storageOf(body.getTerminator()->getOperand(0), parts);
  bool own = !isa<BlockArgument>(result);
  m.output = own ? bytes.of(result.getDefiningOp()) : 0;
  m.outputSaved = own && saved.contains(result);
  for (Value v : saved)
    if (!isa<BlockArgument>(v) && v != result)
      m.kept = saturatingAdd(m.kept, bytes.of(v.getDefiningOp()));
  m.kept = saturatingAdd(m.kept, internals);
  for (BlockArgument a : fn.getArguments())
    m.argumentSaved.push_back(saved.contains(a));
  return m;
}

/// One model call of the rollout.
struct Call {
  FunctionMemory callee;
  bool recomputed;
  /// The last call that takes (a slice of) this one's result as input:
  /// from that call's backward on, the gradient of this result is a
  /// buffer of its size, filling until this call's backward takes it.
  size_t lastFed = 0;
};

/// The backward's working set through a call: the gradient arriving at a
/// value and the one it hands on, at most its largest value each
/// (measured: LibTorch's engine frees a node's saved values and incoming
/// gradient as it moves on).
constexpr int64_t kBackwardWorkingSet = 2;

/// The rollout function's storage, the same way: its values (the calls'
/// results, concatenations, losses) are released after their last use
/// unless saved; a call keeps what its callee keeps (a recomputed call
/// only its input, and runs its forward again in the backward).
/// `recompute`: 0 none, 1 every call, -1 as the spec says.
StepPeaks rolloutPeaks(func::FuncOp rollout, SymbolTable &symbols,
                       RankBytes &bytes, int recompute,
                       SmallVectorImpl<Call> &calls) {
  const int64_t parts = bytes.parts();
  Block &body = rollout.front();
  // What the backward needs of the rollout's values, and each call's cost.
  llvm::DenseSet<Value> saved;
  llvm::DenseMap<Operation *, size_t> callAt;
  calls.clear();
  for (Operation &op : body) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = symbols.lookup<func::FuncOp>(call.getCallee());
      if (!callee)
        continue;
      FunctionMemory m = functionMemory(callee, bytes);
      bool re = recompute < 0 ? call->hasAttr(attrs::kRecompute) : recompute;
      for (auto [i, arg] : llvm::enumerate(call.getOperands())) {
        Value from = storageOf(arg, parts);
        if (re || m.argumentSaved[i])
          saved.insert(from);
        if (auto fed = callAt.find(from.getDefiningOp()); fed != callAt.end())
          calls[fed->second].lastFed = calls.size();
      }
      if (m.outputSaved && !re)
        saved.insert(call.getResult(0));
      callAt[&op] = calls.size();
      calls.push_back({m, re});
      continue;
    }
    for (Value v : savesOf(&op, bytes).operands)
      saved.insert(storageOf(v, parts));
  }
  auto freed = freedAfter(body, parts, saved);
  int64_t live = 0, keptByCalls = 0, internals = 0, forward = 0;
  for (Operation &op : body) {
    int64_t base = saturatingAdd(saturatingAdd(live, keptByCalls), internals);
    if (auto it = callAt.find(&op); it != callAt.end()) {
      const Call &c = calls[it->second];
      forward =
          std::max(forward, saturatingAdd(base, c.recomputed ? c.callee.values
                                                             : c.callee.all));
      if (!c.recomputed)
        keptByCalls = saturatingAdd(keptByCalls, c.callee.kept);
      live = saturatingAdd(live, c.callee.output);
    } else if (!isa<func::CallOp>(op)) {
      Saves s = savesOf(&op, bytes);
      int64_t r = allocates(&op, parts) ? bytes.of(&op) : 0;
      forward = std::max(forward, saturatingAdd(base, r + s.transient));
      live = saturatingAdd(live, r);
      internals = saturatingAdd(internals, s.internal);
    }
    for (Value v : freed.lookup(&op))
      live -= bytes.of(v.getDefiningOp());
  }
  // The backward starts once the rollout has returned its loss: what the
  // calls keep and the rollout's saved values. Going back through the
  // calls (measured: LibTorch's engine lets the rollout's saved values go
  // later than the ops' order suggests, so they count at every call): at
  // a call, what it and the calls before it keep, the gradients of earlier
  // results that later calls fed (buffers of their size, filling until
  // their call's backward), and its working set. A recomputed call runs
  // its forward again before its backward.
  StepPeaks peaks;
  peaks.forward = forward;
  int64_t before = internals;
  for (Value v : saved)
    if (!isa<BlockArgument>(v))
      before = saturatingAdd(before, bytes.of(v.getDefiningOp()));
  for (auto [i, c] : llvm::enumerate(calls)) {
    const FunctionMemory &m = c.callee;
    int64_t backward =
        saturatingAdd(m.kept, saturatingMul(kBackwardWorkingSet, m.largest));
    for (const Call &earlier : ArrayRef<Call>(calls).take_front(i))
      if (earlier.lastFed >= i)
        backward = saturatingAdd(backward, earlier.callee.output);
    if (c.recomputed)
      backward = std::max(m.all, saturatingAdd(backward, m.output));
    peaks.backward = std::max(peaks.backward, saturatingAdd(before, backward));
    if (!c.recomputed)
      before = saturatingAdd(before, m.kept);
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

FailureOr<ModelCost> s2s::modelCost(ModuleOp module, func::FuncOp fn,
                                    int64_t tensor) {
  FailureOr<SmallVector<ModelParameter>> list = collectParameters(fn);
  if (failed(list))
    return failure();
  ModelCost cost;
  cost.tensor = std::max<int64_t>(tensor, 1);
  // A unit's values on one tensor rank: the slices of the split layers'
  // parameters, the rest whole (runtime/lib/tp/TensorParallel.cpp).
  llvm::DenseMap<Operation *, TensorLayout> roles;
  if (cost.tensor > 1)
    roles = tensorRoles(fn);
  cost.units = unitLengths(*list, [&](const ModelParameter &p) {
    int64_t values = p.info.numElements();
    cost.parameters = saturatingAdd(cost.parameters, values);
    auto role = roles.find(ParameterizedOp(p.owner).getOperation());
    if (role != roles.end() && splitsParameter(role->second, p.path))
      values /= cost.tensor;
    return values;
  });
  module.walk([&](TrainOp t) {
    cost.reducedPrecision = t.getPrecision() != Precision::fp32;
    // Adam's two moments, SGD's momentum buffer (the runtime keeps one
    // whatever the momentum).
    cost.optimizerStates =
        t.getOptimizer().getKind() == OptimizerKind::sgd ? 1 : 2;
  });
  ElementBytes element(cost.reducedPrecision);
  RankBytes bytes(element, cost.tensor);
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
    cost.tensorBlockBytes = layerTokens(fn, element);
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
        saturatingAdd(cost.tensorBlockBytes, layerTokens(callee, element));
    ++cost.modelCalls;
    cost.recomputed += call->hasAttr(attrs::kRecompute);
  });
  for (BlockArgument a : rollout.getArguments())
    cost.batchBytes =
        saturatingAdd(cost.batchBytes, saturatingMul(numel(a), 4));
  return cost;
}

RankPlan s2s::planRank(const ModelCost &cost, const Layout &layout) {
  assert(layout.tensor == cost.tensor &&
         "the model's cost is for another tensor axis");
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
  // gradients are views of its buckets (P values). The units are already a
  // tensor rank's (ModelCost::units).
  SmallVector<int64_t> segments(cost.units);
  if (!zero3)
    segments = {std::accumulate(cost.units.begin(), cost.units.end(),
                                int64_t(0), saturatingAdd)};
  auto perRank = [&](bool sharded) {
    int64_t values = 0;
    for (int64_t length : segments)
      values = saturatingAdd(values, sharded ? (length + n - 1) / n : length);
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
  // The batch and every activation split over the data axis (the tensor
  // axis' split is a tensor rank's already, ModelCost).
  const StepPeaks &acts = layout.asSpec      ? cost.activations
                          : layout.recompute ? cost.activationsRecomputed
                                             : cost.activationsKept;
  int64_t forward = acts.forward / n, backward = acts.backward / n;
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
    largestUnit = std::max(largestUnit, (u + n - 1) / n * n);
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
