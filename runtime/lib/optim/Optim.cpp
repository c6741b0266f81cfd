//===- Optim.cpp - Optimizers, learning-rate schedules, clipping ----------===//

#include "optim/Optim.h"

#include "s2s/runtime/Error.h"

#include <algorithm>
#include <cmath>

namespace s2s::rt {

double learningRate(const ScheduleConfig &s, double lr, int64_t step,
                    int64_t stepsPerEpoch, int64_t totalSteps) {
  if (step < 0)
    step = 0;
  if (s.warmup > 0 && step < s.warmup)
    return lr * double(step + 1) / double(s.warmup);
  switch (s.kind) {
  case ScheduleKind::Constant:
    return lr;
  case ScheduleKind::Step: {
    if (s.every <= 0 || stepsPerEpoch <= 0)
      return lr;
    int64_t epoch = step / stepsPerEpoch;
    return lr * std::pow(s.gamma, double(epoch / s.every));
  }
  case ScheduleKind::Cosine: {
    int64_t span = totalSteps - s.warmup;
    if (span <= 0)
      return s.minLr;
    double t = double(step - s.warmup) / double(span);
    t = std::clamp(t, 0.0, 1.0);
    return s.minLr + (lr - s.minLr) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  }
  throw Error("unknown learning-rate schedule kind " +
              std::to_string(static_cast<int>(s.kind)));
}

Optimizer::Optimizer(const OptimizerConfig &config, NamedTensors params)
    : config_(config), params_(std::move(params)) {
  torch::NoGradGuard noGrad;
  for (auto &[name, p] : params_) {
    (void)name;
    if (config_.kind == OptimizerKind::Sgd) {
      buf1_.push_back(torch::zeros_like(p));
    } else {
      buf1_.push_back(torch::zeros_like(p));
      buf2_.push_back(torch::zeros_like(p));
    }
  }
}

void Optimizer::zeroGrad() {
  for (auto &np : params_) {
    // As zero_grad(set_to_none=True): the next backward assigns the
    // gradient instead of adding to zeros (the same values).
    np.second.mutable_grad().reset();
  }
}

void Optimizer::step(double lr) {
  torch::NoGradGuard noGrad;
  ++steps_;
  const OptimizerConfig &c = config_;
  const double wd = c.weightDecay;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor p = params_[i].second;
    const torch::Tensor &grad = p.grad();
    if (!grad.defined())
      continue;
    torch::Tensor g = grad;
    if (c.kind == OptimizerKind::Sgd) {
      if (wd != 0.0)
        g = g.add(p, wd);
      if (c.momentum != 0.0) {
        torch::Tensor &buf = buf1_[i];
        // torch.optim.SGD: buf = g on the first step, momentum*buf + g after
        // (dampening 0); a zero buffer gives the same.
        buf.mul_(c.momentum).add_(g);
        if (c.nesterov)
          g = g.add(buf, c.momentum);
        else
          g = buf;
      }
      p.add_(g, -lr);
      continue;
    }
    // Adam / AdamW.
    if (c.kind == OptimizerKind::Adamw) {
      if (wd != 0.0)
        p.mul_(1.0 - lr * wd);
    } else if (wd != 0.0) {
      g = g.add(p, wd);
    }
    torch::Tensor &m = buf1_[i], &v = buf2_[i];
    m.mul_(c.beta1).add_(g, 1.0 - c.beta1);
    v.mul_(c.beta2).addcmul_(g, g, 1.0 - c.beta2);
    double bc1 = 1.0 - std::pow(c.beta1, double(steps_));
    double bc2 = 1.0 - std::pow(c.beta2, double(steps_));
    torch::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(c.eps);
    p.addcdiv_(m, denom, -lr / bc1);
  }
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  const std::string k = rt::name(config_.kind);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (k == "sgd")
      out.emplace_back("sgd.momentum." + params_[i].first, buf1_[i]);
    else
      out.emplace_back(k + ".m." + params_[i].first, buf1_[i]);
  }
  if (k != "sgd")
    for (size_t i = 0; i < params_.size(); ++i)
      out.emplace_back(k + ".v." + params_[i].first, buf2_[i]);
  out.emplace_back(k + ".step", torch::tensor(steps_, torch::kInt64));
  return out;
}

void Optimizer::loadState(const std::map<std::string, torch::Tensor> &state) {
  const std::string k = rt::name(config_.kind);
  auto find = [&](const std::string &name) -> const torch::Tensor & {
    auto it = state.find(name);
    if (it == state.end()) {
      std::string other;
      for (const char *kind : {"sgd", "adam", "adamw"})
        if (kind != k && state.count(std::string(kind) + ".step"))
          other = kind;
      if (!other.empty())
        throw Error("the checkpoint's optimizer state is for " + other +
                    ", but the spec's optimizer is " + k);
      throw Error("the checkpoint's optimizer state has no tensor '" + name +
                  "'");
    }
    return it->second;
  };
  torch::NoGradGuard noGrad;
  auto restore = [&](const std::string &name, torch::Tensor &dst) {
    const torch::Tensor &src = find(name);
    if (src.sizes() != dst.sizes())
      throw Error("the checkpoint's optimizer tensor '" + name +
                  "' has shape " + c10::str(src.sizes()) +
                  ", the model's parameter has " + c10::str(dst.sizes()));
    dst.copy_(src);
  };
  for (size_t i = 0; i < params_.size(); ++i) {
    if (k == "sgd") {
      restore("sgd.momentum." + params_[i].first, buf1_[i]);
    } else {
      restore(k + ".m." + params_[i].first, buf1_[i]);
      restore(k + ".v." + params_[i].first, buf2_[i]);
    }
  }
  steps_ = find(k + ".step").item<int64_t>();
}

double clipGradNorm(const std::vector<torch::Tensor> &params, double maxNorm) {
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor &p : params)
    if (p.grad().defined())
      grads.push_back(p.grad());
  if (grads.empty())
    return 0.0;
  torch::Tensor sq =
      torch::zeros({}, torch::dtype(torch::kFloat64).device(grads[0].device()));
  for (const torch::Tensor &g : grads)
    sq = sq + g.to(torch::kFloat64).pow(2).sum();
  double norm = std::sqrt(sq.item<double>());
  scaleToNorm(grads, norm, maxNorm);
  return norm;
}

void scaleToNorm(const std::vector<torch::Tensor> &grads, double norm,
                 double maxNorm) {
  if (!(maxNorm > 0.0) || !std::isfinite(norm))
    return;
  // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when < 1.
  torch::NoGradGuard noGrad;
  const double coef = maxNorm / (norm + 1e-6);
  if (coef < 1.0)
    for (torch::Tensor g : grads)
      g.mul_(coef);
}

} // namespace s2s::rt
