//===- Step.cpp - One optimizer step of the training loop -----------------===//

#include "train/Step.h"

#include "model/Autocast.h"
#include "optim/LossScaler.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"
#include "support/Calendar.h"
#include "support/Text.h"
#include "train/Banner.h"
#include "train/Strategy.h"

#include <cmath>

namespace s2s::rt {

TrainStep::TrainStep(const Program &p, const TrainConfig &tc,
                     Strategy &strategy, Model &model, Optimizer &optim,
                     int64_t stepsPerEpoch, int64_t totalSteps,
                     std::string dataText)
    : p_(p), tc_(tc), strategy_(strategy), model_(model), optim_(optim),
      stepsPerEpoch_(stepsPerEpoch), totalSteps_(totalSteps),
      modelText_(modelText(p)), dataText_(std::move(dataText)) {}

/// The generated rollout on `window`; a LibTorch error (a shape that does
/// not fit) is reported with the model and the data it was given.
torch::Tensor TrainStep::rolloutLoss(const torch::Tensor &window) {
  try {
    AutocastGuard autocast(tc_.precision, model_.device());
    return p_.rolloutLoss(model_, window);
  } catch (const c10::Error &e) {
    throw Error(modelText_ + " failed on a batch of " + dataText_ + ": " +
                firstLines(e.what_without_backtrace()) +
                "; check the spec's data grid and channels against the "
                "model's sizes");
  } catch (const Error &e) {
    throw Error(modelText_ + " on a batch of " + dataText_ + ": " + e.what());
  }
}

/// After the first backward every parameter the manifest declared has a
/// gradient: one without was created but no layer used it, a compiler and
/// runtime that disagree.
void TrainStep::checkEveryParameterReached() const {
  const auto &params = model_.namedParameters();
  for (size_t i = 0; i < params.size(); ++i)
    if (!strategy_.reached(model_, i))
      throw Error("parameter '" + params[i].first + "' of " + modelText_ +
                  " is declared by the program's manifest but no layer uses "
                  "it: the compiler and the runtime disagree; rebuild the "
                  "program with the s2sc of this runtime");
}

double TrainStep::learningRate(const TrainState &st) const {
  return rt::learningRate(tc_.schedule, tc_.optimizer.lr, st.scheduleStep,
                          stepsPerEpoch_, totalSteps_);
}

/// Why a loss is not finite when the step's inputs say so: a parameter
/// holding NaN or infinity, or inputs far outside their normalisation;
/// "" when neither (the training itself diverged).
std::string TrainStep::nonFiniteCause(const torch::Tensor &window,
                                      const torch::Tensor &times) const {
  torch::NoGradGuard noGrad;
  for (const auto &[name, t] : model_.namedParameters()) {
    if (!t.defined() || t.numel() == 0 || torch::isfinite(t).all().item<bool>())
      continue;
    return "parameter '" + name + "' holds " +
           (torch::isnan(t).any().item<bool>() ? "NaN" : "infinite") +
           " values " +
           (stepsRun_ == 0
                ? "in the weights this run started from (the --init file or "
                  "the checkpoint it resumed): check them"
                : "after an earlier step: the training diverged before; try "
                  "a lower --lr or grad_clip");
  }
  // [b, window, channel, lat, lon], normalised: |x| in standard deviations
  const torch::Tensor worst =
      window.detach().abs().nan_to_num(INFINITY).amax({1, 3, 4}).to(
          torch::kCPU);
  const int64_t at = worst.argmax().item<int64_t>();
  const double value = worst.reshape({-1})[at].item<double>();
  if (value < 1e4)
    return "";
  const int64_t sample = at / worst.size(1), channel = at % worst.size(1);
  const auto &names = p_.data.channels;
  return "the batch's inputs reach " + formatNumber(value) +
         " standard deviations from the mean (channel '" +
         (size_t(channel) < names.size() ? names[size_t(channel)]
                                         : std::to_string(channel)) +
         "', window starting " + formatTime(times[sample].item<int64_t>()) +
         "): the data or the normalisation stats are wrong there";
}

/// Throws when the loss of micro-batch `b` is not finite, naming the cause
/// (the message quotes `lr` as it was before the step).
void TrainStep::checkFinite(double lossValue, int64_t epoch, int64_t b,
                            const TrainState &st, double lr,
                            const torch::Tensor &window,
                            const torch::Tensor &times) const {
  if (std::isfinite(lossValue))
    return;
  const std::string where =
      "the training loss became " +
      std::string(std::isnan(lossValue) ? "NaN" : "infinite") + " at epoch " +
      std::to_string(epoch + 1) + ", step " + std::to_string(b + 1) +
      " (global step " + std::to_string(st.globalStep + 1) +
      ", learning rate " + formatNumber(lr) + ")";
  if (const std::string cause = nonFiniteCause(window, times); !cause.empty())
    throw Error(where + ": " + cause);
  if (tc_.precision == Precision::Fp16)
    throw Error(where +
                ": an fp16 forward may have left fp16's range "
                "(65504); try precision = bf16, or a lower --lr (e.g. " +
                formatNumber(tc_.optimizer.lr / 10) + ")");
  throw Error(where + "; the training diverged: try a lower --lr (e.g. " +
              formatNumber(tc_.optimizer.lr / 10) + ")" +
              (tc_.gradClip > 0 ? std::string()
                                : ", a warm-up or grad_clip in the spec"));
}

/// fp16: unscales the gradients the optimizer reads and updates the loss
/// scale in `st`; whether they are finite on every process (the same
/// answer everywhere, so every process takes or skips the step).
bool TrainStep::unscaledGradientsFinite(TrainState &st) {
  LossScaler scaler(st.lossScale, st.lossScaleGoodSteps);
  std::vector<torch::Tensor> grads;
  for (const auto &[name, p] : optim_.parameters())
    grads.push_back(p.grad());
  std::vector<double> bad = {scaler.unscale(grads) ? 0.0 : 1.0};
  strategy_.sumOverProcesses(bad);
  const bool finite = bad[0] == 0;
  scaler.update(finite);
  st.lossScale = scaler.scale();
  st.lossScaleGoodSteps = scaler.goodSteps();
  return finite;
}

double TrainStep::run(const Batch &batch, int64_t epoch, int64_t b,
                      TrainState &st, double &lr) {
  const torch::Device device = model_.device();
  torch::Tensor window = batch.window.to(device, model_.dtype());
  torch::Tensor times = batch.times.to(device);
  strategy_.zeroGrad(model_, optim_);
  // `accumulate` micro-batches, each's loss scaled by 1/n: their gradients
  // sum to the whole batch's, and only the last backward synchronises.
  const int64_t n = tc_.accumulate, micro = window.size(0) / n;
  double lossValue = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    model_.context().time = n == 1 ? times : times.narrow(0, i * micro, micro);
    model_.context().leadSeconds = 0;
    call_times(model_, window, 0, 1, 0);
    torch::Tensor loss =
        rolloutLoss(n == 1 ? window : window.narrow(0, i * micro, micro));
    if (!loss.defined() || loss.numel() != 1)
      throw Error("the rollout loss of " + modelText_ +
                  " is not a scalar (internal error)");
    const double value = loss.item<double>();
    checkFinite(value, epoch, b, st, lr, window, times);
    if (!loss.requires_grad())
      throw Error("the rollout loss of " + modelText_ +
                  " does not depend on any parameter");
    if (n > 1)
      loss = loss / double(n);
    if (tc_.precision == Precision::Fp16)
      loss = loss * st.lossScale;
    strategy_.backward(loss, i + 1 == n);
    lossValue += n == 1 ? value : value / double(n);
  }
  if (!checkedGradients_) {
    checkEveryParameterReached();
    checkedGradients_ = true;
  }
  strategy_.afterBackward(model_);
  lr = learningRate(st);
  // A skipped fp16 step leaves the weights and the optimizer's state (its
  // step counter too) as they were; the schedule goes on, as a PyTorch
  // loop's scheduler.step() after GradScaler skipped optimizer.step().
  if (tc_.precision != Precision::Fp16 || unscaledGradientsFinite(st)) {
    if (tc_.gradClip > 0)
      strategy_.clipGradients(model_, tc_.gradClip);
    strategy_.optimizerStep(optim_, lr);
  } else {
    ++skipped_;
  }
  ++stepsRun_;
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
