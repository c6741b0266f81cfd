//===- S2SDialect.h - The s2s dialect ----------------------------*- C++
//-*-===//

#ifndef S2S_DIALECT_S2SDIALECT_H
#define S2S_DIALECT_S2SDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"

#include "s2s/Dialect/S2SOpsDialect.h.inc"

#include "s2s/Dialect/S2SEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "s2s/Dialect/S2SAttrs.h.inc"

namespace s2s {

/// The discardable attributes the s2s passes attach, each checked by the
/// dialect's verifyOperationAttribute.
namespace attrs {
/// On a func.func: the model definition's name (a model instance's forward).
inline constexpr llvm::StringLiteral kModel = "s2s.model";
/// On a model forward: the instance's configuration as evaluated.
inline constexpr llvm::StringLiteral kConfig = "s2s.config";
/// On a batch clone of a model forward: the forward it was cloned from.
inline constexpr llvm::StringLiteral kVariantOf = "s2s.variant_of";
/// On an unrolled rollout function: the model forward it rolls out.
inline constexpr llvm::StringLiteral kRolloutOf = "s2s.rollout_of";
/// On an s2s.rollout: the function s2s-unroll-rollout built for it.
inline constexpr llvm::StringLiteral kUnrolled = "s2s.unrolled";
/// On an s2s.rollout with patches: the one-step function (extract, model,
/// merge) the program predicts with.
inline constexpr llvm::StringLiteral kStep = "s2s.step";
/// On such a one-step function: the model forward it wraps.
inline constexpr llvm::StringLiteral kStepOf = "s2s.step_of";
/// On a func.call of a model forward: recompute its activations in the
/// backward instead of keeping them (checkpoint_activations).
inline constexpr llvm::StringLiteral kRecompute = "s2s.recompute";
/// On a parameter-owning op: its ShardingAttr (s2s-shard).
inline constexpr llvm::StringLiteral kSharding = "s2s.sharding";
/// On a column- or row-parallel linear and on attention, with a tensor
/// axis of T > 1: T (s2s-shard). The op then runs on this rank's slices
/// (linear_column, linear_row, attention_heads).
inline constexpr llvm::StringLiteral kTensorParts = "s2s.tensor_parts";
/// On a model forward: its MemoryPlanAttr (s2s-plan-memory).
inline constexpr llvm::StringLiteral kMemory = "s2s.memory";
} // namespace attrs

/// Bounds of section values, held by the section ops' verifiers: past them
/// the compiler's own work (the unrolled tableau grows with the square of
/// the order) or the plan's arithmetic would run away.
inline constexpr int64_t kMaxRolloutOrder = 1000;
/// Processes of a mesh, all axes multiplied.
inline constexpr int64_t kMaxProcesses = int64_t(1) << 20;
/// Points along one axis of a data set's grid.
inline constexpr int64_t kMaxGridSize = int64_t(1) << 20;

/// Byte and element counts saturate at INT64_MAX instead of wrapping: a
/// count that large is refused anyway (s2s-plan-memory's max-rank-bytes),
/// and must not wrap to a small or negative one first.
int64_t saturatingAdd(int64_t a, int64_t b);
int64_t saturatingMul(int64_t a, int64_t b);
/// `1.50 GiB`, `12.00 KiB`, `512 B`: the largest binary unit that keeps a
/// leading digit.
std::string formatBytes(int64_t bytes);

/// The location of entry `key` of a section op: MLIRGen fuses the section's
/// location with a NameLoc per entry written; the op's own location when the
/// entry has none (it was left out, or the IR was written by hand).
mlir::Location sectionKeyLoc(mlir::Operation *op, llvm::StringRef key);

} // namespace s2s

#endif // S2S_DIALECT_S2SDIALECT_H
