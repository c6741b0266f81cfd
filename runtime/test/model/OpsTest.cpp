//===- OpsTest.cpp - Model and layer kernels against independent sums -----===//

#include "s2s/runtime/Ops.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"

#include "s2s/runtime/GraphGeometry.h"

#include "NaiveAttention.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

using namespace s2s::rt;
namespace idx = torch::indexing;

namespace {

const double kPi = 3.14159265358979323846;

Model doubleModel(uint64_t seed = 1) {
  return Model(seed, torch::kCPU, torch::kFloat64);
}

torch::Tensor randn(std::vector<int64_t> shape, uint64_t seed = 3) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, g, torch::TensorOptions().dtype(torch::kFloat64));
}

torch::Tensor named(const Model &m, const std::string &name) {
  for (const auto &[n, t] : m.namedParameters())
    if (n == name)
      return t;
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

bool close(const torch::Tensor &a, const torch::Tensor &b, double tol = 1e-9) {
  if (a.sizes() != b.sizes()) {
    ADD_FAILURE() << "shapes " << a.sizes() << " and " << b.sizes();
    return false;
  }
  double err = (a - b).abs().max().item<double>();
  if (err > tol)
    ADD_FAILURE() << "max difference " << err;
  return err <= tol;
}

/// Backward on a random weighting of `y`; every parameter must get a
/// defined, non-zero gradient.
void expectGradients(Model &m, const torch::Tensor &y) {
  ASSERT_FALSE(m.namedParameters().empty());
  (y * randn(y.sizes().vec(), 11).to(y.scalar_type())).sum().backward();
  for (const auto &[name, p] : m.namedParameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0) << name;
  }
}

} // namespace

// --- Model
// ---------------------------------------------------------------------

TEST(ModelTest, InitIsIndependentOfCreationOrder) {
  Model a(42), b(42), c(43);
  Init n{InitKind::Normal, 1.0, 0.0};
  torch::Tensor a1 = a.create("x.weight", {4, 5}, n);
  torch::Tensor a2 = a.create("y.weight", {3}, n);
  torch::Tensor b2 = b.create("y.weight", {3}, n);
  torch::Tensor b1 = b.create("x.weight", {4, 5}, n);
  torch::Tensor c1 = c.create("x.weight", {4, 5}, n);
  EXPECT_TRUE(a1.equal(b1));
  EXPECT_TRUE(a2.equal(b2));
  EXPECT_FALSE(a1.equal(c1));
  EXPECT_FALSE(a1.flatten().narrow(0, 0, 3).equal(a2));
  // A kernel's lookup returns the same tensor.
  EXPECT_TRUE(a.param("x.weight", {4, 5}).is_same(a1));
  EXPECT_THROW(a.create("x.weight", {4, 5}, n), Error);
  EXPECT_EQ(a.namedParameters()[0].first, "x.weight");
  EXPECT_EQ(b.namedParameters()[0].first, "y.weight");
}

TEST(ModelTest, ParametersAreLeavesOnDeviceAndDtype) {
  Model m(0, torch::kCPU, torch::kFloat64);
  torch::Tensor p = m.create("w", {2, 3}, {InitKind::FanIn, 6});
  EXPECT_TRUE(p.is_leaf());
  EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(p.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(p.device().is_cpu());
  EXPECT_LE(p.abs().max().item<double>(), 1 / std::sqrt(6.0));
  {
    c10::InferenceMode inference;
    torch::Tensor q = m.create("created_in_inference", {2}, {InitKind::Ones});
    EXPECT_FALSE(q.is_inference());
  }
  m.create("b", {3}, {InitKind::Zeros});
  EXPECT_EQ(m.parameterCount(), 6 + 2 + 3);
  EXPECT_EQ(m.parameters().size(), 3u);
}

TEST(ModelTest, Initialisers) {
  Model m(5);
  EXPECT_TRUE(m.create("z", {3}, {InitKind::Zeros}).eq(0).all().item<bool>());
  EXPECT_TRUE(m.create("o", {3}, {InitKind::Ones}).eq(1).all().item<bool>());
  EXPECT_TRUE(
      m.create("c", {3}, {InitKind::Constant, 2.5}).eq(2.5).all().item<bool>());
  torch::Tensor u = m.create("u", {1000}, {InitKind::Uniform, 2.0, 3.0});
  EXPECT_GE(u.min().item<double>(), 2.0);
  EXPECT_LE(u.max().item<double>(), 3.0);
  // trunc_normal cuts at -2 and 2 absolute, as torch's trunc_normal_: at
  // std 1.5 that is 4/3 std out. The closed-form variance of a normal
  // truncated symmetrically at k std: std^2 (1 - 2 k phi(k) / (2 Phi(k) - 1)).
  torch::Tensor t = m.create("t", {200000}, {InitKind::TruncNormal, 1.5, 0.0});
  const double k = 2.0 / 1.5, pdf = std::exp(-k * k / 2) / std::sqrt(2 * M_PI),
               mass = std::erf(k / std::sqrt(2.0));
  const double truncatedStd = 1.5 * std::sqrt(1 - 2 * k * pdf / mass);
  EXPECT_LE(t.abs().max().item<double>(), 2.0);
  EXPECT_GT(t.abs().max().item<double>(), 1.99);
  EXPECT_NEAR(t.std().item<double>(), truncatedStd, 0.01);
  EXPECT_NEAR(t.mean().item<double>(), 0.0, 0.01);
  // At ViT's std 0.02 nothing is cut: the std is 0.02, not 0.88 of it.
  torch::Tensor v = m.create("v", {200000}, {InitKind::TruncNormal, 0.02, 0.0});
  EXPECT_NEAR(v.std().item<double>(), 0.02, 0.0002);
  EXPECT_GT(v.abs().max().item<double>(), 0.08); // 4 std: cut at 2 before
  torch::Tensor n = m.create("n", {10000}, {InitKind::Normal, 2.0, 1.0});
  EXPECT_NEAR(n.mean().item<double>(), 1.0, 0.1);
  EXPECT_NEAR(n.std().item<double>(), 2.0, 0.1);
}

TEST(ModelTest, ShapeMismatchNamesParameterAndShapes) {
  Model m;
  m.create("enc.conv.weight", {8, 3, 3, 3}, {InitKind::Ones});
  try {
    m.param("enc.conv.weight", {8, 4, 3, 3});
    FAIL() << "no error";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("enc.conv.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[8, 3, 3, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[8, 4, 3, 3]"), std::string::npos) << msg;
  }
}

