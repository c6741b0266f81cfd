//===- UnrollRollout.cpp - The s2s-unroll-rollout pass --------------------===//
//
// The autoregressive tableau as an explicit schedule. For a rollout of order
// K, a window holds the truth frames x0..xK. Order-j predictions exist for
// the K-j+1 start times 0..K-j; they are computed from the order-(j-1)
// values of those start times in ONE call of the model on the start times
// stacked along the batch, so the tableau costs K batched calls. The model
// is cloned once per batch size it is called with (`@net__batch24`), with
// shapes re-inferred, so every call is statically shaped.
//
// Each call's input is marked with `s2s.call_times` (which start times it
// holds, how many steps after the window's first frame), so time-dependent
// layers see the valid time of every stacked sample.
//
// The rollout's plugins are expanded here too, on the same K calls:
// alignment losses compare the order-j predictions with rows of the
// order-(j - lag) ones (no extra model call), Jacobian penalties take the
// inputs and outputs of the calls they regularise, patches wrap each call
// in extract/merge, and recomputation marks the calls (`s2s.recompute`).
//
// With `leads` the rollout trains a lead-time model f(x, hours): one call
// per window on its first frame, each sample at a lead l_n drawn from the
// set (`s2s.sample_leads`), against window[n, l_n] (`s2s.select_lead`);
// `@<model>_step` is the one-input step the program validates with, its
// lead taken from the call's context (`s2s.context_lead`).
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

#include "s2s/runtime/PatchGeometry.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace s2s {
#define GEN_PASS_DEF_S2SUNROLLROLLOUT
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

/// The largest sample (values of one frame) exact(...) is offered for.
constexpr int64_t kMaxExactJacobian = 4096;

/// `[8, 3, 32, 64]`, `?` for a dynamic size.
std::string shapeText(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  if (!r)
    return "an unranked tensor";
  std::string s = "[";
  for (int64_t i = 0; i < r.getRank(); ++i)
    s +=
        (i ? ", " : "") + (r.isDynamicDim(i) ? std::string("?")
                                             : std::to_string(r.getDimSize(i)));
  return s + "]";
}

/// Builds one rollout's unrolled function.
class Tableau {
public:
  Tableau(ModuleOp module, RolloutOp r, func::FuncOp model)
      : module(module), r(r), model(model), b(module.getBodyRegion()),
        loc(r.getLoc()) {}

  LogicalResult build();

private:
  LogicalResult plan();
  FailureOr<Value> shaped(Operation *op);
  FailureOr<Value> constant(double v);
  FailureOr<Value> scaled(Value v, double factor);
  FailureOr<Value> add(Value total, Value term);
  FailureOr<Value> stack(ArrayRef<Value> values);
  FailureOr<func::FuncOp> forBatch(int64_t batch);
  FailureOr<Value> step(Value input, int64_t starts, bool recompute);
  FailureOr<Value> orders();
  FailureOr<Value> alignment();
  LogicalResult buildStepFunction();
  LogicalResult planLeads();
  LogicalResult buildLeadTime();
  FailureOr<func::FuncOp> beginRolloutFunction(int64_t frames);

  ModuleOp module;
  RolloutOp r;
  func::FuncOp model;
  OpBuilder b;
  Location loc;
  int64_t k = 0, batch = 0, patches = 1;
  RankedTensorType frameType, scalar;
  PatchingAttr patching;
  SmallVector<int64_t> grid;
  SmallVector<Value> frames, levels; // levels[j]: order-j predictions
  Value total;
  ArrayRef<int64_t> leads; // lead-time training: leads in data steps
  int64_t stepSeconds = 0; // the data step, for lead hours
};

FailureOr<Value> Tableau::shaped(Operation *op) {
  if (auto si = dyn_cast<ShapeInference>(op))
    if (failed(si.inferShapes()))
      return failure();
  return op->getResult(0);
}

FailureOr<Value> Tableau::constant(double v) {
  return shaped(ConstantOp::create(b, loc, scalar, b.getF64FloatAttr(v)));
}

FailureOr<Value> Tableau::scaled(Value v, double factor) {
  if (factor == 1.0)
    return v;
  FailureOr<Value> c = constant(factor);
  if (failed(c))
    return failure();
  return shaped(MulOp::create(
      b, loc, UnrankedTensorType::get(frameType.getElementType()), v, *c));
}

