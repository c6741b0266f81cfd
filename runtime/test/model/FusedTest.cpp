//===- FusedTest.cpp - Evaluation kernels against float64 loops -----------===//
//
// model/Fused.h's float32 product on oneDNN's sgemm against a plainly
// written float64 triple loop, directly and through linear() in an
// evaluation pass.

#include "model/Fused.h"
#include "NaiveAttention.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

using namespace s2s::rt;

namespace {

torch::Tensor randnF(std::vector<int64_t> shape, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, g, torch::TensorOptions().dtype(torch::kFloat32));
}

/// sum_k x[i][k] w[k][o] (+ b[o]) in float64, one element at a time.
torch::Tensor loopAffine(const torch::Tensor &x, const torch::Tensor &w,
                         const torch::Tensor &b) {
  torch::Tensor xd = x.to(torch::kFloat64), wd = w.to(torch::kFloat64);
  auto xa = xd.accessor<double, 2>();
  auto wa = wd.accessor<double, 2>();
  torch::Tensor ref = torch::empty({x.size(0), w.size(1)}, torch::kFloat64);
  auto ra = ref.accessor<double, 2>();
  for (int64_t i = 0; i < x.size(0); ++i)
    for (int64_t o = 0; o < w.size(1); ++o) {
      double s = b.defined() ? b[o].item<double>() : 0.0;
      for (int64_t k = 0; k < x.size(1); ++k)
        s += xa[i][k] * wa[k][o];
      ra[i][o] = s;
    }
  return ref;
}

double maxDiff(const torch::Tensor &a, const torch::Tensor &b) {
  return (a.to(torch::kFloat64) - b).abs().max().item<double>();
}

} // namespace

TEST(FusedTest, Float32AffineMatchesFloat64Loop) {
  torch::Tensor x = randnF({37, 50}, 1), w = randnF({50, 70}, 2),
                b = randnF({70}, 3);
  torch::Tensor y = fused::affine(x, w, b);
  ASSERT_TRUE(y.defined()) << "oneDNN's sgemm was not found in the process";
  EXPECT_EQ(y.scalar_type(), torch::kFloat32);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{37, 70}));
  // Sums of 50 products of unit normals: float32 rounding is ~1e-5.
  EXPECT_LT(maxDiff(y, loopAffine(x, w, b)), 1e-4);
  EXPECT_LT(maxDiff(fused::affine(x, w, {}), loopAffine(x, w, {})), 1e-4);
  // Rows further apart than their length (a narrowed view) are read in
  // place.
  torch::Tensor wide = randnF({37, 64}, 4);
  torch::Tensor view = wide.narrow(1, 3, 50);
  EXPECT_LT(maxDiff(fused::affine(view, w, b), loopAffine(view, w, b)), 1e-4);
  // What it does not take: float64, columns not adjacent, sizes that do
  // not chain.
  EXPECT_FALSE(fused::affine(x.to(torch::kFloat64), w.to(torch::kFloat64), {})
                   .defined());
  EXPECT_FALSE(fused::affine(randnF({50, 37}, 5).t(), w, b).defined());
  EXPECT_FALSE(fused::affine(x, randnF({49, 70}, 6), b).defined());
}

TEST(FusedTest, Float32LinearInEvaluationMatchesFloat64Loop) {
  Model m(1, torch::kCPU, torch::kFloat32);
  torch::Tensor x = randnF({2, 9, 24}, 7);
  torch::Tensor train = linear(m, "fc", x, 40, true, Activation::Gelu);
  torch::Tensor w, b;
  for (const auto &[name, p] : m.namedParameters())
    (name == "fc.weight" ? w : b) = p.detach();
  torch::Tensor ref = loopAffine(x.reshape({18, 24}), w, b);
  ref = (0.5 * ref * (1 + torch::erf(ref / std::sqrt(2.0)))).view({2, 9, 40});
  EXPECT_LT(maxDiff(train.detach(), ref), 1e-5);
  c10::InferenceMode inference;
  torch::Tensor eval = linear(m, "fc", x, 40, true, Activation::Gelu);
  EXPECT_LT(maxDiff(eval, ref), 1e-5);
}

