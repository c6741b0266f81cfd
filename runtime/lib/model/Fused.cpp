//===- Fused.cpp - Fused kernels for passes without a graph ---------------===//

#include "model/Fused.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <algorithm>
#include <cmath>
#include <dlfcn.h>
#include <vector>

namespace s2s::rt::fused {

namespace {

/// oneDNN's row-major GEMM (dnnl.h's dnnl_sgemm: C = alpha op(A) op(B) +
/// beta C), found in the process: LibTorch links oneDNN, so it is loaded
/// whenever LibTorch is; null where a LibTorch without it is.
using SgemmFn = int (*)(char, char, int64_t, int64_t, int64_t, float,
                        const float *, int64_t, const float *, int64_t, float,
                        float *, int64_t);
SgemmFn oneDnnSgemm() {
  static const SgemmFn fn =
      reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
  return fn;
}

/// oneDNN's sgemm on row-major operands; false when it is not there or
/// reports an error (the caller then takes LibTorch's product). Inside a
/// parallel region it runs on the calling thread only.
bool sgemm(char ta, char tb, int64_t m, int64_t n, int64_t k, float alpha,
           const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
           float *c, int64_t ldc) {
  SgemmFn fn = oneDnnSgemm();
  return fn && fn(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0;
}

/// A 2-D float32 operand sgemm can read in place: unit column stride.
bool rowMajor(const torch::Tensor &t) {
  return t.dim() == 2 && t.scalar_type() == torch::kFloat32 &&
         t.device().is_cpu() && t.layout() == torch::kStrided &&
         t.stride(1) == 1 && t.stride(0) >= std::max<int64_t>(1, t.size(1));
}

} // namespace

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

namespace {
/// attention's sample i / heads, head i % heads in float32 on oneDNN's
/// sgemm over raw rows (q, k, v rows 3e apart); false if sgemm failed.
bool attendFp32(const torch::Tensor &qkv, torch::Tensor &scores,
                torch::Tensor &out, int64_t i, int64_t heads, double scale) {
  const int64_t n = qkv.size(1), e = qkv.size(2) / 3, d = e / heads,
                h = i % heads;
  const float *q = qkv.data_ptr<float>() + (i / heads) * n * 3 * e + h * d;
  float *s = scores.data_ptr<float>() + i * n * n;
  float *o = out.data_ptr<float>() + (i / heads) * n * e + h * d;
  if (!sgemm('N', 'T', n, n, d, float(scale), q, 3 * e, q + e, 3 * e, 0.0f, s,
             n))
    return false;
  torch::Tensor sv = scores.select(0, i);
  at::_softmax_out(sv, sv, -1, false);
  return sgemm('N', 'N', n, d, n, 1.0f, s, n, q + 2 * e, 3 * e, 0.0f, o, e);
}
} // namespace

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
  const bool fp32 = qkv.scalar_type() == torch::kFloat32 && oneDnnSgemm();
  at::parallel_for(0, b * heads, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if (fp32 && attendFp32(qkv, scores, out, i, heads, scale))
        continue;
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

torch::Tensor affine(const torch::Tensor &x, const torch::Tensor &w,
                     const torch::Tensor &b) {
  if (!rowMajor(x) || !rowMajor(w) || x.size(1) != w.size(0) ||
      x.numel() == 0 || w.numel() == 0 || !oneDnnSgemm())
    return {};
  const int64_t m = x.size(0), k = x.size(1), n = w.size(1);
  torch::Tensor y = at::empty({m, n}, x.options());
  const bool withBias = b.defined();
  if (withBias) {
    if (b.scalar_type() != torch::kFloat32 || b.numel() != n)
      return {};
    y.copy_(b.reshape({1, n}).expand({m, n}));
  }
  if (!sgemm('N', 'N', m, n, k, 1.0f, x.data_ptr<float>(), x.stride(0),
             w.data_ptr<float>(), w.stride(0), withBias ? 1.0f : 0.0f,
             y.data_ptr<float>(), n))
    return {};
  return y;
}

namespace {

/// w [2, blocks, bs, bs] (real, imaginary) as `blocks` real [2bs, 2bs]
/// matrices acting on interleaved rows (re_0, im_0, re_1, ...): (x + iy)(a
/// + ib) = (xa - yb) + i(xb + ya).
std::vector<float> realForm(const torch::Tensor &w) {
  const int64_t blocks = w.size(1), bs = w.size(2), n = 2 * bs;
  const torch::Tensor c = w.contiguous();
  const float *re = c.data_ptr<float>(), *im = re + blocks * bs * bs;
  std::vector<float> r(blocks * n * n);
  for (int64_t j = 0; j < blocks; ++j)
    for (int64_t i = 0; i < bs; ++i)
      for (int64_t o = 0; o < bs; ++o) {
        const int64_t at = j * bs * bs + i * bs + o;
        float *row = r.data() + j * n * n + 2 * i * n + 2 * o;
        row[0] = re[at];  // x -> re
        row[1] = im[at];  // x -> im
        row[n] = -im[at]; // y -> re
        row[n + 1] = re[at];
      }
  return r;
}

/// rows [m, 2C] = bias (interleaved), then += in @ realForm(w) per block.
bool spectralLayer(const float *in, int64_t m, const torch::Tensor &w,
                   const torch::Tensor &b, float *out) {
  const int64_t blocks = w.size(1), bs = w.size(2), n = 2 * bs,
                width = blocks * n;
  const std::vector<float> r = realForm(w);
  const torch::Tensor bc = b.contiguous();
  const float *bre = bc.data_ptr<float>(), *bim = bre + blocks * bs;
  std::vector<float> bias(width);
  for (int64_t c = 0; c < blocks * bs; ++c) {
    bias[2 * c] = bre[c];
    bias[2 * c + 1] = bim[c];
  }
  for (int64_t row = 0; row < m; ++row)
    std::copy(bias.begin(), bias.end(), out + row * width);
  for (int64_t j = 0; j < blocks; ++j)
    if (!sgemm('N', 'N', m, n, n, 1.0f, in + j * n, width, r.data() + j * n * n,
               n, 1.0f, out + j * n, width))
      return false;
  return true;
}

} // namespace

torch::Tensor afnoMlp(const torch::Tensor &z, const torch::Tensor &w1,
                      const torch::Tensor &b1, const torch::Tensor &w2,
                      const torch::Tensor &b2, double sparsity) {
  if (z.scalar_type() != torch::kComplexFloat || !z.device().is_cpu() ||
      z.layout() != torch::kStrided || z.numel() == 0 || !oneDnnSgemm())
    return {};
  for (const torch::Tensor &p : {w1, b1, w2, b2})
    if (p.scalar_type() != torch::kFloat32 || !p.device().is_cpu())
      return {};
  const int64_t C = z.size(-1), blocks = w1.size(1), bs = w1.size(2);
  if (w1.dim() != 4 || w1.size(0) != 2 || blocks * bs != C ||
      w2.sizes() != w1.sizes() || b1.numel() != 2 * C || b2.numel() != 2 * C)
    return {};
  const int64_t m = z.numel() / C, width = 2 * C;
  const torch::Tensor in = at::view_as_real(z.contiguous());
  torch::Tensor hidden = at::empty({m, width}, in.options());
  torch::Tensor out = at::empty(in.sizes(), in.options());
  float *h = hidden.data_ptr<float>(), *y = out.data_ptr<float>();
  if (!spectralLayer(in.data_ptr<float>(), m, w1, b1, h))
    return {};
  at::relu_(hidden); // both parts
  if (!spectralLayer(h, m, w2, b2, y))
    return {};
  if (sparsity > 0) // soft shrinkage of both parts, in place
    at::softshrink_out(out, out, sparsity);
  return at::view_as_complex(out);
}

} // namespace s2s::rt::fused
