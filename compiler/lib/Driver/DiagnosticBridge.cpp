//===- DiagnosticBridge.cpp - MLIR's diagnostics as the front end's -------===//

#include "s2s/Driver/DiagnosticBridge.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/SourceMgr.h"

/// Routes MLIR's diagnostics into the front end's DiagnosticEngine, at the
/// spec position their FileLineColLoc names.
void s2s::routeMLIRDiagnostics(mlir::MLIRContext &ctx, llvm::SourceMgr &srcMgr,
                               DiagnosticEngine &diags) {
  ctx.getDiagEngine().registerHandler([&](mlir::Diagnostic &d) {
    auto toRange = [&](mlir::Location loc) {
      auto flc = loc->findInstanceOf<mlir::FileLineColLoc>();
      if (!flc)
        return llvm::SMRange();
      for (unsigned id = 1; id <= srcMgr.getNumBuffers(); ++id) {
        if (srcMgr.getMemoryBuffer(id)->getBufferIdentifier() !=
            flc.getFilename().getValue())
          continue;
        llvm::SMLoc at =
            srcMgr.FindLocForLineAndColumn(id, flc.getLine(), flc.getColumn());
        return llvm::SMRange(at, at);
      }
      return llvm::SMRange();
    };
    std::string msg = d.str();
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      diags.error(toRange(d.getLocation()), msg);
    else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
      diags.warning(toRange(d.getLocation()), msg);
    else
      diags.note(toRange(d.getLocation()), msg);
    // Inlined calls: lead from the op back to the spec's own lines.
    mlir::Location l = d.getLocation();
    if (auto named = llvm::dyn_cast<mlir::NameLoc>(l))
      l = named.getChildLoc();
    while (auto site = llvm::dyn_cast<mlir::CallSiteLoc>(l)) {
      mlir::Location caller = site.getCaller();
      mlir::Location at = caller;
      while (auto inner = llvm::dyn_cast<mlir::CallSiteLoc>(at))
        at = inner.getCallee();
      if (auto named = llvm::dyn_cast<mlir::NameLoc>(at))
        diags.note(toRange(named.getChildLoc()), named.getName().getValue());
      l = caller;
    }
    for (mlir::Diagnostic &n : d.getNotes())
      diags.note(toRange(n.getLocation()), n.str());
    return mlir::success();
  });
}
