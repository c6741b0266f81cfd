//===- TensorRoles.cpp - Megatron's layout of a model's layers ------------===//

#include "s2s/Analysis/TensorRoles.h"

using namespace mlir;
using namespace s2s;

namespace {

/// The linear this value reaches through pointwise ops only, if it is the
/// value's single user chain.
LinearOp nextLinear(Value v) {
  while (v.hasOneUse()) {
    Operation *user = *v.getUsers().begin();
    if (auto lin = dyn_cast<LinearOp>(user))
      return lin;
    if (!isa<ActivationOp, DropoutOp>(user))
      return nullptr;
    v = user->getResult(0);
  }
  return nullptr;
}

} // namespace

llvm::DenseMap<Operation *, TensorLayout> s2s::tensorRoles(func::FuncOp fn) {
  llvm::DenseMap<Operation *, TensorLayout> roles;
  fn.walk([&](LinearOp first) {
    if (roles.count(first))
      return;
    if (LinearOp second = nextLinear(first.getResult())) {
      roles[first] = TensorLayout::column;
      roles[second] = TensorLayout::row;
    }
  });
  fn.walk([&](AttentionOp attn) { roles[attn] = TensorLayout::column; });
  return roles;
}

bool s2s::splitsParameter(TensorLayout role, llvm::StringRef path) {
  switch (role) {
  case TensorLayout::replicated:
    return false;
  case TensorLayout::row:
    return path.ends_with(".weight");
  case TensorLayout::column:
    return !path.ends_with("proj.bias");
  }
  return false;
}
