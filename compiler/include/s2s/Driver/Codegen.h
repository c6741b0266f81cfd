//===- Codegen.h - From the optimised s2s IR to C++ ---------------*- C++
//-*-===//

#ifndef S2S_DRIVER_CODEGEN_H
#define S2S_DRIVER_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace s2s {

struct CodegenOptions {
  std::string programName; ///< the spec's file stem
  std::string specFile;    ///< the spec, as given to s2sc
};

/// Runs s2s-to-emitc on `module` (after the pipeline): rejects, at their
/// spec lines, values the runtime does not implement, then lowers the
/// program to EmitC. MLIR's pass-manager command-line options apply.
mlir::LogicalResult lowerToEmitC(mlir::ModuleOp module,
                                 const CodegenOptions &options);

/// The C++ of an EmitC module, printed by MLIR's emitter.
mlir::FailureOr<std::string> printCpp(mlir::ModuleOp module);

} // namespace s2s

#endif // S2S_DRIVER_CODEGEN_H