TEST(ModelTest, Load) {
  Model m;
  torch::Tensor p = m.create("w", {2, 2}, {InitKind::Zeros});
  m.load("w", torch::ones({2, 2}, torch::kFloat64));
  EXPECT_TRUE(p.eq(1).all().item<bool>());
  EXPECT_EQ(p.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(p.requires_grad());
  EXPECT_THROW(m.load("w", torch::ones({3})), Error);
  EXPECT_THROW(m.load("missing", torch::ones({2, 2})), Error);
}

TEST(ModelTest, GeneratorIsSeeded) {
  Model a(9), b(9), c(10);
  auto draw = [](Model &m) {
    return torch::empty({64}).uniform_(0, 1, m.generator());
  };
  torch::Tensor x = draw(a);
  EXPECT_TRUE(x.equal(draw(b)));
  EXPECT_FALSE(x.equal(draw(c)));
  EXPECT_EQ(a.seed(), 9u);
}

// --- arithmetic and pointwise
// -------------------------------------------------------

TEST(OpsTest, ConstantAndArithmetic) {
  Model m = doubleModel();
  torch::Tensor c = constant(m, 0.5);
  EXPECT_EQ(c.dim(), 0);
  EXPECT_EQ(c.scalar_type(), torch::kFloat64);
  EXPECT_EQ(c.item<double>(), 0.5);
  EXPECT_EQ(constant(m, 0.25).item<double>(), 0.25);
  torch::Tensor x = randn({2, 3});
  EXPECT_TRUE(close(s2s::rt::add(x, c), x + 0.5));
  EXPECT_TRUE(close(s2s::rt::sub(x, c), x - 0.5));
  EXPECT_TRUE(close(s2s::rt::mul(x, c), x * 0.5));
  EXPECT_TRUE(close(s2s::rt::div(x, c), x * 2));
  EXPECT_TRUE(close(s2s::rt::neg(x), -x));
}

TEST(OpsTest, Activations) {
  torch::Tensor x = randn({10});
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::None), x));
  torch::Tensor gelu = 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0)));
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::Gelu), gelu, 1e-12));
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::Relu), x.clamp_min(0)));
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::Silu),
                    x / (1 + torch::exp(-x)), 1e-12));
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::Tanh), torch::tanh(x)));
  EXPECT_TRUE(close(s2s::rt::activation(x, Activation::Sigmoid),
                    1 / (1 + torch::exp(-x)), 1e-12));
  torch::Tensor s = s2s::rt::softmax(randn({3, 4}), -1);
  EXPECT_TRUE(close(s.sum(-1), torch::ones({3}, torch::kFloat64), 1e-12));
}

TEST(OpsTest, DropoutIdentityInEvalDeterministicInTraining) {
  torch::Tensor x = torch::ones({1000});
  Model a(3), b(3);
  a.setTraining(false);
  EXPECT_TRUE(s2s::rt::dropout(a, x, 0.5).is_same(x));
  EXPECT_TRUE(drop_path(a, x, 0.5).is_same(x));
  a.setTraining(true);
  torch::Tensor ya = s2s::rt::dropout(a, x, 0.25),
                yb = s2s::rt::dropout(b, x, 0.25);
  EXPECT_TRUE(ya.equal(yb));
  // Kept elements scaled by 1/(1-p), about p dropped.
  torch::Tensor kept = ya.ne(0);
  EXPECT_TRUE(close(
      ya.masked_select(kept).to(torch::kFloat64),
      torch::full({kept.sum().item<int64_t>()}, 1 / 0.75, torch::kFloat64),
      1e-6));
  EXPECT_NEAR(kept.to(torch::kFloat32).mean().item<double>(), 0.75, 0.05);
  // A later draw differs (the generator advances).
  EXPECT_FALSE(s2s::rt::dropout(a, x, 0.25).equal(ya));
}

TEST(OpsTest, DropPathDropsWholeSamples) {
  Model m(4);
  torch::Tensor x = torch::ones({200, 3, 2});
  torch::Tensor y = drop_path(m, x, 0.5);
  torch::Tensor perSample = y.flatten(1);
  // Each sample is all 0 or all 2.
  EXPECT_TRUE((perSample.amax(1) == perSample.amin(1)).all().item<bool>());
  EXPECT_TRUE((perSample.eq(0) | perSample.eq(2)).all().item<bool>());
  double keptFrac =
      perSample.select(1, 0).ne(0).to(torch::kFloat32).mean().item<double>();
  EXPECT_NEAR(keptFrac, 0.5, 0.15);
}

// --- layers
// ---------------------------------------------------------------------------

TEST(OpsTest, LinearMatchesManualSum) {
  Model m = doubleModel();
  torch::Tensor x = randn({2, 3, 4});
  torch::Tensor y = linear(m, "fc", x, 5, true, Activation::None);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 3, 5}));
  torch::Tensor w = named(m, "fc.weight"), b = named(m, "fc.bias");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{4, 5}));
  auto xa = x.accessor<double, 3>();
  auto wa = w.accessor<double, 2>();
  auto ba = b.accessor<double, 1>();
  torch::Tensor ref = torch::empty({2, 3, 5}, torch::kFloat64);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int o = 0; o < 5; ++o) {
        double s = ba[o];
        for (int k = 0; k < 4; ++k)
          s += xa[i][j][k] * wa[k][o];
        ref[i][j][o] = s;
      }
  EXPECT_TRUE(close(y, ref, 1e-12));
  EXPECT_TRUE(close(linear(m, "fc", x, 5, true, Activation::Relu),
                    ref.clamp_min(0), 1e-12));
  {
    // Evaluation applies the activation in place on the product.
    c10::InferenceMode inference;
    EXPECT_TRUE(close(linear(m, "fc", x, 5, true, Activation::Relu),
                      ref.clamp_min(0), 1e-12));
    torch::Tensor gelu = 0.5 * ref * (1 + torch::erf(ref / std::sqrt(2.0)));
    EXPECT_TRUE(
        close(linear(m, "fc", x, 5, true, Activation::Gelu), gelu, 1e-12));
  }
  // Without bias: no bias parameter.
  Model n = doubleModel();
  linear(n, "nb", x, 2, false, Activation::None);
  EXPECT_EQ(n.namedParameters().size(), 1u);
  // Integer inputs (edge indices as features) are converted.
  EXPECT_EQ(linear(m, "ints", torch::ones({3, 2}, torch::kInt64), 2, true,
                   Activation::None)
                .scalar_type(),
            torch::kFloat64);
  // Another input size is a shape error naming the parameter.
  EXPECT_THROW(linear(m, "fc", randn({2, 6}), 5, true, Activation::None),
               Error);
}

TEST(OpsTest, Conv2dMatchesTorchPaddingModes) {
  for (PadMode mode : {PadMode::Zeros, PadMode::Circular, PadMode::Reflect,
                       PadMode::Replicate}) {
    Model m = doubleModel();
    torch::Tensor x = randn({2, 3, 5, 6});
    torch::Tensor y = conv2d(m, "conv", x, 4, {3, 3}, {1, 2}, {1, 1}, mode,
                             true, Activation::None);
    torch::nn::Conv2d ref(
        torch::nn::Conv2dOptions(3, 4, {3, 3})
            .stride({1, 2})
            .padding({1, 1})
            .padding_mode(
                mode == PadMode::Zeros
                    ? torch::nn::detail::conv_padding_mode_t(torch::kZeros)
                : mode == PadMode::Circular
                    ? torch::nn::detail::conv_padding_mode_t(torch::kCircular)
                : mode == PadMode::Reflect
                    ? torch::nn::detail::conv_padding_mode_t(torch::kReflect)
                    : torch::nn::detail::conv_padding_mode_t(
                          torch::kReplicate)));
    ref->to(torch::kFloat64);
    {
      torch::NoGradGuard ng;
      ref->weight.copy_(named(m, "conv.weight"));
      ref->bias.copy_(named(m, "conv.bias"));
    }
    EXPECT_TRUE(close(y, ref->forward(x), 1e-12)) << name(mode);
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 4, 5, 3})) << name(mode);
  }
}

