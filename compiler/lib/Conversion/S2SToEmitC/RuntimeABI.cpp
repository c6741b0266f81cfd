//===- RuntimeABI.cpp - The runtime's C++ surface, as s2s-to-emitc sees it ===//

#include "RuntimeABI.h"

#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

using namespace s2s;

namespace {
template <typename T, typename F>
std::string braced(llvm::ArrayRef<T> values, F &&one) {
  std::string s = "{";
  llvm::interleave(
      values, [&](const T &v) { s += one(v); }, [&] { s += ", "; });
  return s + "}";
}
} // namespace

//===----------------------------------------------------------------------===//
// C++ literals
//===----------------------------------------------------------------------===//

std::string abi::cxxString(llvm::StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20 || c >= 0x7f) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\%03o", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

std::string abi::cxxDouble(double v) {
  if (std::isnan(v))
    return "std::numeric_limits<double>::quiet_NaN()";
  if (std::isinf(v))
    return v > 0 ? "std::numeric_limits<double>::infinity()"
                 : "-std::numeric_limits<double>::infinity()";
  // The shortest form that reads back as the same double.
  char buf[40];
  for (int digits = 15; digits <= 17; ++digits) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos)
    s += ".0";
  return s;
}

std::string abi::cxxInt(int64_t v) {
  // INT64_MIN has no literal of its own in C++.
  if (v == std::numeric_limits<int64_t>::min())
    return "std::numeric_limits<int64_t>::min()";
  return std::to_string(v);
}

std::string abi::cxxBool(bool v) { return v ? "true" : "false"; }

std::string abi::cxxInts(llvm::ArrayRef<int64_t> values) {
  return braced(values, [](int64_t v) { return cxxInt(v); });
}

std::string abi::cxxDoubles(llvm::ArrayRef<double> values) {
  return braced(values, [](double v) { return cxxDouble(v); });
}

std::string abi::cxxStrings(llvm::ArrayRef<std::string> values) {
  return braced(values, [](const std::string &v) { return cxxString(v); });
}

mlir::FailureOr<std::string> abi::cxxLiteral(mlir::Attribute a) {
  using namespace mlir;
  if (auto b = dyn_cast<BoolAttr>(a))
    return cxxBool(b.getValue());
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    if (i.getType().isInteger(1))
      return cxxBool(i.getValue().getBoolValue());
    return cxxInt(i.getValue().getSExtValue());
  }
  if (auto f = dyn_cast<FloatAttr>(a))
    return cxxDouble(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(a))
    return cxxString(s.getValue());
  if (auto arr = dyn_cast<DenseI64ArrayAttr>(a))
    return cxxInts(arr.asArrayRef());
  if (auto arr = dyn_cast<DenseF64ArrayAttr>(a))
    return cxxDoubles(arr.asArrayRef());
  if (auto e = dyn_cast<ActivationKindAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<PadModeAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<LossKindAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<WeightingAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<JacobianKindAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<ProbeDistAttr>(a))
    return cxxEnum(e.getValue());
  if (auto e = dyn_cast<AfnoCutoffAttr>(a))
    return cxxEnum(e.getValue());
  if (auto arr = dyn_cast<ArrayAttr>(a)) {
    std::string s = "{";
    for (auto [i, e] : llvm::enumerate(arr)) {
      FailureOr<std::string> one = cxxLiteral(e);
      if (failed(one))
        return failure();
      s += (i ? ", " : "") + *one;
    }
    return s + "}";
  }
  return failure();
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

std::string abi::cxxEnum(llvm::StringRef type, llvm::StringRef spelling) {
  std::string name;
  bool upper = true;
  for (char c : spelling) {
    if (c == '_') {
      upper = true;
      continue;
    }
    name += upper ? llvm::toUpper(c) : c;
    upper = false;
  }
  return (kNamespace + type + "::" + name).str();
}

