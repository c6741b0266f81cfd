//===- NaiveAttention.h - Attention as a plain loop, for tests --*- C++ -*-===//
//
// The reference OpsTest and FusedTest compare the attention kernels with:
// softmax(q k^T / sqrt(d)) v per sample, head and query, in the inputs'
// type (float64 in the tests), one element at a time.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_MODEL_NAIVEATTENTION_H
#define S2S_RUNTIME_TEST_MODEL_NAIVEATTENTION_H

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace s2s::rt::test {

/// Naive multi-head attention: loops over batch, head and query.
inline torch::Tensor naiveAttention(const torch::Tensor &q,
                                    const torch::Tensor &k,
                                    const torch::Tensor &v, int64_t heads) {
  int64_t B = q.size(0), N = q.size(1), S = k.size(1), E = q.size(2),
          d = E / heads;
  torch::Tensor out = torch::zeros({B, N, E}, q.options());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < N; ++i) {
        std::vector<double> s(S);
        double mx = -1e300, z = 0;
        for (int64_t j = 0; j < S; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < d; ++c)
            dot += q[b][i][h * d + c].item<double>() *
                   k[b][j][h * d + c].item<double>();
          s[j] = dot / std::sqrt(double(d));
          mx = std::max(mx, s[j]);
        }
        for (double &e : s)
          z += (e = std::exp(e - mx));
        for (int64_t c = 0; c < d; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < S; ++j)
            acc += s[j] / z * v[b][j][h * d + c].item<double>();
          out[b][i][h * d + c] = acc;
        }
      }
  return out;
}

} // namespace s2s::rt::test

#endif // S2S_RUNTIME_TEST_MODEL_NAIVEATTENTION_H