TEST(OpsTest, Conv2dCircularByHand) {
  Model m = doubleModel();
  torch::Tensor x = randn({1, 2, 4, 5});
  torch::Tensor y = conv2d(m, "c", x, 3, {3, 3}, {1, 1}, {1, 1},
                           PadMode::Circular, false, Activation::None);
  // Circular padding built by hand: wrap rows, then columns.
  torch::Tensor p = torch::cat({x.narrow(2, 3, 1), x, x.narrow(2, 0, 1)}, 2);
  p = torch::cat({p.narrow(3, 4, 1), p, p.narrow(3, 0, 1)}, 3);
  torch::Tensor w = named(m, "c.weight");
  torch::Tensor ref = torch::zeros({1, 3, 4, 5}, torch::kFloat64);
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 5; ++j)
        ref[0][o][i][j] = (p.index({0, idx::Slice(), idx::Slice(i, i + 3),
                                    idx::Slice(j, j + 3)}) *
                           w[o])
                              .sum();
  EXPECT_TRUE(close(y, ref, 1e-12));
}

TEST(OpsTest, Norms) {
  Model m = doubleModel();
  torch::Tensor x = randn({2, 4, 3, 5});
  // The affine weights are whatever the model holds (drawn here, the
  // manifest's in a program): the reference applies them by hand.
  torch::Tensor ln = layer_norm(m, "ln", x, 1e-5);
  torch::Tensor mu = x.mean(-1, true), var = x.var(-1, false, true);
  EXPECT_TRUE(close(ln,
                    (x - mu) / torch::sqrt(var + 1e-5) * named(m, "ln.weight") +
                        named(m, "ln.bias"),
                    1e-10));
  torch::Tensor gn = group_norm(m, "gn", x, 2, 1e-5);
  torch::Tensor xg = x.view({2, 2, -1});
  torch::Tensor gref =
      ((xg - xg.mean(-1, true)) / torch::sqrt(xg.var(-1, false, true) + 1e-5))
          .view_as(x);
  EXPECT_TRUE(close(gn,
                    gref * named(m, "gn.weight").view({1, 4, 1, 1}) +
                        named(m, "gn.bias").view({1, 4, 1, 1}),
                    1e-10));
  torch::Tensor xi = x.flatten(2);
  torch::Tensor iref =
      ((xi - xi.mean(-1, true)) / torch::sqrt(xi.var(-1, false, true) + 1e-5))
          .view_as(x);
  EXPECT_TRUE(close(instance_norm(x, 1e-5), iref, 1e-10));
  EXPECT_THROW(group_norm(m, "gn3", x, 3, 1e-5), Error);
}

TEST(OpsTest, AttentionMatchesNaiveLoop) {
  Model m = doubleModel();
  m.setTraining(false);
  torch::Tensor x = randn({2, 3, 4});
  torch::Tensor y = attention(m, "attn", x, 2, true, 0.1);
  torch::Tensor qkv =
      x.matmul(named(m, "attn.qkv.weight")) + named(m, "attn.qkv.bias");
  torch::Tensor q = qkv.narrow(2, 0, 4), k = qkv.narrow(2, 4, 4),
                v = qkv.narrow(2, 8, 4);
  torch::Tensor ref =
      test::naiveAttention(q, k, v, 2).matmul(named(m, "attn.proj.weight")) +
      named(m, "attn.proj.bias");
  EXPECT_TRUE(close(y, ref, 1e-10));
  // Training with dropout 0 takes the same path as eval.
  m.setTraining(true);
  EXPECT_TRUE(close(attention(m, "attn", x, 2, true, 0.0), ref, 1e-10));
  // Dropout in training changes the result; without qkv bias there is no
  // qkv.bias parameter.
  EXPECT_FALSE(attention(m, "attn", x, 2, true, 0.5).allclose(ref));
  Model n = doubleModel();
  attention(n, "a", x, 1, false, 0.0);
  EXPECT_EQ(n.namedParameters().size(), 3u);
}

// Evaluation (no graph recorded) takes the fused kernel (model/Fused.h):
// one pass per sample and head over the packed projection.
TEST(OpsTest, FusedAttentionMatchesNaiveLoop) {
  Model m = doubleModel();
  torch::Tensor x = randn({3, 7, 12});
  attention(m, "attn", x, 3, true, 0.0);
  torch::Tensor qkv =
      x.matmul(named(m, "attn.qkv.weight")) + named(m, "attn.qkv.bias");
  torch::Tensor ref =
      test::naiveAttention(qkv.narrow(2, 0, 12), qkv.narrow(2, 12, 12),
                           qkv.narrow(2, 24, 12), 3)
          .matmul(named(m, "attn.proj.weight")) +
      named(m, "attn.proj.bias");
  {
    c10::InferenceMode inference;
    EXPECT_TRUE(close(attention(m, "attn", x, 3, true, 0.0), ref, 1e-12));
  }
  {
    torch::NoGradGuard noGrad; // validation's guard, dropout off in eval
    m.setTraining(false);
    EXPECT_TRUE(close(attention(m, "attn", x, 3, true, 0.3), ref, 1e-12));
  }
  // float32 weights and input against the float64 loop.
  Model f(1, torch::kCPU, torch::kFloat32);
  torch::Tensor xf = x.to(torch::kFloat32);
  attention(f, "attn", xf, 3, true, 0.0);
  torch::Tensor qkvf =
      x.matmul(named(f, "attn.qkv.weight").to(torch::kFloat64)) +
      named(f, "attn.qkv.bias").to(torch::kFloat64);
  torch::Tensor reff =
      test::naiveAttention(qkvf.narrow(2, 0, 12), qkvf.narrow(2, 12, 12),
                           qkvf.narrow(2, 24, 12), 3)
          .matmul(named(f, "attn.proj.weight").to(torch::kFloat64)) +
      named(f, "attn.proj.bias").to(torch::kFloat64);
  c10::InferenceMode inference;
  torch::Tensor yf = attention(f, "attn", xf, 3, true, 0.0);
  EXPECT_EQ(yf.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(close(yf.to(torch::kFloat64), reff, 1e-5));
}

TEST(OpsTest, CrossAttentionMatchesNaiveLoop) {
  Model m = doubleModel();
  torch::Tensor x = randn({2, 3, 4}, 5), c = randn({2, 5, 6}, 6);
  torch::Tensor y = cross_attention(m, "xa", x, c, 2);
  torch::Tensor q = x.matmul(named(m, "xa.q.weight")) + named(m, "xa.q.bias");
  torch::Tensor kv =
      c.matmul(named(m, "xa.kv.weight")) + named(m, "xa.kv.bias");
  torch::Tensor ref =
      test::naiveAttention(q, kv.narrow(2, 0, 4), kv.narrow(2, 4, 4), 2)
          .matmul(named(m, "xa.proj.weight")) +
      named(m, "xa.proj.bias");
  EXPECT_TRUE(close(y, ref, 1e-10));
  EXPECT_EQ(named(m, "xa.kv.weight").sizes(), (std::vector<int64_t>{6, 8}));
}

TEST(OpsTest, PatchEmbedAndUnpatch) {
  Model m = doubleModel();
  torch::Tensor x = randn({2, 3, 4, 6});
  torch::Tensor t = patch_embed(m, "pe", x, {2, 3}, 5);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{2, 4, 5}));
  torch::Tensor w = named(m, "pe.weight"), b = named(m, "pe.bias");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{5, 3, 2, 3}));
  // Token (r, c) row-major is the patch at rows 2r.., cols 3c..
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      torch::Tensor patch =
          x.index({idx::Slice(), idx::Slice(), idx::Slice(2 * r, 2 * r + 2),
                   idx::Slice(3 * c, 3 * c + 3)});
      torch::Tensor ref =
          (patch.unsqueeze(1) * w.unsqueeze(0)).sum({2, 3, 4}) + b;
      EXPECT_TRUE(close(t.select(1, r * 2 + c), ref, 1e-12));
    }
  // unpatch: token features ordered (p0, p1, channel).
  torch::Tensor tokens = randn({2, 4, 3 * 2 * 3});
  torch::Tensor f = unpatch(tokens, {2, 3}, {4, 6}, 3);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 3, 4, 6}));
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j)
      for (int ch = 0; ch < 3; ++ch) {
        int token = (i / 2) * 2 + (j / 3),
            feat = ((i % 2) * 3 + (j % 3)) * 3 + ch;
        EXPECT_EQ(f[1][ch][i][j].item<double>(),
                  tokens[1][token][feat].item<double>());
      }
  EXPECT_THROW(unpatch(tokens, {2, 3}, {4, 5}, 3), Error);
}

