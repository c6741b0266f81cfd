//===- AutocastTest.cpp - Forward passes under a reduced precision --------===//
//
// Under AutocastGuard(bf16) a matrix product is computed from the inputs
// rounded to bf16 and rounded to bf16 itself: compared with a plain float64
// loop over bf16-rounded inputs (an independent computation), it agrees to
// bf16's rounding, and differs from the fp32 product at that level. The
// kernels that LibTorch 1.13 cannot run on bf16 inputs on a CPU (norms
// with fp32 weights, FFTs) run in fp32, and the loss is fp32.
//
//===----------------------------------------------------------------------===//

#include "model/Autocast.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

using namespace s2s::rt;

namespace {

torch::Tensor randn(std::vector<int64_t> shape, uint64_t seed) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, g, torch::kFloat);
}

/// x rounded to the nearest bf16 (ties to even), as float64: from the bits
/// of the float, not through LibTorch's conversion.
std::vector<double> roundedToBf16(const torch::Tensor &x) {
  torch::Tensor c = x.contiguous();
  const float *p = c.data_ptr<float>();
  std::vector<double> out(size_t(c.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &p[i], 4);
    bits += 0x7fff + ((bits >> 16) & 1); // round to nearest even
    bits &= 0xffff0000u;
    float f;
    std::memcpy(&f, &bits, 4);
    out[i] = f;
  }
  return out;
}

/// a [n, k] @ b [k, m] in float64, a plain loop.
std::vector<double> product(const std::vector<double> &a,
                            const std::vector<double> &b, int64_t n, int64_t k,
                            int64_t m) {
  std::vector<double> c(size_t(n * m), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t l = 0; l < k; ++l)
        s += a[size_t(i * k + l)] * b[size_t(l * m + j)];
      c[size_t(i * m + j)] = s;
    }
  return c;
}

std::vector<double> doubles(const torch::Tensor &t) {
  torch::Tensor c = t.to(torch::kFloat64).contiguous();
  return std::vector<double>(c.data_ptr<double>(),
                             c.data_ptr<double>() + c.numel());
}

} // namespace

TEST(Autocast, Bf16MatmulIsTheProductOfBf16RoundedInputsRoundedToBf16) {
  const int64_t n = 16, k = 64, m = 24;
  torch::Tensor a = randn({n, k}, 1), b = randn({k, m}, 2);
  torch::Tensor fp32 = at::mm(a, b);
  torch::Tensor bf16;
  {
    AutocastGuard autocast(Precision::Bf16, torch::kCPU);
    bf16 = at::mm(a, b);
  }
  EXPECT_EQ(fp32.scalar_type(), torch::kFloat);
  ASSERT_EQ(bf16.scalar_type(), torch::kBFloat16);

  const std::vector<double> ref =
      product(roundedToBf16(a), roundedToBf16(b), n, k, m);
  const std::vector<double> exact = product(doubles(a), doubles(b), n, k, m);
  const std::vector<double> got = doubles(bf16), full = doubles(fp32);
  double scale = 0, worstBf16 = 0, worstFp32 = 0, bf16VsFp32 = 0;
  for (double v : exact)
    scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < ref.size(); ++i) {
    // bf16 output: within one bf16 ulp (2^-7 relative) of the float64
    // product of the rounded inputs (the sum runs in fp32 first).
    const double ulp = std::ldexp(std::fabs(ref[i]), -7) + 1e-6 * scale;
    worstBf16 = std::max(worstBf16, std::fabs(got[i] - ref[i]) / ulp);
    worstFp32 = std::max(worstFp32, std::fabs(full[i] - exact[i]) / scale);
    bf16VsFp32 = std::max(bf16VsFp32, std::fabs(got[i] - full[i]) / scale);
  }
  EXPECT_LE(worstBf16, 1.0);
  EXPECT_LT(worstFp32, 1e-6);
  // The bf16 result differs from fp32's at bf16's rounding level (8 bits
  // of mantissa): far above fp32's 1e-6, below a few bf16 ulps.
  EXPECT_GT(bf16VsFp32, 1e-3);
  EXPECT_LT(bf16VsFp32, 5e-2);
}

