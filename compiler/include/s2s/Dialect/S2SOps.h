//===- S2SOps.h - Operations of the s2s dialect ------------------*- C++
//-*-===//

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
/// How one learnable tensor starts. `a` and `b` are the initialiser's
/// numbers, as the runtime's s2s::rt::Init takes them:
///   normal: std a, mean b        trunc_normal: std a (cut at +-2 std)
///   uniform: low a, high b       constant: value a
///   zeros, ones: none            fan_in: uniform(+-1/sqrt(a)), a = fan-in
///                                (torch's default for linear/conv layers)
struct ParameterInit {
  InitKind kind = InitKind::zeros;
  double a = 0.0, b = 0.0;
  static ParameterInit fanIn(int64_t fan) {
    return {InitKind::fan_in, static_cast<double>(fan), 0.0};
  }
};

/// One learnable tensor of a ParameterizedOp: its name suffix (`weight`,
/// `qkv.bias`, ...), static shape and initialiser.
struct ParameterInfo {
  std::string suffix;
  llvm::SmallVector<int64_t> shape;
  ParameterInit init;
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
};

/// The attribute that marks a func.func as a model instance's forward; its
/// value is the model definition's name.
inline constexpr llvm::StringLiteral kModelAttrName = attrs::kModel;
} // namespace s2s

#include "s2s/Dialect/S2SInterfaces.h.inc"

#define GET_OP_CLASSES
#include "s2s/Dialect/S2SOps.h.inc"

#endif // S2S_DIALECT_S2SOPS_H
