//===- S2SToEmitC.cpp - The s2s-to-emitc pass ------------------------------===//
//
// Lowers what the pipeline leaves (model forwards, the unrolled rollout,
// the section ops) to the EmitC dialect, for MLIR's C++ emitter. Every s2s
// op becomes a call of the runtime kernel of the same name (Ops.h in
// libs2s_runtime); its attributes become literal arguments, written here as
// `#emitc.opaque` text so that the C++ is exactly what the runtime's
// signatures take (braced lists for arrays, `true`/`false`, escaped
// strings, doubles with all their digits).
//
// One rule is not a plain translation: a reshape that keeps the batch
// dimension of a model forward calls s2s::rt::reshape_keep_batch, which
// takes the batch from its input, so a forward compiled for batch B also
// runs on the smaller last batch of a validation pass.
//
//===----------------------------------------------------------------------===//

#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>

namespace s2s {
#define GEN_PASS_DEF_S2STOEMITC
#include "s2s/Dialect/Passes.h.inc"
} // namespace s2s

using namespace mlir;
using namespace s2s;

namespace {

//===----------------------------------------------------------------------===//
// C++ literals
//===----------------------------------------------------------------------===//

std::string cxxString(llvm::StringRef s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
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

std::string cxxDouble(double v) {
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

std::string cxxInt(int64_t v) {
  // INT64_MIN has no literal of its own in C++.
  if (v == std::numeric_limits<int64_t>::min())
    return "std::numeric_limits<int64_t>::min()";
  return std::to_string(v);
}

template <typename T, typename F>
std::string braced(llvm::ArrayRef<T> values, F &&one) {
  std::string s = "{";
  llvm::interleave(
      values, [&](const T &v) { s += one(v); }, [&] { s += ", "; });
  return s + "}";
}

/// The C++ text of an attribute; failure for kinds no kernel takes.
FailureOr<std::string> cxxLiteral(Attribute a) {
  if (auto b = dyn_cast<BoolAttr>(a))
    return std::string(b.getValue() ? "true" : "false");
  if (auto i = dyn_cast<IntegerAttr>(a)) {
    if (i.getType().isInteger(1))
      return std::string(i.getValue().getBoolValue() ? "true" : "false");
    return cxxInt(i.getValue().getSExtValue());
  }
  if (auto f = dyn_cast<FloatAttr>(a))
    return cxxDouble(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(a))
    return cxxString(s.getValue());
  if (auto arr = dyn_cast<DenseI64ArrayAttr>(a))
    return braced(arr.asArrayRef(), [](int64_t v) { return cxxInt(v); });
  if (auto arr = dyn_cast<DenseF64ArrayAttr>(a))
    return braced(arr.asArrayRef(), [](double v) { return cxxDouble(v); });
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
// The kernel signatures
//===----------------------------------------------------------------------===//

/// How one s2s op calls its kernel: the argument list as tokens.
///   "m"     the model          "%N"  operand N        "%*" all operands
///   "@a"    attribute a        "@a?" optional string attribute a ("" if unset)
///   "#shape" the result's static shape
struct KernelSig {
  llvm::StringRef callee;
  llvm::SmallVector<llvm::StringRef, 12> args;
};

std::optional<KernelSig> kernelFor(Operation *op) {
  using KS = KernelSig;
  return llvm::TypeSwitch<Operation *, std::optional<KernelSig>>(op)
      .Case([](ConstantOp) { return KS{"constant", {"m", "@value"}}; })
      .Case([](AddOp) { return KS{"add", {"%0", "%1"}}; })
      .Case([](SubOp) { return KS{"sub", {"%0", "%1"}}; })
      .Case([](MulOp) { return KS{"mul", {"%0", "%1"}}; })
      .Case([](DivOp) { return KS{"div", {"%0", "%1"}}; })
      .Case([](NegOp) { return KS{"neg", {"%0"}}; })
      .Case([](ActivationOp) { return KS{"activation", {"%0", "@kind"}}; })
      .Case([](SoftmaxOp) { return KS{"softmax", {"%0", "@dim"}}; })
      .Case([](DropoutOp) { return KS{"dropout", {"m", "%0", "@p"}}; })
      .Case([](DropPathOp) { return KS{"drop_path", {"m", "%0", "@p"}}; })
      .Case([](LinearOp) {
        return KS{"linear", {"m", "@name", "%0", "@out", "@bias", "@activation?"}};
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
      .Case([](InstanceNormOp) { return KS{"instance_norm", {"%0", "@eps"}}; })
      .Case([](AttentionOp) {
        return KS{"attention",
                  {"m", "@name", "%0", "@heads", "@qkv_bias", "@dropout"}};
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
        return KS{"afno2d",
                  {"m", "@name", "%0", "@blocks", "@sparsity", "@modes"}};
      })
      .Case([](GraphMessageOp) {
        return KS{"graph_message",
                  {"m", "@name", "%0", "%1", "%2", "@hidden", "@out"}};
      })
      .Case([](ParamOp) {
        return KS{"param", {"m", "@name", "#shape", "@init", "@init_args"}};
      })
      .Case([](ReshapeOp) { return KS{"reshape", {"%0", "@shape"}}; })
      .Case([](PermuteOp) { return KS{"permute", {"%0", "@dims"}}; })
      .Case([](FlattenOp) { return KS{"flatten", {"%0", "@start", "@end"}}; })
      .Case([](ConcatOp) { return KS{"concat_n", {"@dim", "%*"}}; })
      .Case([](SliceOp) {
        return KS{"slice", {"%0", "@dim", "@start", "@end"}};
      })
      .Case([](MeanOp) { return KS{"mean", {"%0", "@dim", "@keep"}}; })
      .Case([](PadOp) { return KS{"pad", {"%0", "@pad", "@mode"}}; })
      .Case([](PadSphereOp) { return KS{"pad_sphere", {"%0", "@pad"}}; })
      .Case([](Rfft2Op) { return KS{"rfft2", {"%0"}}; })
      .Case([](Irfft2Op) { return KS{"irfft2", {"%0", "@size"}}; })
      .Case([](Fft2Op) { return KS{"fft2", {"%0"}}; })
      .Case([](Ifft2Op) { return KS{"ifft2", {"%0"}}; })
      .Case([](GraphEdgesOp) {
        return KS{"graph_edges", {"m", "@graph", "@refinement"}};
      })
      .Case([](GridCoordsOp) { return KS{"grid_coords", {"m", "%0"}}; })
      .Case([](TimeFeaturesOp) {
        return KS{"time_features", {"m", "%0", "@lead"}};
      })
      .Case([](LeadEmbedOp) { return KS{"lead_embed", {"%0", "@dim"}}; })
      .Case([](ConvectiveAdjustOp) {
        return KS{"convective_adjust", {"m", "%0", "@tau", "@threshold"}};
      })
      .Case([](LossOp) {
        return KS{"loss", {"m", "@kind", "%0", "%1", "@weight"}};
      })
      .Default([](Operation *) { return std::nullopt; });
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct S2SToEmitCPass : public s2s::impl::S2SToEmitCBase<S2SToEmitCPass> {
  using S2SToEmitCBase::S2SToEmitCBase;

  Type tensorTy, modelTy, programTy;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    tensorTy = emitc::OpaqueType::get(ctx, "torch::Tensor");
    modelTy = emitc::OpaqueType::get(ctx, "s2s::rt::Model&");
    programTy = emitc::OpaqueType::get(ctx, "s2s::rt::Program&");

    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    emitc::IncludeOp::create(b, module.getLoc(), "s2s/runtime/Runtime.h",
                             /*is_standard_include=*/false);
    verbatim(b, module.getLoc(),
             "// Generated by s2sc from " +
                 (specFile.empty() ? std::string("a spec") : specFile) +
                 ". Do not edit: change the spec and run s2sc again.");
    verbatim(b, module.getLoc(), "namespace s2s_generated {");

    SmallVector<func::FuncOp> funcs;
    for (auto f : module.getOps<func::FuncOp>())
      funcs.push_back(f);
    // The parameter count the runtime checks its model against.
    for (auto r : module.getOps<RolloutOp>())
      if (auto model = module.lookupSymbol<func::FuncOp>(r.getModel()))
        if (FailureOr<ParameterCount> n = countParameters(model); succeeded(n))
          parameterCount = n->total;
    for (func::FuncOp f : funcs)
      if (failed(lowerFunc(f)))
        return signalPassFailure();

    if (failed(lowerSections(module)))
      return signalPassFailure();

    b.setInsertionPointToEnd(module.getBody());
    verbatim(b, module.getLoc(), "} // namespace s2s_generated");
    if (withMain)
      buildMain(b, module);
  }

  static void verbatim(OpBuilder &b, Location loc, const Twine &text) {
    emitc::VerbatimOp::create(b, loc, b.getStringAttr(text));
  }

  /// A readable comment line for the top of a generated function.
  static std::string describe(func::FuncOp f) {
    std::string s;
    llvm::raw_string_ostream os(s);
    if (auto model = f->getAttrOfType<StringAttr>("s2s.model"))
      os << "// model " << f.getSymName() << " = " << model.getValue();
    else if (auto of = f->getAttrOfType<FlatSymbolRefAttr>("s2s.variant_of"))
      os << "// " << of.getValue() << " for another batch size";
    else if (auto of = f->getAttrOfType<FlatSymbolRefAttr>("s2s.rollout_of"))
      os << "// the unrolled rollout of " << of.getValue()
         << ": window [batch, order + 1, channel, lat, lon] -> loss";
    else
      os << "// " << f.getSymName();
    if (auto cfg = f->getAttrOfType<DictionaryAttr>("s2s.config")) {
      os << "(";
      llvm::interleaveComma(cfg, os, [&](NamedAttribute na) {
        os << na.getName().getValue() << " = ";
        FailureOr<std::string> lit = cxxLiteral(na.getValue());
        os << (succeeded(lit) ? *lit : std::string("..."));
      });
      os << ")";
    }
    return s;
  }

  LogicalResult lowerFunc(func::FuncOp f) {
    for (Type t : f.getArgumentTypes())
      if (!isa<TensorType>(t))
        return f.emitError("cannot generate C++ for function '")
               << f.getSymName() << "': argument of type " << t
               << " is not a tensor";
    OpBuilder b(f);
    SmallVector<Type> argTypes{modelTy};
    argTypes.append(f.getNumArguments(), tensorTy);
    SmallVector<Type> resTypes(f.getNumResults(), tensorTy);
    if (resTypes.size() > 1)
      return f.emitError("cannot generate C++ for function '")
             << f.getSymName() << "' with " << resTypes.size()
             << " results; a model returns one tensor";

    verbatim(b, f.getLoc(), describe(f));
    auto ef = emitc::FuncOp::create(b, f.getLoc(), f.getSymName(),
                                    b.getFunctionType(argTypes, resTypes));
    Block *entry = ef.addEntryBlock();
    Value model = entry->getArgument(0);
    IRMapping map;
    for (auto [from, to] :
         llvm::zip(f.getArguments(), entry->getArguments().drop_front()))
      map.map(from, to);

    // The batch this forward was specialised for, for reshape_keep_batch.
    int64_t batch = ShapedType::kDynamic;
    if (f.getNumArguments() > 0)
      if (auto t = dyn_cast<RankedTensorType>(f.getArgumentTypes()[0]))
        if (t.getRank() > 0)
          batch = t.getDimSize(0);

    OpBuilder body = OpBuilder::atBlockEnd(entry);
    for (Operation &op : f.getBody().front()) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        SmallVector<Value> vals;
        for (Value v : ret.getOperands())
          vals.push_back(map.lookup(v));
        emitc::ReturnOp::create(body, ret.getLoc(),
                                vals.empty() ? Value() : vals.front());
        continue;
      }
      if (auto call = dyn_cast<func::CallOp>(op)) {
        SmallVector<Value> operands{model};
        for (Value v : call.getOperands())
          operands.push_back(map.lookup(v));
        auto c = emitc::CallOp::create(
            body, call.getLoc(), call.getCallee(),
            SmallVector<Type>(call.getNumResults(), tensorTy), operands);
        for (auto [from, to] : llvm::zip(call.getResults(), c.getResults()))
          map.map(from, to);
        continue;
      }
      Value first = entry->getNumArguments() > 1 ? entry->getArgument(1) : Value();
      FailureOr<Value> v = lowerOp(body, &op, model, map, batch, first);
      if (failed(v))
        return failure();
    }
    f.erase();
    return success();
  }

  FailureOr<Value> lowerOp(OpBuilder &b, Operation *op, Value model,
                           IRMapping &map, int64_t batch, Value batchRef) {
    std::optional<KernelSig> sig = kernelFor(op);
    if (!sig)
      return op->emitError("no runtime kernel for '")
             << op->getName() << "'; it cannot be compiled to C++ yet";
    MLIRContext *ctx = op->getContext();
    std::string callee = ("s2s::rt::" + sig->callee).str();
    if (auto r = dyn_cast<ReshapeOp>(op)) {
      // Keep the batch dimension symbolic when it is the forward's batch.
      auto in = dyn_cast<RankedTensorType>(r.getInput().getType());
      ArrayRef<int64_t> shape = r.getShape();
      if (in && in.getRank() > 0 && !shape.empty() && batch > 0 &&
          in.getDimSize(0) == batch && shape[0] == batch)
        callee = "s2s::rt::reshape_keep_batch";
    }
    SmallVector<Value> operands;
    SmallVector<Attribute> args;
    // A slice of whole batches along dim 0 (the rollout taking one start
    // time's predictions from a batched call) follows the run-time batch.
    if (auto sl = dyn_cast<SliceOp>(op);
        sl && sl.getDim() == 0 && batch > 0 && batchRef &&
        sl.getStart() % batch == 0 && sl.getEnd() % batch == 0) {
      operands = {map.lookup(sl.getInput()), batchRef};
      Type idx = IndexType::get(ctx);
      args = {IntegerAttr::get(idx, 0), IntegerAttr::get(idx, 1),
              emitc::OpaqueAttr::get(ctx, cxxInt(sl.getStart() / batch)),
              emitc::OpaqueAttr::get(ctx, cxxInt(sl.getEnd() / batch))};
      auto call = emitc::CallOpaqueOp::create(
          b, op->getLoc(), TypeRange{tensorTy},
          b.getStringAttr("s2s::rt::slice_batches"), operands,
          b.getArrayAttr(args), ArrayAttr());
      map.map(op->getResult(0), call.getResult(0));
      return call.getResult(0);
    }
    auto operandIndex = [&](Value v) {
      operands.push_back(map.lookup(v));
      return IntegerAttr::get(IndexType::get(ctx), operands.size() - 1);
    };
    auto opaque = [&](const std::string &text) -> Attribute {
      return emitc::OpaqueAttr::get(ctx, text);
    };
    for (llvm::StringRef tok : sig->args) {
      if (tok == "m") {
        operands.push_back(model);
        args.push_back(IntegerAttr::get(IndexType::get(ctx), operands.size() - 1));
      } else if (tok == "%*") {
        for (Value v : op->getOperands())
          args.push_back(operandIndex(v));
      } else if (tok.consume_front("%")) {
        unsigned i = 0;
        tok.getAsInteger(10, i);
        args.push_back(operandIndex(op->getOperand(i)));
      } else if (tok == "#shape") {
        auto t = dyn_cast<RankedTensorType>(op->getResult(0).getType());
        if (!t || !t.hasStaticShape())
          return op->emitError("the shape of '")
                 << op->getName() << "' must be static to generate C++, got "
                 << op->getResult(0).getType();
        args.push_back(opaque(
            braced(t.getShape(), [](int64_t v) { return cxxInt(v); })));
      } else if (tok.consume_front("@")) {
        bool optional = tok.consume_back("?");
        Attribute a = op->getAttr(tok);
        if (!a) {
          if (!optional)
            return op->emitError("'") << op->getName() << "' lacks attribute '"
                                      << tok << "'";
          args.push_back(opaque("\"\""));
          continue;
        }
        FailureOr<std::string> lit = cxxLiteral(a);
        if (failed(lit))
          return op->emitError("attribute '")
                 << tok << "' of '" << op->getName()
                 << "' has no C++ form: " << a;
        args.push_back(opaque(*lit));
      }
    }
    auto call = emitc::CallOpaqueOp::create(
        b, op->getLoc(), SmallVector<Type>(op->getNumResults(), tensorTy),
        b.getStringAttr(callee), operands, b.getArrayAttr(args),
        ArrayAttr());
    for (auto [from, to] : llvm::zip(op->getResults(), call.getResults()))
      map.map(from, to);
    if (call.getNumResults() == 0)
      return Value();
    return call.getResult(0);
  }

  //===--------------------------------------------------------------------===//
  // Sections -> <program>_configure(s2s::rt::Program &)
  //===--------------------------------------------------------------------===//

  struct Setter {
    OpBuilder &b;
    Location loc;
    Value program;
    void call(llvm::StringRef fn, llvm::StringRef key, const std::string &v) {
      MLIRContext *ctx = b.getContext();
      SmallVector<Attribute> args{IntegerAttr::get(IndexType::get(ctx), 0),
                                  emitc::OpaqueAttr::get(ctx, cxxString(key)),
                                  emitc::OpaqueAttr::get(ctx, v)};
      emitc::CallOpaqueOp::create(b, loc, TypeRange(),
                                  b.getStringAttr(("s2s::rt::" + fn).str()),
                                  ValueRange{program}, b.getArrayAttr(args),
                                  ArrayAttr());
    }
    void str(llvm::StringRef key, llvm::StringRef v) {
      call("setString", key, cxxString(v));
    }
    void i64(llvm::StringRef key, int64_t v) { call("setInt", key, cxxInt(v)); }
    void f64(llvm::StringRef key, double v) { call("setFloat", key, cxxDouble(v)); }
    void boolean(llvm::StringRef key, bool v) {
      call("setBool", key, v ? "true" : "false");
    }
    void strs(llvm::StringRef key, ArrayRef<std::string> v) {
      call("setStrings", key,
           braced(v, [](const std::string &s) { return cxxString(s); }));
    }
    void ints(llvm::StringRef key, ArrayRef<int64_t> v) {
      call("setInts", key, braced(v, [](int64_t x) { return cxxInt(x); }));
    }
    /// A scalar attribute under the key, whatever its kind.
    void any(llvm::StringRef key, Attribute a) {
      if (auto bl = dyn_cast<BoolAttr>(a))
        return boolean(key, bl.getValue());
      if (auto i = dyn_cast<IntegerAttr>(a))
        return i64(key, i.getValue().getSExtValue());
      if (auto f = dyn_cast<FloatAttr>(a))
        return f64(key, f.getValueAsDouble());
      if (auto s = dyn_cast<StringAttr>(a))
        return str(key, s.getValue());
      if (auto arr = dyn_cast<DenseI64ArrayAttr>(a))
        return ints(key, arr.asArrayRef());
    }
  };

  static std::vector<std::string> strings(ArrayAttr arr) {
    std::vector<std::string> out;
    for (Attribute a : arr)
      if (auto s = dyn_cast<StringAttr>(a))
        out.push_back(s.str());
    return out;
  }

  /// A year or a range of years of a `split` entry.
  static std::optional<std::pair<int64_t, int64_t>> years(Attribute a) {
    if (auto i = dyn_cast_or_null<IntegerAttr>(a))
      return std::make_pair(i.getInt(), i.getInt());
    if (auto r = dyn_cast_or_null<DenseI64ArrayAttr>(a))
      if (r.size() == 2)
        return std::make_pair(r[0], r[1]);
    return std::nullopt;
  }

  LogicalResult lowerSections(ModuleOp module) {
    DataOp data;
    RolloutOp rollout;
    ParallelOp parallel;
    TrainOp train;
    for (Operation &op : module.getBody()->getOperations()) {
      if (auto d = dyn_cast<DataOp>(op)) {
        if (data)
          return d.emitError("a program trains on one data set; '")
                 << d.getSymName() << "' is a second";
        data = d;
      }
      if (auto r = dyn_cast<RolloutOp>(op))
        rollout = r;
      if (auto p = dyn_cast<ParallelOp>(op))
        parallel = p;
      if (auto t = dyn_cast<TrainOp>(op))
        train = t;
    }
    if (withMain && !train)
      return module.emitError(
          "the spec has no train section: there is no program to generate; "
          "add `train { ... }` or use --emit=mlir to inspect the model");
    if (withMain && !rollout)
      return module.emitError(
          "the spec has no rollout section: nothing says how the model is "
          "trained; add `rollout { order = 1; loss = mse() }`");
    if (withMain && !rollout->getAttr("s2s.unrolled"))
      return rollout.emitError(
          "the rollout was not unrolled (s2s-unroll-rollout did not run or "
          "could not run); the program needs the unrolled rollout loss");

    OpBuilder b(module.getContext());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = train ? train.getLoc() : module.getLoc();
    // Inside namespace s2s_generated: insert before its closing verbatim,
    // which the caller adds after this.
    verbatim(b, loc, "// The spec's data, rollout, parallel and train sections.");
    auto cf = emitc::FuncOp::create(b, loc, "configure",
                                    b.getFunctionType({programTy}, {}));
    Block *entry = cf.addEntryBlock();
    OpBuilder body = OpBuilder::atBlockEnd(entry);
    Setter set{body, loc, entry->getArgument(0)};

    set.str("program.name", programName);
    set.str("program.spec", specFile);
    if (data) {
      set.str("data.name", data.getSymName());
      set.strs("data.channels", strings(data.getChannels()));
      if (auto g = data.getGrid())
        set.ints("data.grid", *g);
      if (auto s = data.getStep())
        set.i64("data.step", *s);
      DictionaryAttr src = data.getSource();
      if (auto callee = src.getAs<StringAttr>("callee");
          callee && callee.getValue() != "hdf5")
        return data.emitError("data source '")
               << callee.getValue()
               << "' is not supported by the runtime yet; use hdf5(...)";
      if (auto p = src.getAs<StringAttr>("pattern"))
        set.str("data.pattern", p.getValue());
      if (auto f = src.getAs<StringAttr>("field"))
        set.str("data.field", f.getValue());
      DictionaryAttr cfg = data.getConfig();
      if (auto split = cfg.getAs<DictionaryAttr>("split")) {
        for (NamedAttribute na : split) {
          auto y = years(na.getValue());
          if (!y)
            return data.emitError("split '")
                   << na.getName().getValue() << "' must be a year or a range "
                   << "of years, got " << na.getValue();
          set.ints(("data.split." + na.getName().getValue()).str(),
                   {y->first, y->second});
        }
      }
      if (auto norm = cfg.getAs<DictionaryAttr>("normalize")) {
        if (auto c = norm.getAs<StringAttr>("callee"))
          set.str("data.normalize", c.getValue());
        if (auto s = norm.getAs<StringAttr>("stats"))
          set.str("data.stats", s.getValue());
      }
      if (auto h = cfg.getAs<IntegerAttr>("history"))
        set.i64("data.history", h.getInt());
      if (auto mem = cfg.getAs<DictionaryAttr>("memory"))
        for (NamedAttribute na : mem)
          set.any(("data.memory." + na.getName().getValue()).str(),
                  na.getValue());
    }
    if (rollout) {
      set.str("program.model", rollout.getModel());
      set.i64("rollout.order", rollout.getOrder());
      DictionaryAttr loss = rollout.getLoss();
      if (auto c = loss.getAs<StringAttr>("callee"))
        set.str("rollout.loss", c.getValue());
      if (auto w = loss.getAs<StringAttr>("weight"))
        set.str("rollout.weight", w.getValue());
    }
    if (parallel) {
      set.strs("parallel.axes", strings(parallel.getAxes()));
      set.ints("parallel.sizes", parallel.getSizes());
      set.str("parallel.strategy", parallel.getStrategy());
      if (auto be = parallel.getConfig().getAs<StringAttr>("backend"))
        set.str("parallel.backend", be.getValue());
    }
    if (train) {
      set.i64("train.epochs", train.getEpochs());
      set.i64("train.batch", train.getBatch());
      set.str("train.precision", train.getPrecision());
      DictionaryAttr opt = train.getOptimizer();
      for (NamedAttribute na : opt) {
        llvm::StringRef k = na.getName().getValue();
        if (k == "callee") {
          set.any("train.optimizer.kind", na.getValue());
        } else if (k == "betas") {
          auto arr = dyn_cast<ArrayAttr>(na.getValue());
          if (arr && arr.size() == 2) {
            set.any("train.optimizer.beta1", arr[0]);
            set.any("train.optimizer.beta2", arr[1]);
          }
        } else {
          set.any(("train.optimizer." + k).str(), na.getValue());
        }
      }
      DictionaryAttr cfg = train.getConfig();
      if (auto s = cfg.getAs<DictionaryAttr>("schedule"))
        for (NamedAttribute na : s) {
          llvm::StringRef k = na.getName().getValue();
          set.any(("train.schedule." + (k == "callee" ? "kind" : k)).str(),
                  na.getValue());
        }
      if (auto c = cfg.getAs<DictionaryAttr>("checkpoint"))
        for (NamedAttribute na : c) {
          llvm::StringRef k = na.getName().getValue();
          if (k != "callee")
            set.any(("train.checkpoint." + k).str(), na.getValue());
        }
      if (auto seed = cfg.getAs<IntegerAttr>("seed"))
        set.i64("train.seed", seed.getInt());
      if (auto clip = cfg.get("grad_clip"))
        set.any("train.grad_clip", clip);
      if (auto metrics = cfg.getAs<ArrayAttr>("metrics")) {
        std::vector<std::string> names;
        for (Attribute m : metrics)
          if (auto d = dyn_cast<DictionaryAttr>(m))
            if (auto c = d.getAs<StringAttr>("callee"))
              names.push_back(c.str());
        set.strs("train.metrics", names);
      }
    }
    if (parameterCount >= 0)
      set.i64("program.parameters", parameterCount);
    emitc::ReturnOp::create(body, loc, Value());

    SmallVector<Operation *> sections;
    for (Operation &op : module.getBody()->getOperations())
      if (isa<DataOp, RolloutOp, ParallelOp, TrainOp>(op))
        sections.push_back(&op);
    if (withMain && rollout) {
      forwardName = rollout.getModel().str();
      rolloutName = cast<FlatSymbolRefAttr>(rollout->getAttr("s2s.unrolled"))
                        .getValue()
                        .str();
    }
    for (Operation *op : sections)
      op->erase();
    return success();
  }

  std::string forwardName, rolloutName;
  int64_t parameterCount = -1;

  /// int main(int argc, char **argv) { return s2s::rt::run(...); }
  void buildMain(OpBuilder &b, ModuleOp module) {
    MLIRContext *ctx = module.getContext();
    Location loc = module.getLoc();
    Type intTy = emitc::OpaqueType::get(ctx, "int");
    Type argvTy = emitc::PointerType::get(
        emitc::PointerType::get(emitc::OpaqueType::get(ctx, "char")));
    auto mainFn = emitc::FuncOp::create(b, loc, "main",
                                        b.getFunctionType({intTy, argvTy}, {intTy}));
    Block *entry = mainFn.addEntryBlock();
    OpBuilder body = OpBuilder::atBlockEnd(entry);
    auto fn = [&](const std::string &name) -> Attribute {
      return emitc::OpaqueAttr::get(ctx, "&s2s_generated::" + name);
    };
    SmallVector<Attribute> args{fn("configure"), fn(forwardName),
                                fn(rolloutName),
                                IntegerAttr::get(IndexType::get(ctx), 0),
                                IntegerAttr::get(IndexType::get(ctx), 1)};
    auto run = emitc::CallOpaqueOp::create(
        body, loc, TypeRange{intTy}, b.getStringAttr("s2s::rt::run"),
        entry->getArguments(), b.getArrayAttr(args), ArrayAttr());
    emitc::ReturnOp::create(body, loc, run.getResult(0));
  }
};

} // namespace