TEST(Autocast, GuardRestoresTheStateAndDropsTheCasts) {
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastGuard outer(Precision::Bf16, torch::kCPU);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(at::autocast::get_autocast_cpu_dtype(), torch::kBFloat16);
    {
      AutocastGuard none(Precision::Fp32, torch::kCPU); // does nothing
      EXPECT_TRUE(at::autocast::is_cpu_enabled());
    }
    { AutocastGuard inner(Precision::Bf16, torch::kCPU); }
    EXPECT_TRUE(at::autocast::is_cpu_enabled()); // inner left it on
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  // After the scope a product is fp32 again.
  EXPECT_EQ(at::mm(randn({2, 2}, 3), randn({2, 2}, 4)).scalar_type(),
            torch::kFloat);
}

TEST(Autocast, Fp16OnACpuIsAnError) {
  try {
    AutocastGuard autocast(Precision::Fp16, torch::kCPU);
    FAIL() << "fp16 accepted on a CPU";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(Autocast, LinearRunsInBf16OnFp32WeightsWithFp32Gradients) {
  Model m(7);
  torch::Tensor x = randn({4, 32}, 5);
  torch::Tensor y;
  {
    AutocastGuard autocast(Precision::Bf16, torch::kCPU);
    y = linear(m, "fc", x, 8, true, Activation::Gelu);
  }
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  for (const auto &[name, p] : m.namedParameters()) {
    EXPECT_EQ(p.scalar_type(), torch::kFloat) << name;
    p.requires_grad_(true);
  }
  // Again with gradients: they reach the fp32 parameters in fp32.
  {
    AutocastGuard autocast(Precision::Bf16, torch::kCPU);
    y = linear(m, "fc", x, 8, true, Activation::Gelu);
  }
  y.to(torch::kFloat).pow(2).sum().backward();
  for (const auto &[name, p] : m.namedParameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat) << name;
  }
}

TEST(Autocast, NormsFftsAndTheLossRunInFp32) {
  Model m(9);
  torch::Tensor x = randn({2, 4, 8, 16}, 6);
  AutocastGuard autocast(Precision::Bf16, torch::kCPU);
  // A convolution's bf16 output into the kernels 1.13 refuses bf16 for.
  torch::Tensor h = conv2d(m, "conv", x, 4, {3, 3}, {1, 1}, {1, 1},
                           PadMode::Zeros, true, Activation::None);
  ASSERT_EQ(h.scalar_type(), torch::kBFloat16);
  torch::Tensor g = group_norm(m, "gn", h, 2, 1e-5);
  EXPECT_EQ(g.scalar_type(), torch::kFloat);
  // Equal to the fp32 group norm of the (bf16) values, computed outside.
  torch::Tensor ref;
  {
    at::autocast::set_cpu_enabled(false);
    ref = at::group_norm(h.to(torch::kFloat), 2, m.param("gn.weight", {4}),
                         m.param("gn.bias", {4}), 1e-5);
    at::autocast::set_cpu_enabled(true);
  }
  EXPECT_LT((g - ref).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(instance_norm(h, 1e-5).scalar_type(), torch::kFloat);
  torch::Tensor t = h.permute({0, 2, 3, 1}); // [b, lat, lon, c]
  EXPECT_EQ(layer_norm(m, "ln", t, 1e-5).scalar_type(), torch::kFloat);
  EXPECT_EQ(rfft2(h).scalar_type(), torch::kComplexFloat);
  EXPECT_EQ(irfft2(rfft2(h), {8, 16}).scalar_type(), torch::kFloat);
  torch::Tensor l = loss(m, LossKind::Mse, h, x, Weighting::Latitude, 1.0);
  EXPECT_EQ(l.scalar_type(), torch::kFloat);
  // The loss of the bf16 prediction, computed in fp64 from its values.
  torch::Tensor lat = torch::cos(
      (90.0 - (torch::arange(8, torch::kFloat64) + 0.5) * 22.5) * M_PI / 180);
  torch::Tensor w = (lat / lat.mean()).view({8, 1});
  torch::Tensor d = h.to(torch::kFloat64) - x.to(torch::kFloat64);
  EXPECT_NEAR(l.item<double>(), (d * d * w).mean().item<double>(), 1e-5);
}
