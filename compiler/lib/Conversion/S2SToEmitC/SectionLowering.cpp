//===- SectionLowering.cpp - The spec's sections as the runtime's Spec ----===//
//
// The data, rollout, parallel and train ops become
//
//   s2s::rt::Spec configure() {
//     s2s::rt::Spec v1;
//     v1.train.epochs = 8;
//     v1.train.optimizer.kind = s2s::rt::OptimizerKind::Adam;
//     ...
//     return v1;
//   }
//
// one assignment per value to the runtime's typed field (Config.h), so a
// field the runtime does not have is a compile error of the generated
// program, never a value lost on the way. Values the runtime does not
// implement yet are errors here, at their spec line.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"
#include "RuntimeABI.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace s2s;

namespace {

/// Assigns C++ values to the fields of one `s2s::rt::Spec` variable.
class SpecBuilder {
public:
  SpecBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {
    spec = emitc::VariableOp::create(b, loc, lvalueOf(abi::kSpec),
                                     emitc::OpaqueAttr::get(ctx(), ""));
  }

  /// `spec.<path> = <text>;` where the field has C++ type `type`.
  void set(StringRef path, StringRef type, const std::string &text) {
    Type t = emitc::OpaqueType::get(ctx(), type);
    Value value = emitc::LiteralOp::create(b, loc, t, text);
    emitc::AssignOp::create(b, loc, member(path, type), value);
  }
  void str(StringRef path, StringRef v) {
    set(path, "std::string", abi::cxxString(v));
  }
  void i64(StringRef path, int64_t v) { set(path, "int64_t", abi::cxxInt(v)); }
  void f64(StringRef path, double v) { set(path, "double", abi::cxxDouble(v)); }
  void f64(StringRef path, const APFloat &v) { f64(path, v.convertToDouble()); }
  void boolean(StringRef path, bool v) { set(path, "bool", abi::cxxBool(v)); }
  template <typename E> void enumeration(StringRef path, E v) {
    std::string text = abi::cxxEnum(v);
    set(path, StringRef(text).rsplit("::").first, text);
  }

  /// The Spec, for the function's return.
  Value load() {
    return emitc::LoadOp::create(
        b, loc, emitc::OpaqueType::get(ctx(), abi::kSpec), spec);
  }

private:
  MLIRContext *ctx() { return b.getContext(); }
  Type lvalueOf(StringRef type) {
    return emitc::LValueType::get(emitc::OpaqueType::get(ctx(), type));
  }

  /// The lvalue `spec.a.b.c`; intermediate structs are typed by their
  /// path, which only the verifier sees (members print inline).
  Value member(StringRef path, StringRef type) {
    auto [parentPath, name] = path.rsplit('.');
    Value parent = spec;
    if (name.empty()) {
      name = parentPath;
    } else {
      auto it = structs.find(parentPath);
      if (it == structs.end())
        it = structs
                 .insert({parentPath,
                          member(parentPath,
                                 ("s2s::rt::Spec::" + parentPath).str())})
                 .first;
      parent = it->second;
    }
    return emitc::MemberOp::create(b, loc, lvalueOf(type), name, parent);
  }