FailureOr<Value> Tableau::add(Value sum, Value term) {
  if (!sum)
    return term;
  return shaped(AddOp::create(
      b, loc, UnrankedTensorType::get(frameType.getElementType()), sum, term));
}

FailureOr<Value> Tableau::stack(ArrayRef<Value> values) {
  if (values.size() == 1)
    return values[0];
  return shaped(ConcatOp::create(
      b, loc, UnrankedTensorType::get(frameType.getElementType()), values, 0));
}

/// The model forward specialised to batch `n` (the model itself when the
/// batch is its own).
FailureOr<func::FuncOp> Tableau::forBatch(int64_t n) {
  auto in = cast<RankedTensorType>(model.getArgumentTypes()[0]);
  if (in.getDimSize(0) == n)
    return model;
  std::string name = (model.getSymName() + "__batch" + std::to_string(n)).str();
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder mb(model);
  mb.setInsertionPointAfter(model);
  auto clone = cast<func::FuncOp>(mb.clone(*model));
  clone.setSymName(name);
  clone->removeAttr(attrs::kModel);
  clone->setAttr(attrs::kVariantOf,
                 FlatSymbolRefAttr::get(model.getSymNameAttr()));
  SmallVector<int64_t> shape(in.getShape());
  shape[0] = n;
  auto newIn = RankedTensorType::get(shape, in.getElementType());
  clone.getArgument(0).setType(newIn);
  bool ok = true;
  clone.walk([&](Operation *op) {
    if (auto si = dyn_cast<ShapeInference>(op))
      ok &= succeeded(si.inferShapes());
  });
  if (!ok)
    return failure();
  clone.walk([&](func::ReturnOp ret) {
    clone.setType(
        FunctionType::get(b.getContext(), {newIn}, ret.getOperandTypes()));
  });
  return clone;
}

