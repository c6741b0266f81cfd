//===- RolloutKernelsTest.cpp - Jacobian, patch and recompute kernels -----===//
//
// Against closed forms (the Jacobian of a linear map is its matrix), plain
// loops (a 3x3 convolution on the periodic grid, the weighted mean over
// covering patches written point by point) and statistics (Hutchinson's
// estimate over 10 000 draws).
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace s2s::rt;

namespace {

torch::Tensor randn(std::vector<int64_t> shape, uint64_t seed = 3) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn(shape, g, torch::TensorOptions().dtype(torch::kFloat64));
}

/// f(x) = A x per sample, x [n, 1, 1, d] -> [n, 1, 1, e].
torch::Tensor linearMap(const torch::Tensor &A, const torch::Tensor &x) {
  int64_t n = x.size(0);
  return torch::matmul(x.reshape({n, -1}), A.t()).reshape({n, 1, 1, -1});
}

double penalty(Model &m, const torch::Tensor &A, const torch::Tensor &x0,
               JacobianKind kind, ProbeDist probe, torch::Tensor *gradA) {
  torch::Tensor x = jacobian_input(m, x0);
  torch::Tensor y = linearMap(A, x);
  torch::Tensor p = jacobian_penalty(m, x, y, kind, 1, probe, 0.5);
  if (gradA) {
    *gradA = torch::autograd::grad({p}, {A})[0];
  }
  return p.item<double>();
}

} // namespace

// ||A||_F^2 / d, times the weight: the Jacobian of x -> A x is A.
TEST(JacobianTest, ExactPenaltyOfALinearMapIsItsFrobeniusNorm) {
  Model m(1, torch::kCPU, torch::kFloat64);
  torch::Tensor A = randn({3, 4}).requires_grad_(true);
  torch::Tensor x = randn({5, 1, 1, 4}, 9);
  torch::Tensor g;
  double p = penalty(m, A, x, JacobianKind::Exact, ProbeDist::Rademacher, &g);
  double want = 0.5 * A.detach().pow(2).sum().item<double>() / 4.0;
  EXPECT_NEAR(p, want, 1e-12);
  // d/dA (0.5 ||A||^2 / 4) = A / 4.
  EXPECT_LT((g - A.detach() / 4.0).abs().max().item<double>(), 1e-12);
}

// Over 10 000 draws the mean estimate and the mean gradient are within 3
// standard errors of the exact values, for both probe distributions.
TEST(JacobianTest, HutchinsonIsUnbiasedForALinearMap) {
  for (ProbeDist dist : {ProbeDist::Rademacher, ProbeDist::Gaussian}) {
    Model m(2, torch::kCPU, torch::kFloat64);
    torch::Tensor A = randn({3, 4}).requires_grad_(true);
    torch::Tensor x = randn({1, 1, 1, 4}, 9);
    const int draws = 10000;
    std::vector<double> est(draws);
    torch::Tensor gsum = torch::zeros({3, 4}, torch::kFloat64),
                  gsq = torch::zeros({3, 4}, torch::kFloat64);
    for (int i = 0; i < draws; ++i) {
      torch::Tensor g;
      est[size_t(i)] = penalty(m, A, x, JacobianKind::Hutchinson, dist, &g);
      gsum += g;
      gsq += g * g;
    }
    double mean = 0, sq = 0;
    for (double e : est) {
      mean += e;
      sq += e * e;
    }
    mean /= draws;
    double se = std::sqrt((sq / draws - mean * mean) / draws);
    double exact = 0.5 * A.detach().pow(2).sum().item<double>() / 4.0;
    EXPECT_LT(std::abs(mean - exact), 3 * se)
        << "mean " << mean << " exact " << exact << " se " << se;
    torch::Tensor gmean = gsum / draws;
    torch::Tensor gse = ((gsq / draws - gmean * gmean) / draws).sqrt();
    torch::Tensor z = (gmean - A.detach() / 4.0).abs() / gse;
    EXPECT_LT(z.max().item<double>(), 3.0) << "gradient z-scores " << z;
  }
}

// A non-linear map: the exact penalty equals ||J||^2 from central
// differences.
TEST(JacobianTest, ExactPenaltyMatchesCentralDifferences) {
  Model m(1, torch::kCPU, torch::kFloat64);
  torch::Tensor A = randn({6, 6}, 4);
  auto f = [&](const torch::Tensor &x) {
    return torch::tanh(linearMap(A, x)) * linearMap(A, x).pow(2);
  };
  torch::Tensor x0 = randn({3, 1, 1, 6}, 5);
  torch::Tensor x = jacobian_input(m, x0);
  double p = jacobian_penalty(m, x, f(x), JacobianKind::Exact, 1,
                              ProbeDist::Rademacher, 1.0)
                 .item<double>();
  torch::NoGradGuard noGrad;
  const double h = 1e-6;
  torch::Tensor sq = torch::zeros({3}, torch::kFloat64);
  for (int64_t i = 0; i < 6; ++i) {
    torch::Tensor e = torch::zeros({3, 1, 1, 6}, torch::kFloat64);
    e.select(3, i).fill_(h);
    sq += ((f(x0 + e) - f(x0 - e)) / (2 * h)).pow(2).reshape({3, -1}).sum(1);
  }
  EXPECT_NEAR(p, (sq / 6.0).mean().item<double>(), 1e-6);
}

