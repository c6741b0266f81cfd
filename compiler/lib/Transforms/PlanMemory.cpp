//===- PlanMemory.cpp - The s2s-plan-memory pass
//---------------------------===//

#include "s2s/Transforms/Passes.h"

#include "s2s/Analysis/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/SymbolTable.h"

namespace s2s {
#define GEN_PASS_DEF_S2SPLANMEMORY
#include "s2s/Transforms/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

struct PlanMemoryPass : public s2s::impl::S2SPlanMemoryBase<PlanMemoryPass> {
  using S2SPlanMemoryBase::S2SPlanMemoryBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    const Layout layout = specLayout(module);
    module.walk([&](func::FuncOp fn) {
      if (!fn->hasAttr(attrs::kModel))
        return;
      FailureOr<ModelCost> cost = modelCost(module, fn, layout.tensor);
      if (failed(cost)) {
        // Shapes that depend on a grid read at run time: nothing to plan.
        fn.emitWarning() << "no memory plan for '" << fn.getSymName()
                         << "': its parameter shapes depend on sizes known "
                            "only at run time (give the data set a 'grid')";
        return;
      }
      // docs/plan.md: the state between steps and the step's peak above
      // it (activations and what is in flight), per rank.
      RankPlan plan = planRank(*cost, layout);
      int64_t total = saturatingAdd(saturatingAdd(plan.params, plan.grads),
                                    saturatingAdd(plan.optimizer, plan.step));
      fn->setAttr(attrs::kMemory,
                  MemoryPlanAttr::get(&getContext(), plan.params, plan.grads,
                                      plan.optimizer, plan.step, total));
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
                   << formatBytes(plan.getOptimizer()) << ", the step "
                   << formatBytes(plan.getStep()) << "), above the "
                   << formatBytes(maxRankBytes)
                   << " a rank may use (s2sc --max-rank-memory); make the "
                      "model, the batch or the grid smaller, or the mesh "
                      "larger";
  }
};
} // namespace
