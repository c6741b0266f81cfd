//===- Summary.cpp - s2sc --emit=summary ----------------------------------===//

#include "s2s/Driver/Summary.h"

#include "s2s/Analysis/ParameterCount.h"
#include "s2s/Dialect/S2SOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

std::string s2s::withCommas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

static std::string shapeOf(mlir::Type t) {
  auto r = llvm::dyn_cast<mlir::RankedTensorType>(t);
  if (!r)
    return "?";
  std::string s = "[";
  for (int64_t i = 0; i < r.getRank(); ++i) {
    if (i)
      s += ", ";
    s += r.isDynamicDim(i) ? "?" : std::to_string(r.getDimSize(i));
  }
  return s + "]";
}

/// The torchinfo-like table of `--emit=summary`.
bool s2s::printSummary(mlir::ModuleOp module, llvm::raw_ostream &os) {
  bool ok = true;
  module.walk([&](mlir::func::FuncOp fn) {
    auto model = fn->getAttrOfType<mlir::StringAttr>(s2s::attrs::kModel);
    if (!model)
      return;
    mlir::FailureOr<s2s::ParameterCount> count = s2s::countParameters(fn);
    if (mlir::failed(count)) {
      fn.emitError() << "parameter shapes of '" << fn.getSymName()
                     << "' are not all known";
      ok = false;
      return;
    }
    // The output of each component: its last parameterized op's result.
    llvm::StringMap<std::string> output;
    fn.walk([&](s2s::ParameterizedOp op) {
      auto name = op->getAttrOfType<mlir::StringAttr>("name");
      if (!name)
        return;
      for (auto &[component, params] : count->components)
        if (name.getValue() == component ||
            name.getValue().starts_with(component + "."))
          output[component] = shapeOf(op->getResult(0).getType());
    });
    os << "model " << fn.getSymName() << " = " << model.getValue() << "\n";
    for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes()))
      os << "  input " << i << ": " << shapeOf(t) << "\n";
    os << llvm::format("  %-28s %-24s %16s\n", "component", "output", "params");
    for (auto &[component, params] : count->components)
      os << llvm::format("  %-28s %-24s %16s\n", component.c_str(),
                         output.lookup(component).c_str(),
                         withCommas(params).c_str());
    for (auto [i, t] : llvm::enumerate(fn.getResultTypes()))
      os << "  output " << i << ": " << shapeOf(t) << "\n";
    os << "  total params: " << withCommas(count->total) << "\n";
    if (auto mem = fn->getAttrOfType<s2s::MemoryPlanAttr>(s2s::attrs::kMemory))
      os << "  memory per rank: params " << s2s::formatBytes(mem.getParams())
         << ", grads " << s2s::formatBytes(mem.getGrads()) << ", optimizer "
         << s2s::formatBytes(mem.getOptimizer()) << ", step "
         << s2s::formatBytes(mem.getStep()) << ", total "
         << s2s::formatBytes(mem.getTotal()) << "\n";
  });
  return ok;
}
