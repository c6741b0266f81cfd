//===- PipelineFuzzer.cpp - libFuzzer target for the whole s2sc pipeline --===//
//
// Each input is a spec held in memory; it goes as far as `s2sc
// --emit=mlir-opt` would take it: parse, check, lower to the s2s dialect
// and run the pass pipeline (shapes, rollout, fusion, sharding, memory
// plan, under s2sc's default memory budget), then print the result. MLIR's
// diagnostics join the front end's in the null stream.
//
//===----------------------------------------------------------------------===//

#include "FuzzedSpec.h"

#include "s2s/Driver/DiagnosticBridge.h"
#include "s2s/MLIRGen/MLIRGen.h"
#include "s2s/Transforms/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedSpec spec(data, size);
  if (!spec.main)
    return 0;

  // One context per input: nothing one spec interns leaks into the next.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  s2s::routeMLIRDiagnostics(context, spec.srcMgr, spec.diags);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      s2s::lowerToMLIR(context, *spec.main, spec.srcMgr);
  if (!module)
    return 0;
  mlir::PassManager pm(&context);
  s2s::PipelineOptions pipeline;
  pipeline.maxRankBytes = int64_t(1) << 40; // s2sc's --max-rank-memory
  s2s::buildS2SPipeline(pm, pipeline);
  if (mlir::succeeded(pm.run(*module)))
    module->print(llvm::nulls());
  return 0;
}