namespace {
/// FourCastNet's AFNO2D forward, written from the paper and upstream's
/// description on real tensors: the real FFT over (h, w); with total =
/// h/2 + 1 and kept = int(total * fraction), only the slice [total - kept,
/// total + kept) of the h frequencies and [0, kept) of the w/2 + 1 ones
/// goes through the block-diagonal complex two-layer MLP (real and
/// imaginary parts, ReLU on each after the first layer; everything else
/// stays zero); soft shrinkage; the inverse FFT; the input added back.
torch::Tensor fourcastnetAfno(const torch::Tensor &x, const torch::Tensor &w1,
                              const torch::Tensor &b1, const torch::Tensor &w2,
                              const torch::Tensor &b2, double lambda,
                              double fraction) {
  int64_t B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3),
          nb = w1.size(1), bs = C / nb, Wr = W / 2 + 1;
  torch::Tensor X = torch::fft::rfft2(x, c10::nullopt, {1, 2}, "ortho")
                        .reshape({B, H, Wr, nb, bs});
  const int64_t total = H / 2 + 1, kept = int64_t(total * fraction);
  // Python's x[:, total - kept : total + kept, :kept], clipped.
  const int64_t r0 = std::max<int64_t>(0, total - kept),
                r1 = std::min(H, total + kept), c1 = std::min(Wr, kept);
  auto cut = [&](const torch::Tensor &t) {
    return t.narrow(1, r0, r1 - r0).narrow(2, 0, c1);
  };
  torch::Tensor xr = cut(torch::real(X)), xi = cut(torch::imag(X));
  auto ein = [](const torch::Tensor &a, const torch::Tensor &w) {
    return torch::einsum("...bi,bio->...bo", {a, w});
  };
  torch::Tensor o1r = torch::relu(ein(xr, w1[0]) - ein(xi, w1[1]) + b1[0]);
  torch::Tensor o1i = torch::relu(ein(xi, w1[0]) + ein(xr, w1[1]) + b1[1]);
  torch::Tensor o2r = torch::zeros({B, H, Wr, nb, bs}, x.options());
  torch::Tensor o2i = torch::zeros({B, H, Wr, nb, bs}, x.options());
  cut(o2r).copy_(ein(o1r, w2[0]) - ein(o1i, w2[1]) + b2[0]);
  cut(o2i).copy_(ein(o1i, w2[0]) + ein(o1r, w2[1]) + b2[1]);
  torch::Tensor s = torch::softshrink(torch::stack({o2r, o2i}, -1), lambda);
  torch::Tensor Y =
      torch::view_as_complex(s.contiguous()).reshape({B, H, Wr, C});
  return torch::fft::irfft2(Y, std::vector<int64_t>{H, W}, {1, 2}, "ortho") + x;
}

/// Multiplies afno2d "f"'s weights and biases by k (larger weights make
/// the soft shrinkage matter).
void scaleAfnoWeights(Model &m, double k) {
  torch::NoGradGuard ng;
  for (const char *p : {"f.w1", "f.b1", "f.w2", "f.b2"})
    named(m, p).mul_(k);
}
} // namespace

TEST(OpsTest, Afno2dMatchesFourCastNet) {
  Model m = doubleModel();
  // h = 6: total 4; w = 12: 7 columns, of which FourCastNet keeps 4 even at
  // fraction 1 (its cut-off applies h's count to the w axis too).
  torch::Tensor x = randn({2, 6, 12, 8});
  torch::Tensor y = afno2d(m, "f", x, 2, 0.01, 1.0);
  ASSERT_EQ(y.sizes(), x.sizes());
  EXPECT_EQ(named(m, "f.w1").sizes(), (std::vector<int64_t>{2, 2, 4, 4}));
  EXPECT_EQ(named(m, "f.b2").sizes(), (std::vector<int64_t>{2, 2, 4}));
  scaleAfnoWeights(m, 20);
  for (double fraction : {1.0, 0.5, 0.25}) {
    y = afno2d(m, "f", x, 2, 0.01, fraction);
    torch::Tensor ref =
        fourcastnetAfno(x, named(m, "f.w1"), named(m, "f.b1"), named(m, "f.w2"),
                        named(m, "f.b2"), 0.01, fraction);
    EXPECT_TRUE(close(y, ref, 1e-10)) << "fraction " << fraction;
  }
  // The filter's part has no energy in columns 4..6 of the half axis.
  torch::Tensor Y = torch::fft::rfft2(afno2d(m, "f", x, 2, 0.01, 1.0) - x,
                                      c10::nullopt, {1, 2}, "ortho")
                        .abs();
  EXPECT_LT(Y.narrow(2, 4, 3).max().item<double>(), 1e-10);
  EXPECT_GT(Y.narrow(2, 0, 4).max().item<double>(), 1e-3);
}