/// The checks, and the sizes the rest needs.
LogicalResult Tableau::plan() {
  if (r.getLeads())
    return planLeads();
  if (model.getNumArguments() != 1 || model.getNumResults() != 1)
    return r.emitError()
           << "unrolling needs a model with one input and one output; '"
           << r.getModel() << "' has " << model.getNumArguments()
           << " inputs and " << model.getNumResults() << " outputs";
  auto in = dyn_cast<RankedTensorType>(model.getArgumentTypes()[0]);
  if (!in || in.getRank() < 2)
    return r.emitError() << "unrolling needs a model whose input has a known "
                            "rank with the batch first; '"
                         << r.getModel() << "' takes "
                         << model.getArgumentTypes()[0];
  if (model.getResultTypes()[0] != in)
    return r.emitError() << "a rolled-out model must map its input shape "
                            "to itself; '"
                         << r.getModel() << "' maps " << shapeText(in) << " to "
                         << shapeText(model.getResultTypes()[0]);
  k = r.getOrder();
  patching = r.getPatchesAttr();
  SmallVector<int64_t> frame(in.getShape());
  if (patching) {
    if (in.getRank() != 4)
      return emitError(sectionKeyLoc(r, "patches"))
             << "patches need a model of [batch, channel, lat, lon]; '"
             << r.getModel() << "' takes " << shapeText(in);
    auto data = module.lookupSymbol<DataOp>(r.getData());
    if (!data || !data.getGrid())
      return emitError(sectionKeyLoc(r, "patches"))
             << "patches need the data's grid at compile time; give the data "
                "section a grid = [lat, lon]";
    grid.assign(data.getGrid()->begin(), data.getGrid()->end());
    frame[2] = grid[0];
    frame[3] = grid[1];
    const int64_t g[2] = {grid[0], grid[1]};
    const int64_t size[2] = {patching.getSize()[0], patching.getSize()[1]};
    const int64_t stride[2] = {patching.getStride()[0],
                               patching.getStride()[1]};
    const int64_t halo[2] = {patching.getHalo()[0], patching.getHalo()[1]};
    rt::PatchLayout layout = rt::patchLayout(g, size, stride, halo);
    if (!layout.problem.empty())
      return emitError(sectionKeyLoc(r, "patches")) << layout.problem;
    patches = layout.count();
    if (ShapedType::isDynamic(in.getDimSize(0)) ||
        in.getDimSize(0) % patches != 0)
      return r.emitError() << "unrolling needs a known batch size; set "
                              "'batch' in the train section";
    frame[0] = in.getDimSize(0) / patches;
  }
  batch = frame[0];
  if (ShapedType::isDynamic(batch))
    return r.emitError() << "unrolling needs a known batch size; set "
                            "'batch' in the train section";
  if (JacobianAttr jac = r.getJacobianAttr()) {
    bool recompute = false;
    module.walk(
        [&](ParallelOp p) { recompute |= p.getCheckpointActivations(); });
    if (recompute)
      return emitError(sectionKeyLoc(r, "jacobian"))
             << "a Jacobian penalty cannot be combined with "
                "checkpoint_activations = true: the penalty differentiates "
                "the step's graph twice, and a recomputed step keeps none; "
                "drop one of the two";
    int64_t values = 1;
    std::string dims;
    for (int64_t d : ArrayRef<int64_t>(frame).drop_front()) {
      values = ShapedType::isDynamic(d) || ShapedType::isDynamic(values)
                   ? ShapedType::kDynamic
                   : values * d;
      dims += (dims.empty() ? "" : "x") +
              (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
    }
    // An unknown size is checked by the runtime, with the same limit.
    if (jac.getKind() == JacobianKind::exact &&
        !ShapedType::isDynamic(values) && values > kMaxExactJacobian)
      return emitError(sectionKeyLoc(r, "jacobian"))
             << "exact(...) needs one backward pass per output value of a "
                "sample: "
             << values << " (" << dims
             << ") per model step, each keeping its graph for the "
                "gradient (about "
             << values
             << " times the step's activation memory); it is "
                "offered up to "
             << kMaxExactJacobian
             << " values per sample; use hutchinson(samples = n), an "
                "unbiased estimate at n backward passes";
  }
  frameType = RankedTensorType::get(frame, in.getElementType());
  scalar = RankedTensorType::get({}, in.getElementType());
  return success();
}

/// One model step on `input` ([starts * batch, C, H, W]): the model call,
/// inside extract/merge with patches.
FailureOr<Value> Tableau::step(Value input, int64_t starts, bool recompute) {
  Type unranked = UnrankedTensorType::get(frameType.getElementType());
  Value x = input;
  if (patching) {
    FailureOr<Value> p = shaped(ExtractPatchesOp::create(
        b, loc, unranked, x, patching.getSize(), patching.getStride()));
    if (failed(p))
      return failure();
    x = *p;
  }
  FailureOr<func::FuncOp> callee = forBatch(starts * batch * patches);
  if (failed(callee))
    return failure();
  auto call = func::CallOp::create(b, loc, *callee, ValueRange{x});
  if (recompute)
    call->setAttr(attrs::kRecompute, b.getUnitAttr());
  Value y = call.getResult(0);
  if (!patching)
    return y;
  return shaped(MergePatchesOp::create(
      b, loc, unranked, y, b.getDenseI64ArrayAttr(grid), patching.getSize(),
      patching.getStride(), patching.getHalo()));
}

/// The K batched calls, each order's loss against the truth (times its
/// weight) and the Jacobian penalties; fills `levels`.
FailureOr<Value> Tableau::orders() {
  Type unranked = UnrankedTensorType::get(frameType.getElementType());
  LossAttr loss = r.getLoss();
  SmallVector<double> weights(k, 1.0);
  if (std::optional<ArrayRef<double>> ws = r.getWeights())
    llvm::copy(*ws, weights.begin());
  JacobianAttr jac = r.getJacobianAttr();
  bool recompute = false;
  module.walk([&](ParallelOp p) { recompute = p.getCheckpointActivations(); });

  int64_t dataStep = 0;
  if (auto data = module.lookupSymbol<DataOp>(r.getData()))
    if (data.getStep())
      dataStep = static_cast<int64_t>(*data.getStep());
  FailureOr<Value> first = stack(ArrayRef<Value>(frames).take_front(k));
  if (failed(first))
    return failure();
  levels.assign(1, *first);
  Value sum;
  for (int64_t order = 1; order <= k; ++order) {
    int64_t starts = k - order + 1;
    Value input = levels.back();
    if (order > 1) {
      // The first `starts` start times of the previous order.
      FailureOr<Value> sliced = shaped(
          SliceOp::create(b, loc, unranked, input, 0, 0, starts * batch));
      if (failed(sliced))
        return failure();
      input = *sliced;
    }
    // Where the call's input is in time: start time s of this order's
    // input is valid order - 1 + s steps after the window's first frame.
    FailureOr<Value> timed = shaped(CallTimesOp::create(
        b, loc, unranked, input, order - 1, starts, dataStep));
    if (failed(timed))
      return failure();
    input = *timed;
    bool regularise = jac && (order == 1 || jac.getAt() == JacobianAt::all);
    if (regularise) {
      FailureOr<Value> x =
          shaped(JacobianInputOp::create(b, loc, unranked, input));
      if (failed(x))
        return failure();
      input = *x;
    }
    FailureOr<Value> out = step(input, starts, recompute);
    if (failed(out))
      return failure();
    levels.push_back(*out);
    FailureOr<Value> target =
        stack(ArrayRef<Value>(frames).slice(order, starts));
    if (failed(target))
      return failure();
    FailureOr<Value> term =
        shaped(LossOp::create(b, loc, scalar, loss.getKind(), *out, *target,
                              loss.getWeight(), loss.getDelta()));
    if (failed(term) || failed(term = scaled(*term, weights[order - 1])) ||
        failed(term = add(sum, *term)))
      return failure();
    sum = *term;
    if (regularise) {
      FailureOr<Value> penalty = shaped(JacobianPenaltyOp::create(
          b, loc, scalar, input, *out, jac.getKind(), jac.getSamples(),
          jac.getDist(), jac.getWeight()));
      if (failed(penalty) || failed(penalty = add(sum, *penalty)))
        return failure();
      sum = *penalty;
    }
  }
  return sum;
}

/// For every pair (j, j - lag) with lag < j <= order and every time both
/// predict: weight * mean(loss(X_j - sg(X_{j-lag}))). X_j's rows are the
/// start times 0..K-j (time s + j); X_{j-lag} predicts the same times from
/// start times lag..K-j+lag, its rows [lag B, (K-j+lag+1) B). The mean over
/// the stacked rows is the mean over times, so the sum over times is that
/// times their number.
FailureOr<Value> Tableau::alignment() {
  AlignAttr align = r.getAlignAttr();
  if (!align)
    return Value();
  Type unranked = UnrankedTensorType::get(frameType.getElementType());
  LossKind kind =
      align.getKind() == AlignKind::mlse ? LossKind::mse : LossKind::mae;
  int64_t lag = align.getLag();
  double weight = align.getWeight().convertToDouble();
  Value sum;
  for (int64_t j = lag + 1; j <= align.getOrder(); ++j) {
    int64_t times = k - j + 1;
    FailureOr<Value> lower =
        shaped(SliceOp::create(b, loc, unranked, levels[j - lag], 0,
                               lag * batch, (times + lag) * batch));
    if (failed(lower))
      return failure();
    Value target = *lower;
    if (align.getStopGradient()) {
      FailureOr<Value> sg =
          shaped(StopGradientOp::create(b, loc, unranked, target));
      if (failed(sg))
        return failure();
      target = *sg;
    }
    FailureOr<Value> term =
        shaped(LossOp::create(b, loc, scalar, kind, levels[j], target,
                              align.getSpatial(), APFloat(1.0)));
    if (failed(term) || failed(term = scaled(*term, weight * double(times))) ||
        failed(term = add(sum, *term)))
      return failure();
    sum = *term;
  }
  return sum;
}

/// With patches, the one-step map the program validates with is not the
/// model but extract -> model -> merge: `@<model>_step`.
LogicalResult Tableau::buildStepFunction() {
  if (!patching)
    return success();
  std::string name = (r.getModel() + "_step").str();
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, loc, name,
                                 b.getFunctionType({frameType}, {frameType}));
  fn->setAttr(attrs::kStepOf, FlatSymbolRefAttr::get(model.getSymNameAttr()));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  FailureOr<Value> out = step(entry->getArgument(0), 1, false);
  if (failed(out))
    return failure();
  func::ReturnOp::create(b, loc, *out);
  r->setAttr(attrs::kStep, FlatSymbolRefAttr::get(fn.getSymNameAttr()));
  return success();
}

