//===- S2SAttrs.cpp - Enums and attributes of the s2s dialect -------------===//
//
// The verifiers of the section-value attributes hold every range check of a
// spec's values: MLIRGen builds the attributes with getChecked at the value's
// spec line, so a value the runtime would refuse at start-up is a compile
// error there. The dialect's verifyOperationAttribute checks the discardable
// attributes the passes attach.
//
//===----------------------------------------------------------------------===//

#include "s2s/Dialect/S2SOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace s2s;

#include "s2s/Dialect/S2SEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "s2s/Dialect/S2SAttrs.cpp.inc"

void S2SDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "s2s/Dialect/S2SAttrs.cpp.inc"
      >();
}

using EmitFn = llvm::function_ref<InFlightDiagnostic()>;

static LogicalResult atLeast(EmitFn emitError, StringRef what, int64_t v,
                             int64_t min) {
  if (v >= min)
    return success();
  return emitError() << what << " must be at least " << min << ", got " << v;
}

static LogicalResult nonNegative(EmitFn emitError, StringRef what, double v) {
  if (std::isfinite(v) && v >= 0)
    return success();
  return emitError() << what << " must be a finite number >= 0, got " << v;
}

static LogicalResult positive(EmitFn emitError, StringRef what, double v) {
  if (std::isfinite(v) && v > 0)
    return success();
  return emitError() << what << " must be a finite number > 0, got " << v;
}

LogicalResult SourceAttr::verify(EmitFn emitError, SourceKind kind,
                                 StringRef pattern, StringRef field,
                                 StringRef address, StringRef name) {
  if (kind == SourceKind::hdf5) {
    if (pattern.empty())
      return emitError() << "hdf5(pattern = ...) needs a file pattern";
    if (field.empty())
      return emitError() << "hdf5(field = ...) needs a dataset name";
    return success();
  }
  if (address.empty() || name.empty())
    return emitError() << "server(address, name) needs both";
  // A server source's field says which of the set's stores the train split
  // reads: "" its index, "ring" its ring (server(..., ring = true)).
  if (!field.empty() && field != "ring")
    return emitError() << "server(...) reads a data set's index (field \"\") "
                          "or its ring (field \"ring\"), not '"
                       << field << "'";
  return success();
}

/// `2008` or `2000..2007`, as a spec writes years.
static std::string yearsStr(ArrayRef<int64_t> r) {
  if (r[0] == r[1])
    return std::to_string(r[0]);
  return std::to_string(r[0]) + ".." + std::to_string(r[1]);
}

LogicalResult SplitAttr::verify(EmitFn emitError, ArrayRef<int64_t> train,
                                ArrayRef<int64_t> valid,
                                ArrayRef<int64_t> test) {
  for (auto [what, r] :
       {std::pair<StringRef, ArrayRef<int64_t>>{"train", train},
        {"valid", valid},
        {"test", test}}) {
    if (r.size() != 2)
      return emitError() << "split '" << what
                         << "' needs a first and a last year";
    // [0, -1] is the empty split; anything else must be a real range.
    if (r[0] == 0 && r[1] == -1)
      continue;
    if (r[0] > r[1])
      return emitError() << "split '" << what << "' runs from " << r[0]
                         << " back to " << r[1]
                         << "; write the first year first";
  }
  // A year in two splits is trained on and scored on: the scores lie.
  std::pair<StringRef, ArrayRef<int64_t>> splits[] = {
      {"train", train}, {"valid", valid}, {"test", test}};
  for (size_t i = 0; i < 3; ++i)
    for (size_t j = i + 1; j < 3; ++j) {
      ArrayRef<int64_t> a = splits[i].second, b = splits[j].second;
      bool empty = (a[0] == 0 && a[1] == -1) || (b[0] == 0 && b[1] == -1);
      if (empty || a[1] < b[0] || b[1] < a[0])
        continue;
      return emitError() << "splits '" << splits[i].first << "' ("
                         << yearsStr(a) << ") and '" << splits[j].first << "' ("
                         << yearsStr(b) << ") share "
                         << yearsStr(
                                {std::max(a[0], b[0]), std::min(a[1], b[1])})
                         << "; each year belongs to one split";
    }
  return success();
}