// Evaluation (inference mode, no-grad) against the same reference, every
// cut-off, float64 and float32.
TEST(OpsTest, Afno2dInEvaluationMatchesFourCastNet) {
  Model m = doubleModel();
  torch::Tensor x = randn({2, 6, 12, 8});
  afno2d(m, "f", x, 2, 0.01, 1.0);
  scaleAfnoWeights(m, 20);
  for (double fraction : {1.0, 0.5, 0.25}) {
    torch::Tensor ref =
        fourcastnetAfno(x, named(m, "f.w1"), named(m, "f.b1"), named(m, "f.w2"),
                        named(m, "f.b2"), 0.01, fraction);
    c10::InferenceMode inference;
    EXPECT_TRUE(close(afno2d(m, "f", x, 2, 0.01, fraction), ref, 1e-10))
        << "fraction " << fraction;
  }
  // lowpass (two runs of rows) and no shrinkage: as with a graph.
  for (double modes : {1.0, 0.5}) {
    torch::Tensor ref = afno2d(m, "f", x, 2, 0.0, modes, AfnoCutoff::Lowpass);
    torch::NoGradGuard noGrad;
    EXPECT_TRUE(close(afno2d(m, "f", x, 2, 0.0, modes, AfnoCutoff::Lowpass),
                      ref, 1e-12))
        << "lowpass modes " << modes;
  }
  Model f(1, torch::kCPU, torch::kFloat32);
  torch::Tensor xf = x.to(torch::kFloat32);
  afno2d(f, "f", xf, 2, 0.01, 1.0);
  scaleAfnoWeights(f, 20);
  auto d = [&](const char *p) { return named(f, p).to(torch::kFloat64); };
  torch::Tensor ref =
      fourcastnetAfno(x, d("f.w1"), d("f.b1"), d("f.w2"), d("f.b2"), 0.01, 1.0);
  c10::InferenceMode inference;
  torch::Tensor yf = afno2d(f, "f", xf, 2, 0.01, 1.0);
  EXPECT_EQ(yf.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(close(yf.to(torch::kFloat64), ref, 1e-5));
}

TEST(OpsTest, Afno2dZeroWeightsGiveTheInputAndLowpassFilters) {
  Model m = doubleModel();
  torch::Tensor x = randn({1, 6, 8, 4});
  afno2d(m, "f", x, 1, 0.0, 1.0);
  {
    torch::NoGradGuard ng;
    for (const char *p : {"f.w1", "f.b1", "f.w2", "f.b2"})
      named(m, p).zero_();
  }
  // Zero weights: the filter gives zero, the skip the input.
  EXPECT_TRUE(close(afno2d(m, "f", x, 1, 0.0, 1.0), x, 1e-12));
  // lowpass keeps every mode at modes = 1 ...
  Model a = doubleModel(), b = doubleModel();
  torch::Tensor xa = randn({1, 6, 12, 4});
  torch::Tensor ya = afno2d(a, "g", xa, 2, 0.0, 1.0, AfnoCutoff::Lowpass);
  torch::Tensor Ya =
      torch::fft::rfft2(ya - xa, c10::nullopt, {1, 2}, "ortho").abs();
  EXPECT_GT(Ya.narrow(2, 4, 3).max().item<double>(), 1e-6);
  // ... and at modes = 0.5 only the low frequencies of the filter's part
  // survive: |k_h| < 2, k_w < 2 of a 6 x 8 grid (rows 0, 1, 5; columns 0, 1
  // of 5).
  torch::Tensor y = afno2d(b, "g", x, 2, 0.0, 0.5, AfnoCutoff::Lowpass) - x;
  ASSERT_EQ(y.sizes(), x.sizes());
  torch::Tensor Y = torch::fft::rfft2(y, c10::nullopt, {1, 2}, "ortho").abs();
  torch::Tensor mask = torch::zeros({6, 5}, torch::kBool);
  for (int r : {0, 1, 5})
    for (int c : {0, 1})
      mask[r][c] = true;
  torch::Tensor outside =
      Y.masked_select(mask.logical_not().view({1, 6, 5, 1}));
  EXPECT_LT(outside.max().item<double>(), 1e-10);
  EXPECT_GT(Y.masked_select(mask.view({1, 6, 5, 1})).max().item<double>(),
            1e-6);
}

TEST(OpsTest, GraphMessageMatchesConcatForm) {
  Model m = doubleModel();
  torch::Tensor nodes = randn({2, 4, 3}, 7), ef = randn({1, 5, 2}, 8);
  torch::Tensor edges =
      torch::tensor({0, 1, 2, 3, 3, 1, 2, 3, 0, 1}, torch::kInt64).view({2, 5});
  torch::Tensor y = graph_message(m, "gm", nodes, ef, edges, 6, 5);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 4, 5}));
  EXPECT_EQ(named(m, "gm.msg.fc1.weight").sizes(),
            (std::vector<int64_t>{8, 6}));
  EXPECT_EQ(named(m, "gm.node.fc1.weight").sizes(),
            (std::vector<int64_t>{8, 6}));
  auto mlp = [&](const std::string &p, const torch::Tensor &in) {
    torch::Tensor h = torch::silu(in.matmul(named(m, p + ".fc1.weight")) +
                                  named(m, p + ".fc1.bias"));
    return h.matmul(named(m, p + ".fc2.weight")) + named(m, p + ".fc2.bias");
  };
  torch::Tensor ref = torch::zeros({2, 4, 5}, torch::kFloat64);
  for (int b = 0; b < 2; ++b) {
    torch::Tensor agg = torch::zeros({4, 5}, torch::kFloat64);
    for (int e = 0; e < 5; ++e) {
      int64_t s = edges[0][e].item<int64_t>(), r = edges[1][e].item<int64_t>();
      torch::Tensor in = torch::cat({nodes[b][s], nodes[b][r], ef[0][e]});
      agg[r] += mlp("gm.msg", in.view({1, -1})).view({-1});
    }
    ref[b] = mlp("gm.node", torch::cat({nodes[b], agg}, 1));
  }
  EXPECT_TRUE(close(y, ref, 1e-10));
}

TEST(OpsTest, ParamIsTheDeclaredTensor) {
  // A model's `param` is created from the manifest with its initialiser
  // (the compiler's); the kernel looks it up by path and shape.
  Model m = doubleModel();
  Manifest manifest;
  declare(manifest, "pos", {1, 2, 3}, Init{InitKind::Constant, 1.5},
          Sharding{});
  m.materialize(manifest);
  torch::Tensor c = param(m, "pos", {1, 2, 3});
  EXPECT_TRUE(c.eq(1.5).all().item<bool>());
  EXPECT_TRUE(c.is_same(named(m, "pos")));
  EXPECT_THROW(param(m, "pos", {1, 3, 2}), Error);
  EXPECT_THROW(param(m, "undeclared", {2}), Error);
}

// --- shape
// ----------------------------------------------------------------------

