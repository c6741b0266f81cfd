//===- Strategy.h - What parallel training changes, one seam ---*- C++ -*-===//
//
// The training loop (train/Train.cpp) is the same for every way of
// spreading a run over processes; what DDP, ZeRO, FSDP or tensor
// parallelism change is behind this interface:
//
//   prepareModel       after materialisation: DDP broadcasts rank 0's
//                      parameters, ZeRO-3 / FSDP shard them
//   makeOptimizer      the optimizer over what this process updates (ZeRO:
//                      its shard of the flat parameters)
//   zeroGrad, backward a micro-batch's backward; with sync, the one whose
//                      gradients are synchronised (DDP: during it)
//   afterBackward      gradient synchronisation after it (reduce-scatter)
//   clipGradients      the global norm, a reduction when gradients are
//                      sharded
//   optimizerStep      the update (ZeRO: of this rank's shard)
//   save/loadCheckpoint what a checkpoint holds and who writes it
//   sumOverProcesses,  reductions of the loss sums and of the validation
//   reduceValidation   scores
//   writesOutput       which process writes metrics.jsonl, checkpoints and
//                      maps
//
// SingleProcess is training in one process: every operation is the plain
// one and every reduction the identity. DataParallel (ddp) and
// ZeroShards (zero1, zero2, zero3 = fsdp) run over a Communicator (comm/).
// makeStrategy picks one from the program's parallel section and the launcher.
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

class Communicator;

/// What a process holds of the training state between steps, measured on
/// its tensors: the storages of the optimizer's parameters and of their
/// gradients (each storage counted once, whole: a flat buffer the
/// parameters are views of counts with its padding) and the optimizer's
/// state; and zero2's most gradient bytes beyond them in a backward (zero3's
/// gathered parameters are in its finalReport()).
struct HeldBytes {
  int64_t parameters = 0, gradients = 0, optimizer = 0;
  int64_t bucketPeak = 0; ///< zero2: gradient buckets not yet sent
};

class Strategy {
public:
  virtual ~Strategy();

  /// For messages: "single process".
  virtual std::string name() const = 0;

  /// Creates the model's parameters from the program's manifest (a tensor
  /// rank: its slices of them).
  virtual void materialize(const Program &p, Model &model);
  /// After the model's parameters exist, before the optimizer is built:
  /// makes them trainable (and, in parallel strategies, the same on every
  /// process or sharded across them).
  virtual void prepareModel(Model &model) = 0;
  /// The optimizer over what this process updates.
  virtual std::unique_ptr<Optimizer> makeOptimizer(const OptimizerConfig &c,
                                                   Model &model);
  /// Drops the gradients before a step's first micro-batch.
  virtual void zeroGrad(Model &model, Optimizer &optim);
  /// loss.backward() of a micro-batch; `sync`: the step's last, whose
  /// gradients must be synchronised.
  virtual void backward(const torch::Tensor &loss, bool sync);
  /// Whether the backward gave parameter `index` of `model` a gradient (a
  /// declared parameter no layer uses: compiler and runtime disagree).
  virtual bool reached(const Model &model, size_t index) const;
  /// After the last micro-batch's backward: the gradients as the
  /// optimizer must see them.
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
  /// The checkpoint in folder `from` as loadCheckpoint() reads it, or
  /// what of it this process needs (ZeRO on the layout it was saved with:
  /// its own shard).
  virtual Checkpoint readCheckpoint(const std::string &from) const {
    return rt::loadCheckpoint(from);
  }
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
  /// This process's rank and the number of processes.
  virtual int64_t rank() const { return 0; }
  virtual int64_t processes() const { return 1; }
  /// This process's index on the data axis and the axis' size: the
  /// processes that read different samples (a tensor axis' ranks share
  /// theirs).
  virtual int64_t dataRank() const { return rank(); }
  virtual int64_t dataProcesses() const { return processes(); }
  /// Whether the model's forward itself runs collectives (zero3 gathers
  /// parameters), so every process must run the same number of them.
  virtual bool collectiveForward() const { return false; }
  /// "rank 1 of 2: optimizer state 1,234 bytes ..." for the banner; ""
  /// for one process.
  virtual std::string placement(const Optimizer &) const { return ""; }
  /// What the run measured about its placement, printed at its end ("rank
  /// 0: at most 1,234 bytes of gathered parameters ..."); "" for none.
  virtual std::string finalReport() const { return ""; }
  /// What this process holds (see HeldBytes).
  virtual HeldBytes held(const Optimizer &optim) const;
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

/// `state` with the RNG states of the model's generator and torch's.
TrainState stateWithRng(Model &model, const TrainState &state);
/// A checkpoint of the model, `optimizerState` and `state` with the RNG
/// states, written by this process (SingleProcess; rank 0 of ddp).
std::string saveWholeCheckpoint(Checkpointer &ckpt, Model &model,
                                const NamedTensors &optimizerState,
                                const TrainState &state);
/// Throws Error unless `c` has exactly the parameters `params` (names and
/// shapes) of `modelText`.
void checkCheckpointParameters(const Checkpoint &c, const std::string &from,
                               const NamedTensors &params,
                               const std::string &modelText);
/// The RNG states of `c` restored into `model`'s generator and torch's.
void loadRng(const Checkpoint &c, Model &model);
/// The model's parameters and the RNG states from `c`; throws Error naming
/// a parameter that does not fit `modelText`.
void loadModelAndRng(const Checkpoint &c, const std::string &from, Model &model,
                     const std::string &modelText);

/// The strategy for the program's parallel section (with the command
/// line's timeout) and the processes the launcher started: SingleProcess
/// for one; else the spec's strategy over a Communicator. Throws Error
/// when the mesh's process count is not the launcher's, the mesh has an
/// axis other than data and tensor larger than one, or the strategy is not
/// implemented (s2sc refuses these at their line; a Program built by
/// hand must not train otherwise than it says).
std::unique_ptr<Strategy> makeStrategy(const ParallelConfig &parallel,
                                       torch::Device device);

/// The size of mesh axis `axis` (1 when the mesh has none).
int64_t meshAxisSize(const ParallelConfig &parallel, const std::string &axis);

/// Validation scores summed over the processes (each scored its share).
void reduceMetrics(Communicator &comm, ChannelMetrics &metrics);

/// The bytes of an optimizer's state tensors (moments, momentum).
int64_t optimizerStateBytes(const Optimizer &optim);
/// HeldBytes of the optimizer's parameters, their gradients and its state;
/// `gradientBuffers`: more storages of gradients (DDP's buckets), counted
/// unless they are the gradients' own.
HeldBytes measureHeld(const Optimizer &optim,
                      const std::vector<torch::Tensor> &gradientBuffers = {});
/// "rank 0 of 2 holds between steps: parameters 1,020 bytes, ..." (one
/// line, for the run's end and the plan-versus-runtime test).
std::string heldReport(const Strategy &strategy, const HeldBytes &held);

/// The state of LibTorch's default CPU generator (dropout outside the
/// model's generator, initialisers), saved in checkpoints.
torch::Tensor cpuGeneratorState();
void setCpuGeneratorState(const torch::Tensor &state);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_STRATEGY_H
