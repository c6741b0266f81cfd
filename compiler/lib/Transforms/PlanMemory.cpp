//===- PlanMemory.cpp - The s2s-plan-memory pass
//---------------------------===//

#include "s2s/Transforms/Passes.h"

#include "s2s/Analysis/ParameterCount.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace s2s {
#define GEN_PASS_DEF_S2SPLANMEMORY
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {
struct PlanMemoryPass : public s2s::impl::S2SPlanMemoryBase<PlanMemoryPass> {
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
    module.walk([&](TrainOp t) { precision = t.getPrecision(); });
    int64_t bytes = precision == Precision::fp32 ? 4 : 2;
    bool zero1 = strategy != Strategy::ddp;
    bool zero2 = strategy == Strategy::zero2 || strategy == Strategy::zero3 ||
                 strategy == Strategy::fsdp;
    bool zero3 = strategy == Strategy::zero3 || strategy == Strategy::fsdp;
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(attrs::kModel))
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
      fn->setAttr(attrs::kMemory,
                  MemoryPlanAttr::get(
                      &getContext(), params, grads, optimizer, activations,
                      params + grads + optimizer + activations));
    });
  }
};
} // namespace