/// The checks of lead-time training: a model f(x [B, ...], lead [B]) -> x's
/// shape, order 1, the plugins it does not combine with yet refused, the
/// data step known (lead hours are l * step).
LogicalResult Tableau::planLeads() {
  Location at = sectionKeyLoc(r, "leads");
  leads = *r.getLeads();
  if (model.getNumArguments() != 2 || model.getNumResults() != 1)
    return emitError(at) << "lead-time training needs a model of two inputs "
                            "(the fields and the lead time in hours, "
                            "[batch]) and one output; '"
                         << r.getModel() << "' has " << model.getNumArguments()
                         << " inputs and " << model.getNumResults()
                         << " outputs";
  auto in = dyn_cast<RankedTensorType>(model.getArgumentTypes()[0]);
  auto lead = dyn_cast<RankedTensorType>(model.getArgumentTypes()[1]);
  if (!in || in.getRank() < 2)
    return emitError(at) << "lead-time training needs a model whose first "
                            "input has a known rank with the batch first; '"
                         << r.getModel() << "' takes "
                         << model.getArgumentTypes()[0];
  if (!lead || lead.getRank() != 1)
    return emitError(at) << "lead-time training needs a model whose second "
                            "input is the lead time per sample, [batch]; '"
                         << r.getModel() << "' takes "
                         << shapeText(model.getArgumentTypes()[1]);
  if (model.getResultTypes()[0] != in)
    return emitError(at) << "a lead-time model must map its input shape to "
                            "itself; '"
                         << r.getModel() << "' maps " << shapeText(in) << " to "
                         << shapeText(model.getResultTypes()[0]);
  if (r.getOrder() != 1)
    return emitError(at)
           << "leads with order = " << r.getOrder()
           << " (composing lead-time calls) is not implemented yet; use "
              "order = 1: each sample is one call at its drawn lead";
  if (r.getJacobianAttr() || r.getPatchesAttr())
    return emitError(at) << "leads with "
                         << (r.getJacobianAttr() ? "jacobian" : "patches")
                         << " is not implemented yet; drop one of the two";
  auto data = module.lookupSymbol<DataOp>(r.getData());
  if (!data || !data.getStep())
    return emitError(at) << "leads need the data's step (a lead of l steps "
                            "is l * step hours); give the data section a "
                            "step = 6h or similar";
  stepSeconds = static_cast<int64_t>(*data.getStep());
  k = 1;
  batch = in.getDimSize(0);
  if (ShapedType::isDynamic(batch))
    return r.emitError() << "unrolling needs a known batch size; set "
                            "'batch' in the train section";
  frameType = in;
  scalar = RankedTensorType::get({}, in.getElementType());
  return success();
}