TEST(OpsTest, ShapeOps) {
  torch::Tensor x = randn({2, 3, 4});
  EXPECT_EQ(s2s::rt::reshape(x, {6, -1}).sizes(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(s2s::rt::reshape_keep_batch(randn({1, 12}), {2, 3, 4}).sizes(),
            (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(s2s::rt::permute(x, {2, 0, 1}).sizes(),
            (std::vector<int64_t>{4, 2, 3}));
  EXPECT_EQ(s2s::rt::flatten(x, 1, -1).sizes(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(s2s::rt::concat_n(1, x, x).sizes(),
            (std::vector<int64_t>{2, 6, 4}));
  EXPECT_TRUE(close(s2s::rt::slice(x, 2, 1, 3), x.narrow(2, 1, 2)));
  EXPECT_TRUE(close(s2s::rt::mean(x, 1, true), x.mean(1, true)));
  EXPECT_EQ(s2s::rt::mean(x, 1, false).sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(s2s::rt::slice_batches(randn({6, 2}), randn({2, 1}), 1, 3).size(0),
            4);
}

TEST(OpsTest, PadModes) {
  torch::Tensor x = torch::arange(6, torch::kFloat64).view({1, 1, 2, 3});
  torch::Tensor z = s2s::rt::pad(x, {1, 0}, PadMode::Zeros);
  EXPECT_TRUE(
      close(z[0][0][0], torch::tensor({0.0, 0.0, 1.0, 2.0}, torch::kFloat64)));
  torch::Tensor c = s2s::rt::pad(x, {1, 1}, PadMode::Circular);
  EXPECT_TRUE(close(c[0][0][1],
                    torch::tensor({5.0, 3.0, 4.0, 5.0, 3.0}, torch::kFloat64)));
  torch::Tensor r = s2s::rt::pad(x, {1, 1}, PadMode::Reflect);
  EXPECT_TRUE(close(r[0][0][0],
                    torch::tensor({1.0, 0.0, 1.0, 2.0, 1.0}, torch::kFloat64)));
  torch::Tensor p = s2s::rt::pad(x, {0, 0, 1, 1}, PadMode::Replicate);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{1, 1, 4, 3}));
  EXPECT_TRUE(close(p[0][0][0], x[0][0][0]));
}

TEST(OpsTest, PadSphereExactValues) {
  // Even rows (cell centres): row -1 is row 0 shifted half way round.
  torch::Tensor x = torch::arange(8, torch::kFloat64).view({1, 1, 2, 4});
  // x = [[0 1 2 3], [4 5 6 7]]
  torch::Tensor y = pad_sphere(x, {1, 1});
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 4, 6}));
  torch::Tensor ref = torch::tensor({{1.0, 2.0, 3.0, 0.0, 1.0, 2.0},
                                     {3.0, 0.0, 1.0, 2.0, 3.0, 0.0},
                                     {7.0, 4.0, 5.0, 6.0, 7.0, 4.0},
                                     {5.0, 6.0, 7.0, 4.0, 5.0, 6.0}},
                                    torch::kFloat64);
  EXPECT_TRUE(close(y[0][0], ref));
  // Odd rows (poles included): the pole row is not repeated.
  torch::Tensor o = torch::arange(12, torch::kFloat64).view({1, 1, 3, 4});
  // o = [[0 1 2 3], [4 5 6 7], [8 9 10 11]]
  torch::Tensor yo = pad_sphere(o, {1, 0});
  torch::Tensor refo = torch::tensor({{6.0, 7.0, 4.0, 5.0},
                                      {0.0, 1.0, 2.0, 3.0},
                                      {4.0, 5.0, 6.0, 7.0},
                                      {8.0, 9.0, 10.0, 11.0},
                                      {6.0, 7.0, 4.0, 5.0}},
                                     torch::kFloat64);
  EXPECT_TRUE(close(yo[0][0], refo));
  EXPECT_THROW(pad_sphere(x, {3, 1}), Error);
}

// --- spectral
// ---------------------------------------------------------------------

TEST(OpsTest, FftRoundTrips) {
  torch::Tensor x = randn({2, 3, 6, 8});
  torch::Tensor X = s2s::rt::rfft2(x);
  EXPECT_EQ(X.sizes(), (std::vector<int64_t>{2, 3, 6, 5}));
  EXPECT_TRUE(X.is_complex());
  EXPECT_TRUE(close(s2s::rt::irfft2(X, {6, 8}), x, 1e-12));
  torch::Tensor F = s2s::rt::fft2(x);
  EXPECT_EQ(F.sizes(), x.sizes());
  EXPECT_TRUE(close(torch::real(s2s::rt::ifft2(F)), x, 1e-12));
  EXPECT_LT(torch::imag(s2s::rt::ifft2(F)).abs().max().item<double>(), 1e-12);
  // Unnormalised forward (torch's default): the DC term is the sum.
  EXPECT_NEAR(torch::real(X[0][0][0][0]).item<double>(),
              x[0][0].sum().item<double>(), 1e-10);
}

// --- static inputs and physics
// ------------------------------------------------------

TEST(OpsTest, GraphEdgesAreTheGeometrys) {
  // The kernels hand out GraphGeometry.h's graphs (tested there) on the
  // grid of `like`: its data coordinates, else the defaults.
  namespace geo = s2s::rt::geometry;
  Model m;
  torch::Tensor like = torch::zeros({2, 1, 9, 16});
  geo::Icosphere ico = geo::icosphere(1);
  std::vector<double> lat = defaultLatitudes(9), lon = defaultLongitudes(16);
  for (const char *g : {"multimesh", "grid2mesh", "mesh2grid"}) {
    torch::Tensor e = graph_edges(m, like, g, 1);
    geo::Edges want = geo::graphEdges(g, ico, lat, lon);
    ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, (int64_t)want.size()})) << g;
    EXPECT_EQ(e.scalar_type(), torch::kInt64);
    auto a = e.accessor<int64_t, 2>();
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(std::make_pair(a[0][i], a[1][i]), want[i]) << g << " " << i;
    EXPECT_TRUE(graph_edges(m, like, g, 1).is_same(e)) << "cached";
    torch::Tensor f = graph_edge_features(m, like, g, 1);
    ASSERT_EQ(f.sizes(), (std::vector<int64_t>{1, e.size(1), 4})) << g;
    EXPECT_NEAR(f.select(2, 0).max().item<double>(), 1.0, 1e-6) << g;
  }
  EXPECT_EQ(graph_node_features(m, like, "mesh", 1).sizes(),
            (std::vector<int64_t>{1, 42, 3}));
  torch::Tensor gn = graph_node_features(m, like, "grid", 1);
  ASSERT_EQ(gn.sizes(), (std::vector<int64_t>{1, 9 * 16, 3}));
  // Point (0, 4): the north pole at 90 east: cos colatitude 1, lon (0, 1).
  EXPECT_NEAR(gn[0][4][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(gn[0][4][1].item<double>(), 0.0, 1e-6);
  EXPECT_NEAR(gn[0][4][2].item<double>(), 1.0, 1e-6);
  EXPECT_THROW(graph_edges(m, like, "hexmesh", 1), Error);
  EXPECT_THROW(graph_node_features(m, like, "edges", 1), Error);
  EXPECT_THROW(graph_edges(m, torch::zeros({2, 9, 16}), "grid2mesh", 1), Error);
  EXPECT_THROW(graph_edges(m, like, "multimesh", 13), Error);
}

TEST(OpsTest, GraphEdgesOnTheDataGrid) {
  // Data coordinates other than the defaults: used when they give the
  // edge count the compiler planned with, refused otherwise.
  Model m;
  torch::Tensor like = torch::zeros({1, 1, 9, 16});
  m.context().latitude = torch::linspace(90, -90, 9, torch::kFloat64);
  m.context().longitude =
      torch::arange(16, torch::kFloat64) * 22.5 + 1e-9; // same count
  EXPECT_EQ(graph_edges(m, like, "mesh2grid", 1).size(1), 3 * 9 * 16);
  Model n;
  n.context().latitude = torch::linspace(10, -10, 9, torch::kFloat64);
  n.context().longitude = torch::arange(16, torch::kFloat64) * 1.0;
  try {
    graph_edges(n, like, "grid2mesh", 1);
    FAIL() << "a grid of another edge count was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("compiled for the"), std::string::npos)
        << e.what();
  }
}

TEST(OpsTest, GraphGatherAndScatterSum) {
  // Against plain loops: gather picks rows, scatter adds them up.
  torch::Tensor nodes = randn({2, 5, 3});
  torch::Tensor edges = torch::tensor({0, 4, 4, 2, 1, 1, 3, 0}).view({2, 4});
  torch::Tensor s = graph_gather(nodes, edges, "sender");
  torch::Tensor r = graph_gather(nodes, edges, "receiver");
  ASSERT_EQ(s.sizes(), (std::vector<int64_t>{2, 4, 3}));
  torch::Tensor msg = randn({2, 4, 3});
  torch::Tensor agg = graph_scatter_sum(msg, edges, nodes);
  ASSERT_EQ(agg.sizes(), (std::vector<int64_t>{2, 5, 3}));
  auto e = edges.accessor<int64_t, 2>();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t d = 0; d < 3; ++d) {
      for (int64_t i = 0; i < 4; ++i) {
        EXPECT_EQ(s[b][i][d].item<float>(), nodes[b][e[0][i]][d].item<float>());
        EXPECT_EQ(r[b][i][d].item<float>(), nodes[b][e[1][i]][d].item<float>());
      }
      for (int64_t n = 0; n < 5; ++n) {
        double want = 0;
        for (int64_t i = 0; i < 4; ++i)
          if (e[1][i] == n)
            want += msg[b][i][d].item<float>();
        EXPECT_NEAR(agg[b][n][d].item<float>(), want, 1e-6);
      }
    }
  EXPECT_THROW(graph_gather(nodes, edges, "middle"), Error);
  EXPECT_THROW(graph_scatter_sum(randn({2, 3, 3}), edges, nodes), Error);
}