LogicalResult MemoryAttr::verify(EmitFn emitError, MemoryMode mode, bool shared,
                                 int64_t prefetch, int64_t buffer,
                                 APFloat refreshValue) {
  double refresh = refreshValue.convertToDouble();
  if (failed(atLeast(emitError, "prefetch", prefetch, 0)))
    return failure();
  if (mode == MemoryMode::stream) {
    if (failed(atLeast(emitError, "stream's buffer", buffer, 1)))
      return failure();
    if (!(std::isfinite(refresh) && refresh > 0 && refresh <= 1))
      return emitError() << "stream's refresh is the fraction of the buffer "
                            "replaced per pass over it: a number in (0, 1], "
                            "got "
                         << refresh;
    if (shared)
      return emitError() << "stream mode holds a buffer per process; it "
                            "cannot be shared";
    return success();
  }
  if (shared && mode == MemoryMode::lazy)
    return emitError() << "shared = true and lazy = true cannot be combined: "
                          "shared holds the whole split, loaded once per "
                          "node; choose one";
  return success();
}

LogicalResult LossAttr::verify(EmitFn emitError, LossKind, Weighting,
                               APFloat delta) {
  return positive(emitError, "huber's delta", delta.convertToDouble());
}

LogicalResult AlignAttr::verify(EmitFn emitError, AlignKind, int64_t order,
                                APFloat weight, int64_t lag, Weighting, bool) {
  if (failed(atLeast(emitError, "the alignment order", order, 2)) ||
      failed(atLeast(emitError, "the alignment lag", lag, 1)))
    return failure();
  if (lag >= order)
    return emitError() << "an alignment of order " << order << " and lag "
                       << lag << " pairs no orders (it pairs order j with "
                       << "j - lag for lag < j <= order)";
  return nonNegative(emitError, "the alignment weight",
                     weight.convertToDouble());
}

LogicalResult JacobianAttr::verify(EmitFn emitError, JacobianKind,
                                   int64_t samples, APFloat weight, ProbeDist,
                                   JacobianAt) {
  if (failed(atLeast(emitError, "hutchinson's samples", samples, 1)))
    return failure();
  return nonNegative(emitError, "the Jacobian weight",
                     weight.convertToDouble());
}

LogicalResult PatchingAttr::verify(EmitFn emitError, ArrayRef<int64_t> size,
                                   ArrayRef<int64_t> stride,
                                   ArrayRef<int64_t> halo) {
  if (size.size() != 2 || stride.size() != 2 || halo.size() != 2)
    return emitError() << "overlap(size, stride, halo) takes [lat, lon] pairs";
  for (int i = 0; i < 2; ++i) {
    if (failed(atLeast(emitError, "the patch size", size[i], 1)) ||
        failed(atLeast(emitError, "the patch stride", stride[i], 1)) ||
        failed(atLeast(emitError, "the patch halo", halo[i], 0)))
      return failure();
    if (stride[i] + 2 * halo[i] > size[i])
      return emitError() << "a patch stride of " << stride[i]
                         << " over patches of " << size[i] << " with a halo of "
                         << halo[i]
                         << " leaves points in no patch's interior (the "
                            "stride may be at most size - 2 * halo)";
  }
  return success();
}

LogicalResult OptimizerAttr::verify(EmitFn emitError, OptimizerKind kind,
                                    APFloat lrValue, APFloat momentumValue,
                                    bool nesterov, APFloat beta1Value,
                                    APFloat beta2Value, APFloat epsValue,
                                    APFloat weightDecayValue) {
  double lr = lrValue.convertToDouble(),
         momentum = momentumValue.convertToDouble(),
         beta1 = beta1Value.convertToDouble(),
         beta2 = beta2Value.convertToDouble(), eps = epsValue.convertToDouble(),
         weightDecay = weightDecayValue.convertToDouble();
  if (failed(positive(emitError, "lr", lr)) ||
      failed(nonNegative(emitError, "weight_decay", weightDecay)))
    return failure();
  if (kind == OptimizerKind::sgd) {
    if (!(momentum >= 0 && momentum < 1))
      return emitError() << "momentum must be in [0, 1), got " << momentum;
    if (nesterov && momentum == 0)
      return emitError() << "nesterov = true needs a momentum > 0";
    return success();
  }
  for (auto [what, b] :
       {std::pair<StringRef, double>{"betas[0]", beta1}, {"betas[1]", beta2}})
    if (!(b >= 0 && b < 1))
      return emitError() << what << " must be in [0, 1), got " << b;
  return positive(emitError, "eps", eps);
}

LogicalResult ScheduleAttr::verify(EmitFn emitError, ScheduleKind kind,
                                   int64_t every, APFloat gammaValue,
                                   int64_t warmup, APFloat minLrValue) {
  double gamma = gammaValue.convertToDouble(),
         minLr = minLrValue.convertToDouble();
  if (failed(atLeast(emitError, "warmup", warmup, 0)))
    return failure();
  if (kind == ScheduleKind::step) {
    if (failed(atLeast(emitError, "step's every", every, 1)))
      return failure();
    if (!(gamma > 0 && gamma <= 1))
      return emitError() << "step's gamma must be in (0, 1], got " << gamma;
  }
  return nonNegative(emitError, "min_lr", minLr);
}

