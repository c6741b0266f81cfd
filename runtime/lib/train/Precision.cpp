//===- Precision.cpp - What the banner says about mixed precision ---------===//

#include "train/Precision.h"

#include "model/Autocast.h"
#include "optim/LossScaler.h"
#include "support/Text.h"
#include "train/Options.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace s2s::rt {

namespace {

/// The fastest of `runs` forwards of `x` (after one warm-up), in ms.
double fastestForward(const Program &p, Precision precision, Model &model,
                      const torch::Tensor &x, int runs) {
  double best = 1e300;
  for (int i = 0; i <= runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    {
      AutocastGuard autocast(precision, model.device());
      torch::Tensor y = p.forward(model, x);
      if (y.is_cuda())
        torch::cuda::synchronize();
    }
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    if (i > 0) // the first warms caches and thread pools up
      best = std::min(best, ms);
  }
  return best;
}

} // namespace

ForwardTimes timeForward(const Program &p, Precision precision, Model &model,
                         int64_t batch, int64_t channels, int64_t lat,
                         int64_t lon) {
  torch::NoGradGuard noGrad;
  const bool training = model.isTraining();
  const BatchContext context = model.context();
  model.setTraining(false); // no dropout: the model's generator is not drawn
  model.context().time = torch::Tensor();
  model.context().leadSeconds = 0;
  torch::Generator gen = at::detail::createCPUGenerator(12345);
  const torch::Tensor x =
      torch::randn({batch, channels, lat, lon}, gen, torch::kFloat)
          .to(model.device(), model.dtype());
  ForwardTimes t;
  try {
    t.fp32 = fastestForward(p, Precision::Fp32, model, x, 3);
    t.reduced = fastestForward(p, precision, model, x, 3);
  } catch (...) {
    model.setTraining(training);
    model.context() = context;
    throw;
  }
  model.setTraining(training);
  model.context() = context;
  return t;
}

std::string precisionLine(const Program &p, const Settings &s, Model &model,
                          int64_t batch, int64_t channels, int64_t lat,
                          int64_t lon) {
  const Precision precision = s.train.precision;
  if (precision == Precision::Fp32)
    return "";
  const std::string type = name(precision);
  std::string line = p.name + ": precision " + type +
                     ": the forward under autocast in " + type +
                     " (norms, FFTs and the loss in fp32), fp32 weights, "
                     "gradients and optimizer state";
  if (precision == Precision::Fp16)
    line += "; dynamic loss scaling from " + formatNumber(kInitialLossScale) +
            " (halved on a step with "
            "non-finite gradients, which is skipped; doubled after " +
            std::to_string(kLossScaleGrowthInterval) + " good steps)";
  if (!model.device().is_cpu())
    return line;
  const ForwardTimes t =
      timeForward(p, precision, model, batch, channels, lat, lon);
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\n%s: on this CPU a forward of a batch of %lld takes %.3g ms "
                "in %s and %.3g ms in fp32 (measured at start-up)",
                p.name.c_str(), (long long)batch, t.reduced, type.c_str(),
                t.fp32);
  line += buf;
  if (t.reduced > 1.1 * t.fp32) {
    std::snprintf(buf, sizeof buf,
                  "\nnote: %s is %.2fx slower than fp32 on this CPU (its "
                  "matrix products lack native %s support here); "
                  "precision = fp32 trains faster on it",
                  type.c_str(), t.reduced / t.fp32, type.c_str());
    line += buf;
  }
  return line;
}

} // namespace s2s::rt