namespace {
/// FourCastNet's spectral MLP on one mode's features, complex arithmetic
/// written out in float64: per block h = relu(z w1 + b1) on each part,
/// y = h w2 + b2, then soft shrinkage of each part.
std::vector<std::complex<double>>
loopAfnoMlp(const std::vector<std::complex<double>> &z, const torch::Tensor &w1,
            const torch::Tensor &b1, const torch::Tensor &w2,
            const torch::Tensor &b2, double lambda) {
  const int64_t blocks = w1.size(1), bs = w1.size(2);
  auto w = [](const torch::Tensor &t, int64_t j, int64_t i, int64_t o) {
    return std::complex<double>(t[0][j][i][o].item<double>(),
                                t[1][j][i][o].item<double>());
  };
  auto b = [](const torch::Tensor &t, int64_t j, int64_t o) {
    return std::complex<double>(t[0][j][o].item<double>(),
                                t[1][j][o].item<double>());
  };
  auto shrink = [&](double v) {
    return v > lambda ? v - lambda : v < -lambda ? v + lambda : 0.0;
  };
  std::vector<std::complex<double>> y(z.size());
  for (int64_t j = 0; j < blocks; ++j) {
    std::vector<std::complex<double>> h(bs);
    for (int64_t o = 0; o < bs; ++o) {
      std::complex<double> s = b(b1, j, o);
      for (int64_t i = 0; i < bs; ++i)
        s += z[j * bs + i] * w(w1, j, i, o);
      h[o] = {std::max(s.real(), 0.0), std::max(s.imag(), 0.0)};
    }
    for (int64_t o = 0; o < bs; ++o) {
      std::complex<double> s = b(b2, j, o);
      for (int64_t i = 0; i < bs; ++i)
        s += h[i] * w(w2, j, i, o);
      y[j * bs + o] = {shrink(s.real()), shrink(s.imag())};
    }
  }
  return y;
}
} // namespace

TEST(FusedTest, AfnoMlpMatchesFloat64Loop) {
  const int64_t blocks = 3, bs = 4, C = blocks * bs;
  torch::Tensor w1 = randnF({2, blocks, bs, bs}, 8),
                b1 = randnF({2, blocks, bs}, 9) * 0.5,
                w2 = randnF({2, blocks, bs, bs}, 10),
                b2 = randnF({2, blocks, bs}, 11) * 0.5;
  // A narrowed view of a spectrum [2, 5, 7, C], as afno2d passes the kept
  // modes.
  torch::Tensor spectrum =
      at::view_as_complex(randnF({2, 5, 7, C, 2}, 12).contiguous());
  torch::Tensor z = spectrum.narrow(1, 1, 3).narrow(2, 0, 4);
  for (double lambda : {0.0, 0.5}) {
    torch::Tensor y = fused::afnoMlp(z, w1, b1, w2, b2, lambda);
    ASSERT_TRUE(y.defined()) << "oneDNN's sgemm was not found in the process";
    ASSERT_EQ(y.sizes(), z.sizes());
    EXPECT_EQ(y.scalar_type(), torch::kComplexFloat);
    torch::Tensor zd = z.to(torch::kComplexDouble).contiguous();
    torch::Tensor yd = y.to(torch::kComplexDouble).contiguous();
    const auto *zp = zd.data_ptr<c10::complex<double>>();
    const auto *yp = yd.data_ptr<c10::complex<double>>();
    double worst = 0;
    for (int64_t mode = 0; mode < z.numel() / C; ++mode) {
      std::vector<std::complex<double>> in(C);
      for (int64_t c = 0; c < C; ++c)
        in[c] = {zp[mode * C + c].real(), zp[mode * C + c].imag()};
      std::vector<std::complex<double>> ref =
          loopAfnoMlp(in, w1, b1, w2, b2, lambda);
      for (int64_t c = 0; c < C; ++c)
        worst = std::max(worst, std::abs(std::complex<double>(
                                    yp[mode * C + c].real() - ref[c].real(),
                                    yp[mode * C + c].imag() - ref[c].imag())));
    }
    EXPECT_LT(worst, 1e-4) << "sparsity " << lambda;
  }
  EXPECT_FALSE(fused::afnoMlp(z.to(torch::kComplexDouble), w1, b1, w2, b2, 0.0)
                   .defined());
}

// float32 attention from a packed qkv of unit normals (scores of order
// one, so a lost scale or a mis-strided operand shows) against a float64
// loop over samples, heads and tokens.
TEST(FusedTest, Float32AttentionMatchesFloat64Loop) {
  const int64_t b = 2, n = 9, heads = 3, d = 4, e = heads * d;
  torch::Tensor qkv = randnF({b, n, 3 * e}, 13);
  torch::Tensor y = fused::attention(qkv, heads);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{b, n, e}));
  torch::Tensor p = qkv.to(torch::kFloat64);
  torch::Tensor ref = test::naiveAttention(p.narrow(2, 0, e), p.narrow(2, e, e),
                                           p.narrow(2, 2 * e, e), heads);
  double worst = (y.to(torch::kFloat64) - ref).abs().max().item<double>();
  EXPECT_LT(worst, 1e-5);
}