std::string abi::cxxEnum(ActivationKind v) {
  return cxxEnum("Activation", stringifyActivationKind(v));
}
std::string abi::cxxEnum(AfnoCutoff v) {
  return cxxEnum("AfnoCutoff", stringifyAfnoCutoff(v));
}
std::string abi::cxxEnum(PadMode v) {
  return cxxEnum("PadMode", stringifyPadMode(v));
}
std::string abi::cxxEnum(LossKind v) {
  return cxxEnum("LossKind", stringifyLossKind(v));
}
std::string abi::cxxEnum(Weighting v) {
  return cxxEnum("Weighting", stringifyWeighting(v));
}
std::string abi::cxxEnum(InitKind v) {
  return cxxEnum("InitKind", stringifyInitKind(v));
}
std::string abi::cxxEnum(Strategy v) {
  return cxxEnum("StrategyKind", stringifyStrategy(v));
}
std::string abi::cxxEnum(Backend v) {
  return cxxEnum("Backend", stringifyBackend(v));
}
std::string abi::cxxEnum(Precision v) {
  return cxxEnum("Precision", stringifyPrecision(v));
}
std::string abi::cxxEnum(MemoryMode v) {
  return cxxEnum("MemoryMode", stringifyMemoryMode(v));
}
std::string abi::cxxEnum(NormalizerKind v) {
  return cxxEnum("Normalizer", stringifyNormalizerKind(v));
}
std::string abi::cxxEnum(OptimizerKind v) {
  return cxxEnum("OptimizerKind", stringifyOptimizerKind(v));
}
std::string abi::cxxEnum(ScheduleKind v) {
  return cxxEnum("ScheduleKind", stringifyScheduleKind(v));
}
std::string abi::cxxEnum(MetricKind v) {
  return cxxEnum("MetricKind", stringifyMetricKind(v));
}
std::string abi::cxxEnum(JacobianKind v) {
  return cxxEnum("JacobianKind", stringifyJacobianKind(v));
}
std::string abi::cxxEnum(ProbeDist v) {
  return cxxEnum("ProbeDist", stringifyProbeDist(v));
}
std::string abi::cxxEnum(StateLayout v) {
  return cxxEnum("StateLayout", stringifyStateLayout(v));
}
std::string abi::cxxEnum(TensorLayout v) {
  return cxxEnum("TensorLayout", stringifyTensorLayout(v));
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

std::optional<abi::KernelSig> abi::kernelFor(mlir::Operation *op) {
  using KS = KernelSig;
  using namespace mlir;
  return llvm::TypeSwitch<Operation *, std::optional<KernelSig>>(op)
      .Case([](ConstantOp) {
        return KS{"constant", {"m", "@value"}};
      })
      .Case([](AddOp) {
        return KS{"add", {"%0", "%1"}};
      })
      .Case([](SubOp) {
        return KS{"sub", {"%0", "%1"}};
      })
      .Case([](MulOp) {
        return KS{"mul", {"%0", "%1"}};
      })
      .Case([](DivOp) {
        return KS{"div", {"%0", "%1"}};
      })
      .Case([](NegOp) {
        return KS{"neg", {"%0"}};
      })
      .Case([](ActivationOp) {
        return KS{"activation", {"%0", "@kind"}};
      })
      .Case([](SoftmaxOp) {
        return KS{"softmax", {"%0", "@dim"}};
      })
      .Case([](DropoutOp) {
        return KS{"dropout", {"m", "%0", "@p"}};
      })
      .Case([](DropPathOp) {
        return KS{"drop_path", {"m", "%0", "@p"}};
      })
      .Case([](LinearOp op) {
        // On a tensor axis (s2s-shard): this rank's columns, or a row
        // layer's partial product (its bias and activation follow the
        // tp_all_reduce after it).
        if (op->hasAttr(attrs::kTensorParts)) {
          auto sh = op->getAttrOfType<ShardingAttr>(attrs::kSharding);
          if (sh && sh.getTensor() == TensorLayout::row)
            return KS{"linear_row", {"m", "@name", "%0", "@out"}};
          return KS{"linear_column",
                    {"m", "@name", "%0", "@out", "@bias", "@activation?",
                     "@s2s.tensor_parts"}};
        }
        return KS{"linear",
                  {"m", "@name", "%0", "@out", "@bias", "@activation?"}};
      })
      .Case([](Conv2dOp) {
        return KS{"conv2d",
                  {"m", "@name", "%0", "@out", "@kernel", "@stride", "@padding",
                   "@pad_mode", "@bias", "@activation?"}};
      })
      .Case([](LayerNormOp) {
        return KS{"layer_norm", {"m", "@name", "%0", "@eps"}};
      })
      .Case([](GroupNormOp) {
        return KS{"group_norm", {"m", "@name", "%0", "@groups", "@eps"}};
      })
      .Case([](InstanceNormOp) {
        return KS{"instance_norm", {"%0", "@eps"}};
      })
      .Case([](AttentionOp op) {
        if (op->hasAttr(attrs::kTensorParts))
          return KS{"attention_heads",
                    {"m", "@name", "%0", "@heads", "@qkv_bias", "@dropout",
                     "@s2s.tensor_parts"}};
        return KS{"attention",
                  {"m", "@name", "%0", "@heads", "@qkv_bias", "@dropout"}};
      })
      .Case([](TpCopyOp) {
        return KS{"tp_copy", {"m", "%0", "@size"}};
      })
      .Case([](TpAllReduceOp) {
        return KS{"tp_all_reduce",
                  {"m", "%0", "@size", "@bias_of?", "@activation?"}};
      })
      .Case([](CrossAttentionOp) {
        return KS{"cross_attention", {"m", "@name", "%0", "%1", "@heads"}};
      })
      .Case([](PatchEmbedOp) {
        return KS{"patch_embed", {"m", "@name", "%0", "@patch", "@embed"}};
      })
      .Case([](UnpatchOp) {
        return KS{"unpatch", {"%0", "@patch", "@grid", "@channels"}};
      })
      .Case([](Afno2dOp) {
        return KS{
            "afno2d",
            {"m", "@name", "%0", "@blocks", "@sparsity", "@modes", "@cutoff"}};
      })
      .Case([](GraphMessageOp) {
        return KS{"graph_message",
                  {"m", "@name", "%0", "%1", "%2", "@hidden", "@out"}};
      })
      .Case([](ParamOp) {
        return KS{"param", {"m", "@name", "#shape"}};
      })
      .Case([](ReshapeOp) {
        return KS{"reshape", {"%0", "@shape"}};
      })
      .Case([](PermuteOp) {
        return KS{"permute", {"%0", "@dims"}};
      })
      .Case([](FlattenOp) {
        return KS{"flatten", {"%0", "@start", "@end"}};
      })
      .Case([](ConcatOp) {
        return KS{"concat_n", {"@dim", "%*"}};
      })
      .Case([](SliceOp) {
        return KS{"slice", {"%0", "@dim", "@start", "@end"}};
      })
      .Case([](MeanOp) {
        return KS{"mean", {"%0", "@dim", "@keep"}};
      })
      .Case([](PadOp) {
        return KS{"pad", {"%0", "@pad", "@mode"}};
      })
      .Case([](PadSphereOp) {
        return KS{"pad_sphere", {"%0", "@pad"}};
      })
      .Case([](Rfft2Op) {
        return KS{"rfft2", {"%0"}};
      })
      .Case([](Irfft2Op) {
        return KS{"irfft2", {"%0", "@size"}};
      })
      .Case([](Fft2Op) {
        return KS{"fft2", {"%0"}};
      })
      .Case([](Ifft2Op) {
        return KS{"ifft2", {"%0"}};
      })
      .Case([](GraphEdgesOp) {
        return KS{"graph_edges", {"m", "%0", "@graph", "@refinement"}};
      })
      .Case([](GraphEdgeFeaturesOp) {
        return KS{"graph_edge_features", {"m", "%0", "@graph", "@refinement"}};
      })
      .Case([](GraphNodeFeaturesOp) {
        return KS{"graph_node_features", {"m", "%0", "@nodes", "@refinement"}};
      })
      .Case([](GraphGatherOp) {
        return KS{"graph_gather", {"%0", "%1", "@end"}};
      })
      .Case([](GraphScatterSumOp) {
        return KS{"graph_scatter_sum", {"%0", "%1", "%2"}};
      })
      .Case([](CallTimesOp) {
        return KS{"call_times",
                  {"m", "%0", "@first", "@blocks", "@step_seconds"}};
      })
      .Case([](GridCoordsOp) {
        return KS{"grid_coords", {"m", "%0"}};
      })
      .Case([](TimeFeaturesOp) {
        return KS{"time_features", {"m", "%0", "@lead"}};
      })
      .Case([](LeadEmbedOp) {
        return KS{"lead_embed", {"%0", "@dim"}};
      })
      .Case([](ConvectiveAdjustOp) {
        return KS{"convective_adjust",
                  {"m", "%0", "%1", "@temperature", "@humidity", "@levels",
                   "@step", "@tau", "@threshold"}};
      })
      .Case([](LossOp) {
        return KS{"loss", {"m", "@kind", "%0", "%1", "@weight", "@delta"}};
      })
      .Case([](StopGradientOp) {
        return KS{"stop_gradient", {"%0"}};
      })
      .Case([](JacobianInputOp) {
        return KS{"jacobian_input", {"m", "%0"}};
      })
      .Case([](JacobianPenaltyOp) {
        return KS{"jacobian_penalty",
                  {"m", "%0", "%1", "@kind", "@samples", "@probe", "@weight"}};
      })
      .Case([](ExtractPatchesOp) {
        return KS{"extract_patches", {"%0", "@size", "@stride"}};
      })
      .Case([](MergePatchesOp) {
        return KS{"merge_patches",
                  {"%0", "@grid", "@size", "@stride", "@halo"}};
      })
      .Case([](SampleLeadsOp) {
        return KS{"sample_leads", {"m", "%0", "@leads"}};
      })
      .Case([](SelectLeadOp) {
        return KS{"select_lead", {"%0", "%1"}};
      })
      .Case([](ContextLeadOp) {
        return KS{"context_lead", {"m", "%0", "@default_seconds"}};
      })
      .Default([](Operation *) { return std::nullopt; });
}

std::optional<std::string> abi::absentLiteral(llvm::StringRef attr) {
  if (attr == "activation")
    return cxxEnum("Activation", "none");
  if (attr == "bias_of")
    return std::string("nullptr");
  return std::nullopt;
}