TEST(OpsTest, GridCoords) {
  Model m = doubleModel();
  torch::Tensor like = torch::zeros({2, 1, 3, 4}, torch::kFloat64);
  torch::Tensor g = grid_coords(m, like); // derived: 90, 0, -90; 0, 90, ...
  ASSERT_EQ(g.sizes(), (std::vector<int64_t>{2, 4, 3, 4}));
  EXPECT_NEAR(g[1][0][0][2].item<double>(), 1.0, 1e-12);  // sin 90
  EXPECT_NEAR(g[1][1][1][2].item<double>(), 1.0, 1e-12);  // cos 0
  EXPECT_NEAR(g[0][2][0][1].item<double>(), 1.0, 1e-12);  // sin 90 (lon)
  EXPECT_NEAR(g[0][3][2][2].item<double>(), -1.0, 1e-12); // cos 180
  Model n = doubleModel();
  n.context().latitude = torch::tensor({45.0, -45.0}, torch::kFloat64);
  n.context().longitude = torch::tensor({0.0, 180.0}, torch::kFloat64);
  torch::Tensor h = grid_coords(n, torch::zeros({1, 1, 2, 2}, torch::kFloat64));
  EXPECT_NEAR(h[0][0][1][0].item<double>(), -std::sqrt(0.5), 1e-12);
  EXPECT_NEAR(h[0][3][0][1].item<double>(), -1.0, 1e-12);
  EXPECT_THROW(grid_coords(n, torch::zeros({1, 1, 3, 2})), Error);
}

TEST(OpsTest, TimeFeatures) {
  Model m = doubleModel();
  torch::Tensor like = torch::zeros({2, 1, 2, 3}, torch::kFloat64);
  EXPECT_TRUE(time_features(m, like, 0).eq(0).all().item<bool>());
  // 2000-01-01 00:00 UTC and 2001-07-02 12:00 UTC (day 182 of 365).
  int64_t y2000 = 946684800, mid2001 = 978307200 + 182 * 86400 + 43200;
  m.context().time = torch::tensor({y2000, mid2001}, torch::kInt64);
  torch::Tensor f = time_features(m, like, 0);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{2, 4, 2, 3}));
  EXPECT_NEAR(f[0][0][1][2].item<double>(), 0.0, 1e-12); // sin year phase
  EXPECT_NEAR(f[0][1][0][0].item<double>(), 1.0, 1e-12); // cos year phase
  EXPECT_NEAR(f[0][3][0][0].item<double>(), 1.0, 1e-12); // cos day phase
  double phase = 2 * kPi * (182.5 / 365.0);
  EXPECT_NEAR(f[1][0][0][0].item<double>(), std::sin(phase), 1e-12);
  EXPECT_NEAR(f[1][3][0][0].item<double>(), -1.0, 1e-12); // noon
  // A lead of 6 h moves the time of day by a quarter turn.
  torch::Tensor g = time_features(m, like, 6 * 3600);
  EXPECT_NEAR(g[0][2][0][0].item<double>(), 1.0, 1e-12);
  // Before 1970 (negative seconds) works too: 1969-12-31 18:00.
  m.context().time =
      torch::tensor({int64_t(-6 * 3600), int64_t(0)}, torch::kInt64);
  torch::Tensor n = time_features(m, like, 0);
  EXPECT_NEAR(n[0][2][0][0].item<double>(), -1.0, 1e-12);
  EXPECT_NEAR(n[0][1][0][0].item<double>(), 1.0, 1e-3);
  m.context().time = torch::tensor({int64_t(0), int64_t(0), int64_t(0)});
  EXPECT_THROW(time_features(m, like, 0), Error);
}

TEST(OpsTest, TimeFeaturesOfARolloutCall) {
  // A batched call of 3 start times of a 2-sample batch, 1 step after the
  // batch's times (order 2): sample i is block i / 2, at time[i % 2] +
  // (1 + i / 2) steps, computed one by one without blocks.
  Model m = doubleModel();
  int64_t t0 = 946684800, t1 = 978307200 + 7 * 3600, step = 6 * 3600;
  m.context().time = torch::tensor({t0, t1}, torch::kInt64);
  torch::Tensor x = torch::zeros({6, 1, 2, 3}, torch::kFloat64);
  EXPECT_TRUE(call_times(m, x, 1, 3, step).is_same(x));
  torch::Tensor f = time_features(m, x, 0);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{6, 4, 2, 3}));
  Model one = doubleModel();
  torch::Tensor single = torch::zeros({1, 1, 2, 3}, torch::kFloat64);
  for (int64_t i = 0; i < 6; ++i) {
    one.context().time =
        torch::tensor({(i % 2 ? t1 : t0) + (1 + i / 2) * step}, torch::kInt64);
    torch::Tensor want = time_features(one, single, 0);
    EXPECT_TRUE(f[i].equal(want[0])) << i;
  }
  // Without the data's step, or a batch that is not blocks x times.
  call_times(m, x, 1, 3, 0);
  EXPECT_THROW(time_features(m, x, 0), Error);
  call_times(m, x, 1, 2, step);
  EXPECT_THROW(time_features(m, x, 0), Error);
}

TEST(OpsTest, LeadEmbed) {
  torch::Tensor lead = torch::tensor({0.0, 6.0, 24.0}, torch::kFloat64);
  torch::Tensor e = lead_embed(lead, 4);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(
      close(e[0], torch::tensor({0.0, 0.0, 1.0, 1.0}, torch::kFloat64)));
  EXPECT_NEAR(e[1][0].item<double>(), std::sin(6.0), 1e-12);
  EXPECT_NEAR(e[1][1].item<double>(), std::sin(6.0 / 100.0), 1e-12);
  EXPECT_NEAR(e[2][3].item<double>(), std::cos(24.0 / 100.0), 1e-12);
  EXPECT_TRUE(close(lead_embed(lead.view({3, 1}), 4), e));
  EXPECT_THROW(lead_embed(lead.view({1, 3}), 4), Error);
}

