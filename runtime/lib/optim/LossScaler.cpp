//===- LossScaler.cpp - Dynamic loss scaling for fp16 training ------------===//

#include "optim/LossScaler.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

namespace s2s::rt {

LossScaler::LossScaler(double scale, int64_t goodSteps, int64_t growthInterval)
    : scale_(scale), goodSteps_(goodSteps), growthInterval_(growthInterval) {
  if (!(scale > 0) || goodSteps < 0 || growthInterval < 1)
    throw Error("invalid loss scaler state (scale " + formatNumber(scale) +
                ", good steps " + std::to_string(goodSteps) + ")");
}

torch::Tensor LossScaler::scale(const torch::Tensor &loss) const {
  return loss * scale_;
}

bool LossScaler::unscale(const std::vector<torch::Tensor> &grads) const {
  torch::NoGradGuard noGrad;
  // One reduction over all of them, read once (one device sync).
  torch::Tensor bad;
  for (const torch::Tensor &g : grads) {
    if (!g.defined())
      continue;
    torch::Tensor g2 = g; // a handle: mul_ writes the gradient itself
    g2.mul_(1.0 / scale_);
    torch::Tensor b = torch::isfinite(g2).logical_not().any();
    bad = bad.defined() ? bad.logical_or(b) : b;
  }
  return !bad.defined() || !bad.item<bool>();
}

void LossScaler::update(bool finite) {
  if (!finite) {
    goodSteps_ = 0;
    scale_ *= kLossScaleBackoff;
    if (scale_ < kMinLossScale)
      throw Error("fp16 loss scaling: the gradients were not finite at any "
                  "loss scale down to 2^-24: the training diverged; try "
                  "precision = bf16, a lower --lr or grad_clip");
    return;
  }
  if (++goodSteps_ >= growthInterval_) {
    scale_ *= kLossScaleGrowth;
    goodSteps_ = 0;
  }
}

} // namespace s2s::rt