// --- patches -------------------------------------------------------------

namespace {

/// The documented rule, point by point: lat starts 0, s, 2s, ... while the
/// patch fits, plus one ending at the last row; lon starts 0, s, ... below
/// the width, wrapping; a point within `halo` of a patch edge inside the
/// grid has weight 0.
torch::Tensor naiveMerge(const torch::Tensor &patches, int64_t H, int64_t W,
                         int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                         int64_t hh, int64_t hw) {
  std::vector<int64_t> lat, lon;
  for (int64_t s = 0; s + ph <= H; s += sh)
    lat.push_back(s);
  if (lat.back() + ph < H)
    lat.push_back(H - ph);
  for (int64_t s = 0; s < W; s += sw)
    lon.push_back(s);
  if (pw == W)
    lon = {0};
  const int64_t n = patches.size(0) / int64_t(lat.size() * lon.size()),
                c = patches.size(1);
  auto acc = patches.accessor<double, 4>();
  torch::Tensor out = torch::zeros({n, c, H, W}, torch::kFloat64);
  auto o = out.accessor<double, 4>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double sum = 0, wsum = 0;
          int64_t p = 0;
          for (int64_t a : lat)
            for (int64_t l : lon) {
              int64_t di = i - a, dj = ((j - l) % W + W) % W;
              if (di >= 0 && di < ph && dj < pw) {
                bool edgeLo = a > 0 && di < hh;
                bool edgeHi = a + ph < H && ph - 1 - di < hh;
                bool wrapEdge = pw < W && (dj < hw || pw - 1 - dj < hw);
                double w = (edgeLo || edgeHi || wrapEdge) ? 0.0 : 1.0;
                sum +=
                    w *
                    acc[b * int64_t(lat.size() * lon.size()) + p][ch][di][dj];
                wsum += w;
              }
              ++p;
            }
          o[b][ch][i][j] = sum / wsum;
        }
  return out;
}

} // namespace

TEST(PatchTest, MergeOfExtractIsTheIdentity) {
  torch::Tensor x = randn({2, 3, 11, 16});
  for (auto [size, stride, halo] :
       std::vector<std::tuple<Ints, Ints, Ints>>{{{4, 8}, {4, 8}, {0, 0}},
                                                 {{4, 6}, {3, 5}, {0, 0}},
                                                 {{5, 8}, {2, 4}, {1, 2}},
                                                 {{11, 16}, {1, 1}, {3, 3}}}) {
    torch::Tensor p = extract_patches(x, size, stride);
    torch::Tensor y = merge_patches(p, {11, 16}, size, stride, halo);
    EXPECT_LT((y - x).abs().max().item<double>(), 1e-12);
  }
}

// The stride not dividing: latitude 11, patches of 4 every 3 start at 0, 3,
// 6 and 7 (the last moved up to end at the last row); longitude 16, patches
// of 6 every 5 start at 0, 5, 10, 15, the last wrapping round to column 4.
TEST(PatchTest, NonDividingStrideAsDocumented) {
  torch::Tensor x = randn({1, 1, 11, 16});
  torch::Tensor p = extract_patches(x, {4, 6}, {3, 5});
  ASSERT_EQ(p.size(0), 16);
  // patch (3, 3): rows 7..10, columns 15, 0, 1, 2, 3, 4.
  torch::Tensor want = torch::cat(
      {x.narrow(2, 7, 4).narrow(3, 15, 1), x.narrow(2, 7, 4).narrow(3, 0, 5)},
      3);
  EXPECT_TRUE(torch::equal(p[15], want[0]));
  EXPECT_TRUE(torch::equal(p[4], x[0].narrow(1, 3, 4).narrow(2, 0, 6)));
}

