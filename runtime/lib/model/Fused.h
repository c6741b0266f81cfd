//===- Fused.h - Fused kernels for passes that record no graph ---*- C++
//-*-===//
//
// When autograd records nothing (evaluation, forecasts, validation), a few
// layers run as one hand-fused kernel instead of the chain of LibTorch ops
// their training form needs: fewer passes over memory, no intermediate
// tensors, and one parallel region where the op chain has dozens (the
// batched matrix product behind attention runs one small GEMM, each its own
// parallel region, per sample and head). Ops.cpp picks them through
// fusable(); the op-chain forms stay the reference the tests compare with.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_FUSED_H
#define S2S_RUNTIME_MODEL_FUSED_H

#include <torch/torch.h>

#include <vector>

namespace s2s::rt::fused {

/// True when the fused kernels may replace the op chain for `xs`: autograd
/// is not recording, autocast is off, and every tensor is a dense CPU
/// float32 or float64 tensor of one type.
bool fusable(std::initializer_list<torch::Tensor> xs);

/// Multi-head self-attention from the packed projection qkv [b, n, 3e]
/// (each token's features ordered q, k, v, each [heads, d]): per sample and
/// head softmax(q k^T / sqrt(d)) v, the heads merged back, [b, n, e].
torch::Tensor attention(const torch::Tensor &qkv, int64_t heads);

/// AFNO's spectral mixing on the spectrum X [b, h, wr, c] (complex): at the
/// kept rows and the columns [0, kw), the block-diagonal complex two-layer
/// MLP (w1, w2 [2, blocks, bs, bs] as real and imaginary parts, biases
/// [2, blocks, bs]; ReLU on each part after the first layer), then soft
/// shrinkage by `sparsity` (none at 0); zero at every other mode.
torch::Tensor afnoSpectralMlp(const torch::Tensor &X, const torch::Tensor &w1,
                              const torch::Tensor &b1, const torch::Tensor &w2,
                              const torch::Tensor &b2,
                              const std::vector<int64_t> &rows, int64_t kw,
                              double sparsity);

} // namespace s2s::rt::fused

#endif // S2S_RUNTIME_MODEL_FUSED_H
