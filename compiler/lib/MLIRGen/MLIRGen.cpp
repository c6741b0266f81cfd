//===- MLIRGen.cpp - Lowering a checked spec to the s2s dialect ----------===//
//
// An evaluator over the checked AST: configuration values (ints, lists,
// records, calls of section externs) are computed, tensor values become SSA
// values of s2s ops. Layers map onto ops by table: an extern layer's tensor
// parameters become operands and its other parameters attributes of the
// same name, typed by the extern's declared parameter types.
//
//===----------------------------------------------------------------------===//

#include "s2s/MLIRGen/MLIRGen.h"

#include "s2s/DSL/AST.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/DSL/Types.h"
#include "s2s/Dialect/S2SOps.h"
#include "s2s/runtime/PatchGeometry.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Casting.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace s2s;
using namespace s2s::ast;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace {

/// A value during lowering: a constant of the configuration, or a tensor.
struct GenValue {
  enum Kind {
    None,
    Int,
    Float,
    Bool,
    String,
    List,
    Record,
    Range,
    Object,
    Symbol,
    Tensor,
    Tuple
  };
  Kind kind = None;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;               ///< String, Symbol name, Object callee
  std::vector<GenValue> elems; ///< List, Tuple, Range
  std::vector<std::pair<std::string, GenValue>> fields; ///< Record, Object
  Value tensor;
  const Decl *decl = nullptr; ///< Symbol naming a data set or model instance

  static GenValue ofInt(int64_t v) {
    GenValue g;
    g.kind = Int;
    g.i = v;
    return g;
  }
  static GenValue ofFloat(double v) {
    GenValue g;
    g.kind = Float;
    g.f = v;
    return g;
  }
  static GenValue ofTensor(Value v) {
    GenValue g;
    g.kind = Tensor;
    g.tensor = v;
    return g;
  }
  bool isNumber() const { return kind == Int || kind == Float; }
  double number() const { return kind == Int ? static_cast<double>(i) : f; }
};

/// What a symbolic input size holds when the data does not give it.
constexpr const char *kRuntimeSize = "<size known at run time>";

/// Names in scope during lowering, innermost first.
struct Env {
  Env *parent = nullptr;
  llvm::StringMap<GenValue> vars;
  GenValue *lookup(llvm::StringRef name) {
    for (Env *e = this; e; e = e->parent) {
      auto it = e->vars.find(name);
      if (it != e->vars.end())
        return &it->second;
    }
    return nullptr;
  }
};

/// Where parameters of layers created in one model or block instance are
/// named: `prefix` + callee + "." + per-callee counter.
struct NameScope {
  std::string prefix;
  llvm::StringMap<int> counters;
  std::string next(llvm::StringRef callee) {
    return prefix + callee.str() + "." + std::to_string(counters[callee]++);
  }
};

/// Field `name` of a call's value (a prelude extern's argument).
const GenValue &field(const GenValue &obj, llvm::StringRef name) {
  static const GenValue none;
  for (const auto &[k, v] : obj.fields)
    if (k == name)
      return v;
  return none;
}
double num(const GenValue &obj, llvm::StringRef name) {
  return field(obj, name).number();
}
int64_t integer(const GenValue &obj, llvm::StringRef name) {
  return field(obj, name).i;
}

/// The enum case spelled `s`; the checker guarantees it exists.
template <typename Enum>
Enum enumOf(std::optional<Enum> (*parse)(llvm::StringRef), llvm::StringRef s) {
  std::optional<Enum> e = parse(s);
  assert(e && "the checker lets only members of the enum through");
  return *e;
}

class MLIRGen {
public:
  MLIRGen(MLIRContext &ctx, llvm::SourceMgr &srcMgr)
      : ctx(ctx), srcMgr(srcMgr), builder(&ctx) {}

  OwningOpRef<ModuleOp> lower(const s2s::Module &main);

private:
  Location fileLoc(llvm::SMRange r) {
    if (!r.Start.isValid())
      return UnknownLoc::get(&ctx);
    unsigned id = srcMgr.FindBufferContainingLoc(r.Start);
    if (!id)
      return UnknownLoc::get(&ctx);
    auto [line, col] = srcMgr.getLineAndColumn(r.Start, id);
    return FileLineColLoc::get(
        &ctx, srcMgr.getMemoryBuffer(id)->getBufferIdentifier(), line, col);
  }
  /// The spec position of `r`, as called from the model instance and the
  /// block calls being inlined: a mistake inside a stdlib model is then
  /// reported with notes leading back to the user's own lines.
  Location loc(llvm::SMRange r) {
    Location l = fileLoc(r);
    if (callers.empty())
      return l;
    return CallSiteLoc::get(l, callers.back());
  }
  /// Enters a call at `site`: the chain of callers grows by one, built
  /// once per call rather than once per op.
  void pushCaller(Location site) {
    callers.push_back(callers.empty() ? site
                                      : CallSiteLoc::get(site, callers.back()));
  }
  /// Each call being inlined, innermost last: a NameLoc("in X = Def(...)",
  /// position of the call), chained through CallSiteLocs to the outer ones.
  std::vector<Location> callers;

  LogicalResult lowerInstance(const ModelInstanceDecl &inst);
  struct SectionValues;
  FailureOr<SectionValues> evalEntries(const std::vector<Entry> &entries,
                                       Location at);
  FailureOr<GenValue> defaultCall(llvm::StringRef name);
  FailureOr<GenValue> valueOrDefault(const SectionValues &sv,
                                     llvm::StringRef key, llvm::StringRef dflt);
  void planSampleShape(const s2s::Module &main);
  LogicalResult lowerData(const DataDecl &data);
  LogicalResult lowerSection(const SectionDecl &sec);
  LogicalResult lowerRollout(const SectionValues &sv, Location at,
                             llvm::StringRef model, llvm::StringRef data);
  LogicalResult lowerParallel(const SectionValues &sv);
  LogicalResult lowerTrain(const SectionValues &sv, Location at,
                           llvm::StringRef model, llvm::StringRef data);

  FailureOr<GenValue> eval(const Expr &e, Env &env);
  FailureOr<GenValue> evalCall(const CallExpr &call, Env &env);
  FailureOr<GenValue> evalBinary(const BinaryExpr &e, Env &env);
  FailureOr<GenValue> inlineModel(const ModelDef &def, const CallExpr &call,
                                  Env &env, const std::string &name);
  FailureOr<GenValue> lowerLayer(const ExternDecl &ext, const CallExpr &call,
                                 Env &env);
  LogicalResult addConvectionColumns(OperationState &state,
                                     llvm::StringRef temperature,
                                     llvm::StringRef humidity, Location at);
  LogicalResult bindConfig(const std::vector<Param> &params,
                           const CallExpr &call, Env &callerEnv, Env &into,
                           size_t firstInput);
  LogicalResult runBody(const std::vector<StmtPtr> &body, Env &env,
                        std::optional<GenValue> &result);
  LogicalResult declareModelItems(const ModelDef &def, Env &env);
  Value toTensor(const GenValue &v, Location l);
  FailureOr<GenValue> inferred(Operation *op);
  LogicalResult countOp(Location at);
  FailureOr<RankedTensorType> inputType(const Param &in, Env &env,
                                        std::optional<ArrayRef<int64_t>> data,
                                        Location l, llvm::StringRef model);
  Attribute toAttr(const GenValue &v);
  FailureOr<Attribute> attrFor(const GenValue &v, const s2s::Type *declared,
                               Location l, llvm::StringRef what);
  GenValue letValue(const LetDecl &let);
  FailureOr<int64_t> wholeSeconds(const GenValue &v, Location l,
                                  llvm::StringRef what);
  LogicalResult checkBatchSplit();

  mlir::Type f32() { return builder.getF32Type(); }
  mlir::Type unranked() { return UnrankedTensorType::get(f32()); }

  MLIRContext &ctx;
  llvm::SourceMgr &srcMgr;
  OpBuilder builder;
  ModuleOp module;
  Env globals;
  std::vector<NameScope> names;
  llvm::DenseMap<const LetDecl *, GenValue> letCache;
  const s2s::Module *mainModule = nullptr;
  /// Ops and inlined block calls one lowering may create: unrolled repeats
  /// and blocks calling blocks multiply, and a spec must not exhaust memory
  /// or time.
  static constexpr int64_t kMaxOps = 250000;
  int64_t opsCreated = 0;
  /// Shape of one data sample batch, [batch, channels, lat, lon], when the
  /// spec says enough to know it.
  std::optional<SmallVector<int64_t>> dataShape;
  /// The data set the model is trained on (the rollout's, or the only
  /// one); null when the spec has none.
  const DataDecl *sampleData = nullptr;
};

//===----------------------------------------------------------------------===//
// Constants to attributes
//===----------------------------------------------------------------------===//

Attribute MLIRGen::toAttr(const GenValue &v) {
  switch (v.kind) {
  case GenValue::None:
    return builder.getUnitAttr();
  case GenValue::Int:
    return builder.getI64IntegerAttr(v.i);
  case GenValue::Float:
    return builder.getF64FloatAttr(v.f);
  case GenValue::Bool:
    return builder.getBoolAttr(v.b);
  case GenValue::String:
    return builder.getStringAttr(v.s);
  case GenValue::Symbol:
    if (v.decl)
      return FlatSymbolRefAttr::get(&ctx, v.s);
    return builder.getStringAttr(v.s);
  case GenValue::Range:
    return builder.getDenseI64ArrayAttr({v.elems[0].i, v.elems[1].i});
  case GenValue::List:
  case GenValue::Tuple: {
    SmallVector<Attribute> elems;
    for (const GenValue &e : v.elems)
      elems.push_back(toAttr(e));
    return builder.getArrayAttr(elems);
  }
  case GenValue::Record:
  case GenValue::Object: {
    SmallVector<NamedAttribute> fields;
    if (v.kind == GenValue::Object)
      fields.push_back(
          builder.getNamedAttr("callee", builder.getStringAttr(v.s)));
    for (const auto &[k, f] : v.fields)
      fields.push_back(builder.getNamedAttr(k, toAttr(f)));
    return builder.getDictionaryAttr(fields);
  }
  case GenValue::Tensor:
    break;
  }
  return builder.getUnitAttr();
}

/// The attribute of a layer op for a value of declared type `declared`.
/// A duration in seconds: the IR and the runtime count whole seconds, so a
/// fraction is an error rather than silently rounded.
FailureOr<int64_t> MLIRGen::wholeSeconds(const GenValue &v, Location l,
                                         llvm::StringRef what) {
  if (v.kind == GenValue::Int)
    return v.i;
  std::string shown;
  llvm::raw_string_ostream(shown) << llvm::format("%g", v.number());
  return emitError(l) << "'" << what << "' is " << shown
                      << " s, but durations are whole seconds; write a "
                         "whole number of seconds (1s, 90min, 6h)";
}

FailureOr<Attribute> MLIRGen::attrFor(const GenValue &v,
                                      const s2s::Type *declared, Location l,
                                      llvm::StringRef what) {
  using K = s2s::Type::Kind;
  if (declared && declared->is(K::Float) && v.isNumber())
    return Attribute(builder.getF64FloatAttr(v.number()));
  if (declared && declared->is(K::List) && v.kind == GenValue::List) {
    SmallVector<int64_t> ints;
    for (const GenValue &e : v.elems) {
      if (e.kind != GenValue::Int)
        return emitError(l) << "'" << what << "' needs integers";
      ints.push_back(e.i);
    }
    return Attribute(builder.getDenseI64ArrayAttr(ints));
  }
  if (declared && declared->is(K::Duration)) {
    FailureOr<int64_t> seconds = wholeSeconds(v, l, what);
    if (failed(seconds))
      return failure();
    return Attribute(builder.getI64IntegerAttr(*seconds));
  }
  // The prelude's enums that layers take become the dialect's enums.
  if (declared && declared->is(K::Enum) && declared->getEnum()) {
    llvm::StringRef e = declared->getEnum()->getName().name;
    if (e == "padding")
      if (std::optional<PadMode> m = symbolizePadMode(v.s))
        return Attribute(PadModeAttr::get(&ctx, *m));
    if (e == "linear_init")
      if (std::optional<LinearInit> i = symbolizeLinearInit(v.s))
        return Attribute(LinearInitAttr::get(&ctx, *i));
    if (e == "afno_cutoff")
      if (std::optional<AfnoCutoff> c = symbolizeAfnoCutoff(v.s))
        return Attribute(AfnoCutoffAttr::get(&ctx, *c));
    return emitError(l) << "'" << what << "' has enum type '" << e
                        << "', which no layer op takes";
  }
  return toAttr(v);
}

GenValue MLIRGen::letValue(const LetDecl &let) {
  auto it = letCache.find(&let);
  if (it != letCache.end())
    return it->second;
  Env env;
  env.parent = &globals;
  FailureOr<GenValue> v = eval(*let.value, env);
  GenValue out = succeeded(v) ? *v : GenValue();
  letCache[&let] = out;
  return out;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Value MLIRGen::toTensor(const GenValue &v, Location l) {
  if (v.kind == GenValue::Tensor)
    return v.tensor;
  auto t = RankedTensorType::get({}, f32());
  return ConstantOp::create(builder, l, t, builder.getF64FloatAttr(v.number()));
}

/// Shapes are inferred as ops are created, by the same shape functions the
/// s2s-infer-shapes pass runs, so a forward can use the sizes of the
/// tensors it computes and mistakes are reported at the spec's line.
LogicalResult MLIRGen::countOp(Location at) {
  if (++opsCreated <= kMaxOps)
    return success();
  return emitError(at) << "the unrolled model has more than " << kMaxOps
                       << " operations and block calls; lower a 'repeat' "
                          "count or call blocks from fewer places";
}

FailureOr<GenValue> MLIRGen::inferred(Operation *op) {
  // Unrolled repeats multiply: stop before a spec exhausts memory.
  if (failed(countOp(op->getLoc())))
    return failure();
  if (auto si = dyn_cast<ShapeInference>(op))
    if (failed(si.inferShapes()))
      return failure();
  return GenValue::ofTensor(op->getResult(0));
}

FailureOr<GenValue> MLIRGen::evalBinary(const BinaryExpr &e, Env &env) {
  FailureOr<GenValue> l = eval(*e.lhs, env);
  if (failed(l))
    return failure();
  FailureOr<GenValue> r = eval(*e.rhs, env);
  if (failed(r))
    return failure();
  Location at = loc(e.opRange);
  if (l->kind == GenValue::Tensor || r->kind == GenValue::Tensor) {
    Value a = toTensor(*l, at), b = toTensor(*r, at);
    Operation *op = nullptr;
    switch (e.op) {
    case '+':
      op = AddOp::create(builder, at, unranked(), a, b);
      break;
    case '-':
      op = SubOp::create(builder, at, unranked(), a, b);
      break;
    case '*':
      op = MulOp::create(builder, at, unranked(), a, b);
      break;
    case '/':
      op = DivOp::create(builder, at, unranked(), a, b);
      break;
    default:
      return emitError(at) << "'" << e.op << "' is not defined on tensors";
    }
    return inferred(op);
  }
  if (l->kind == GenValue::String && r->kind == GenValue::String) {
    GenValue s = *l;
    s.s += r->s;
    return s;
  }
  if (!l->isNumber() || !r->isNumber())
    return emitError(at) << "'" << e.op
                         << "' needs numbers or tensors at this point";
  // Durations and sizes are held as whole seconds/bytes, but their ratio
  // (`6h / 4h`) is a float: Sema typed it so.
  bool floatResult = e.type && e.type->is(s2s::Type::Kind::Float);
  if (l->kind == GenValue::Int && r->kind == GenValue::Int && !floatResult) {
    int64_t a = l->i, b = r->i, out = 0;
    if ((e.op == '/' || e.op == '%') && b == 0)
      return emitError(at) << "division by zero";
    bool overflow = false;
    switch (e.op) {
    case '+':
      overflow = __builtin_add_overflow(a, b, &out);
      break;
    case '-':
      overflow = __builtin_sub_overflow(a, b, &out);
      break;
    case '*':
      overflow = __builtin_mul_overflow(a, b, &out);
      break;
    default:
      break;
    }
    if (overflow)
      return emitError(at) << "integer overflow in '" << e.op << "'";
    if (a == INT64_MIN && b == -1 && (e.op == '/' || e.op == '%'))
      return emitError(at) << "integer overflow in '" << e.op << "'";
    switch (e.op) {
    case '+':
    case '-':
    case '*':
      return GenValue::ofInt(out);
    case '/':
      return GenValue::ofInt(a / b - ((a % b != 0) && ((a < 0) != (b < 0))));
    default:
      return GenValue::ofInt(((a % b) + b) % b);
    }
  }
  double a = l->number(), b = r->number();
  switch (e.op) {
  case '+':
    return GenValue::ofFloat(a + b);
  case '-':
    return GenValue::ofFloat(a - b);
  case '*':
    return GenValue::ofFloat(a * b);
  case '/':
    if (b == 0)
      return emitError(at) << "division by zero";
    return GenValue::ofFloat(a / b);
  default:
    return emitError(at) << "'%' needs integers";
  }
}

FailureOr<GenValue> MLIRGen::eval(const Expr &e, Env &env) {
  Location at = loc(e.getRange());
  switch (e.getKind()) {
  case Expr::Kind::Int:
    return GenValue::ofInt(cast<IntLit>(e).value);
  case Expr::Kind::Float:
    return GenValue::ofFloat(cast<FloatLit>(e).value);
  case Expr::Kind::Quantity: {
    double c = cast<QuantityLit>(e).canonical;
    if (c == std::floor(c) && std::fabs(c) < 9e18)
      return GenValue::ofInt(static_cast<int64_t>(c));
    return GenValue::ofFloat(c);
  }
  case Expr::Kind::String: {
    GenValue g;
    g.kind = GenValue::String;
    g.s = cast<StringLit>(e).value;
    return g;
  }
  case Expr::Kind::Bool: {
    GenValue g;
    g.kind = GenValue::Bool;
    g.b = cast<BoolLit>(e).value;
    return g;
  }
  case Expr::Kind::None:
    return GenValue();
  case Expr::Kind::Name: {
    auto &n = cast<NameRef>(e);
    switch (n.target) {
    case NameTarget::Label:
    case NameTarget::EnumMember: {
      GenValue g;
      g.kind = GenValue::Symbol;
      g.s = n.name;
      return g;
    }
    case NameTarget::Decl:
      if (auto *let = dyn_cast<LetDecl>(n.decl))
        return letValue(*let);
      if (isa<DataDecl, ModelInstanceDecl>(n.decl)) {
        GenValue g;
        g.kind = GenValue::Symbol;
        g.s = n.name;
        g.decl = n.decl;
        return g;
      }
      break;
    default:
      if (GenValue *v = env.lookup(n.name)) {
        if (v->kind == GenValue::None && v->s == kRuntimeSize)
          return emitError(at)
                 << "'" << n.name
                 << "' is a size of the input known only at run time, but "
                    "the model needs its value here; give the data set its "
                    "grid (`grid = [lat, lon]` in the data section)";
        return *v;
      }
      break;
    }
    return emitError(at) << "'" << n.name << "' has no value here";
  }
  case Expr::Kind::List:
  case Expr::Kind::Tuple: {
    GenValue g;
    g.kind = e.getKind() == Expr::Kind::List ? GenValue::List : GenValue::Tuple;
    const auto &elems = e.getKind() == Expr::Kind::List
                            ? cast<ListLit>(e).elems
                            : cast<TupleLit>(e).elems;
    for (const ExprPtr &el : elems) {
      FailureOr<GenValue> v = eval(*el, env);
      if (failed(v))
        return failure();
      g.elems.push_back(*v);
    }
    return g;
  }
  case Expr::Kind::Record: {
    GenValue g;
    g.kind = GenValue::Record;
    for (const RecordField &f : cast<RecordLit>(e).fields) {
      FailureOr<GenValue> v = eval(*f.value, env);
      if (failed(v))
        return failure();
      g.fields.emplace_back(f.key.name, *v);
    }
    return g;
  }
  case Expr::Kind::Neg: {
    FailureOr<GenValue> v = eval(*cast<NegExpr>(e).operand, env);
    if (failed(v))
      return failure();
    if (v->kind == GenValue::Int)
      return GenValue::ofInt(-v->i);
    if (v->kind == GenValue::Float)
      return GenValue::ofFloat(-v->f);
    if (v->kind == GenValue::Tensor)
      return inferred(NegOp::create(builder, at, unranked(), v->tensor));
    return emitError(at) << "cannot negate this value";
  }
  case Expr::Kind::Binary:
    return evalBinary(cast<BinaryExpr>(e), env);
  case Expr::Kind::Range: {
    auto &r = cast<RangeExpr>(e);
    FailureOr<GenValue> lo = eval(*r.lo, env), hi = eval(*r.hi, env);
    if (failed(lo) || failed(hi))
      return failure();
    GenValue g;
    g.kind = GenValue::Range;
    g.elems = {*lo, *hi};
    return g;
  }
  case Expr::Kind::Call:
    return evalCall(cast<CallExpr>(e), env);
  case Expr::Kind::Index: {
    auto &ix = cast<IndexExpr>(e);
    FailureOr<GenValue> base = eval(*ix.base, env);
    FailureOr<GenValue> idx = eval(*ix.index, env);
    if (failed(base) || failed(idx))
      return failure();
    if (base->kind == GenValue::List || base->kind == GenValue::Tuple) {
      int64_t n = base->elems.size(), k = idx->i < 0 ? idx->i + n : idx->i;
      if (k < 0 || k >= n)
        return emitError(at)
               << "index " << idx->i << " is out of range for a list of " << n;
      return base->elems[k];
    }
    return emitError(at) << "indexing a tensor is not supported; use "
                            "slice(x, dim = ..., start = ..., end = ...)";
  }
  case Expr::Kind::Member: {
    auto &m = cast<MemberExpr>(e);
    FailureOr<GenValue> base = eval(*m.base, env);
    if (failed(base))
      return failure();
    if (base->kind == GenValue::Record) {
      for (const auto &[k, v] : base->fields)
        if (k == m.member.name)
          return v;
      return emitError(at) << "no key '" << m.member.name << "'";
    }
    if (base->kind == GenValue::Tensor) {
      auto t = dyn_cast<RankedTensorType>(base->tensor.getType());
      if (!t || !t.hasStaticShape())
        return emitError(at)
               << "the shape of this tensor is only known after shape "
                  "inference; take sizes from the forward's inputs or the "
                  "model's parameters";
      if (m.member.name == "rank")
        return GenValue::ofInt(t.getRank());
      GenValue g;
      g.kind = GenValue::List;
      for (int64_t d : t.getShape())
        g.elems.push_back(GenValue::ofInt(d));
      return g;
    }
    return emitError(at) << "no member '" << m.member.name << "'";
  }
  }
  return failure();
}

LogicalResult MLIRGen::bindConfig(const std::vector<Param> &params,
                                  const CallExpr &call, Env &callerEnv,
                                  Env &into, size_t firstInput) {
  std::vector<const Argument *> given(params.size(), nullptr);
  for (size_t i = 0; i < call.args.size(); ++i) {
    int slot = i < call.binding.size() ? call.binding[i] : -1;
    if (slot >= 0 && static_cast<size_t>(slot) < firstInput)
      given[slot] = &call.args[i];
  }
  for (size_t j = 0; j < params.size() && j < firstInput; ++j) {
    FailureOr<GenValue> v =
        given[j] ? eval(*given[j]->value, callerEnv)
                 : (params[j].defaultValue ? eval(*params[j].defaultValue, into)
                                           : FailureOr<GenValue>(GenValue()));
    if (failed(v))
      return failure();
    into.vars[params[j].name.name] = *v;
  }
  return success();
}

FailureOr<GenValue> MLIRGen::evalCall(const CallExpr &call, Env &env) {
  Location at = loc(call.getRange());
  if (!call.target)
    return emitError(at) << "call was not resolved";
  if (auto *ext = dyn_cast<ExternDecl>(call.target)) {
    if (ext->externKind.name == "layer")
      return lowerLayer(*ext, call, env);
    GenValue g;
    g.kind = GenValue::Object;
    g.s = ext->getName().name;
    Env args;
    args.parent = &globals;
    if (failed(bindConfig(ext->params, call, env, args, ext->params.size())))
      return failure();
    for (const Param &p : ext->params)
      g.fields.emplace_back(p.name.name, args.vars[p.name.name]);
    return g;
  }
  auto *def = cast<ModelDef>(call.target);
  return inlineModel(*def, call, env, names.back().next(def->getName().name));
}

FailureOr<GenValue> MLIRGen::lowerLayer(const ExternDecl &ext,
                                        const CallExpr &call, Env &env) {
  Location at = loc(call.getRange());
  llvm::StringRef callee = ext.getName().name;
  // Every parameter's value, given or defaulted.
  std::vector<std::optional<GenValue>> values(ext.params.size());
  for (size_t i = 0; i < call.args.size(); ++i) {
    int slot = i < call.binding.size() ? call.binding[i] : -1;
    if (slot < 0)
      continue;
    FailureOr<GenValue> v = eval(*call.args[i].value, env);
    if (failed(v))
      return failure();
    values[slot] = *v;
  }
  Env defaults;
  defaults.parent = &globals;
  for (size_t j = 0; j < ext.params.size(); ++j) {
    if (!values[j] && ext.params[j].defaultValue) {
      FailureOr<GenValue> v = eval(*ext.params[j].defaultValue, defaults);
      if (failed(v))
        return failure();
      values[j] = *v;
    }
  }

  static const llvm::StringRef activations[] = {"gelu", "relu", "silu", "tanh",
                                                "sigmoid"};
  std::string opName = ("s2s." + callee).str();
  bool isActivation = llvm::is_contained(activations, callee);
  if (isActivation)
    opName = "s2s.activation";
  auto registered = RegisteredOperationName::lookup(opName, &ctx);
  if (!registered)
    return emitError(at) << "layer '" << callee
                         << "' has no lowering in this s2sc";

  std::string paramName = names.back().next(callee);
  Location opLoc = at;
  if (registered->hasInterface<ParameterizedOp>())
    opLoc = NameLoc::get(builder.getStringAttr(paramName), at);
  OperationState state(opLoc, *registered);
  if (isActivation)
    state.addAttribute(
        "kind",
        ActivationKindAttr::get(&ctx, enumOf(symbolizeActivationKind, callee)));
  for (size_t j = 0; j < ext.params.size(); ++j) {
    const Param &p = ext.params[j];
    const s2s::Type *declared = p.type->resolved;
    if (!values[j])
      continue;
    const GenValue &v = *values[j];
    if (declared && declared->is(s2s::Type::Kind::Tensor)) {
      if (v.kind != GenValue::Tensor)
        return emitError(at) << "'" << p.name.name << "' of '" << callee
                             << "' needs a tensor";
      state.addOperands(v.tensor);
      continue;
    }
    if (declared && declared->is(s2s::Type::Kind::List) &&
        declared->getElement()->is(s2s::Type::Kind::Tensor)) {
      for (const GenValue &e : v.elems)
        state.addOperands(toTensor(e, at));
      continue;
    }
    if (v.kind == GenValue::None)
      continue;
    // convective_adjust's variable names become channel indices and levels
    // (addConvectionColumns).
    if (callee == "convective_adjust" && v.kind == GenValue::String)
      continue;
    // The extern's parameter names are the op's attribute names.
    std::string attr = p.name.name;
    FailureOr<Attribute> a = attrFor(v, declared, at, p.name.name);
    if (failed(a))
      return failure();
    state.addAttribute(attr, *a);
  }
  if (registered->hasInterface<ParameterizedOp>())
    state.addAttribute("name", builder.getStringAttr(paramName));
  if (callee == "convective_adjust") {
    auto var = [&](llvm::StringRef name) {
      for (size_t j = 0; j < ext.params.size(); ++j)
        if (ext.params[j].name.name == name && values[j])
          return values[j]->s;
      return std::string();
    };
    if (failed(addConvectionColumns(state, var("temperature"), var("humidity"),
                                    at)))
      return failure();
  }
  state.addTypes(unranked());
  return inferred(builder.create(state));
}

/// convective_adjust's columns: the data section's channels named
/// `<temperature><level>` and `<humidity><level>` (t850, q850; the level
/// in hPa) become the op's `temperature`, `humidity` and `levels`, ordered
/// from the top of the column down, and the data's step its `step`.
LogicalResult MLIRGen::addConvectionColumns(OperationState &state,
                                            llvm::StringRef temperature,
                                            llvm::StringRef humidity,
                                            Location at) {
  const Entry *ch = sampleData ? sampleData->find("channels") : nullptr;
  if (!ch)
    return emitError(at) << "convective_adjust finds its columns among the "
                            "data section's channels ("
                         << temperature << "850, " << humidity
                         << "850, ...), but the spec has no data section "
                            "with channels";
  if (temperature.empty() || humidity.empty() || temperature == humidity)
    return emitError(at) << "convective_adjust: 'temperature' and 'humidity' "
                            "must be two different, non-empty variable names "
                            "(default \"t\" and \"q\")";
  FailureOr<GenValue> names = eval(*ch->value, globals);
  if (failed(names))
    return failure();
  // Level (hPa) -> channel index, per variable.
  std::map<int64_t, int64_t> levelsOf[2];
  const llvm::StringRef vars[2] = {temperature, humidity};
  std::string all;
  for (size_t c = 0; c < names->elems.size(); ++c) {
    llvm::StringRef n = names->elems[c].s;
    all += (all.empty() ? "" : ", ") + n.str();
    for (int v = 0; v < 2; ++v) {
      int64_t hPa = 0;
      if (!n.starts_with(vars[v]) ||
          n.drop_front(vars[v].size()).getAsInteger(10, hPa))
        continue;
      if (hPa < 1 || hPa > 1100)
        return emitError(at)
               << "convective_adjust: channel '" << n << "' names level " << hPa
               << " hPa; pressure levels lie in 1..1100 hPa";
      if (!levelsOf[v].emplace(hPa, int64_t(c)).second)
        return emitError(at)
               << "convective_adjust: channels '"
               << names->elems[size_t(levelsOf[v][hPa])].s << "' and '" << n
               << "' name the same level, " << hPa << " hPa";
    }
  }
  for (int v = 0; v < 2; ++v)
    if (levelsOf[v].size() < 2)
      return emitError(at) << "convective_adjust needs '" << vars[v]
                           << "' on at least 2 pressure levels (channels like "
                           << vars[v] << "850, " << vars[v]
                           << "500), but the data section has "
                           << levelsOf[v].size()
                           << " among its channels: " << all;
  for (int v = 0; v < 2; ++v)
    for (const auto &[hPa, c] : levelsOf[v])
      if (!levelsOf[1 - v].count(hPa))
        return emitError(at)
               << "convective_adjust: the data section has '" << vars[v] << hPa
               << "' but no '" << vars[1 - v] << hPa
               << "'; temperature and humidity need the same levels";
  const Entry *stepEntry = sampleData->find("step");
  FailureOr<GenValue> step =
      stepEntry ? eval(*stepEntry->value, globals) : FailureOr<GenValue>();
  if (!stepEntry || failed(step) || step->kind != GenValue::Int)
    return emitError(at) << "convective_adjust relaxes over the data's time "
                            "step; give the data section a 'step' (1h, 6h)";
  SmallVector<int64_t> t, q, p;
  for (auto it = levelsOf[0].begin(); it != levelsOf[0].end(); ++it) {
    p.push_back(it->first);
    t.push_back(it->second);
    q.push_back(levelsOf[1][it->first]);
  }
  state.addAttribute("temperature", builder.getDenseI64ArrayAttr(t));
  state.addAttribute("humidity", builder.getDenseI64ArrayAttr(q));
  state.addAttribute("levels", builder.getDenseI64ArrayAttr(p));
  state.addAttribute("step", builder.getI64IntegerAttr(step->i));
  return success();
}

//===----------------------------------------------------------------------===//
// Models and blocks
//===----------------------------------------------------------------------===//

LogicalResult MLIRGen::declareModelItems(const ModelDef &def, Env &env) {
  size_t li = 0, pi = 0;
  for (char item : def.itemOrder) {
    if (item == 'l') {
      const LetDecl &let = *def.lets[li++];
      FailureOr<GenValue> v = eval(*let.value, env);
      if (failed(v))
        return failure();
      env.vars[let.getName().name] = *v;
    } else if (item == 'p') {
      const ParamDecl &p = def.paramDecls[pi++];
      Location at = loc(p.range);
      SmallVector<int64_t> shape;
      for (const DimExpr &d : p.type->dims) {
        if (!d.expr)
          return emitError(at) << "a learnable parameter needs a static "
                                  "shape; '?' is not allowed";
        FailureOr<GenValue> v = eval(*d.expr, env);
        if (failed(v))
          return failure();
        if (v->kind != GenValue::Int || v->i < 1)
          return emitError(loc(d.range))
                 << "a parameter dimension must be a positive integer";
        shape.push_back(v->i);
      }
      InitKind init = InitKind::trunc_normal;
      SmallVector<double> args = {0.02};
      if (p.init) {
        FailureOr<GenValue> v = eval(*p.init, env);
        if (failed(v))
          return failure();
        if (v->isNumber()) {
          init = InitKind::constant;
          args = {v->number()};
        } else if (v->kind == GenValue::Object) {
          init = enumOf(symbolizeInitKind, v->s);
          args.clear();
          for (const auto &[k, f] : v->fields)
            if (f.isNumber())
              args.push_back(f.number());
        }
      }
      std::string name = names.back().prefix + p.name.name;
      auto op = ParamOp::create(
          builder, NameLoc::get(builder.getStringAttr(name), at),
          RankedTensorType::get(shape, f32()), builder.getStringAttr(name),
          InitKindAttr::get(&ctx, init), builder.getDenseF64ArrayAttr(args));
      env.vars[p.name.name] = GenValue::ofTensor(op.getResult());
    }
  }
  return success();
}

LogicalResult MLIRGen::runBody(const std::vector<StmtPtr> &body, Env &env,
                               std::optional<GenValue> &result) {
  for (const StmtPtr &s : body) {
    switch (s->getKind()) {
    case Stmt::Kind::Let: {
      auto &let = cast<LetStmt>(*s);
      FailureOr<GenValue> v = eval(*let.value, env);
      if (failed(v))
        return failure();
      if (!let.tuple) {
        env.vars[let.names[0].name] = *v;
        break;
      }
      if (v->kind != GenValue::Tuple || v->elems.size() != let.names.size())
        return emitError(loc(let.getRange())) << "cannot unpack this value";
      for (size_t i = 0; i < let.names.size(); ++i)
        env.vars[let.names[i].name] = v->elems[i];
      break;
    }
    case Stmt::Kind::Assign: {
      auto &as = cast<AssignStmt>(*s);
      FailureOr<GenValue> v = eval(*as.value, env);
      if (failed(v))
        return failure();
      GenValue *slot = env.lookup(as.name.name);
      if (!slot)
        return emitError(loc(as.getRange()))
               << "'" << as.name.name << "' is not declared";
      *slot = *v;
      break;
    }
    case Stmt::Kind::Repeat: {
      auto &rep = cast<RepeatStmt>(*s);
      FailureOr<GenValue> n = eval(*rep.count, env);
      if (failed(n))
        return failure();
      if (n->kind != GenValue::Int || n->i < 0)
        return emitError(loc(rep.count->getRange()))
               << "'repeat' needs a count of at least 0";
      if (n->i > 100000)
        return emitError(loc(rep.count->getRange()))
               << "'repeat " << n->i << "' is too large to unroll";
      for (int64_t k = 0; k < n->i; ++k) {
        Env inner;
        inner.parent = &env;
        if (rep.var)
          inner.vars[rep.var->name] = GenValue::ofInt(k);
        if (failed(runBody(rep.body, inner, result)))
          return failure();
      }
      break;
    }
    case Stmt::Kind::Return: {
      FailureOr<GenValue> v = eval(*cast<ReturnStmt>(*s).value, env);
      if (failed(v))
        return failure();
      result = *v;
      return success();
    }
    }
  }
  return success();
}

FailureOr<GenValue> MLIRGen::inlineModel(const ModelDef &def,
                                         const CallExpr &call, Env &env,
                                         const std::string &name) {
  if (failed(countOp(loc(call.getRange()))))
    return failure();
  Env config;
  config.parent = &globals;
  if (failed(bindConfig(def.params, call, env, config, def.params.size())))
    return failure();
  const ForwardDef &f = *def.forward;
  std::vector<const Argument *> inputs(f.inputs.size(), nullptr);
  for (size_t i = 0; i < call.args.size(); ++i) {
    int slot = i < call.binding.size() ? call.binding[i] : -1;
    if (slot >= static_cast<int>(def.params.size()))
      inputs[slot - def.params.size()] = &call.args[i];
  }
  // The arguments belong to the caller: layers written in them are named in
  // the caller's scope (`linear.0`, not `Block.0.linear.0`).
  std::vector<std::optional<GenValue>> argValues(f.inputs.size());
  for (size_t k = 0; k < f.inputs.size(); ++k)
    if (inputs[k]) {
      FailureOr<GenValue> v = eval(*inputs[k]->value, env);
      if (failed(v))
        return failure();
      argValues[k] = *v;
    }
  NameScope scope;
  scope.prefix = name + ".";
  names.push_back(scope);
  pushCaller(NameLoc::get(builder.getStringAttr("in " + name + " = " +
                                                def.getName().name + "(...)"),
                          fileLoc(call.getRange())));
  llvm::scope_exit popCaller([&] { callers.pop_back(); });
  llvm::scope_exit pop([&] { names.pop_back(); });
  if (failed(declareModelItems(def, config)))
    return failure();
  Env fwd;
  fwd.parent = &config;
  for (size_t k = 0; k < f.inputs.size(); ++k) {
    const Param &in = f.inputs[k];
    FailureOr<GenValue> v =
        argValues[k] ? FailureOr<GenValue>(*argValues[k])
                     : (in.defaultValue ? eval(*in.defaultValue, config)
                                        : FailureOr<GenValue>(GenValue()));
    if (failed(v))
      return failure();
    // A written shape binds its symbolic sizes and is checked against the
    // argument's inferred shape.
    if (v->kind == GenValue::Tensor && in.type->hasDims)
      if (auto t = dyn_cast<RankedTensorType>(v->tensor.getType()))
        if (failed(inputType(in, fwd, t.getShape(),
                             inputs[k] ? loc(inputs[k]->range)
                                       : loc(call.getRange()),
                             def.getName().name)))
          return failure();
    fwd.vars[in.name.name] = *v;
  }
  std::optional<GenValue> result;
  if (failed(runBody(f.body, fwd, result)))
    return failure();
  if (!result)
    return emitError(loc(call.getRange()))
           << "'" << def.getName().name << "' returned no value";
  return *result;
}

FailureOr<RankedTensorType>
MLIRGen::inputType(const Param &in, Env &env,
                   std::optional<ArrayRef<int64_t>> data, Location l,
                   llvm::StringRef model) {
  const TypeExpr &t = *in.type;
  if (!t.hasDims) {
    if (data)
      return RankedTensorType::get(*data, f32());
    // Nothing says its shape: the runtime takes it from the data.
    return FailureOr<RankedTensorType>(RankedTensorType());
  }
  SmallVector<int64_t> shape;
  for (size_t i = 0; i < t.dims.size(); ++i) {
    const DimExpr &d = t.dims[i];
    std::optional<int64_t> fromData;
    if (data && data->size() == t.dims.size())
      fromData = (*data)[i];
    // A bare symbolic name takes the data's size and is bound for the body.
    if (auto *ref = llvm::dyn_cast_or_null<NameRef>(d.expr.get()))
      if (ref->target == NameTarget::Local && !env.lookup(ref->name)) {
        int64_t v = fromData ? *fromData : ShapedType::kDynamic;
        shape.push_back(v);
        if (fromData && !ShapedType::isDynamic(*fromData)) {
          env.vars[ref->name] = GenValue::ofInt(v);
        } else if (fromData) {
          GenValue unknown;
          unknown.s = kRuntimeSize;
          env.vars[ref->name] = unknown;
        }
        continue;
      }
    if (!d.expr) {
      shape.push_back(fromData ? *fromData : ShapedType::kDynamic);
      continue;
    }
    FailureOr<GenValue> v = eval(*d.expr, env);
    if (failed(v))
      return failure();
    if (v->kind != GenValue::Int)
      return emitError(loc(d.range)) << "a dimension must be an integer";
    shape.push_back(v->i);
  }
  if (data && (data->size() != shape.size() ||
               !llvm::all_of(llvm::zip(shape, *data), [](auto p) {
                 auto [a, b] = p;
                 return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) ||
                        a == b;
               }))) {
    std::string want, got;
    llvm::raw_string_ostream w(want), g(got);
    w << "[";
    llvm::interleaveComma(shape, w, [&](int64_t d) {
      if (ShapedType::isDynamic(d))
        w << "?";
      else
        w << d;
    });
    w << "]";
    g << "[";
    llvm::interleaveComma(*data, g, [&](int64_t d) {
      if (ShapedType::isDynamic(d))
        g << "?";
      else
        g << d;
    });
    g << "]";
    return emitError(l) << "'" << model << "' takes input '" << in.name.name
                        << "' of shape " << want << ", but gets " << got;
  }
  return RankedTensorType::get(shape, f32());
}

LogicalResult MLIRGen::lowerInstance(const ModelInstanceDecl &inst) {
  const auto *def = cast<ModelDef>(inst.call->target);
  Location at = loc(inst.getName().range);
  Env config;
  config.parent = &globals;
  if (failed(bindConfig(def->params, *inst.call, globals, config,
                        def->params.size())))
    return failure();

  // The forward's inputs: the first takes the data's [batch, channels, lat,
  // lon]; the others their declared shapes.
  const ForwardDef &f = *def->forward;
  SmallVector<mlir::Type> inputTypes;
  Env fwd;
  fwd.parent = &config;
  for (size_t k = 0; k < f.inputs.size(); ++k) {
    std::optional<ArrayRef<int64_t>> data;
    if (k == 0 && dataShape)
      data = ArrayRef<int64_t>(*dataShape);
    FailureOr<RankedTensorType> t =
        inputType(f.inputs[k], fwd, data, at, def->getName().name);
    if (failed(t))
      return failure();
    if (*t)
      inputTypes.push_back(*t);
    else
      inputTypes.push_back(unranked());
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto fn =
      func::FuncOp::create(builder, at, inst.getName().name,
                           builder.getFunctionType(inputTypes, {unranked()}));
  fn->setAttr(attrs::kModel, builder.getStringAttr(def->getName().name));
  SmallVector<NamedAttribute> cfg;
  for (const Param &p : def->params)
    if (GenValue *v = config.lookup(p.name.name))
      if (v->kind != GenValue::Tensor)
        cfg.push_back(builder.getNamedAttr(p.name.name, toAttr(*v)));
  fn->setAttr(attrs::kConfig, builder.getDictionaryAttr(cfg));
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  for (size_t k = 0; k < f.inputs.size(); ++k)
    fwd.vars[f.inputs[k].name.name] = GenValue::ofTensor(entry->getArgument(k));

  names.push_back(NameScope());
  llvm::scope_exit pop([&] { names.pop_back(); });
  pushCaller(
      NameLoc::get(builder.getStringAttr("in model " + inst.getName().name +
                                         " = " + def->getName().name + "(...)"),
                   fileLoc(inst.getName().range)));
  llvm::scope_exit popCaller([&] { callers.pop_back(); });
  // Model-level lets and params see the config; the forward sees both.
  Env items;
  items.parent = &config;
  if (failed(declareModelItems(*def, items)))
    return failure();
  for (auto &kv : items.vars)
    if (!fwd.vars.count(kv.getKey()))
      fwd.vars[kv.getKey()] = kv.getValue();
  std::optional<GenValue> result;
  if (failed(runBody(f.body, fwd, result)))
    return failure();
  if (!result)
    return emitError(at) << "'" << def->getName().name << "' returned no value";
  SmallVector<Value> results;
  Location retLoc = loc(f.range);
  if (result->kind == GenValue::Tuple) {
    for (const GenValue &v : result->elems)
      results.push_back(toTensor(v, retLoc));
  } else if (result->kind == GenValue::Tensor) {
    results.push_back(result->tensor);
  } else {
    return emitError(retLoc) << "the forward of '" << def->getName().name
                             << "' must return tensors";
  }
  func::ReturnOp::create(builder, retLoc, results);
  SmallVector<mlir::Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  fn.setType(builder.getFunctionType(inputTypes, resultTypes));
  return success();
}

//===----------------------------------------------------------------------===//
// Sections
//===----------------------------------------------------------------------===//

/// A section's entries, evaluated, with where each was written.
struct MLIRGen::SectionValues {
  llvm::StringMap<GenValue> values;
  llvm::StringMap<Location> keyLocs, valueLocs;
  SmallVector<Location> fused;
  const GenValue *get(llvm::StringRef key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
  Location valueLoc(llvm::StringRef key, Location dflt) const {
    auto it = valueLocs.find(key);
    return it == valueLocs.end() ? dflt : it->second;
  }
};

FailureOr<MLIRGen::SectionValues>
MLIRGen::evalEntries(const std::vector<Entry> &entries, Location at) {
  SectionValues sv;
  sv.fused.push_back(at);
  for (const Entry &e : entries) {
    FailureOr<GenValue> v = eval(*e.value, globals);
    if (failed(v))
      return failure();
    Location keyLoc = loc(e.key.range);
    sv.values[e.key.name] = *v;
    sv.keyLocs.insert({e.key.name, keyLoc});
    sv.valueLocs.insert({e.key.name, loc(e.value->getRange())});
    sv.fused.push_back(NameLoc::get(builder.getStringAttr(e.key.name), keyLoc));
  }
  return sv;
}

/// Entry `key` of a section, or `dflt()` when the spec leaves it out.
FailureOr<GenValue> MLIRGen::valueOrDefault(const SectionValues &sv,
                                            llvm::StringRef key,
                                            llvm::StringRef dflt) {
  if (const GenValue *v = sv.get(key))
    return *v;
  return defaultCall(dflt);
}

/// The value of `extern KIND name(...)` called with no arguments: the
/// prelude's defaults, for a section entry the spec leaves out.
FailureOr<GenValue> MLIRGen::defaultCall(llvm::StringRef name) {
  const s2s::Module *prelude = mainModule->prelude;
  if (!prelude)
    return emitError(UnknownLoc::get(&ctx))
           << "no prelude to take the default '" << name << "()' from";
  for (const DeclPtr &d : prelude->decls)
    if (auto *ext = dyn_cast<ExternDecl>(d.get());
        ext && ext->getName().name == name) {
      GenValue g;
      g.kind = GenValue::Object;
      g.s = name.str();
      Env args;
      args.parent = &globals;
      for (const Param &p : ext->params) {
        GenValue v;
        if (p.defaultValue) {
          FailureOr<GenValue> dv = eval(*p.defaultValue, args);
          if (failed(dv))
            return failure();
          v = *dv;
        }
        args.vars[p.name.name] = v;
        g.fields.emplace_back(p.name.name, v);
      }
      return g;
    }
  return emitError(UnknownLoc::get(&ctx))
         << "the prelude declares no '" << name << "'";
}

/// Builds attribute T with getChecked, so a value out of range is an error
/// at `at`, the value's spec line.
template <typename T, typename... Args>
static FailureOr<T> checked(Location at, Args &&...args) {
  auto emit = [&]() { return emitError(at); };
  T attr = T::getChecked(emit, at.getContext(), std::forward<Args>(args)...);
  if (!attr)
    return failure();
  return attr;
}

LogicalResult MLIRGen::lowerData(const DataDecl &data) {
  Location at = loc(data.getName().range);
  FailureOr<SectionValues> sv = evalEntries(data.entries, at);
  if (failed(sv))
    return failure();
  SmallVector<Attribute> channels;
  for (const GenValue &c : sv->get("channels")->elems)
    channels.push_back(builder.getStringAttr(c.s));
  DenseI64ArrayAttr grid;
  if (const GenValue *g = sv->get("grid")) {
    SmallVector<int64_t> sizes;
    for (const GenValue &e : g->elems)
      sizes.push_back(e.i);
    grid = builder.getDenseI64ArrayAttr(sizes);
  }
  IntegerAttr step, history = builder.getI64IntegerAttr(1);
  if (const GenValue *s = sv->get("step")) {
    FailureOr<int64_t> seconds =
        wholeSeconds(*s, sv->valueLoc("step", at), "step");
    if (failed(seconds))
      return failure();
    step = builder.getI64IntegerAttr(*seconds);
  }
  if (const GenValue *h = sv->get("history"))
    history = builder.getI64IntegerAttr(h->i);

  const GenValue &src = *sv->get("source");
  // server(..., ring = true) reads the set's ring: its field is "ring"
  // (data/Ring.h), lowered as data.field like hdf5's dataset name.
  const bool ring = src.s == "server" && field(src, "ring").b;
  FailureOr<SourceAttr> source = checked<SourceAttr>(
      sv->valueLoc("source", at), enumOf(symbolizeSourceKind, src.s),
      StringRef(field(src, "pattern").s),
      StringRef(ring ? "ring" : field(src, "field").s),
      StringRef(field(src, "address").s), StringRef(field(src, "name").s));

  SplitAttr split;
  if (const GenValue *s = sv->get("split")) {
    std::pair<int64_t, int64_t> years[3] = {{0, -1}, {0, -1}, {0, -1}};
    const char *names[3] = {"train", "valid", "test"};
    for (const auto &[k, v] : s->fields)
      for (int i = 0; i < 3; ++i)
        if (k == names[i])
          years[i] = v.kind == GenValue::Range
                         ? std::make_pair(v.elems[0].i, v.elems[1].i)
                         : std::make_pair(v.i, v.i);
    auto pair = [](std::pair<int64_t, int64_t> y) {
      return SmallVector<int64_t>{y.first, y.second};
    };
    SmallVector<int64_t> train = pair(years[0]), valid = pair(years[1]),
                         test = pair(years[2]);
    FailureOr<SplitAttr> a =
        checked<SplitAttr>(sv->valueLoc("split", at), ArrayRef<int64_t>(train),
                           ArrayRef<int64_t>(valid), ArrayRef<int64_t>(test));
    if (failed(a))
      return failure();
    split = *a;
  }
  NormalizeAttr normalize;
  if (const GenValue *n = sv->get("normalize"))
    normalize = NormalizeAttr::get(&ctx, enumOf(symbolizeNormalizerKind, n->s),
                                   StringRef(field(*n, "stats").s));

  FailureOr<GenValue> memValue = valueOrDefault(*sv, "memory", "in_memory");
  if (failed(memValue))
    return failure();
  const GenValue *mem = &*memValue;
  bool stream = mem->s == "stream";
  MemoryMode mode = stream                  ? MemoryMode::stream
                    : field(*mem, "lazy").b ? MemoryMode::lazy
                                            : MemoryMode::eager;
  FailureOr<MemoryAttr> memory = checked<MemoryAttr>(
      sv->valueLoc("memory", at), mode, !stream && field(*mem, "shared").b,
      integer(*mem, "prefetch"), stream ? integer(*mem, "buffer") : 0,
      APFloat(stream ? num(*mem, "refresh") : 0.25));
  if (failed(source) || failed(memory))
    return failure();
  // A ring is sampled batch by batch (data/Ring.h): only prefetch
  // applies; a memory value that holds or streams the data set would be
  // ignored.
  if (ring &&
      (stream || memory->getShared() || memory->getMode() != MemoryMode::eager))
    return emitError(sv->valueLoc("memory", at))
           << "memory = " << (stream ? "stream(...)" : mem->s + "(...)")
           << " does not apply to server(..., ring = true): training draws "
              "each batch from the ring as it is then; write memory = "
              "in_memory(prefetch = N) or leave memory out";

  builder.setInsertionPointToEnd(module.getBody());
  DataOp::create(builder, FusedLoc::get(&ctx, sv->fused),
                 builder.getStringAttr(data.getName().name),
                 builder.getArrayAttr(channels), grid, step, history, *source,
                 split, normalize, *memory);
  return success();
}

/// The one declaration of kind T in `m`, for sections that leave it implied.
template <typename T> static const T *onlyDecl(const s2s::Module &m) {
  const T *found = nullptr;
  for (const DeclPtr &d : m.decls)
    if (auto *t = dyn_cast<T>(d.get())) {
      if (found)
        return nullptr;
      found = t;
    }
  return found;
}

LogicalResult MLIRGen::lowerRollout(const SectionValues &sv, Location at,
                                    llvm::StringRef model,
                                    llvm::StringRef data) {
  const GenValue &l = *sv.get("loss");
  FailureOr<LossAttr> loss =
      checked<LossAttr>(sv.valueLoc("loss", at), enumOf(symbolizeLossKind, l.s),
                        enumOf(symbolizeWeighting, field(l, "weight").s),
                        APFloat(l.s == "huber" ? num(l, "delta") : 1.0));
  if (failed(loss))
    return failure();
  DenseF64ArrayAttr weights;
  if (const GenValue *w = sv.get("weights")) {
    SmallVector<double> ws;
    for (const GenValue &e : w->elems)
      ws.push_back(e.number());
    weights = builder.getDenseF64ArrayAttr(ws);
  }
  AlignAttr align;
  if (const GenValue *a = sv.get("align")) {
    FailureOr<AlignAttr> x = checked<AlignAttr>(
        sv.valueLoc("align", at), enumOf(symbolizeAlignKind, a->s),
        integer(*a, "order"), APFloat(num(*a, "weight")), integer(*a, "lag"),
        enumOf(symbolizeWeighting, field(*a, "spatial").s),
        field(*a, "stop_gradient").b);
    if (failed(x))
      return failure();
    align = *x;
  }
  JacobianAttr jacobian;
  if (const GenValue *j = sv.get("jacobian")) {
    bool hutchinson = j->s == "hutchinson";
    FailureOr<JacobianAttr> x = checked<JacobianAttr>(
        sv.valueLoc("jacobian", at), enumOf(symbolizeJacobianKind, j->s),
        hutchinson ? integer(*j, "samples") : 1, APFloat(num(*j, "weight")),
        hutchinson ? enumOf(symbolizeProbeDist, field(*j, "dist").s)
                   : ProbeDist::rademacher,
        enumOf(symbolizeJacobianAt, field(*j, "at").s));
    if (failed(x))
      return failure();
    jacobian = *x;
  }
  PatchingAttr patches;
  if (const GenValue *p = sv.get("patches")) {
    auto pair = [&](llvm::StringRef k) {
      SmallVector<int64_t> v;
      for (const GenValue &e : field(*p, k).elems)
        v.push_back(e.i);
      return v;
    };
    SmallVector<int64_t> size = pair("size"), stride = pair("stride"),
                         halo = pair("halo");
    FailureOr<PatchingAttr> x = checked<PatchingAttr>(
        sv.valueLoc("patches", at), ArrayRef<int64_t>(size),
        ArrayRef<int64_t>(stride), ArrayRef<int64_t>(halo));
    if (failed(x))
      return failure();
    patches = *x;
  }
  DenseI64ArrayAttr leads;
  if (const GenValue *l = sv.get("leads")) {
    SmallVector<int64_t> ls;
    llvm::SmallSet<int64_t, 8> seen;
    for (const GenValue &e : l->elems) {
      if (e.i < 1)
        return emitError(sv.valueLoc("leads", at))
               << "lead times are counted in data steps and must be at "
                  "least 1, got "
               << e.i;
      if (!seen.insert(e.i).second)
        return emitError(sv.valueLoc("leads", at))
               << "lead time " << e.i << " is listed twice";
      ls.push_back(e.i);
    }
    if (ls.empty())
      return emitError(sv.valueLoc("leads", at))
             << "'leads' needs at least one lead time (in data steps)";
    leads = builder.getDenseI64ArrayAttr(ls);
  }
  RolloutOp::create(builder, FusedLoc::get(&ctx, sv.fused), model, data,
                    sv.get("order")->i, *loss, weights, align, jacobian,
                    patches, leads);
  return success();
}

LogicalResult MLIRGen::lowerParallel(const SectionValues &sv) {
  SmallVector<Attribute> axes;
  SmallVector<int64_t> sizes;
  if (const GenValue *mesh = sv.get("mesh"))
    for (const auto &[k, v] : mesh->fields) {
      if (k != "data" && k != "tensor") {
        std::string best =
            s2s::DiagnosticEngine::closestMatch(k, {"data", "tensor"});
        return emitError(sv.valueLoc("mesh", UnknownLoc::get(&ctx)))
               << "unknown mesh axis '" << k << "'"
               << (best.empty() ? "" : "; did you mean '" + best + "'?")
               << " (the axes are data, for data parallelism, and tensor, "
                  "for tensor parallelism)";
      }
      axes.push_back(builder.getStringAttr(k));
      sizes.push_back(v.i);
    }
  const GenValue *s = sv.get("strategy"), *b = sv.get("backend"),
                 *ca = sv.get("checkpoint_activations"),
                 *timeout = sv.get("timeout");
  ParallelOp::create(builder, FusedLoc::get(&ctx, sv.fused),
                     builder.getArrayAttr(axes),
                     builder.getDenseI64ArrayAttr(sizes),
                     s ? enumOf(symbolizeStrategy, s->s) : Strategy::ddp,
                     b ? enumOf(symbolizeBackend, b->s) : Backend::automatic,
                     ca && ca->b, timeout ? timeout->i : 600);
  return success();
}

LogicalResult MLIRGen::lowerTrain(const SectionValues &sv, Location at,
                                  llvm::StringRef model, llvm::StringRef data) {
  const GenValue &o = *sv.get("optimizer");
  const GenValue &betas = field(o, "betas");
  bool adam = o.s != "sgd";
  FailureOr<OptimizerAttr> optimizer = checked<OptimizerAttr>(
      sv.valueLoc("optimizer", at), enumOf(symbolizeOptimizerKind, o.s),
      APFloat(num(o, "lr")), APFloat(adam ? 0.0 : num(o, "momentum")),
      !adam && field(o, "nesterov").b,
      APFloat(adam ? betas.elems[0].number() : 0.9),
      APFloat(adam ? betas.elems[1].number() : 0.999),
      APFloat(adam ? num(o, "eps") : 1e-8), APFloat(num(o, "weight_decay")));

  FailureOr<GenValue> schedValue = valueOrDefault(sv, "schedule", "constant");
  FailureOr<ScheduleAttr> schedule = failure();
  if (succeeded(schedValue)) {
    const GenValue *sch = &*schedValue;
    bool step = sch->s == "step", cosine = sch->s == "cosine";
    schedule = checked<ScheduleAttr>(
        sv.valueLoc("schedule", at), enumOf(symbolizeScheduleKind, sch->s),
        step ? integer(*sch, "every") : 0,
        APFloat(step ? num(*sch, "gamma") : 0.1), integer(*sch, "warmup"),
        APFloat(cosine ? num(*sch, "min_lr") : 0.0));
  }

  FailureOr<GenValue> ckValue = valueOrDefault(sv, "checkpoint", "every");
  FailureOr<CheckpointAttr> checkpoint = failure();
  if (succeeded(ckValue)) {
    const GenValue *ck = &*ckValue;
    checkpoint = checked<CheckpointAttr>(
        sv.valueLoc("checkpoint", at), integer(*ck, "epochs"),
        integer(*ck, "steps"), StringRef(field(*ck, "dir").s),
        integer(*ck, "keep"));
  }

  SmallVector<Attribute> metrics;
  if (const GenValue *ms = sv.get("metrics")) {
    for (const GenValue &m : ms->elems)
      metrics.push_back(
          MetricAttr::get(&ctx, enumOf(symbolizeMetricKind, m.s),
                          enumOf(symbolizeWeighting, field(m, "weight").s)));
  } else {
    for (llvm::StringRef name : {"rmse", "acc"}) {
      FailureOr<GenValue> m = defaultCall(name);
      if (failed(m))
        return failure();
      metrics.push_back(
          MetricAttr::get(&ctx, enumOf(symbolizeMetricKind, name),
                          enumOf(symbolizeWeighting, field(*m, "weight").s)));
    }
  }
  if (failed(optimizer) || failed(schedule) || failed(checkpoint))
    return failure();
  const GenValue *precision = sv.get("precision"), *seed = sv.get("seed"),
                 *clip = sv.get("grad_clip"),
                 *accumulate = sv.get("accumulate");
  TrainOp::create(
      builder, FusedLoc::get(&ctx, sv.fused), model, data, sv.get("epochs")->i,
      sv.get("batch")->i, accumulate ? accumulate->i : 1,
      precision ? enumOf(symbolizePrecision, precision->s) : Precision::fp32,
      seed ? seed->i : 0, APFloat(clip ? clip->number() : 0.0), *optimizer,
      *schedule, *checkpoint, builder.getArrayAttr(metrics));
  return success();
}

LogicalResult MLIRGen::lowerSection(const SectionDecl &sec) {
  Location at = loc(sec.keywordRange);
  FailureOr<SectionValues> sv = evalEntries(sec.entries, at);
  if (failed(sv))
    return failure();
  std::string model, data;
  if (auto *m = onlyDecl<ModelInstanceDecl>(*mainModule))
    model = m->getName().name;
  if (auto *d = onlyDecl<DataDecl>(*mainModule))
    data = d->getName().name;
  if (const GenValue *m = sv->get("model"))
    model = m->s;
  if (const GenValue *d = sv->get("data"))
    data = d->s;
  builder.setInsertionPointToEnd(module.getBody());
  switch (sec.sectionKind) {
  case SectionDecl::SectionKind::Rollout:
    return lowerRollout(*sv, at, model, data);
  case SectionDecl::SectionKind::Train:
    return lowerTrain(*sv, at, model, data);
  case SectionDecl::SectionKind::Parallel:
    return lowerParallel(*sv);
  }
  return success();
}

/// The section of `kind` in `m`, if any.
static const SectionDecl *sectionOf(const s2s::Module &m,
                                    SectionDecl::SectionKind kind) {
  for (const DeclPtr &d : m.decls)
    if (auto *sec = dyn_cast<SectionDecl>(d.get());
        sec && sec->sectionKind == kind)
      return sec;
  return nullptr;
}

/// What one call of the model takes: [batch, channels, lat, lon] of the
/// data set the rollout trains on (the one it names, or the only one),
/// the train section's batch; with patches, [batch * patches, channels,
/// patch lat, patch lon]. Sizes the spec does not give stay dynamic.
void MLIRGen::planSampleShape(const s2s::Module &main) {
  using Kind = SectionDecl::SectionKind;
  const SectionDecl *rollout = sectionOf(main, Kind::Rollout);
  const SectionDecl *train = sectionOf(main, Kind::Train);
  const DataDecl *data = onlyDecl<DataDecl>(main);
  if (const Entry *e = rollout ? rollout->find("data") : nullptr)
    if (auto *ref = dyn_cast<NameRef>(e->value.get()))
      for (const DeclPtr &d : main.decls)
        if (auto *dd = dyn_cast<DataDecl>(d.get());
            dd && dd->getName().name == ref->name)
          data = dd;
  int64_t batch = ShapedType::kDynamic;
  if (const Entry *b = train ? train->find("batch") : nullptr)
    if (auto *lit = dyn_cast<IntLit>(b->value.get()))
      batch = lit->value;
  sampleData = data;
  const Entry *ch = data ? data->find("channels") : nullptr;
  auto *list = ch ? dyn_cast<ListLit>(ch->value.get()) : nullptr;
  if (!list)
    return;
  // Without a grid the runtime reads it from the files: dynamic sizes.
  int64_t lat = ShapedType::kDynamic, lon = ShapedType::kDynamic;
  if (const Entry *grid = data->find("grid")) {
    FailureOr<GenValue> g = eval(*grid->value, globals);
    if (succeeded(g) && g->elems.size() == 2) {
      lat = g->elems[0].i;
      lon = g->elems[1].i;
    }
  }
  dataShape = SmallVector<int64_t>{
      batch, static_cast<int64_t>(list->elems.size()), lat, lon};
  const Entry *patches = rollout ? rollout->find("patches") : nullptr;
  if (!patches)
    return;
  FailureOr<GenValue> p = eval(*patches->value, globals);
  if (failed(p))
    return;
  const GenValue &size = field(*p, "size"), &stride = field(*p, "stride");
  if (size.elems.size() != 2 || stride.elems.size() != 2)
    return;
  (*dataShape)[2] = size.elems[0].i;
  (*dataShape)[3] = size.elems[1].i;
  (*dataShape)[0] = ShapedType::kDynamic;
  if (ShapedType::isDynamic(lat) || ShapedType::isDynamic(batch))
    return; // s2s-unroll-rollout reports it
  const int64_t g[2] = {lat, lon}, sz[2] = {size.elems[0].i, size.elems[1].i},
                st[2] = {stride.elems[0].i, stride.elems[1].i}, h[2] = {0, 0};
  rt::PatchLayout l = rt::patchLayout(g, sz, st, h);
  if (l.problem.empty())
    (*dataShape)[0] = batch * l.count();
}

/// The train section's batch against the parallel section's mesh: the
/// batch is split evenly over the data-parallel processes, and each one's
/// share into `accumulate` micro-batches.
LogicalResult MLIRGen::checkBatchSplit() {
  TrainOp train;
  module.walk([&](TrainOp t) { train = t; });
  if (!train)
    return success();
  int64_t processes = 1;
  module.walk([&](ParallelOp p) {
    processes = p.getNumProcesses() / p.getAxisSize("tensor");
  });
  int64_t batch = train.getBatch(), accumulate = train.getAccumulate();
  if (batch % processes != 0)
    return emitError(sectionKeyLoc(train, "batch"))
           << "a batch of " << batch << " does not split evenly over the "
           << processes << " data-parallel processes of the mesh; use a "
           << "multiple of " << processes;
  if ((batch / processes) % accumulate != 0)
    return emitError(sectionKeyLoc(train, "accumulate"))
           << "each process's " << batch / processes
           << " samples of a batch do not split evenly into " << accumulate
           << " micro-batches; use an 'accumulate' that divides "
           << batch / processes;
  return success();
}

OwningOpRef<ModuleOp> MLIRGen::lower(const s2s::Module &main) {
  mainModule = &main;
  module = ModuleOp::create(loc(llvm::SMRange()));
  OwningOpRef<ModuleOp> owned(module);
  names.push_back(NameScope());

  planSampleShape(main);

  bool ok = true;
  for (const DeclPtr &d : main.decls) {
    LogicalResult r = success();
    if (auto *data = dyn_cast<DataDecl>(d.get()))
      r = lowerData(*data);
    else if (auto *inst = dyn_cast<ModelInstanceDecl>(d.get()))
      r = lowerInstance(*inst);
    ok &= succeeded(r);
  }
  for (const DeclPtr &d : main.decls)
    if (auto *sec = dyn_cast<SectionDecl>(d.get()))
      ok &= succeeded(lowerSection(*sec));
  if (!ok || failed(verify(module)) || failed(checkBatchSplit()))
    return nullptr;
  return owned;
}

} // namespace

OwningOpRef<ModuleOp> s2s::lowerToMLIR(MLIRContext &context,
                                       const s2s::Module &main,
                                       llvm::SourceMgr &srcMgr) {
  context.loadDialect<S2SDialect, func::FuncDialect>();
  return MLIRGen(context, srcMgr).lower(main);
}
