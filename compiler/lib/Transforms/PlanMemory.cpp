//===- PlanMemory.cpp - The s2s-plan-memory pass and parameter counting --===//

#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringExtras.h"

namespace s2s {
#define GEN_PASS_DEF_S2SPLANMEMORY
#include "s2s/Dialect/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

/// `AFNOBlock.3.linear.0` belongs to `AFNOBlock.3`; `pos` to `pos`.
static std::string componentOf(StringRef name) {
  auto [first, rest] = name.split('.');
  auto [second, tail] = rest.split('.');
  if (!second.empty() && llvm::all_of(second, [](char c) { return llvm::isDigit(c); }))
    return (first + "." + second).str();
  return first.str();
}

FailureOr<ParameterCount> s2s::countParameters(func::FuncOp model) {
  ParameterCount count;
  llvm::StringMap<size_t> index;
  bool unknown = false;
  model.walk([&](ParameterizedOp op) {
    SmallVector<ParameterInfo> params;
    if (failed(op.getParameters(params))) {
      unknown = true;
      return;
    }
    auto name = op->getAttrOfType<StringAttr>("name");
    std::string component = componentOf(name ? name.getValue() : "");
    auto [it, inserted] = index.try_emplace(component, count.components.size());
    if (inserted)
      count.components.push_back({component, 0});
    for (const ParameterInfo &p : params) {
      count.components[it->second].second += p.numElements();
      count.total += p.numElements();
    }
  });
  if (unknown)
    return failure();
  return count;
}

namespace {
struct PlanMemoryPass : public s2s::impl::S2SPlanMemoryBase<PlanMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t data = 1, tensor = 1;
    StringRef strategy = "ddp", precision = "fp32";
    module.walk([&](ParallelOp p) {
      strategy = p.getStrategy();
      for (auto [axis, size] : llvm::zip(p.getAxes(), p.getSizes())) {
        StringRef a = cast<StringAttr>(axis).getValue();
        if (a == "tensor")
          tensor = size;
        else
          data *= size;
      }
    });
    module.walk([&](TrainOp t) { precision = t.getPrecision(); });
    int64_t bytes = precision == "fp32" ? 4 : 2;
    bool zero1 = strategy != "ddp";
    bool zero2 = strategy == "zero2" || strategy == "zero3" || strategy == "fsdp";
    bool zero3 = strategy == "zero3" || strategy == "fsdp";
    Builder b(&getContext());
    bool failedAny = false;
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(kModelAttrName))
        return;
      FailureOr<ParameterCount> count = countParameters(fn);
      if (failed(count)) {
        // Shapes that depend on a grid read at run time: nothing to plan.
        fn.emitWarning() << "no memory plan for '" << fn.getSymName()
                         << "': its parameter shapes depend on sizes known "
                            "only at run time (give the data set a 'grid')";
        return;
      }
      int64_t p = count->total;
      int64_t params = p * bytes / tensor / (zero3 ? data : 1);
      int64_t grads = p * bytes / tensor / (zero2 ? data : 1);
      // Two fp32 moments, and an fp32 master copy under reduced precision.
      int64_t optimizer =
          p * (8 + (bytes == 2 ? 4 : 0)) / tensor / (zero1 ? data : 1);
      // Every layer output is kept for the backward; the batch is split
      // over the data axis.
      int64_t activations = 0;
      fn.walk([&](Operation *op) {
        if (isa<ParamOp>(op) || op->getNumResults() != 1)
          return;
        auto t = dyn_cast<RankedTensorType>(op->getResult(0).getType());
        if (t && t.hasStaticShape())
          activations += t.getNumElements() * bytes;
      });
      activations /= data;
      fn->setAttr("s2s.memory",
                  b.getDictionaryAttr({
                      b.getNamedAttr("activations", b.getI64IntegerAttr(activations)),
                      b.getNamedAttr("grads", b.getI64IntegerAttr(grads)),
                      b.getNamedAttr("optimizer", b.getI64IntegerAttr(optimizer)),
                      b.getNamedAttr("params", b.getI64IntegerAttr(params)),
                      b.getNamedAttr("total", b.getI64IntegerAttr(
                                                  params + grads + optimizer +
                                                  activations)),
                  }));
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
