//===- PlanReport.cpp - s2sc --emit=plan ----------------------------------===//

#include "s2s/Driver/PlanReport.h"

#include "s2s/Analysis/Plan.h"
#include "s2s/Driver/Summary.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

using namespace mlir;
using namespace s2s;

namespace {

std::string strategyName(Strategy s) { return stringifyStrategy(s).str(); }

struct StepTime {
  double compute = 0, comm = 0;
  double total() const { return compute + comm; }
};

/// Compute at the GPU's peak, plus the ring's bytes on the wire over the
/// bandwidths, not overlapped: an estimate, not a promise (docs/plan.md).
StepTime stepTime(const RankPlan &p, const Layout &l, const PlanOptions &o) {
  StepTime t;
  t.compute = p.flops / o.gpuFlops;
  int64_t tensorWire =
      l.tensor > 1 ? p.tensorReduce / l.tensor * 2 * (l.tensor - 1) : 0;
  t.comm = double(p.wire - tensorWire) / o.netBandwidth +
           double(tensorWire) / o.linkBandwidth;
  return t;
}

void row(raw_ostream &os, const char *what, int64_t bytes,
         const std::string &note = "") {
  os << llvm::format("  %-34s %22s  %-11s %s\n", what,
                     withCommas(bytes).c_str(), formatBytes(bytes).c_str(),
                     note.c_str());
}

/// The spec's own mesh, in full. False when it does not fit.
bool printOne(func::FuncOp fn, const ModelCost &cost, const Layout &l,
              const PlanOptions &o, raw_ostream &os) {
  RankPlan p = planRank(cost, l);
  Layout kept = l, recomputed = l;
  kept.asSpec = recomputed.asSpec = false;
  recomputed.recompute = true;
  RankPlan pk = planRank(cost, kept), pr = planRank(cost, recomputed);
  os << "plan of model '" << fn.getSymName()
     << "': " << withCommas(cost.parameters)
     << " parameters, mesh [data: " << l.data << ", tensor: " << l.tensor
     << "], strategy " << strategyName(l.strategy) << ", " << cost.modelCalls
     << " model call(s) per step, " << cost.recomputed << " recomputed\n";
  os << "per rank                                              bytes\n";
  row(os, "parameters", p.params);
  row(os, "gradients", p.grads);
  row(os, "optimizer state", p.optimizer);
  row(os, "activations", p.activations, "as the spec recomputes");
  row(os, "activations, nothing recomputed", pk.activations);
  row(os, "activations, every call recomputed", pr.activations);
  row(os, "in flight (gathers, shards)", p.transient);
  row(os, "step, above the state", p.step,
      "the step's peak (S2S_STATS=1 step_peak_bytes)");
  row(os, "data batch", p.batch);
  row(os, "peak", p.peak);
  os << "communication per step per rank           handed         on the "
        "wire (ring)\n";
  auto comm = [&](const char *what, int64_t handed, int64_t k, int numer) {
    int64_t wire = k > 1 ? handed / k * numer * (k - 1) : 0;
    os << llvm::format("  %-28s %20s  %20s  %s\n", what,
                       withCommas(handed).c_str(), withCommas(wire).c_str(),
                       formatBytes(wire).c_str());
  };
  comm("all-reduce (data)", p.allReduce, l.data, 2);
  comm("reduce-scatter (data)", p.reduceScatter, l.data, 1);
  comm("all-gather (data)", p.allGather, l.data, 1);
  comm("all-reduce (tensor)", p.tensorReduce, l.tensor, 2);
  StepTime t = stepTime(p, l, o);
  os << llvm::format("step: %.3g FLOP per rank; estimated %.3g s compute at "
                     "%.4g TFLOP/s + %.3g s communication\n",
                     p.flops, t.compute, o.gpuFlops / 1e12, t.comm);
  if (o.gpuMemory <= 0)
    return true;
  bool fits = p.peak <= o.gpuMemory;
  os << (fits ? "fits" : "DOES NOT FIT") << " a GPU of "
     << formatBytes(o.gpuMemory) << ": peak " << formatBytes(p.peak) << " ("
     << llvm::format("%.0f", 100.0 * double(p.peak) / double(o.gpuMemory))
     << "%)\n";
  return fits;
}

/// Every mesh [data, tensor] of `o.gpus`, each strategy, with and without
/// recomputation; those that fit first, by step time.
void printAll(ModuleOp module, func::FuncOp fn, const ModelCost &cost,
              int64_t heads, const PlanOptions &o, raw_ostream &os) {
  struct Option {
    Layout layout;
    RankPlan plan;
    StepTime time;
    bool fits;
  };
  // Each data rank takes a whole share of the global batch.
  int64_t batch = 0;
  module.walk([&](TrainOp train) { batch = train.getBatch(); });
  std::vector<Option> options;
  for (int64_t t = 1; t <= o.gpus; ++t) {
    if (o.gpus % t != 0 || (heads > 0 && heads % t != 0))
      continue;
    if (batch > 0 && batch % (o.gpus / t) != 0)
      continue;
    FailureOr<ModelCost> onAxis = modelCost(module, fn, t);
    if (failed(onAxis))
      continue;
    for (Strategy s :
         {Strategy::ddp, Strategy::zero1, Strategy::zero2, Strategy::zero3})
      for (bool re : {false, true}) {
        Layout l;
        l.data = o.gpus / t;
        l.tensor = t;
        l.strategy = s;
        l.asSpec = false;
        l.recompute = re;
        RankPlan p = planRank(*onAxis, l);
        options.push_back({l, p, stepTime(p, l, o),
                           o.gpuMemory <= 0 || p.peak <= o.gpuMemory});
      }
  }
  std::stable_sort(options.begin(), options.end(),
                   [](const Option &a, const Option &b) {
                     if (a.fits != b.fits)
                       return a.fits;
                     return a.time.total() < b.time.total();
                   });
  os << "plans of model '" << fn.getSymName() << "' ("
     << withCommas(cost.parameters) << " parameters) on " << o.gpus << " GPUs";
  if (o.gpuMemory > 0)
    os << " of " << formatBytes(o.gpuMemory);
  os << llvm::format(", %.4g TFLOP/s, %.4g GB/s data axis, %.4g GB/s "
                     "tensor axis\n",
                     o.gpuFlops / 1e12, o.netBandwidth / 1e9,
                     o.linkBandwidth / 1e9);
  os << llvm::format("  %-6s %-6s %-6s %-9s %11s %11s %11s %11s %11s %9s "
                     "%9s  %s\n",
                     "data", "tensor", "zero", "recompute", "params", "grads",
                     "optimizer", "step mem", "peak", "comm/step", "step s",
                     "fits");
  for (const Option &x : options)
    os << llvm::format(
        "  %-6lld %-6lld %-6s %-9s %11s %11s %11s %11s %11s %9s %9.3g  %s\n",
        (long long)x.layout.data, (long long)x.layout.tensor,
        strategyName(x.layout.strategy).c_str(),
        x.layout.recompute ? "yes" : "no", formatBytes(x.plan.params).c_str(),
        formatBytes(x.plan.grads).c_str(),
        formatBytes(x.plan.optimizer).c_str(), formatBytes(x.plan.step).c_str(),
        formatBytes(x.plan.peak).c_str(), formatBytes(x.plan.wire).c_str(),
        x.time.total(), x.fits ? "yes" : "no");
  if (!options.empty() && !options.front().fits)
    os << "no layout of " << o.gpus << " GPUs fits: the smallest peak is "
       << formatBytes(std::min_element(options.begin(), options.end(),
                                       [](const Option &a, const Option &b) {
                                         return a.plan.peak < b.plan.peak;
                                       })
                          ->plan.peak)
       << "\n";
}

} // namespace

