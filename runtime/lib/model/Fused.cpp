//===- Fused.cpp - Fused kernels for passes without a graph ---------------===//

#include "model/Fused.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <cmath>

namespace s2s::rt::fused {

bool fusable(std::initializer_list<torch::Tensor> xs) {
  if (at::GradMode::is_enabled() || at::autocast::is_cpu_enabled() ||
      at::autocast::is_enabled())
    return false;
  for (const torch::Tensor &x : xs) {
    if (!x.defined() || !x.device().is_cpu() ||
        !x.is_non_overlapping_and_dense() || x.layout() != torch::kStrided)
      return false;
    auto t = x.is_complex() ? c10::toRealValueType(x.scalar_type())
                            : x.scalar_type();
    if (t != torch::kFloat32 && t != torch::kFloat64)
      return false;
  }
  return true;
}

torch::Tensor attention(const torch::Tensor &qkvIn, int64_t heads) {
  const torch::Tensor qkv = qkvIn.contiguous();
  const int64_t b = qkv.size(0), n = qkv.size(1), e = qkv.size(2) / 3,
                d = e / heads;
  torch::Tensor out = at::empty({b, n, e}, qkv.options());
  // One [n, n] score matrix per (sample, head), filled, normalised in
  // place and multiplied by v by the same thread while it is in cache.
  torch::Tensor scores = at::empty({b * heads, n, n}, qkv.options());
  const torch::Tensor parts = qkv.view({b, n, 3, heads, d});
  const torch::Tensor merged = out.view({b, n, heads, d});
  const double scale = 1.0 / std::sqrt(double(d));
  // Inside the parallel region each GEMM runs on its own thread (ATen and
  // OpenMP BLAS do not nest): one region for all b * heads of them.
  at::parallel_for(0, b * heads, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const torch::Tensor tokens = parts.select(0, i / heads);
      const int64_t h = i % heads;
      // [n, d] views with row stride 3e: no copies.
      const torch::Tensor q = tokens.select(1, 0).select(1, h),
                          k = tokens.select(1, 1).select(1, h),
                          v = tokens.select(1, 2).select(1, h);
      torch::Tensor s = scores.select(0, i);
      at::addmm_out(s, s, q, k.t(), /*beta=*/0, /*alpha=*/scale);
      at::_softmax_out(s, s, -1, false);
      torch::Tensor o = merged.select(0, i / heads).select(1, h);
      at::mm_out(o, s, v);
    }
  });
  return out;
}

} // namespace s2s::rt::fused
