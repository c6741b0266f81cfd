//===- RuntimeABI.h - The runtime's C++ surface, as s2s-to-emitc sees it -*- C++
//-*-===//
//
// Private to the s2s-to-emitc conversion. Everything the generated C++ names
// of libs2s_runtime is written down here once: the kernel each s2s op calls
// and the order of its arguments, the C++ spelling of every dialect enum
// (`s2s::rt::Activation::Gelu`), the runtime's type names, and how MLIR
// attributes become C++ literals. The runtime's side is
// runtime/include/s2s/runtime/{Ops.h,Config.h,Model.h}; a disagreement
// fails when the generated program compiles.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_CONVERSION_S2STOEMITC_RUNTIMEABI_H
#define S2S_CONVERSION_S2STOEMITC_RUNTIMEABI_H

#include "s2s/Dialect/S2SOps.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace s2s::abi {

/// The runtime namespace every generated name lives in.
inline constexpr llvm::StringLiteral kNamespace = "s2s::rt::";

// --- C++ literals ------------------------------------------------------------
std::string cxxString(llvm::StringRef s);
/// The shortest text that reads back as the same double.
std::string cxxDouble(double v);
std::string cxxInt(int64_t v);
std::string cxxBool(bool v);
std::string cxxInts(llvm::ArrayRef<int64_t> values);
std::string cxxDoubles(llvm::ArrayRef<double> values);
std::string cxxStrings(llvm::ArrayRef<std::string> values);
/// The C++ text of an attribute a kernel takes (numbers, strings, arrays,
/// the dialect's enums); failure for other kinds.
mlir::FailureOr<std::string> cxxLiteral(mlir::Attribute a);

// --- enums
// --------------------------------------------------------------------
/// `s2s::rt::<type>::<Case>` for the spelling `case` (`trunc_normal` ->
/// `TruncNormal`).
std::string cxxEnum(llvm::StringRef type, llvm::StringRef spelling);
std::string cxxEnum(ActivationKind v);
std::string cxxEnum(PadMode v);
std::string cxxEnum(AfnoCutoff v);
std::string cxxEnum(LossKind v);
std::string cxxEnum(Weighting v);
std::string cxxEnum(InitKind v);
std::string cxxEnum(Strategy v);
std::string cxxEnum(Backend v);
std::string cxxEnum(Precision v);
std::string cxxEnum(MemoryMode v);
std::string cxxEnum(NormalizerKind v);
std::string cxxEnum(OptimizerKind v);
std::string cxxEnum(ScheduleKind v);
std::string cxxEnum(MetricKind v);
std::string cxxEnum(JacobianKind v);
std::string cxxEnum(ProbeDist v);
std::string cxxEnum(StateLayout v);
std::string cxxEnum(TensorLayout v);

// --- kernels
// ------------------------------------------------------------------
/// How one s2s op calls its kernel: the argument list as tokens.
///   "m"      the model          "%N"  operand N        "%*" all operands
///   "@a"     attribute a        "@a?" attribute a, or its absent value
///   "#shape" the result's static shape
struct KernelSig {
  llvm::StringRef callee;
  llvm::SmallVector<llvm::StringRef, 12> args;
};
std::optional<KernelSig> kernelFor(mlir::Operation *op);
/// The C++ of an optional attribute that is absent ("@activation?").
std::optional<std::string> absentLiteral(llvm::StringRef attr);

// --- types
// ------------------------------------------------------------------------
inline constexpr llvm::StringLiteral kTensor = "torch::Tensor";
inline constexpr llvm::StringLiteral kModelRef = "s2s::rt::Model&";
inline constexpr llvm::StringLiteral kSpec = "s2s::rt::Spec";
inline constexpr llvm::StringLiteral kManifestRef = "s2s::rt::Manifest&";

} // namespace s2s::abi

#endif // S2S_CONVERSION_S2STOEMITC_RUNTIMEABI_H