/// `@<model>_rollout(window [batch, frames, C, H, W]) -> loss`, marked as
/// the model's rollout, with the builder at its entry.
FailureOr<func::FuncOp> Tableau::beginRolloutFunction(int64_t frames) {
  std::string name = (r.getModel() + "_rollout").str();
  if (module.lookupSymbol(name))
    return r.emitError() << "'" << name << "' already exists";
  b.setInsertionPointToEnd(module.getBody());
  SmallVector<int64_t> windowShape = {batch, frames};
  windowShape.append(frameType.getShape().begin() + 1,
                     frameType.getShape().end());
  auto windowType =
      RankedTensorType::get(windowShape, frameType.getElementType());
  auto fn = func::FuncOp::create(b, loc, name,
                                 b.getFunctionType({windowType}, {scalar}));
  fn->setAttr(attrs::kRolloutOf,
              FlatSymbolRefAttr::get(model.getSymNameAttr()));
  b.setInsertionPointToStart(fn.addEntryBlock());
  return fn;
}

/// Lead-time training: the loss of f(x_0, l_n * step hours) against
/// window[n, l_n], l_n drawn per sample; and `@<model>_step`.
LogicalResult Tableau::buildLeadTime() {
  FailureOr<func::FuncOp> fn =
      beginRolloutFunction(*llvm::max_element(leads) + 1);
  if (failed(fn))
    return failure();
  Value window = fn->getArgument(0);
  Type unranked = UnrankedTensorType::get(frameType.getElementType());
  FailureOr<Value> x0 =
      shaped(SliceOp::create(b, loc, unranked, window, 1, 0, 1));
  if (failed(x0) ||
      failed(x0 = shaped(FlattenOp::create(b, loc, unranked, *x0, 0, 1))))
    return failure();
  FailureOr<Value> drawn = shaped(SampleLeadsOp::create(
      b, loc, unranked, window, b.getDenseI64ArrayAttr(leads)));
  if (failed(drawn))
    return failure();
  FailureOr<Value> target =
      shaped(SelectLeadOp::create(b, loc, unranked, window, *drawn));
  if (failed(target))
    return failure();
  FailureOr<Value> hours = constant(double(stepSeconds) / 3600.0);
  if (failed(hours) ||
      failed(hours = shaped(MulOp::create(b, loc, unranked, *drawn, *hours))))
    return failure();
  auto call = func::CallOp::create(b, loc, model, ValueRange{*x0, *hours});
  LossAttr loss = r.getLoss();
  FailureOr<Value> term =
      shaped(LossOp::create(b, loc, scalar, loss.getKind(), call.getResult(0),
                            *target, loss.getWeight(), loss.getDelta()));
  if (failed(term))
    return failure();
  if (std::optional<ArrayRef<double>> ws = r.getWeights())
    if (failed(term = scaled(*term, ws->front())))
      return failure();
  func::ReturnOp::create(b, loc, *term);
  r->setAttr(attrs::kUnrolled, FlatSymbolRefAttr::get(fn->getSymNameAttr()));

  // The one-step function: its lead from the call's context, one data
  // step when the caller sets none.
  std::string stepName = (r.getModel() + "_step").str();
  if (module.lookupSymbol(stepName))
    return r.emitError() << "'" << stepName << "' already exists";
  b.setInsertionPointToEnd(module.getBody());
  auto stepFn = func::FuncOp::create(
      b, loc, stepName, b.getFunctionType({frameType}, {frameType}));
  stepFn->setAttr(attrs::kStepOf,
                  FlatSymbolRefAttr::get(model.getSymNameAttr()));
  Block *stepEntry = stepFn.addEntryBlock();
  b.setInsertionPointToStart(stepEntry);
  Value x = stepEntry->getArgument(0);
  FailureOr<Value> h = shaped(ContextLeadOp::create(
      b, loc, unranked, x, b.getI64IntegerAttr(stepSeconds)));
  if (failed(h))
    return failure();
  auto stepCall = func::CallOp::create(b, loc, model, ValueRange{x, *h});
  func::ReturnOp::create(b, loc, stepCall.getResult(0));
  r->setAttr(attrs::kStep, FlatSymbolRefAttr::get(stepFn.getSymNameAttr()));
  return success();
}

