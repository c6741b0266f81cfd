//===- UnrollRollout.cpp - The s2s-unroll-rollout pass --------------------===//
//
// The autoregressive tableau as an explicit schedule. For a rollout of order
// K, a window holds the truth frames x0..xK. Order-k predictions exist for
// the K-k+1 start times 0..K-k; they are computed from the order-(k-1)
// values of those start times in ONE call of the model on the start times
// stacked along the batch, so the tableau costs K batched calls. The model
// is cloned once per batch size it is called with (`@net__batch24`), with
// shapes re-inferred, so every call is statically shaped.
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

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

struct UnrollRolloutPass
    : public s2s::impl::S2SUnrollRolloutBase<UnrollRolloutPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<RolloutOp> rollouts;
    module.walk([&](RolloutOp r) { rollouts.push_back(r); });
    for (RolloutOp r : rollouts)
      if (failed(unroll(module, r)))
        return signalPassFailure();
  }

  /// The value of an op just built, with its shape inferred.
  static FailureOr<Value> shaped(Operation *op) {
    if (auto si = dyn_cast<ShapeInference>(op))
      if (failed(si.inferShapes()))
        return failure();
    return op->getResult(0);
  }

  /// The model forward specialised to batch `batch` (the model itself when
  /// the batch is its own).
  FailureOr<func::FuncOp> forBatch(ModuleOp module, func::FuncOp model,
                                   int64_t batch) {
    auto in = cast<RankedTensorType>(model.getArgumentTypes()[0]);
    if (in.getDimSize(0) == batch)
      return model;
    std::string name =
        (model.getSymName() + "__batch" + std::to_string(batch)).str();
    if (auto existing = module.lookupSymbol<func::FuncOp>(name))
      return existing;
    OpBuilder b(model);
    b.setInsertionPointAfter(model);
    auto clone = cast<func::FuncOp>(b.clone(*model));
    clone.setSymName(name);
    clone->removeAttr(attrs::kModel);
    clone->setAttr(attrs::kVariantOf,
                   FlatSymbolRefAttr::get(model.getSymNameAttr()));
    SmallVector<int64_t> shape(in.getShape());
    shape[0] = batch;
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
          FunctionType::get(&getContext(), {newIn}, ret.getOperandTypes()));
    });
    return clone;
  }

  LogicalResult unroll(ModuleOp module, RolloutOp r) {
    auto model = module.lookupSymbol<func::FuncOp>(r.getModel());
    if (!model)
      return r.emitError() << "no model '" << r.getModel() << "'";
    if (model.getNumArguments() != 1 || model.getNumResults() != 1)
      return r.emitError()
             << "unrolling needs a model with one input and one output; '"
             << r.getModel() << "' has " << model.getNumArguments()
             << " inputs and " << model.getNumResults() << " outputs";
    auto in = dyn_cast<RankedTensorType>(model.getArgumentTypes()[0]);
    if (!in || in.getRank() < 2)
      return r.emitError() << "unrolling needs a model whose input has a "
                              "known rank with the batch first; '"
                           << r.getModel() << "' takes "
                           << model.getArgumentTypes()[0];
    if (model.getResultTypes()[0] != in) {
      auto str = [](mlir::Type t) {
        std::string s;
        llvm::raw_string_ostream os(s);
        if (auto r = dyn_cast<RankedTensorType>(t)) {
          os << "[";
          llvm::interleaveComma(r.getShape(), os, [&](int64_t d) {
            if (ShapedType::isDynamic(d))
              os << "?";
            else
              os << d;
          });
          os << "]";
        } else {
          os << t;
        }
        return s;
      };
      return r.emitError() << "a rolled-out model must map its input shape "
                              "to itself; '"
                           << r.getModel() << "' maps " << str(in) << " to "
                           << str(model.getResultTypes()[0]);
    }
    int64_t k = r.getOrder(), batch = in.getDimSize(0);
    if (ShapedType::isDynamic(batch))
      return r.emitError() << "unrolling needs a known batch size; set "
                              "'batch' in the train section";
    std::string name = (r.getModel() + "_rollout").str();
    if (module.lookupSymbol(name))
      return r.emitError() << "'" << name << "' already exists";

    LossAttr lossSpec = r.getLoss();
    SmallVector<double> orderWeights(k, 1.0);
    if (std::optional<ArrayRef<double>> ws = r.getWeights())
      llvm::copy(*ws, orderWeights.begin());

    Location loc = r.getLoc();
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    SmallVector<int64_t> windowShape = {batch, k + 1};
    windowShape.append(in.getShape().begin() + 1, in.getShape().end());
    auto windowType = RankedTensorType::get(windowShape, in.getElementType());
    auto scalar = RankedTensorType::get({}, in.getElementType());
    auto unranked = UnrankedTensorType::get(in.getElementType());
    auto fn = func::FuncOp::create(b, loc, name,
                                   b.getFunctionType({windowType}, {scalar}));
    fn->setAttr(attrs::kRolloutOf,
                FlatSymbolRefAttr::get(model.getSymNameAttr()));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value window = entry->getArgument(0);

    // The truth frames x0..xK, each [B, C, H, W].
    SmallVector<Value> frames;
    for (int64_t i = 0; i <= k; ++i) {
      auto slice =
          shaped(SliceOp::create(b, loc, unranked, window, 1, i, i + 1));
      if (failed(slice))
        return failure();
      auto frame = shaped(FlattenOp::create(b, loc, unranked, *slice, 0, 1));
      if (failed(frame))
        return failure();
      frames.push_back(*frame);
    }
    auto stack = [&](ArrayRef<Value> values) -> FailureOr<Value> {
      if (values.size() == 1)
        return values[0];
      return shaped(ConcatOp::create(b, loc, unranked, values, 0));
    };

    FailureOr<Value> level = stack(ArrayRef<Value>(frames).take_front(k));
    if (failed(level))
      return failure();
    Value total;
    for (int64_t order = 1; order <= k; ++order) {
      int64_t starts = k - order + 1;
      Value input = *level;
      if (order > 1) {
        // The first `starts` start times of the previous order.
        auto sliced = shaped(
            SliceOp::create(b, loc, unranked, *level, 0, 0, starts * batch));
        if (failed(sliced))
          return failure();
        input = *sliced;
      }
      FailureOr<func::FuncOp> callee = forBatch(module, model, starts * batch);
      if (failed(callee))
        return failure();
      b.setInsertionPointToEnd(entry);
      auto call = func::CallOp::create(b, loc, *callee, ValueRange{input});
      FailureOr<Value> target =
          stack(ArrayRef<Value>(frames).slice(order, starts));
      if (failed(target))
        return failure();
      auto loss = shaped(
          LossOp::create(b, loc, scalar, lossSpec.getKind(), call.getResult(0),
                         *target, lossSpec.getWeight(), lossSpec.getDelta()));
      if (failed(loss))
        return failure();
      Value term = *loss;
      if (orderWeights[order - 1] != 1.0) {
        Value w = ConstantOp::create(
            b, loc, scalar, b.getF64FloatAttr(orderWeights[order - 1]));
        auto scaled = shaped(MulOp::create(b, loc, unranked, term, w));
        if (failed(scaled))
          return failure();
        term = *scaled;
      }
      if (total) {
        auto sum = shaped(AddOp::create(b, loc, unranked, total, term));
        if (failed(sum))
          return failure();
        total = *sum;
      } else {
        total = term;
      }
      level = call.getResult(0);
    }
    func::ReturnOp::create(b, loc, total);
    r->setAttr(attrs::kUnrolled, FlatSymbolRefAttr::get(fn.getSymNameAttr()));
    return success();
  }
};
} // namespace
