//===- context.h - What c10d's reducer.hpp needs of it ----------*- C++ -*-===//
//
// Debian's libtorch-dev ships torch/csrc/distributed/c10d/reducer.hpp but
// not the distributed-autograd header it includes. The Reducer only names
// two things of it: the type of a gradient callback (checked by a
// static_assert against its own) and a shared pointer to the context
// (held, never dereferenced in the header). Declaring them as upstream
// does (LibTorch 1.13, torch/csrc/distributed/autograd/context/context.h)
// gives the class the same layout. This folder is on the include path only
// when the real header is missing (runtime/CMakeLists.txt); official
// LibTorch archives ship it.
//
//===----------------------------------------------------------------------===//

#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext {
public:
  using GradCallback = std::function<bool(at::Tensor &)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

} // namespace autograd
} // namespace distributed
} // namespace torch