bool s2s::printPlan(ModuleOp module, const PlanOptions &o, raw_ostream &os) {
  bool ok = true;
  Layout layout = specLayout(module);
  module.walk([&](func::FuncOp fn) {
    if (!fn->hasAttr(attrs::kModel))
      return;
    FailureOr<ModelCost> cost = modelCost(module, fn, layout.tensor);
    if (failed(cost)) {
      fn.emitError() << "no plan for '" << fn.getSymName()
                     << "': its parameter shapes depend on sizes known only "
                        "at run time (give the data set a 'grid')";
      ok = false;
      return;
    }
    if (o.gpus > 0) {
      // A tensor axis splits every attention's heads.
      int64_t heads = 0;
      fn.walk([&](AttentionOp a) { heads = std::gcd(heads, a.getHeads()); });
      printAll(module, fn, *cost, heads, o, os);
    } else if (!printOne(fn, *cost, layout, o, os)) {
      fn.emitError() << "the plan of '" << fn.getSymName()
                     << "' does not fit a GPU of " << formatBytes(o.gpuMemory)
                     << " (s2sc --gpu-mem): make the model, the batch or the "
                        "grid smaller, recompute activations, or shard more "
                        "(s2sc plan SPEC --gpus N lists the layouts)";
      ok = false;
    }
  });
  return ok;
}