  OpBuilder &b;
  Location loc;
  Value spec;
  llvm::StringMap<Value> structs;
};

std::string yearRange(ArrayRef<int64_t> r) {
  return "s2s::rt::YearRange{" + abi::cxxInt(r[0]) + ", " + abi::cxxInt(r[1]) +
         "}";
}

void setData(SpecBuilder &s, DataOp data) {
  s.str("data.name", data.getSymName());
  std::vector<std::string> channels;
  for (Attribute a : data.getChannels())
    channels.push_back(cast<StringAttr>(a).str());
  s.set("data.channels", "std::vector<std::string>", abi::cxxStrings(channels));
  if (auto g = data.getGrid())
    s.set("data.grid", "std::vector<int64_t>", abi::cxxInts(*g));
  if (auto step = data.getStep())
    s.i64("data.stepSeconds", static_cast<int64_t>(*step));
  s.i64("data.history", static_cast<int64_t>(data.getHistory()));
  SourceAttr src = data.getSource();
  s.str("data.pattern", src.getPattern());
  s.str("data.field", src.getField());
  if (src.getKind() == SourceKind::server) {
    s.str("data.server", src.getAddress());
    s.str("data.serverSet", src.getName());
  }
  if (SplitAttr split = data.getSplitAttr()) {
    s.set("data.train", "s2s::rt::YearRange", yearRange(split.getTrain()));
    s.set("data.valid", "s2s::rt::YearRange", yearRange(split.getValid()));
    s.set("data.test", "s2s::rt::YearRange", yearRange(split.getTest()));
  }
  if (NormalizeAttr n = data.getNormalizeAttr()) {
    s.enumeration("data.normalize", n.getKind());
    s.str("data.stats", n.getStats());
  }
  MemoryAttr m = data.getMemory();
  s.enumeration("data.memory.mode", m.getMode());
  s.boolean("data.memory.shared", m.getShared());
  s.i64("data.memory.prefetch", m.getPrefetch());
  s.i64("data.memory.buffer", m.getBuffer());
  s.f64("data.memory.refresh", m.getRefresh());
}

void setRollout(SpecBuilder &s, RolloutOp rollout) {
  s.str("modelName", rollout.getModel());
  s.i64("rollout.order", static_cast<int64_t>(rollout.getOrder()));
  LossAttr loss = rollout.getLoss();
  s.enumeration("rollout.loss.kind", loss.getKind());
  s.enumeration("rollout.loss.weight", loss.getWeight());
  s.f64("rollout.loss.delta", loss.getDelta());
  ArrayRef<int64_t> leads;
  if (std::optional<ArrayRef<int64_t>> l = rollout.getLeads())
    leads = *l;
  s.set("rollout.leads", "std::vector<int64_t>", abi::cxxInts(leads));
}

void setParallel(SpecBuilder &s, ParallelOp parallel) {
  std::vector<std::string> axes;
  for (Attribute a : parallel.getAxes())
    axes.push_back(cast<StringAttr>(a).str());
  s.set("parallel.axes", "std::vector<std::string>", abi::cxxStrings(axes));
  s.set("parallel.sizes", "std::vector<int64_t>",
        abi::cxxInts(parallel.getSizes()));
  s.enumeration("parallel.strategy", parallel.getStrategy());
  s.enumeration("parallel.backend", parallel.getBackend());
  s.i64("parallel.timeoutSeconds", parallel.getTimeout());
}

void setTrain(SpecBuilder &s, TrainOp train) {
  s.i64("train.epochs", static_cast<int64_t>(train.getEpochs()));
  s.i64("train.batch", static_cast<int64_t>(train.getBatch()));
  s.i64("train.accumulate", train.getAccumulate());
  s.enumeration("train.precision", train.getPrecision());
  s.i64("train.seed", static_cast<int64_t>(train.getSeed()));
  s.f64("train.gradClip", train.getGradClip().convertToDouble());
  OptimizerAttr o = train.getOptimizer();
  s.enumeration("train.optimizer.kind", o.getKind());
  s.f64("train.optimizer.lr", o.getLr());
  s.f64("train.optimizer.momentum", o.getMomentum());
  s.boolean("train.optimizer.nesterov", o.getNesterov());
  s.f64("train.optimizer.beta1", o.getBeta1());
  s.f64("train.optimizer.beta2", o.getBeta2());
  s.f64("train.optimizer.eps", o.getEps());
  s.f64("train.optimizer.weightDecay", o.getWeightDecay());
  ScheduleAttr sch = train.getSchedule();
  s.enumeration("train.schedule.kind", sch.getKind());
  s.i64("train.schedule.every", sch.getEvery());
  s.f64("train.schedule.gamma", sch.getGamma());
  s.i64("train.schedule.warmup", sch.getWarmup());
  s.f64("train.schedule.minLr", sch.getMinLr());
  CheckpointAttr c = train.getCheckpoint();
  s.i64("train.checkpoint.everyEpochs", c.getEpochs());
  s.i64("train.checkpoint.everySteps", c.getSteps());
  s.str("train.checkpoint.dir", c.getDir());
  s.i64("train.checkpoint.keep", c.getKeep());
  std::string metrics = "{";
  for (auto [i, a] : llvm::enumerate(train.getMetrics())) {
    auto m = cast<MetricAttr>(a);
    metrics += (i ? ", " : "") + std::string("s2s::rt::MetricConfig{") +
               abi::cxxEnum(m.getKind()) + ", " + abi::cxxEnum(m.getWeight()) +
               "}";
  }
  s.set("train.metrics", "std::vector<s2s::rt::MetricConfig>", metrics + "}");
}

/// An error at entry `key` of `op`: the spec value is valid but the
/// runtime cannot carry it out yet, so it must not be accepted.
InFlightDiagnostic notYet(Operation *op, StringRef key) {
  return emitError(sectionKeyLoc(op, key));
}

} // namespace

