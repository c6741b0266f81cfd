//===- Autocast.cpp - Mixed-precision forward passes ----------------------===//

#include "model/Autocast.h"

#include "s2s/runtime/Error.h"

#include <ATen/autocast_mode.h>

namespace s2s::rt {

torch::ScalarType reducedType(Precision precision) {
  switch (precision) {
  case Precision::Fp32:
    return torch::kFloat;
  case Precision::Bf16:
    return torch::kBFloat16;
  case Precision::Fp16:
    return torch::kHalf;
  }
  throw Error("unknown precision " +
              std::to_string(static_cast<int>(precision)));
}

torch::Tensor atLeastFloat(const torch::Tensor &x) {
  const torch::ScalarType t = x.scalar_type();
  return t == torch::kBFloat16 || t == torch::kHalf ? x.to(torch::kFloat) : x;
}

AutocastGuard::AutocastGuard(Precision precision, torch::Device device) {
  if (precision == Precision::Fp32)
    return;
  cuda_ = device.is_cuda();
  if (!cuda_ && !device.is_cpu())
    throw Error(std::string("precision ") + name(precision) +
                " needs a CPU or CUDA device, not " + device.str());
  if (!cuda_ && precision == Precision::Fp16)
    throw Error("precision fp16 runs on a CUDA device only (LibTorch's CPU "
                "autocast has bf16 only): use precision = bf16 on a CPU");
  const torch::ScalarType type = reducedType(precision);
  if (cuda_) {
    wasEnabled_ = at::autocast::is_enabled();
    wasType_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_autocast_gpu_dtype(type);
    at::autocast::set_enabled(true);
  } else {
    wasEnabled_ = at::autocast::is_cpu_enabled();
    wasType_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_autocast_cpu_dtype(type);
    at::autocast::set_cpu_enabled(true);
  }
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastGuard::~AutocastGuard() {
  if (!active_)
    return;
  // As torch.autocast's __exit__: the cast cache lives as long as the
  // outermost autocast scope.
  if (at::autocast::decrement_nesting() == 0)
    at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(wasEnabled_);
    at::autocast::set_autocast_gpu_dtype(wasType_);
  } else {
    at::autocast::set_cpu_enabled(wasEnabled_);
    at::autocast::set_autocast_cpu_dtype(wasType_);
  }
}

} // namespace s2s::rt
