//===- LossScaler.h - Dynamic loss scaling for fp16 training -----*- C++
//-*-===//
//
// fp16 has 5 exponent bits: gradients below 2^-24 flush to zero. The loss
// is multiplied by a scale before the backward, so the gradients are
// computed scaled; they are divided by it (unscaled) before clipping and
// the update. A step whose gradients hold an infinity or NaN (the scale
// was too large) is skipped and the scale halved; after kGrowthInterval
// steps in a row with finite gradients it doubles. The constants are
// torch.cuda.amp.GradScaler's defaults, so a run behaves as a PyTorch AMP
// run would. bf16 has fp32's exponent range and needs none of this.
//
// The state (scale, good steps in a row) is saved in checkpoints
// (io/Checkpoint.h's TrainState), so a resumed run scales exactly as the
// uninterrupted one.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_OPTIM_LOSSSCALER_H
#define S2S_RUNTIME_OPTIM_LOSSSCALER_H

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace s2s::rt {

/// GradScaler's init_scale, growth_factor, backoff_factor, growth_interval.
constexpr double kInitialLossScale = 65536.0; // 2^16
constexpr double kLossScaleGrowth = 2.0;
constexpr double kLossScaleBackoff = 0.5;
constexpr int64_t kLossScaleGrowthInterval = 2000;
/// Below this scale no gradient is finite at any scale: the run diverged
/// (2^-24, fp16's smallest subnormal; 40 skipped steps in a row from 2^16).
constexpr double kMinLossScale = 5.9604644775390625e-8;

class LossScaler {
public:
  explicit LossScaler(double scale = kInitialLossScale, int64_t goodSteps = 0,
                      int64_t growthInterval = kLossScaleGrowthInterval);

  double scale() const { return scale_; }
  /// Steps in a row with finite gradients since the scale last changed.
  int64_t goodSteps() const { return goodSteps_; }

  /// The loss to run the backward on: loss * scale.
  torch::Tensor scale(const torch::Tensor &loss) const;
  /// Divides each defined gradient by the scale, in place; returns whether
  /// every value of them is finite (this process's: a parallel run must
  /// agree over processes before update()).
  bool unscale(const std::vector<torch::Tensor> &grads) const;
  /// After a step's gradients were found finite (the step is taken) or not
  /// (it is skipped): halves the scale on a skipped step, doubles it after
  /// growthInterval finite steps in a row. Throws Error when the scale
  /// falls below kMinLossScale.
  void update(bool finite);

private:
  double scale_;
  int64_t goodSteps_, growthInterval_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_OPTIM_LOSSSCALER_H
