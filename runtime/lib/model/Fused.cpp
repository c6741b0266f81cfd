//===- Fused.cpp - Fused kernels for passes that record no graph ----------===//

#include "model/Fused.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
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

namespace {

/// One kept mode's blocks: x and y point at `blocks * bs` complex values
/// stored as (real, imaginary) pairs; t is scratch for 2 * bs values.
template <typename T> struct SpectralMlp {
  const T *w1, *b1, *w2, *b2; // [2, blocks, bs, bs] and [2, blocks, bs]
  int64_t blocks, bs;
  T lambda;

  /// y = W^T x + b on one block of complex values in (re, im) pairs, into
  /// separate real and imaginary rows.
  void layer(const T *x, int64_t xStride, const T *w, const T *bias, int64_t k,
             T *re, T *im) const {
    const int64_t planeW = blocks * bs * bs, planeB = blocks * bs;
    const T *wr = w + k * bs * bs, *wi = wr + planeW;
    const T *br = bias + k * bs, *bi = br + planeB;
    for (int64_t o = 0; o < bs; ++o) {
      re[o] = br[o];
      im[o] = bi[o];
    }
    for (int64_t i = 0; i < bs; ++i) {
      const T xr = x[i * xStride], xi = x[i * xStride + 1];
      const T *wro = wr + i * bs, *wio = wi + i * bs;
      for (int64_t o = 0; o < bs; ++o) {
        re[o] += xr * wro[o] - xi * wio[o];
        im[o] += xr * wio[o] + xi * wro[o];
      }
    }
  }

  T shrink(T v) const {
    return v > lambda ? v - lambda : (v < -lambda ? v + lambda : T(0));
  }

  void operator()(const T *x, T *y, T *t) const {
    for (int64_t k = 0; k < blocks; ++k) {
      T *hr = t, *hi = t + bs, *orr = t + 2 * bs, *oi = t + 3 * bs;
      layer(x + 2 * k * bs, 2, w1, b1, k, hr, hi);
      for (int64_t o = 0; o < bs; ++o) {
        hr[o] = std::max(hr[o], T(0));
        hi[o] = std::max(hi[o], T(0));
      }
      // The hidden layer back in (re, im) pairs for the second product.
      T *h = t + 4 * bs;
      for (int64_t o = 0; o < bs; ++o) {
        h[2 * o] = hr[o];
        h[2 * o + 1] = hi[o];
      }
      layer(h, 2, w2, b2, k, orr, oi);
      T *yk = y + 2 * k * bs;
      for (int64_t o = 0; o < bs; ++o) {
        yk[2 * o] = shrink(orr[o]);
        yk[2 * o + 1] = shrink(oi[o]);
      }
    }
  }
};

} // namespace

torch::Tensor afnoSpectralMlp(const torch::Tensor &X, const torch::Tensor &w1,
                              const torch::Tensor &b1, const torch::Tensor &w2,
                              const torch::Tensor &b2,
                              const std::vector<int64_t> &rows, int64_t kw,
                              double sparsity) {
  const int64_t B = X.size(0), H = X.size(1), Wr = X.size(2), C = X.size(3),
                blocks = w1.size(1), bs = w1.size(2);
  const torch::Tensor x = at::view_as_real(X.contiguous());
  torch::Tensor Y = at::zeros_like(X, at::MemoryFormat::Contiguous);
  torch::Tensor y = at::view_as_real(Y);
  const auto rt = x.scalar_type();
  const torch::Tensor W1 = w1.to(rt).contiguous(), B1 = b1.to(rt).contiguous(),
                      W2 = w2.to(rt).contiguous(), B2 = b2.to(rt).contiguous();
  const int64_t nr = int64_t(rows.size()), modes = B * nr * kw;
  AT_DISPATCH_FLOATING_TYPES(rt, "afnoSpectralMlp", [&] {
    const SpectralMlp<scalar_t> mlp{W1.data_ptr<scalar_t>(),
                                    B1.data_ptr<scalar_t>(),
                                    W2.data_ptr<scalar_t>(),
                                    B2.data_ptr<scalar_t>(),
                                    blocks,
                                    bs,
                                    scalar_t(sparsity)};
    const scalar_t *xp = x.data_ptr<scalar_t>();
    scalar_t *yp = y.data_ptr<scalar_t>();
    at::parallel_for(0, modes, 16, [&](int64_t lo, int64_t hi) {
      std::vector<scalar_t> scratch(6 * bs);
      for (int64_t m = lo; m < hi; ++m) {
        const int64_t bi = m / (nr * kw), r = rows[(m / kw) % nr], col = m % kw;
        const int64_t at = ((bi * H + r) * Wr + col) * C * 2;
        mlp(xp + at, yp + at, scratch.data());
      }
    });
  });
  return Y;
}

} // namespace s2s::rt::fused
