//===- Step.cpp - One optimizer step of the training loop -----------------===//

#include "train/Step.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"
#include "train/Banner.h"
#include "train/Strategy.h"

#include <cmath>

namespace s2s::rt {

TrainStep::TrainStep(const Program &p, const TrainConfig &tc,
                     Strategy &strategy, Model &model, Optimizer &optim,
                     int64_t stepsPerEpoch, int64_t totalSteps)
    : p_(p), tc_(tc), strategy_(strategy), model_(model), optim_(optim),
      stepsPerEpoch_(stepsPerEpoch), totalSteps_(totalSteps),
      modelText_(modelText(p)) {}

double TrainStep::learningRate(const TrainState &st) const {
  return rt::learningRate(tc_.schedule, tc_.optimizer.lr, st.scheduleStep,
                          stepsPerEpoch_, totalSteps_);
}

double TrainStep::run(const Batch &batch, int64_t epoch, int64_t b,
                      TrainState &st, double &lr) {
  const torch::Device device = model_.device();
  torch::Tensor window = batch.window.to(device, model_.dtype());
  model_.context().time = batch.times.to(device);
  model_.context().leadSeconds = 0;
  optim_.zeroGrad();
  torch::Tensor loss = p_.rolloutLoss(model_, window);
  if (!loss.defined() || loss.numel() != 1)
    throw Error("the rollout loss of " + modelText_ +
                " is not a scalar (internal error)");
  const double lossValue = loss.item<double>();
  if (!std::isfinite(lossValue))
    throw Error("the training loss became " +
                std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                " at epoch " + std::to_string(epoch + 1) + ", step " +
                std::to_string(b + 1) + " (global step " +
                std::to_string(st.globalStep + 1) + ", learning rate " +
                formatNumber(lr) +
                "); the training diverged: try a lower --lr (e.g. " +
                formatNumber(tc_.optimizer.lr / 10) + ")" +
                (tc_.gradClip > 0 ? std::string()
                                  : ", a warm-up or grad_clip in the spec"));
  if (!loss.requires_grad())
    throw Error("the rollout loss of " + modelText_ +
                " does not depend on any parameter");
  loss.backward();
  strategy_.afterBackward(model_);
  if (tc_.gradClip > 0)
    strategy_.clipGradients(model_, tc_.gradClip);
  lr = learningRate(st);
  strategy_.optimizerStep(optim_, lr);
  ++st.scheduleStep;
  ++st.globalStep;
  st.batch = b + 1;
  st.epochLossSum += lossValue;
  ++st.epochLossCount;
  st.logLossSum += lossValue;
  ++st.logLossCount;
  return lossValue;
}

} // namespace s2s::rt
