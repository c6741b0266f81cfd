//===- Optim.h - Optimizers, learning-rate schedules, clipping --*- C++ -*-===//
//
// SGD (momentum, Nesterov, L2 weight decay), Adam (L2 weight decay) and
// AdamW (decoupled weight decay), written on plain tensors with the update
// rules of torch.optim (dampening 0, no amsgrad) so their state is a flat,
// named list of tensors a checkpoint saves and restores exactly.
//
// The learning rate is a pure function of the optimizer-step counter
// (learningRate), so a resumed run continues the schedule exactly.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_OPTIM_OPTIM_H
#define S2S_RUNTIME_OPTIM_OPTIM_H

#include "s2s/runtime/Program.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The learning rate of optimizer step `step` (0-based: the first step of
/// the run is step 0).
///  - warm-up: for step < warmup, lr * (step + 1) / warmup;
///  - constant: lr;
///  - step: lr * gamma^floor(epoch / every), epoch = step / stepsPerEpoch;
///  - cosine: from lr at the end of the warm-up to minLr at totalSteps:
///      minLr + (lr - minLr) * (1 + cos(pi * t)) / 2,
///      t = (step - warmup) / (totalSteps - warmup), clamped to [0, 1].
/// Throws s2s::rt::Error for an unknown kind.
double learningRate(const ScheduleConfig &schedule, double lr, int64_t step,
                    int64_t stepsPerEpoch, int64_t totalSteps);

class Optimizer {
public:
  /// `params` in model order (Model::namedParameters()); the tensors are
  /// updated in place. Throws s2s::rt::Error for an unknown kind.
  Optimizer(const OptimizerConfig &config, NamedTensors params);

  const OptimizerConfig &config() const { return config_; }
  /// The tensors it updates, as given.
  const NamedTensors &parameters() const { return params_; }

  /// One update with learning rate `lr` from the parameters' .grad()
  /// (parameters without a gradient are left alone, their state too).
  void step(double lr);
  /// Drops every parameter's gradient (as zero_grad(set_to_none=True)).
  void zeroGrad();

  /// Steps taken so far (Adam's bias-correction counter).
  int64_t steps() const { return steps_; }

  /// The state as named tensors: "sgd.momentum.<param>",
  /// "<adam|adamw>.m.<param>", "<adam|adamw>.v.<param>" in parameter order,
  /// then "<kind>.step" (int64 scalar).
  NamedTensors state() const;
  /// Restores state() output. Throws s2s::rt::Error naming the tensor when
  /// one is missing, has another shape, or the kind differs.
  void loadState(const std::map<std::string, torch::Tensor> &state);

private:
  OptimizerConfig config_;
  NamedTensors params_;
  std::vector<torch::Tensor> buf1_, buf2_; ///< momentum / m, v
  int64_t steps_ = 0;
};

/// Scales all gradients so their global 2-norm is at most maxNorm (as
/// torch.nn.utils.clip_grad_norm_). Returns the norm before clipping.
double clipGradNorm(const std::vector<torch::Tensor> &params, double maxNorm);
/// Scales `grads` by maxNorm / (norm + 1e-6) when that is below 1 (torch's
/// clip coefficient), for a global `norm` computed elsewhere (a tensor axis
/// sums it over ranks); nothing when maxNorm is 0 or norm not finite.
void scaleToNorm(const std::vector<torch::Tensor> &grads, double norm,
                 double maxNorm);

} // namespace s2s::rt

#endif // S2S_RUNTIME_OPTIM_OPTIM_H
