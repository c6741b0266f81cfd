//===- InferShapes.cpp - The s2s-infer-shapes pass ------------------------===//

#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace s2s {
#define GEN_PASS_DEF_S2SINFERSHAPES
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;

namespace {
struct InferShapesPass : public s2s::impl::S2SInferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    bool failedAny = false;
    getOperation().walk([&](func::FuncOp fn) {
      if (fn.isExternal())
        return;
      // Ops are visited in order, so every operand is inferred before use.
      fn.walk([&](Operation *op) {
        if (auto si = dyn_cast<s2s::ShapeInference>(op))
          if (failed(si.inferShapes()))
            failedAny = true;
      });
      // The function's results follow its return.
      fn.walk([&](func::ReturnOp ret) {
        fn.setType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                                     ret.getOperandTypes()));
      });
    });
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
