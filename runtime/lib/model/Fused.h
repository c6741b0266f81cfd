//===- Fused.h - Fused kernels for passes without a graph ------*- C++ -*-===//
//
// When autograd records nothing (evaluation, forecasts, validation),
// self-attention runs as one hand-fused kernel instead of the chain of
// LibTorch ops its training form needs: no permute or head-merge copies,
// the softmax in place, and one parallel region where the op chain has
// dozens (the batched matrix product runs one small GEMM, each its own
// parallel region, per sample and head). float32 matrix products (linear
// layers, attention's per-head products) go to oneDNN's sgemm, the GEMM
// LibTorch's own oneDNN exports: Debian's OpenBLAS, which at::addmm calls,
// picks its AVX2 kernels on CPUs with AVX-512 where oneDNN uses them (about
// 2x per product on the bench machine). Ops.cpp picks them through
// fusable(); the op-chain forms stay the reference the tests compare with.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_FUSED_H
#define S2S_RUNTIME_MODEL_FUSED_H

#include <torch/torch.h>

namespace s2s::rt::fused {

/// True when the fused kernels may replace the op chain for `xs`: autograd
/// is not recording, autocast is off, and every tensor is a dense CPU
/// tensor of float32 or float64 values (complex ones of those too).
bool fusable(std::initializer_list<torch::Tensor> xs);

/// Multi-head self-attention from the packed projection qkv [b, n, 3e]
/// (each token's features ordered q, k, v, each [heads, d]): per sample and
/// head softmax(q k^T / sqrt(d)) v, the heads merged back, [b, n, e].
torch::Tensor attention(const torch::Tensor &qkv, int64_t heads);

/// x [m, k] @ w [k, n] (+ b [n]) for float32 x and w through oneDNN's
/// sgemm, the bias written first and accumulated onto; an undefined tensor
/// where that does not apply (another type, a non-unit inner stride,
/// oneDNN not loaded): the caller takes at::addmm.
torch::Tensor affine(const torch::Tensor &x, const torch::Tensor &w,
                     const torch::Tensor &b);

/// FourCastNet's spectral MLP on complex64 modes z [..., blocks * bs]:
/// per block relu(z w1 + b1) w2 + b2 (ReLU on the real and imaginary
/// parts), soft-shrunk by `sparsity`; w [2, blocks, bs, bs] and b [2,
/// blocks, bs] hold the real and imaginary parts (float32). Each complex
/// product runs as one real sgemm on the interleaved (re, im) values with
/// the real 2bs x 2bs form of w; bias, ReLU and shrinkage are one pass
/// each. Undefined where that does not apply (other types, oneDNN not
/// loaded): the caller takes the op chain.
torch::Tensor afnoMlp(const torch::Tensor &z, const torch::Tensor &w1,
                      const torch::Tensor &b1, const torch::Tensor &w2,
                      const torch::Tensor &b2, double sparsity);

} // namespace s2s::rt::fused

#endif // S2S_RUNTIME_MODEL_FUSED_H
