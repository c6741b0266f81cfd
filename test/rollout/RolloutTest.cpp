//===- RolloutTest.cpp - Generated rollouts against a hand-written tableau ===//
//
// Each spec of test/rollout/ is compiled by s2sc (--emit=cpp, at build
// time) and included here in a namespace of its own. Its generated rollout
// loss, and the gradients of every parameter, are compared in float64 with
// a plain loop over the tableau written from docs/language.md's
// definitions: X(0)_k = x_k, X(j)_k = f(X(j-1)_{k-1}), one model call per
// column, the losses summed as the definitions say. The Jacobian penalty's
// reference builds the Jacobian column by column (J e_i, by the
// double-backward trick) rather than row by row as the runtime does, and
// is checked against central differences.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

// One namespace per generated program; their main()s renamed.
#define s2s_generated g_truth_k3
#define main main_truth_k3
#include "truth_k3.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_mlse_n2_k4
#define main main_mlse_n2_k4
#include "mlse_n2_k4.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_mase_n4_k4
#define main main_mase_n4_k4
#include "mase_n4_k4.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_mlse_n4_k4_lag2
#define main main_mlse_n4_k4_lag2
#include "mlse_n4_k4_lag2.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_mase_n3_k4_lag2_flow
#define main main_mase_n3_k4_lag2_flow
#include "mase_n3_k4_lag2_flow.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_exact_all_k2
#define main main_exact_all_k2
#include "exact_all_k2.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_exact_first_k3
#define main main_exact_first_k3
#include "exact_first_k3.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_hutch_k2
#define main main_hutch_k2
#include "hutch_k2.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_recompute_k4
#define main main_recompute_k4
#include "recompute_k4.cpp"
#undef main
#undef s2s_generated
#define s2s_generated g_patches_k2
#define main main_patches_k2
#include "patches_k2.cpp"
#undef main
#undef s2s_generated

using namespace s2s::rt;
using torch::Tensor;

namespace {

const double kPi = 3.14159265358979323846;

using Step = std::function<Tensor(Model &, const Tensor &)>;

/// A float64 model with the program's parameters (same seed: same values
/// for programs of the same model) and known latitudes.
Model makeModel(void (*parameters)(Manifest &), int64_t lat) {
  Manifest manifest;
  parameters(manifest);
  Model m(7, torch::kCPU, torch::kFloat64);
  m.materialize(manifest);
  m.context().latitude =
      torch::linspace(-80.0, 80.0, lat, torch::kFloat64); // degrees
  return m;
}

Tensor window(int64_t batch, int64_t order, int64_t lat, int64_t lon,
              uint64_t seed = 11) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randn({batch, order + 1, 2, lat, lon}, g,
                      torch::TensorOptions().dtype(torch::kFloat64));
}

// --- the definitions, written out -------------------------------------------

enum class Kind { Mse, Mae, Huber };

struct LossDef {
  Kind kind = Kind::Mse;
  bool latitude = false;
  double delta = 1.0;
};

/// mean over every value of the pointwise loss, weighted by cos(latitude)
/// normalised to mean 1 over the rows.
Tensor pointLoss(const Model &m, const LossDef &d, const Tensor &p,
                 const Tensor &t) {
  Tensor e = p - t, l;
  if (d.kind == Kind::Mse)
    l = e * e;
  else if (d.kind == Kind::Mae)
    l = e.abs();
  else
    l = torch::where(e.abs() < d.delta, 0.5 * e * e,
                     d.delta * (e.abs() - 0.5 * d.delta));
  if (!d.latitude)
    return l.mean();
  Tensor c = torch::cos(m.context().latitude * (kPi / 180.0));
  c = c / c.mean();
  return (l * c.view({-1, 1})).mean();
}

struct AlignDef {
  bool on = false;
  LossDef loss;
  int64_t n = 2, lag = 1;
  double weight = 1.0;
  bool stopGradient = true;
};

struct JacobianDef {
  bool on = false;
  bool all = false; // at = all (else first)
  double weight = 0.0;
};

/// sum over samples of ||J_n||_F^2 of f at x, built one column J e_i at a
/// time: J e_i = d/du <J^T u, e_i>, with u a dummy cotangent.
Tensor jacobianColumnsSq(Model &m, const Step &f, const Tensor &x) {
  Tensor xin = x.requires_grad() ? x : x.detach().requires_grad_(true);
  Tensor y = f(m, xin);
  Tensor u = torch::zeros_like(y).requires_grad_(true);
  Tensor jtu = torch::autograd::grad({y}, {xin}, {u}, true, true)[0];
  const int64_t n = x.size(0), d = x.numel() / n;
  Tensor total = torch::zeros({n}, x.options());
  for (int64_t i = 0; i < d; ++i) {
    Tensor e = torch::zeros({n, d}, x.options());
    e.select(1, i).fill_(1.0);
    Tensor je =
        torch::autograd::grad({jtu}, {u}, {e.view(x.sizes())}, true, true)[0];
    total = total + je.pow(2).reshape({n, -1}).sum(1);
  }
  return total;
}