LogicalResult CheckpointAttr::verify(EmitFn emitError, int64_t epochs,
                                     int64_t steps, StringRef dir,
                                     int64_t keep) {
  if (failed(atLeast(emitError, "every's epochs", epochs, 0)) ||
      failed(atLeast(emitError, "every's steps", steps, 0)) ||
      failed(atLeast(emitError, "every's keep", keep, 1)))
    return failure();
  if (epochs == 0 && steps == 0)
    return emitError() << "every(epochs = 0, steps = 0) saves no checkpoint "
                          "before the run ends, so a failure loses the whole "
                          "run; set epochs or steps to at least 1";
  if (dir.empty())
    return emitError() << "every(dir = ...) needs a folder name";
  return success();
}

int64_t s2s::saturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (llvm::AddOverflow(a, b, sum))
    return b < 0 ? INT64_MIN : INT64_MAX;
  return sum;
}

int64_t s2s::saturatingMul(int64_t a, int64_t b) {
  int64_t product;
  if (llvm::MulOverflow(a, b, product))
    return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
  return product;
}

std::string s2s::formatBytes(int64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = bytes;
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format(u ? "%.2f %s" : "%.0f %s", v, units[u]);
  return s;
}

LogicalResult MemoryPlanAttr::verify(EmitFn emitError, int64_t params,
                                     int64_t grads, int64_t optimizer,
                                     int64_t step, int64_t total) {
  if (params < 0 || grads < 0 || optimizer < 0 || step < 0)
    return emitError() << "a memory plan has no negative sizes";
  if (total != saturatingAdd(saturatingAdd(params, grads),
                             saturatingAdd(optimizer, step)))
    return emitError() << "the memory plan's total " << total
                       << " is not the sum of its parts";
  return success();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

LogicalResult S2SDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  Attribute value = attr.getValue();
  auto expect = [&](bool ok, StringRef what) -> LogicalResult {
    if (ok)
      return success();
    return op->emitOpError()
           << "'" << name << "' must be " << what << ", got " << value;
  };
  auto onFunc = [&]() -> LogicalResult {
    if (isa<func::FuncOp>(op))
      return success();
    return op->emitOpError() << "'" << name << "' belongs on a func.func";
  };
  if (name == attrs::kModel)
    return failed(onFunc()) ? failure()
                            : expect(isa<StringAttr>(value), "a string");
  if (name == attrs::kConfig)
    return failed(onFunc())
               ? failure()
               : expect(isa<DictionaryAttr>(value), "a dictionary");
  if (name == attrs::kVariantOf || name == attrs::kRolloutOf ||
      name == attrs::kStepOf)
    return failed(onFunc())
               ? failure()
               : expect(isa<FlatSymbolRefAttr>(value), "a symbol reference");
  if (name == attrs::kMemory)
    return failed(onFunc())
               ? failure()
               : expect(isa<MemoryPlanAttr>(value), "a #s2s.memory_plan");
  if (name == attrs::kRecompute) {
    if (!isa<func::CallOp>(op))
      return op->emitOpError() << "'" << name << "' belongs on a func.call";
    return expect(isa<UnitAttr>(value), "a unit attribute");
  }
  if (name == attrs::kUnrolled || name == attrs::kStep) {
    if (!isa<RolloutOp>(op))
      return op->emitOpError() << "'" << name << "' belongs on s2s.rollout";
    return expect(isa<FlatSymbolRefAttr>(value), "a symbol reference");
  }
  if (name == attrs::kSharding) {
    if (!isa<ParameterizedOp>(op))
      return op->emitOpError()
             << "'" << name << "' belongs on an op that owns parameters";
    return expect(isa<ShardingAttr>(value), "a #s2s.sharding");
  }
  if (name == attrs::kTensorParts) {
    if (!isa<LinearOp, AttentionOp>(op))
      return op->emitOpError()
             << "'" << name << "' belongs on s2s.linear or s2s.attention";
    auto parts = dyn_cast<IntegerAttr>(value);
    return expect(parts && parts.getInt() > 1, "an integer larger than 1");
  }
  return op->emitOpError() << "unknown s2s attribute '" << name << "'";
}

Location s2s::sectionKeyLoc(Operation *op, StringRef key) {
  auto fused = dyn_cast<FusedLoc>(op->getLoc());
  if (!fused || fused.getLocations().empty())
    return op->getLoc();
  for (Location l : fused.getLocations())
    if (auto named = dyn_cast<NameLoc>(l))
      if (named.getName().getValue() == key)
        return named.getChildLoc();
  return fused.getLocations().front();
}