LogicalResult Tableau::build() {
  if (failed(plan()))
    return failure();
  if (!leads.empty())
    return buildLeadTime();
  FailureOr<func::FuncOp> fn = beginRolloutFunction(k + 1);
  if (failed(fn))
    return failure();
  Value window = fn->getArgument(0);
  Type unranked = UnrankedTensorType::get(frameType.getElementType());

  // The truth frames x0..xK, each [B, C, H, W].
  for (int64_t i = 0; i <= k; ++i) {
    FailureOr<Value> slice =
        shaped(SliceOp::create(b, loc, unranked, window, 1, i, i + 1));
    if (failed(slice))
      return failure();
    FailureOr<Value> frame =
        shaped(FlattenOp::create(b, loc, unranked, *slice, 0, 1));
    if (failed(frame))
      return failure();
    frames.push_back(*frame);
  }
  FailureOr<Value> main = orders();
  if (failed(main))
    return failure();
  FailureOr<Value> aligned = alignment();
  if (failed(aligned))
    return failure();
  FailureOr<Value> sum = *aligned ? add(*main, *aligned) : *main;
  if (failed(sum))
    return failure();
  b.setInsertionPointToEnd(&fn->getBody().front());
  func::ReturnOp::create(b, loc, *sum);
  r->setAttr(attrs::kUnrolled, FlatSymbolRefAttr::get(fn->getSymNameAttr()));
  return buildStepFunction();
}

struct UnrollRolloutPass
    : public s2s::impl::S2SUnrollRolloutBase<UnrollRolloutPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<RolloutOp> rollouts;
    module.walk([&](RolloutOp r) { rollouts.push_back(r); });
    for (RolloutOp r : rollouts) {
      auto model = module.lookupSymbol<func::FuncOp>(r.getModel());
      if (!model) {
        r.emitError() << "no model '" << r.getModel() << "'";
        return signalPassFailure();
      }
      if (failed(Tableau(module, r, model).build()))
        return signalPassFailure();
    }
  }
};
} // namespace