/// The tableau loss of the definitions, one model call per column.
Tensor referenceLoss(Model &m, const Step &f, const Tensor &w, int64_t K,
                     const LossDef &loss, std::vector<double> orderWeights,
                     const AlignDef &align, const JacobianDef &jac) {
  if (orderWeights.empty())
    orderWeights.assign(size_t(K), 1.0);
  std::vector<std::vector<Tensor>> X(size_t(K + 1),
                                     std::vector<Tensor>(size_t(K + 1)));
  for (int64_t k = 0; k <= K; ++k)
    X[0][k] = w.select(1, k);
  Tensor total = torch::zeros({}, w.options());
  for (int64_t j = 1; j <= K; ++j) {
    Tensor orderLoss = torch::zeros({}, w.options());
    Tensor penalty = torch::zeros({}, w.options());
    for (int64_t k = j; k <= K; ++k) {
      Tensor in = X[j - 1][k - 1];
      if (jac.on && (j == 1 || jac.all)) {
        Tensor leaf = in.requires_grad() ? in : in.detach().requires_grad_();
        in = leaf;
        const double d = double(in.numel() / in.size(0));
        penalty = penalty + jacobianColumnsSq(m, f, in).sum() / d;
      }
      X[j][k] = f(m, in);
      orderLoss = orderLoss + pointLoss(m, loss, X[j][k], X[0][k]);
    }
    const double columns = double(K - j + 1);
    total = total + orderWeights[size_t(j - 1)] * orderLoss / columns;
    if (jac.on && (j == 1 || jac.all))
      total = total + jac.weight * penalty / (columns * double(w.size(0)));
  }
  if (align.on)
    for (int64_t j = align.lag + 1; j <= align.n; ++j)
      for (int64_t k = j; k <= K; ++k) {
        Tensor target = X[j - align.lag][k];
        if (align.stopGradient)
          target = target.detach();
        total =
            total + align.weight * pointLoss(m, align.loss, X[j][k], target);
      }
  return total;
}

/// The loss and every parameter's gradient of `lossFn` on `m`.
std::pair<double, std::vector<Tensor>>
lossAndGrads(Model &m, const std::function<Tensor()> &lossFn) {
  for (Tensor &p : m.parameters())
    if (p.grad().defined())
      p.mutable_grad().zero_();
  Tensor l = lossFn();
  l.backward();
  std::vector<Tensor> g;
  for (const Tensor &p : m.parameters())
    g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return {l.item<double>(), g};
}

void expectSame(const std::pair<double, std::vector<Tensor>> &a,
                const std::pair<double, std::vector<Tensor>> &b,
                double tol = 1e-6) {
  EXPECT_NEAR(a.first, b.first, tol * std::max(1.0, std::abs(b.first)));
  ASSERT_EQ(a.second.size(), b.second.size());
  double worst = 0.0;
  for (size_t i = 0; i < a.second.size(); ++i) {
    double scale = std::max(1.0, b.second[i].abs().max().item<double>());
    worst = std::max(
        worst, (a.second[i] - b.second[i]).abs().max().item<double>() / scale);
  }
  EXPECT_LT(worst, tol) << "largest gradient difference (relative)";
}

template <typename Gen>
void compare(Gen rollout, void (*parameters)(Manifest &), Step f, int64_t K,
             int64_t lat, int64_t lon, LossDef loss,
             std::vector<double> orderWeights, AlignDef align,
             JacobianDef jac = {}) {
  Model m = makeModel(parameters, lat);
  Tensor w = window(2, K, lat, lon);
  auto generated = lossAndGrads(m, [&] { return rollout(m, w); });
  auto reference = lossAndGrads(m, [&] {
    return referenceLoss(m, f, w, K, loss, orderWeights, align, jac);
  });
  expectSame(generated, reference);
}

Step stepOf(Tensor (*fn)(Model &, Tensor)) {
  return [fn](Model &m, const Tensor &x) { return fn(m, x); };
}

} // namespace

TEST(RolloutTest, TableauWithOrderWeights) {
  compare(g_truth_k3::net_rollout, g_truth_k3::net_parameters,
          stepOf(g_truth_k3::net), 3, 8, 16, {Kind::Mse, true},
          {1.0, 0.5, 0.25}, {});
}

TEST(RolloutTest, MlseAdjacentOrdersN2K4) {
  AlignDef a{true, {Kind::Mse, true}, 2, 1, 0.7, true};
  compare(g_mlse_n2_k4::net_rollout, g_mlse_n2_k4::net_parameters,
          stepOf(g_mlse_n2_k4::net), 4, 8, 16, {Kind::Mse}, {}, a);
}

