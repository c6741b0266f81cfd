//===- S2SOps.h - Operations of the s2s dialect ------------------*- C++ -*-===//

#ifndef S2S_DIALECT_S2SOPS_H
#define S2S_DIALECT_S2SOPS_H

#include "s2s/Dialect/S2SDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <string>

namespace s2s {
/// One learnable tensor of a ParameterizedOp: its name suffix (`weight`,
/// `qkv.bias`, ...) and static shape.
struct ParameterInfo {
  std::string suffix;
  llvm::SmallVector<int64_t> shape;
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// The attribute that marks a func.func as a model instance's forward; its
/// value is the model definition's name.
inline constexpr llvm::StringLiteral kModelAttrName = "s2s.model";
} // namespace s2s

#include "s2s/Dialect/S2SInterfaces.h.inc"

#define GET_OP_CLASSES
#include "s2s/Dialect/S2SOps.h.inc"

#endif // S2S_DIALECT_S2SOPS_H
