//===- OptimTest.cpp - Optimizers against torch.optim's rules, schedules --===//

#include "optim/Optim.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rt = s2s::rt;

namespace {

/// Three steps of `kind` on f(p) = 1/2 sum a_i p_i^2 (gradient a*p), by
/// hand in double, against Optimizer.
void checkOptimizer(const rt::OptimizerConfig &c) {
  const std::vector<double> a = {1.0, 3.0, 0.5}, p0 = {1.0, -2.0, 0.25};
  const double lrs[3] = {0.1, 0.05, 0.02};
  // Reference.
  std::vector<double> p = p0, m(3, 0.0), v(3, 0.0), buf(3, 0.0);
  for (int t = 1; t <= 3; ++t) {
    double lr = lrs[t - 1];
    for (size_t i = 0; i < 3; ++i) {
      double g = a[i] * p[i];
      if (c.kind == rt::OptimizerKind::Sgd) {
        g += c.weightDecay * p[i];
        if (c.momentum != 0) {
          buf[i] = c.momentum * buf[i] + g;
          g = c.nesterov ? g + c.momentum * buf[i] : buf[i];
        }
        p[i] -= lr * g;
        continue;
      }
      if (c.kind == rt::OptimizerKind::Adamw)
        p[i] *= 1 - lr * c.weightDecay;
      else
        g += c.weightDecay * p[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      double mhat = m[i] / (1 - std::pow(c.beta1, t));
      double vhat = v[i] / (1 - std::pow(c.beta2, t));
      p[i] -= lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
  // Optimizer on float64 tensors.
  torch::Tensor param =
      torch::tensor(p0, torch::kFloat64).set_requires_grad(true);
  torch::Tensor at = torch::tensor(a, torch::kFloat64);
  rt::Optimizer opt(c, {{"w", param}});
  for (int t = 0; t < 3; ++t) {
    opt.zeroGrad();
    torch::Tensor loss = 0.5 * (at * param * param).sum();
    loss.backward();
    opt.step(lrs[t]);
  }
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_NEAR(param[i].item<double>(), p[size_t(i)], 1e-12)
        << rt::name(c.kind) << " element " << i;
  EXPECT_EQ(opt.steps(), 3);
}

} // namespace

TEST(Optim, SgdMomentumNesterovWeightDecay) {
  rt::OptimizerConfig c;
  c.kind = rt::OptimizerKind::Sgd;
  checkOptimizer(c);
  c.momentum = 0.9;
  checkOptimizer(c);
  c.nesterov = true;
  c.weightDecay = 0.01;
  checkOptimizer(c);
}

TEST(Optim, AdamClosedForm) {
  rt::OptimizerConfig c;
  c.kind = rt::OptimizerKind::Adam;
  checkOptimizer(c);
  c.weightDecay = 0.1;
  c.beta1 = 0.8;
  c.beta2 = 0.99;
  c.eps = 1e-6;
  checkOptimizer(c);
}

TEST(Optim, AdamFirstStepIsSignTimesLr) {
  // Bias correction makes Adam's first step lr * g / (|g| + eps).
  rt::OptimizerConfig c;
  torch::Tensor p =
      torch::tensor({2.0, -3.0}, torch::kFloat64).set_requires_grad(true);
  rt::Optimizer opt(c, {{"p", p}});
  (p * p).sum().backward();
  opt.step(0.01);
  EXPECT_NEAR(p[0].item<double>(), 2.0 - 0.01, 1e-9);
  EXPECT_NEAR(p[1].item<double>(), -3.0 + 0.01, 1e-9);
}

TEST(Optim, AdamWDecoupled) {
  rt::OptimizerConfig c;
  c.kind = rt::OptimizerKind::Adamw;
  c.weightDecay = 0.05;
  checkOptimizer(c);
}

TEST(Optim, StateRoundTrip) {
  rt::OptimizerConfig c;
  c.kind = rt::OptimizerKind::Adamw;
  torch::Tensor p = torch::tensor({1.0, 2.0}).set_requires_grad(true);
  rt::Optimizer opt(c, {{"net.w", p}});
  (p * p).sum().backward();
  opt.step(0.1);
  rt::NamedTensors s = opt.state();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].first, "adamw.m.net.w");
  EXPECT_EQ(s[1].first, "adamw.v.net.w");
  EXPECT_EQ(s[2].first, "adamw.step");
  std::map<std::string, torch::Tensor> byName;
  for (auto &kv : s)
    byName[kv.first] = kv.second.clone();
  torch::Tensor q = torch::tensor({1.0, 2.0}).set_requires_grad(true);
  rt::Optimizer other(c, {{"net.w", q}});
  other.loadState(byName);
  EXPECT_EQ(other.steps(), 1);
  EXPECT_TRUE(torch::equal(other.state()[0].second, s[0].second));

  rt::OptimizerConfig sgd;
  sgd.kind = rt::OptimizerKind::Sgd;
  rt::Optimizer wrong(sgd, {{"net.w", q}});
  try {
    wrong.loadState(byName);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(
                  "for adamw, but the spec's optimizer is sgd"),
              std::string::npos)
        << e.what();
  }
}

TEST(Optim, ClipGradNorm) {
  torch::Tensor a = torch::zeros({1}).set_requires_grad(true);
  torch::Tensor b = torch::zeros({1}).set_requires_grad(true);
  (3.0 * a + 4.0 * b).sum().backward();
  double norm = rt::clipGradNorm({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad().item<double>(), 0.8, 1e-5);
  // Below the limit: untouched.
  EXPECT_NEAR(rt::clipGradNorm({a, b}, 10.0), 1.0, 1e-5);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
}

TEST(Schedule, Values) {
  rt::ScheduleConfig s;
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 0, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 99, 10, 100), 0.1);
  s.warmup = 4;
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 0, 10, 100), 0.025);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 3, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 4, 10, 100), 0.1);

  rt::ScheduleConfig st;
  st.kind = rt::ScheduleKind::Step;
  st.every = 2;
  st.gamma = 0.5;
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 19, 10, 100), 0.1);   // epoch 1
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 20, 10, 100), 0.05);  // epoch 2
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 45, 10, 100), 0.025); // epoch 4

  rt::ScheduleConfig c;
  c.kind = rt::ScheduleKind::Cosine;
  c.warmup = 10;
  c.minLr = 0.001;
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 0, 10, 110), 0.01);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 9, 10, 110), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 10, 10, 110), 0.1);
  EXPECT_NEAR(rt::learningRate(c, 0.1, 60, 10, 110), 0.001 + 0.099 * 0.5,
              1e-15);
  EXPECT_NEAR(rt::learningRate(c, 0.1, 35, 10, 110),
              0.001 + 0.099 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 110, 10, 110), 0.001);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 500, 10, 110), 0.001);
}
