//===- Strategy.h - What parallel training changes, behind one seam -*- C++
//-*-===//
//
// The training loop (train/Train.cpp) is the same for every way of
// spreading a run over processes; what DDP, ZeRO, FSDP or tensor
// parallelism change is behind this interface:
//
//   prepareModel       after materialisation: DDP broadcasts rank 0's
//                      parameters, ZeRO-3 / FSDP shard them
//   afterBackward      gradient synchronisation (all-reduce,
//                      reduce-scatter)
//   clipGradients      the global norm, a reduction when gradients are
//                      sharded
//   optimizerStep      the update (ZeRO: of this rank's shard)
//   save/loadCheckpoint what a checkpoint holds and who writes it
//   sumOverProcesses,  reductions of the loss sums and of the validation
//   reduceValidation   scores
//   writesOutput       which process writes metrics.jsonl, checkpoints and
//                      maps
//
// SingleProcess, the only implementation so far, is training in one
// process: every operation is the plain one and every reduction the
// identity. makeStrategy picks it from the program's parallel section.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_STRATEGY_H
#define S2S_RUNTIME_TRAIN_STRATEGY_H

#include "io/Checkpoint.h"
#include "metrics/Scores.h"
#include "optim/Optim.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <memory>
#include <string>
#include <vector>

namespace s2s::rt {

class Strategy {
public:
  virtual ~Strategy();

  /// For messages: "single process".
  virtual std::string name() const = 0;

  /// After the model's parameters exist, before the optimizer is built:
  /// makes them trainable (and, in parallel strategies, the same on every
  /// process or sharded across them).
  virtual void prepareModel(Model &model) = 0;
  /// After loss.backward(): the gradients as the optimizer must see them.
  virtual void afterBackward(Model &model) = 0;
  /// Scales the gradients so their global 2-norm is at most maxNorm;
  /// returns the norm before clipping.
  virtual double clipGradients(Model &model, double maxNorm) = 0;
  /// One optimizer update with learning rate `lr`.
  virtual void optimizerStep(Optimizer &optim, double lr) = 0;

  /// Writes a checkpoint of `state` with the model's and the optimizer's
  /// state; returns its folder, or "" when this process writes none.
  virtual std::string saveCheckpoint(Checkpointer &ckpt, Model &model,
                                     const Optimizer &optim,
                                     const TrainState &state) = 0;
  /// Restores the model's and the optimizer's state from checkpoint `c`
  /// (read from folder `from`); throws Error naming the parameter or
  /// tensor that does not fit `modelText`.
  virtual void loadCheckpoint(const Checkpoint &c, const std::string &from,
                              Model &model, Optimizer &optim,
                              const std::string &modelText) = 0;

  /// Each value summed over the processes (loss sums and counts).
  virtual void sumOverProcesses(std::vector<double> &values) = 0;
  /// The scores over every process's validation samples.
  virtual void reduceValidation(ChannelMetrics &metrics) = 0;
  /// Whether this process writes metrics.jsonl, checkpoints and maps.
  virtual bool writesOutput() const = 0;
};

/// Training in one process on one device.
class SingleProcess final : public Strategy {
public:
  explicit SingleProcess(const ParallelConfig &parallel)
      : parallel_(parallel) {}
  std::string name() const override;
  void prepareModel(Model &model) override;
  void afterBackward(Model &) override {}
  double clipGradients(Model &model, double maxNorm) override;
  void optimizerStep(Optimizer &optim, double lr) override;
  std::string saveCheckpoint(Checkpointer &ckpt, Model &model,
                             const Optimizer &optim,
                             const TrainState &state) override;
  void loadCheckpoint(const Checkpoint &c, const std::string &from,
                      Model &model, Optimizer &optim,
                      const std::string &modelText) override;
  void sumOverProcesses(std::vector<double> &) override {}
  void reduceValidation(ChannelMetrics &) override {}
  bool writesOutput() const override { return true; }

private:
  ParallelConfig parallel_;
  std::vector<torch::Tensor> params_; ///< the model's, in model order
};

/// The strategy for the program's parallel section: SingleProcess for a
/// mesh of one device; for a larger mesh (which this runtime does not
/// spread yet) SingleProcess too, after a note saying so.
std::unique_ptr<Strategy> makeStrategy(const ParallelConfig &parallel);

/// The state of LibTorch's default CPU generator (dropout outside the
/// model's generator, initialisers), saved in checkpoints.
torch::Tensor cpuGeneratorState();
void setCpuGeneratorState(const torch::Tensor &state);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_STRATEGY_H