TEST(RolloutTest, MaseAdjacentOrdersN4K4) {
  AlignDef a{true, {Kind::Mae}, 4, 1, 0.3, true};
  compare(g_mase_n4_k4::net_rollout, g_mase_n4_k4::net_parameters,
          stepOf(g_mase_n4_k4::net), 4, 8, 16, {Kind::Mae}, {}, a);
}

TEST(RolloutTest, MlseLagTwoN4K4) {
  AlignDef a{true, {Kind::Mse}, 4, 2, 0.5, true};
  compare(g_mlse_n4_k4_lag2::net_rollout, g_mlse_n4_k4_lag2::net_parameters,
          stepOf(g_mlse_n4_k4_lag2::net), 4, 8, 16, {Kind::Mse}, {}, a);
}

TEST(RolloutTest, MaseLagTwoGradientIntoBothSides) {
  AlignDef a{true, {Kind::Mae}, 3, 2, 0.4, false};
  compare(g_mase_n3_k4_lag2_flow::net_rollout,
          g_mase_n3_k4_lag2_flow::net_parameters,
          stepOf(g_mase_n3_k4_lag2_flow::net), 4, 8, 16,
          {Kind::Huber, false, 0.5}, {}, a);
}

TEST(RolloutTest, ExactJacobianAtEveryStep) {
  JacobianDef j{true, true, 0.1};
  compare(g_exact_all_k2::net_rollout, g_exact_all_k2::net_parameters,
          stepOf(g_exact_all_k2::net), 2, 4, 8, {Kind::Mse}, {}, {}, j);
}

TEST(RolloutTest, ExactJacobianAtFirstStepWithAlignment) {
  AlignDef a{true, {Kind::Mse}, 3, 1, 0.5, true};
  JacobianDef j{true, false, 0.2};
  compare(g_exact_first_k3::net_rollout, g_exact_first_k3::net_parameters,
          stepOf(g_exact_first_k3::net), 3, 4, 8, {Kind::Mse}, {}, a, j);
}

// The reference's column-by-column Jacobian against central differences.
TEST(RolloutTest, ColumnJacobianMatchesCentralDifferences) {
  Model m = makeModel(g_exact_all_k2::net_parameters, 4);
  Tensor x = window(2, 0, 4, 8).select(1, 0);
  Step f = stepOf(g_exact_all_k2::net);
  Tensor viaColumns = jacobianColumnsSq(m, f, x);
  torch::NoGradGuard noGrad;
  const int64_t n = x.size(0), d = x.numel() / n;
  const double h = 1e-5;
  Tensor sq = torch::zeros({n}, x.options());
  for (int64_t i = 0; i < d; ++i) {
    Tensor e = torch::zeros({n, d}, x.options());
    e.select(1, i).fill_(h);
    Tensor col =
        (f(m, x + e.view(x.sizes())) - f(m, x - e.view(x.sizes()))) / (2 * h);
    sq += col.pow(2).reshape({n, -1}).sum(1);
  }
  EXPECT_LT(((viaColumns.detach() - sq).abs() / sq).max().item<double>(), 1e-6);
}

// Hutchinson draws its probes from the model's generator: the same draws
// give the same estimate, and its mean over draws approaches the exact
// value (the statistics are in the model kernels' tests).
TEST(RolloutTest, HutchinsonPenaltyIsDeterministicPerSeed) {
  Model a = makeModel(g_hutch_k2::net_parameters, 8);
  Model b = makeModel(g_hutch_k2::net_parameters, 8);
  Tensor w = window(2, 2, 8, 16);
  double la = g_hutch_k2::net_rollout(a, w).item<double>();
  double lb = g_hutch_k2::net_rollout(b, w).item<double>();
  EXPECT_EQ(la, lb);
  double again = g_hutch_k2::net_rollout(a, w).item<double>();
  EXPECT_NE(la, again) << "a second call draws new probes";
  // Without the penalty (a plain tableau) the loss is smaller.
  torch::NoGradGuard noGrad;
  double plain =
      referenceLoss(a, stepOf(g_hutch_k2::net), w, 2, {Kind::Mse}, {}, {}, {})
          .item<double>();
  EXPECT_GT(la, plain);
}

TEST(RolloutTest, RecomputedActivationsGiveTheSameGradients) {
  Model m = makeModel(g_recompute_k4::net_parameters, 8);
  Tensor w = window(2, 4, 8, 16);
  auto recomputed =
      lossAndGrads(m, [&] { return g_recompute_k4::net_rollout(m, w); });
  auto kept = lossAndGrads(m, [&] { return g_mlse_n2_k4::net_rollout(m, w); });
  expectSame(recomputed, kept);
}

TEST(RolloutTest, PatchwiseStepInTheTableau) {
  AlignDef a{true, {Kind::Mse}, 2, 1, 0.5, true};
  compare(g_patches_k2::net_rollout, g_patches_k2::net_parameters,
          stepOf(g_patches_k2::net_step), 2, 8, 16, {Kind::Mse, true}, {}, a);
}