TEST(OpsTest, LossesAndLatitudeWeights) {
  Model m = doubleModel();
  torch::Tensor p = randn({2, 3, 5, 4}, 1), t = randn({2, 3, 5, 4}, 2);
  torch::Tensor d = p - t;
  EXPECT_NEAR(
      loss(m, LossKind::Mse, p, t, Weighting::Uniform, 1.0).item<double>(),
      d.pow(2).mean().item<double>(), 1e-12);
  EXPECT_NEAR(
      loss(m, LossKind::Mae, p, t, Weighting::Uniform, 1.0).item<double>(),
      d.abs().mean().item<double>(), 1e-12);
  torch::Tensor a = d.abs();
  torch::Tensor huber = torch::where(a < 1, 0.5 * a * a, a - 0.5);
  EXPECT_NEAR(
      loss(m, LossKind::Huber, p, t, Weighting::Uniform, 1.0).item<double>(),
      huber.mean().item<double>(), 1e-12);
  // Huber's delta (torch's huber_loss): 0.5 d^2 below delta, delta (|d| -
  // 0.5 delta) above it, written out here for delta 0.3.
  double sum = 0;
  for (int64_t i = 0; i < d.numel(); ++i) {
    double e = std::abs(d.flatten()[i].item<double>());
    sum += e < 0.3 ? 0.5 * e * e : 0.3 * (e - 0.5 * 0.3);
  }
  EXPECT_NEAR(
      loss(m, LossKind::Huber, p, t, Weighting::Uniform, 0.3).item<double>(),
      sum / double(d.numel()), 1e-12);
  EXPECT_THROW(loss(m, LossKind::Huber, p, t, Weighting::Uniform, 0.0), Error);
  // Latitude weights (derived: 90, 45, 0, -45, -90) have mean 1: a constant
  // error gives the uniform loss.
  torch::Tensor ones = torch::ones_like(p);
  EXPECT_NEAR(loss(m, LossKind::Mse, p, p + 2 * ones, Weighting::Latitude, 1.0)
                  .item<double>(),
              4.0, 1e-12);
  // An error on one row only is weighted by that row's weight.
  torch::Tensor row = torch::zeros_like(p);
  row.select(2, 2).fill_(1.0);
  double c45 = std::cos(kPi / 4), norm = (1 + 2 * c45) / 5;
  EXPECT_NEAR(loss(m, LossKind::Mae, p, p + row, Weighting::Latitude, 1.0)
                  .item<double>(),
              (1.0 / norm) / 5, 1e-12);
  // From the context's latitudes when given.
  Model n = doubleModel();
  n.context().latitude = torch::tensor({60.0, 0.0, -60.0, 10.0, 20.0});
  EXPECT_NEAR(
      loss(n, LossKind::Mae, p, p + row, Weighting::Latitude, 1.0)
          .item<double>(),
      (1.0 / ((0.5 + 1 + 0.5 + std::cos(kPi / 18) + std::cos(kPi / 9)) / 5)) /
          5 * 1.0 * 0.5,
      1e-6);
  EXPECT_THROW(
      loss(m, LossKind::Mse, p, t.narrow(0, 0, 1), Weighting::Uniform, 1.0),
      Error);
}

// --- gradients reach every parameter
// -----------------------------------------------

TEST(OpsTest, GradientsReachEveryParameter) {
  {
    Model m = doubleModel();
    expectGradients(m,
                    linear(m, "fc", randn({2, 3}), 4, true, Activation::Gelu));
  }
  {
    Model m = doubleModel();
    expectGradients(m,
                    conv2d(m, "c", randn({1, 2, 4, 4}), 3, {3, 3}, {1, 1},
                           {1, 1}, PadMode::Circular, true, Activation::Silu));
  }
  {
    Model m = doubleModel();
    expectGradients(m, layer_norm(m, "ln", randn({2, 5}), 1e-5));
  }
  {
    Model m = doubleModel();
    expectGradients(m, group_norm(m, "gn", randn({2, 4, 3, 3}), 2, 1e-5));
  }
  {
    Model m = doubleModel();
    expectGradients(m, attention(m, "a", randn({2, 3, 4}), 2, true, 0.0));
  }
  {
    Model m = doubleModel();
    expectGradients(m, attention(m, "a", randn({2, 3, 4}), 2, true, 0.2));
  }
  {
    Model m = doubleModel();
    expectGradients(
        m, cross_attention(m, "x", randn({2, 3, 4}), randn({2, 5, 6}, 4), 2));
  }
  {
    Model m = doubleModel();
    expectGradients(m, patch_embed(m, "p", randn({1, 2, 4, 4}), {2, 2}, 3));
  }
  {
    Model m = doubleModel();
    expectGradients(m, afno2d(m, "f", randn({1, 4, 6, 4}), 2, 0.0, 1.0));
  }
  {
    Model m = doubleModel();
    expectGradients(m, afno2d(m, "f", randn({1, 4, 6, 4}), 2, 0.0, 0.6));
  }
  {
    Model m = doubleModel();
    torch::Tensor edges = graph_edges(m, randn({1, 1, 4, 8}), "multimesh", 0);
    expectGradients(m, graph_message(m, "g", randn({2, 12, 3}),
                                     randn({1, 60, 2}), edges, 5, 4));
  }
  {
    Model m = doubleModel();
    expectGradients(m, param(m, "pos", {1, 3}));
  }
}

TEST(OpsTest, ParameterShapesMatchCompiler) {
  // The names and shapes S2SOps.cpp's getParameters lists.
  Model m = doubleModel();
  attention(m, "a", randn({1, 2, 6}), 3, true, 0.0);
  graph_message(m, "g", randn({1, 4, 3}), randn({1, 2, 2}),
                torch::tensor({0, 1, 1, 0}).view({2, 2}), 5, 7);
  conv2d(m, "c", randn({1, 2, 5, 5}), 4, {3, 1}, {1, 1}, {1, 0}, PadMode::Zeros,
         true, Activation::None);
  std::vector<std::pair<std::string, std::vector<int64_t>>> want = {
      {"a.qkv.weight", {6, 18}},      {"a.qkv.bias", {18}},
      {"a.proj.weight", {6, 6}},      {"a.proj.bias", {6}},
      {"g.msg.fc1.weight", {8, 5}},   {"g.msg.fc1.bias", {5}},
      {"g.msg.fc2.weight", {5, 7}},   {"g.msg.fc2.bias", {7}},
      {"g.node.fc1.weight", {10, 5}}, {"g.node.fc1.bias", {5}},
      {"g.node.fc2.weight", {5, 7}},  {"g.node.fc2.bias", {7}},
      {"c.weight", {4, 2, 3, 1}},     {"c.bias", {4}}};
  ASSERT_EQ(m.namedParameters().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(m.namedParameters()[i].first, want[i].first);
    EXPECT_EQ(m.namedParameters()[i].second.sizes().vec(), want[i].second)
        << want[i].first;
  }
}
