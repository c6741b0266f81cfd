//===- Program.h - What a generated program hands the runtime -----*- C++ -*-===//
//
// s2sc generates, for a spec, the model's forward function, the unrolled
// rollout loss and a main() that fills a Program from the spec's sections
// and calls s2s::rt::main. Everything else (command line, data, training
// loop, validation, checkpoints, metrics) is the runtime's.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PROGRAM_H
#define S2S_RUNTIME_PROGRAM_H

#include "s2s/runtime/DataConfig.h"
#include "s2s/runtime/Model.h"

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace s2s::rt {

struct OptimizerConfig {
  std::string kind = "adam";        ///< sgd, adam, adamw
  double lr = 1e-3;
  double momentum = 0.0;            ///< sgd
  bool nesterov = false;            ///< sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.0;
};

struct ScheduleConfig {
  std::string kind = "constant";    ///< constant, step, cosine
  int64_t every = 0;                ///< step: epochs between decays
  double gamma = 0.1;               ///< step: decay factor
  int64_t warmup = 0;               ///< linear warm-up, in optimizer steps
  double minLr = 0.0;               ///< cosine: final learning rate
};

struct CheckpointConfig {
  int64_t everyEpochs = 1;
  int64_t everySteps = 0;           ///< 0: only at epoch ends
  std::string dir = "checkpoints";
  int64_t keep = 3;
};

struct RolloutConfig {
  int64_t order = 1;                ///< frames predicted per window
  std::string loss = "mse";         ///< mse, mae, huber
  std::string weight = "uniform";   ///< uniform, latitude
};

struct TrainConfig {
  int64_t epochs = 1;
  int64_t batch = 1;                ///< global batch
  std::string precision = "fp32";
  int64_t seed = 0;
  double gradClip = 0.0;            ///< 0: no clipping
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  CheckpointConfig checkpoint;
  std::vector<std::string> metrics = {"rmse", "acc"};
};

struct ParallelConfig {
  std::vector<std::string> axes = {"data"};
  std::vector<int64_t> sizes = {1};
  std::string strategy = "ddp";
  std::string backend = "auto";
};

/// One step of the model: [b, channel, lat, lon] -> the next frame.
using ForwardFn = std::function<torch::Tensor(Model &, const torch::Tensor &)>;
/// The unrolled tableau: a window [b, order + 1, channel, lat, lon]
/// (normalised truth frames) -> the scalar training loss.
using RolloutLossFn =
    std::function<torch::Tensor(Model &, const torch::Tensor &)>;

struct Program {
  std::string name;                 ///< the spec's file stem
  std::string specFile;             ///< the spec, as given to s2sc
  std::string modelName;            ///< the model instance (`model net = ...`)
  DataConfig data;
  RolloutConfig rollout;
  TrainConfig train;
  ParallelConfig parallel;
  ForwardFn forward;
  RolloutLossFn rolloutLoss;
  /// Parameter count s2sc computed; the runtime checks it matches.
  int64_t expectedParameters = -1;
};

/// Parses the command line (see --help), trains, validates, checkpoints.
/// Returns the process exit status; prints s2s::rt::Error messages as
/// "<program>: error: ..." and returns 1.
int main(const Program &program, int argc, char **argv);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PROGRAM_H
