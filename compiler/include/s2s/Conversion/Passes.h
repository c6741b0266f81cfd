//===- Passes.h - Conversions out of the s2s dialect -------------*- C++
//-*-===//

#ifndef S2S_CONVERSION_PASSES_H
#define S2S_CONVERSION_PASSES_H

#include "s2s/Dialect/S2SOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace s2s {

#define GEN_PASS_DECL
#include "s2s/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "s2s/Conversion/Passes.h.inc"

} // namespace s2s

#endif // S2S_CONVERSION_PASSES_H