LogicalResult s2s::checkRuntimeSupport(DataOp data, RolloutOp rollout,
                                       ParallelOp parallel, TrainOp train) {
  bool ok = true;
  if (data && data.getHistory() != 1) {
    notYet(data, "history")
        << "history = " << static_cast<int64_t>(data.getHistory())
        << " (several input time steps per sample) is not implemented yet; "
           "remove it (the default is 1)";
    ok = false;
  }
  if (parallel) {
    Strategy s = parallel.getStrategy();
    for (auto [a, n] : llvm::zip(parallel.getAxes(), parallel.getSizes())) {
      StringRef axis = cast<StringAttr>(a).getValue();
      if (axis == "data" || n == 1)
        continue;
      if (axis == "tensor") {
        if (s == Strategy::ddp) {
          // A tensor axis over a model with nothing to split would run the
          // same computation on every tensor rank: refused, not silently
          // replicated.
          bool split = false;
          if (auto module = parallel->getParentOfType<ModuleOp>())
            module.walk([&](Operation *op) {
              split |= op->hasAttr(attrs::kTensorParts);
            });
          if (!split) {
            notYet(parallel, "mesh")
                << "mesh axis 'tensor' of size " << n
                << ": the model has no layer a tensor axis splits "
                   "(attention, or a linear whose result reaches another "
                   "linear through pointwise ops); use [tensor: 1]";
            ok = false;
          }
          continue;
        }
        notYet(parallel, "strategy")
            << "strategy " << stringifyStrategy(s)
            << " on a mesh with a tensor axis is not implemented yet: "
               "tensor parallel composes with ddp over the data axis; use "
               "strategy = ddp or [tensor: 1]";
        ok = false;
        continue;
      }
      notYet(parallel, "mesh")
          << "mesh axis '" << axis << "' of size " << n
          << " is not implemented yet: this runtime spreads training over "
             "the data and tensor axes only; use ["
          << axis
          << ": 1] to compile it now (s2sc --emit=plan plans memory for "
             "any mesh)";
      ok = false;
    }
    if (rollout && rollout.getJacobianAttr() &&
        (s == Strategy::zero3 || s == Strategy::fsdp) &&
        parallel.getAxisSize("data") > 1) {
      notYet(rollout, "jacobian")
          << "a Jacobian penalty with parameters sharded per unit (zero3, "
             "fsdp) is not implemented yet: the penalty's first backward "
             "reads units the sharding has freed; use zero2 or ddp";
      ok = false;
    }
  }
  return success(ok);
}

void s2s::buildConfigure(OpBuilder &b, Location loc, const SpecSources &src) {
  Type specTy = emitc::OpaqueType::get(b.getContext(), abi::kSpec);
  auto fn = emitc::FuncOp::create(b, loc, "configure",
                                  b.getFunctionType({}, {specTy}));
  Block *entry = fn.addEntryBlock();
  OpBuilder body = OpBuilder::atBlockEnd(entry);
  SpecBuilder s(body, loc);
  s.str("name", src.programName);
  s.str("specFile", src.specFile);
  if (src.data)
    setData(s, src.data);
  if (src.rollout)
    setRollout(s, src.rollout);
  if (src.parallel)
    setParallel(s, src.parallel);
  if (src.train)
    setTrain(s, src.train);
  emitc::ReturnOp::create(body, loc, s.load());
}
