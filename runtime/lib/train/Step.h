//===- Step.h - One optimizer step of the training loop ---------*- C++ -*-===//
//
// The unrolled rollout's loss on a batch (in `accumulate` micro-batches),
// its checks (a scalar, finite,
// depending on the parameters; after the first backward, every parameter
// of the manifest reached), the backward pass, the strategy's gradient
// handling and clipping, and the optimizer update at the schedule's
// learning rate.
//
// Under `precision = bf16 | fp16` the rollout runs under autocast
// (model/Autocast.h) and the backward outside it; fp16 scales the loss
// (optim/LossScaler.h): the gradients are unscaled after the strategy's
// handling and before clipping, and a step whose gradients are not finite
// on any process is skipped by every process.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_STEP_H
#define S2S_RUNTIME_TRAIN_STEP_H

#include "data/Loader.h"
#include "io/Checkpoint.h"
#include "optim/Optim.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <cstdint>
#include <string>

namespace s2s::rt {

class Strategy;

class TrainStep {
public:
  /// `dataText` says what the batches are, for messages ("the data's grid
  /// 32x64 with 3 channels (file 'x.h5')").
  TrainStep(const Program &p, const TrainConfig &tc, Strategy &strategy,
            Model &model, Optimizer &optim, int64_t stepsPerEpoch,
            int64_t totalSteps, std::string dataText);

  /// The learning rate of the schedule's next step (before the first step
  /// of a run: its first; afterwards the last step's).
  double learningRate(const TrainState &st) const;

  /// Step `b` of epoch `epoch` (0-based) on `batch`: updates the model and
  /// `st` (counters, loss sums) and `lr` (the rate this step used); returns
  /// the batch's loss. Throws Error when the loss is not a finite scalar
  /// that depends on the parameters; the NaN message quotes `lr` as it
  /// was before the step.
  double run(const Batch &batch, int64_t epoch, int64_t b, TrainState &st,
             double &lr);

  /// fp16: the steps skipped so far by this process's run (gradients not
  /// finite); 0 otherwise.
  int64_t skippedSteps() const { return skipped_; }

private:
  const Program &p_;
  const TrainConfig &tc_;
  Strategy &strategy_;
  Model &model_;
  Optimizer &optim_;
  int64_t stepsPerEpoch_, totalSteps_;
  std::string modelText_, dataText_;
  bool checkedGradients_ = false;
  int64_t stepsRun_ = 0; ///< by this process
  int64_t skipped_ = 0;  ///< fp16 steps skipped by this process

  bool unscaledGradientsFinite(TrainState &st);

  torch::Tensor rolloutLoss(const torch::Tensor &window);
  void checkEveryParameterReached() const;
  void checkFinite(double lossValue, int64_t epoch, int64_t b,
                   const TrainState &st, double lr, const torch::Tensor &window,
                   const torch::Tensor &times) const;
  std::string nonFiniteCause(const torch::Tensor &window,
                             const torch::Tensor &times) const;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_STEP_H
