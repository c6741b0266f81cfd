//===- MLIRGen.h - Lowering a checked spec to the s2s dialect ----*- C++
//-*-===//
//
// Evaluates the configuration of every model instance of the main module and
// emits its forward as a `func.func` of s2s layer ops (blocks inlined,
// `repeat` unrolled), and the data, rollout, parallel and train sections as
// s2s section ops. Every op carries the spec's location (a FileLineColLoc,
// inside a NameLoc with the parameter path for layers), so later messages
// point at the spec. Result types are left unranked where the shape
// inference pass has to work them out.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_MLIRGEN_MLIRGEN_H
#define S2S_MLIRGEN_MLIRGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace llvm {
class SourceMgr;
}

namespace s2s {
class Module;

/// Lowers `main` (checked by the front end). Errors are emitted through the
/// context's diagnostic engine; returns null if there were any.
mlir::OwningOpRef<mlir::ModuleOp> lowerToMLIR(mlir::MLIRContext &context,
                                              const Module &main,
                                              llvm::SourceMgr &srcMgr);

} // namespace s2s

#endif // S2S_MLIRGEN_MLIRGEN_H
