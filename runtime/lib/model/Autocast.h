//===- Autocast.h - Mixed-precision forward passes ---------------*- C++
//-*-===//
//
// `train { precision = bf16 | fp16 }`: the model's forward passes run under
// LibTorch's autocast, which runs matrix products and convolutions in the
// reduced type and keeps what needs range or accuracy (norms, softmax on
// CUDA, FFTs, losses, reductions) in fp32. The parameters stay fp32 (they
// are the master weights the optimizer updates, with fp32 state): autocast
// casts each one where an op uses it and keeps the cast for the rest of
// the guarded scope. Gradients reach the parameters in fp32.
//
// The kernels (Ops.h) do the rest: norms and FFTs take fp32 inputs, the
// loss is computed in fp32 (LibTorch 1.13's CPU layer_norm and group_norm
// refuse a bf16 input with fp32 weights; its FFTs have no bf16 kernels).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_AUTOCAST_H
#define S2S_RUNTIME_MODEL_AUTOCAST_H

#include "s2s/runtime/Config.h"

#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/torch.h>

namespace s2s::rt {

/// The type autocast computes in under `precision`: kBFloat16, kHalf, or
/// kFloat for fp32 (no autocast).
torch::ScalarType reducedType(Precision precision);

/// x in fp32 when it is bf16 or fp16; otherwise x itself (fp32, fp64,
/// integers, complex).
torch::Tensor atLeastFloat(const torch::Tensor &x);

/// Inside a kernel: ops run as written, not as autocast would (LibTorch
/// 1.13's CPU autocast casts a norm's input back to bf16 but not its fp32
/// weights, and the norm then fails). Autocast's own wrappers do the same.
class AutocastOff {
public:
  AutocastOff()
      : exclude_(c10::DispatchKeySet(
            {c10::DispatchKey::AutocastCPU, c10::DispatchKey::AutocastCUDA})) {}

private:
  c10::impl::ExcludeDispatchKeyGuard exclude_;
};

/// Runs the forward passes of its scope in `precision` on `device`'s kind
/// (CPU or CUDA). fp32: does nothing. On exit the previous autocast state
/// comes back and, leaving the outermost guard, the casts of the
/// parameters are dropped (so the next step casts the updated weights).
/// Run the backward outside it, as torch.autocast advises. Throws Error for
/// fp16 on a CPU (LibTorch 1.13's CPU autocast has bf16 only).
class AutocastGuard {
public:
  AutocastGuard(Precision precision, torch::Device device);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard &) = delete;
  AutocastGuard &operator=(const AutocastGuard &) = delete;

private:
  bool active_ = false, cuda_ = false;
  bool wasEnabled_ = false;
  torch::ScalarType wasType_ = torch::kFloat;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_MODEL_AUTOCAST_H
