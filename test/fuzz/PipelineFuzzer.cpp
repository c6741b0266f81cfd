//===- PipelineFuzzer.cpp - libFuzzer target for the whole s2sc pipeline --===//
//
// Each input is a spec held in memory; it goes as far as `s2sc
// --emit=mlir-opt` would take it: parse, check, lower to the s2s dialect
// and run the pass pipeline (shapes, rollout, fusion, sharding, memory
// plan), then print the result. Diagnostics, the front end's and MLIR's, go
// to a null stream: the fuzzer looks for crashes, hangs, leaks and undefined
// behaviour in every stage a spec can reach, not for messages.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/Driver/DiagnosticBridge.h"
#include "s2s/MLIRGen/MLIRGen.h"
#include "s2s/Transforms/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr srcMgr;
  s2s::DiagnosticEngine diags(srcMgr, llvm::nulls(), /*errorLimit=*/20);
  s2s::FrontendOptions options;
  options.stdlibDir = S2S_STDLIB_DIR;
  s2s::Frontend frontend(diags, options);
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  s2s::Module *main = frontend.loadBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.s2s"));
  if (!main || !frontend.check())
    return 0;

  // One context per input: nothing one spec interns leaks into the next.
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.printOpOnDiagnostic(false);
  s2s::routeMLIRDiagnostics(context, srcMgr, diags);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      s2s::lowerToMLIR(context, *main, srcMgr);
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
