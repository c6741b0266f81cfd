//===- Summary.h - s2sc --emit=summary ------------------------------*- C++
//-*-===//

#ifndef S2S_DRIVER_SUMMARY_H
#define S2S_DRIVER_SUMMARY_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace llvm {
class raw_ostream;
}

namespace s2s {

/// The torchinfo-like table of every model forward of `module` after the
/// pipeline: components with output shape and parameter count, totals, and
/// s2s-plan-memory's bytes per rank. False (with an error on the model) if
/// some parameter shape is not known.
bool printSummary(mlir::ModuleOp module, llvm::raw_ostream &os);

/// `12,441,600`.
std::string withCommas(int64_t n);

} // namespace s2s

#endif // S2S_DRIVER_SUMMARY_H