TEST(PatchTest, MergeIsTheWeightedMeanOfCoveringPatches) {
  const int64_t H = 12, W = 16;
  for (auto [ph, pw, sh, sw, hh, hw] : std::vector<std::array<int64_t, 6>>{
           {4, 8, 3, 5, 0, 0}, {6, 8, 3, 4, 1, 2}, {5, 16, 3, 1, 1, 3}}) {
    int64_t P = 0;
    {
      torch::Tensor probe = torch::zeros({1, 1, H, W}, torch::kFloat64);
      P = extract_patches(probe, {ph, pw}, {sh, sw}).size(0);
    }
    torch::Tensor patches = randn({2 * P, 2, ph, pw}, 17);
    torch::Tensor got =
        merge_patches(patches, {H, W}, {ph, pw}, {sh, sw}, {hh, hw});
    torch::Tensor want = naiveMerge(patches, H, W, ph, pw, sh, sw, hh, hw);
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-12)
        << ph << "x" << pw << " every " << sh << "x" << sw << " halo " << hh
        << "x" << hw;
  }
}

// A 3x3 convolution per patch (zero padding at the patch's edges) with a
// halo of 1 — the convolution's reach — merges into the whole-grid
// convolution (zero rows beyond the poles, periodic in longitude), written
// as a plain loop.
TEST(PatchTest, ConvolutionWithHaloEqualsWholeGrid) {
  const int64_t H = 10, W = 16;
  torch::Tensor x = randn({2, 2, H, W}, 21), k = randn({3, 2, 3, 3}, 22);
  torch::Tensor p = extract_patches(x, {6, 8}, {2, 4});
  torch::Tensor yp = torch::conv2d(p, k, {}, 1, 1);
  torch::Tensor got = merge_patches(yp, {H, W}, {6, 8}, {2, 4}, {1, 1});
  torch::Tensor want = torch::zeros({2, 3, H, W}, torch::kFloat64);
  auto xa = x.accessor<double, 4>();
  auto ka = k.accessor<double, 4>();
  auto wa = want.accessor<double, 4>();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t o = 0; o < 3; ++o)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) {
          double s = 0;
          for (int64_t c = 0; c < 2; ++c)
            for (int64_t di = -1; di <= 1; ++di)
              for (int64_t dj = -1; dj <= 1; ++dj) {
                int64_t ii = i + di, jj = ((j + dj) % W + W) % W;
                if (ii >= 0 && ii < H)
                  s += ka[o][c][di + 1][dj + 1] * xa[b][c][ii][jj];
              }
          wa[b][o][i][j] = s;
        }
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-10);
}

TEST(PatchTest, LayoutProblemsAreErrors) {
  torch::Tensor x = randn({1, 1, 8, 16});
  EXPECT_THROW(extract_patches(x, {9, 8}, {4, 4}), Error);
  EXPECT_THROW(merge_patches(torch::zeros({5, 1, 4, 8}, torch::kFloat64),
                             {8, 16}, {4, 8}, {4, 8}, {0, 0}),
               Error);
  // A halo that leaves rows in no patch's interior.
  EXPECT_THROW(merge_patches(torch::zeros({6, 1, 4, 8}, torch::kFloat64),
                             {8, 16}, {4, 8}, {4, 8}, {1, 0}),
               Error);
}

// --- recomputation -------------------------------------------------------

namespace {

torch::Tensor dropoutStep(Model &m, torch::Tensor x) {
  torch::Tensor h = linear(m, "fc1", x, 8, true, Activation::Tanh);
  h = dropout(m, h, 0.3);
  return linear(m, "fc2", h, 4, true, Activation::None) + x;
}

} // namespace

// The recomputed step draws the same dropout masks (the generator is put
// back) and gives the same loss and gradients as the step run once; the
// generator is left as the plain run leaves it.
TEST(RecomputeTest, SameGradientsWithDropout) {
  Model m(5, torch::kCPU, torch::kFloat64);
  torch::Tensor x0 = randn({6, 4}, 8);
  dropoutStep(m, x0); // create the parameters
  auto run = [&](bool recomputed) {
    for (torch::Tensor &p : m.parameters())
      if (p.grad().defined())
        p.mutable_grad().zero_();
    m.generator().set_current_seed(42);
    torch::Tensor x = x0.clone().requires_grad_(true);
    torch::Tensor h = x;
    for (int k = 0; k < 3; ++k)
      h = recomputed ? recompute(m, &dropoutStep, h) : dropoutStep(m, h);
    torch::Tensor loss = h.pow(2).mean();
    loss.backward();
    std::vector<torch::Tensor> g{x.grad().clone()};
    for (const torch::Tensor &p : m.parameters())
      g.push_back(p.grad().clone());
    g.push_back(loss.detach());
    g.push_back(torch::rand({1}, m.generator(), torch::kFloat64));
    return g;
  };
  std::vector<torch::Tensor> plain = run(false), again = run(true);
  ASSERT_EQ(plain.size(), again.size());
  for (size_t i = 0; i < plain.size(); ++i)
    EXPECT_LT((plain[i] - again[i]).abs().max().item<double>(), 1e-12) << i;
}
