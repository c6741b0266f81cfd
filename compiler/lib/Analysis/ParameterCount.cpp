//===- ParameterCount.cpp - Learnable parameters of a model forward -------===//

#include "s2s/Analysis/ParameterCount.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace s2s;

/// `AFNOBlock.3.linear.0` belongs to `AFNOBlock.3`; `pos` to `pos`.
static std::string componentOf(StringRef name) {
  auto [first, rest] = name.split('.');
  auto [second, tail] = rest.split('.');
  if (!second.empty() &&
      llvm::all_of(second, [](char c) { return llvm::isDigit(c); }))
    return (first + "." + second).str();
  return first.str();
}

FailureOr<SmallVector<ModelParameter>>
s2s::collectParameters(func::FuncOp model) {
  SmallVector<ModelParameter> out;
  bool unknown = false;
  model.walk([&](ParameterizedOp op) {
    SmallVector<ParameterInfo> params;
    if (failed(op.getParameters(params))) {
      unknown = true;
      return;
    }
    auto name = op->getAttrOfType<StringAttr>("name");
    std::string prefix = name ? name.str() : std::string();
    for (ParameterInfo &p : params) {
      std::string path = p.suffix.empty() ? prefix
                         : prefix.empty() ? p.suffix
                                          : prefix + "." + p.suffix;
      out.push_back({std::move(path), componentOf(prefix), std::move(p), op});
    }
  });
  if (unknown)
    return failure();
  return out;
}

FailureOr<ParameterCount> s2s::countParameters(func::FuncOp model) {
  FailureOr<SmallVector<ModelParameter>> params = collectParameters(model);
  if (failed(params))
    return failure();
  ParameterCount count;
  llvm::StringMap<size_t> index;
  for (const ModelParameter &p : *params) {
    auto [it, inserted] = index.try_emplace(p.unit, count.components.size());
    if (inserted)
      count.components.push_back({p.unit, 0});
    int64_t &component = count.components[it->second].second;
    component = saturatingAdd(component, p.info.numElements());
    count.total = saturatingAdd(count.total, p.info.numElements());
  }
  return count;
}

SmallVector<int64_t>
s2s::unitLengths(ArrayRef<ModelParameter> params,
                 function_ref<int64_t(const ModelParameter &)> values) {
  SmallVector<int64_t> lengths;
  for (size_t i = 0; i < params.size(); ++i) {
    if (i == 0 || params[i].unit != params[i - 1].unit)
      lengths.push_back(0);
    lengths.back() =
        saturatingAdd(lengths.back(), values ? values(params[i])
                                             : params[i].info.numElements());
  }
  return lengths;
}
