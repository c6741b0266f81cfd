//===- DiagnosticBridge.h - MLIR's diagnostics as the front end's -*- C++
//-*-===//

#ifndef S2S_DRIVER_DIAGNOSTICBRIDGE_H
#define S2S_DRIVER_DIAGNOSTICBRIDGE_H

#include "s2s/DSL/Diagnostics.h"

namespace llvm {
class SourceMgr;
}
namespace mlir {
class MLIRContext;
}

namespace s2s {

/// Routes MLIR's diagnostics into `diags`, at the spec position their
/// FileLineColLoc names, with notes leading from an op inlined from the
/// stdlib back to the spec's own lines: an IR error prints exactly like a
/// syntax error.
void routeMLIRDiagnostics(mlir::MLIRContext &ctx, llvm::SourceMgr &srcMgr,
                          DiagnosticEngine &diags);

} // namespace s2s

#endif // S2S_DRIVER_DIAGNOSTICBRIDGE_H
