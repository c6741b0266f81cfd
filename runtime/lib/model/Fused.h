//===- Fused.h - Fused kernels for passes without a graph ------*- C++ -*-===//
//
// When autograd records nothing (evaluation, forecasts, validation),
// self-attention runs as one hand-fused kernel instead of the chain of
// LibTorch ops its training form needs: no permute or head-merge copies,
// the softmax in place, and one parallel region where the op chain has
// dozens (the batched matrix product runs one small GEMM, each its own
// parallel region, per sample and head). Ops.cpp picks them through
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

} // namespace s2s::rt::fused

#endif // S2S_RUNTIME_MODEL_FUSED_H
