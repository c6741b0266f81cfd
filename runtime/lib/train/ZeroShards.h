//===- ZeroShards.h - zero1/2/3: training state sharded -------*- C++ -*-===//
//
// ZeRO stages 1, 2 and 3 (zero3 = fsdp) over the data axis. The parameters, in
// model order, are one flat vector of P values split over the N ranks as
// io/FlatShards.h says: zero1 and zero2 in one segment (rank r owns values
// [r·S, (r+1)·S), S = ⌈P/N⌉), zero3 in one segment per gather unit (rank
// r owns chunk r of each unit). Each rank keeps the optimizer state of its
// shard only (the optimizers are element-wise, so updating a shard is
// updating those values of the whole). A step:
//
//   zero1  the parameters and their gradients are views of two padded
//          flat buffers of N·S values (the shard is the slice [r·S,
//          (r+1)·S) of the first); after the backward the flat gradient is
//          reduce-scattered onto the shard's slice of the second
//   zero2  the parameters as in zero1; their gradients are reduce-
//          scattered in buckets during the backward as they become ready
//          and dropped (GradientBuckets.h): each process keeps its S
//          gradient values only
//   zero3  no process holds the whole model: the parameters are gathered
//          per unit as the kernels ask for them and their gradients
//          reduce-scattered onto the shard during the backward
//          (ShardedParameters.h)
//   all    the global norm clipped from the shards' squared sums, the
//          optimizer's step on the shard; zero1 and zero2 then all-gather
//          the shards into the parameters' flat buffer (every process
//          holds the model)
//
// Checkpoints are sharded (io/Checkpoint.h): each rank writes its shard of
// the parameters and of the optimizer state, rank 0 the manifest; reading
// one assembles the whole state under a one-process run's names, so a run
// resumes on any number of processes and with any strategy.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_ZEROSHARDS_H
#define S2S_RUNTIME_TRAIN_ZEROSHARDS_H

#include "comm/Communicator.h"
#include "train/GradientBuckets.h"
#include "train/ShardedParameters.h"
#include "train/Strategy.h"

#include <memory>

namespace s2s::rt {

class ZeroShards final : public Strategy {
public:
  /// `stage`: 1, 2 or 3.
  ZeroShards(const ParallelConfig &parallel, std::shared_ptr<Communicator> comm,
             int stage);
  ~ZeroShards() override;
  std::string name() const override;
  void prepareModel(Model &model) override;
  std::unique_ptr<Optimizer> makeOptimizer(const OptimizerConfig &c,
                                           Model &model) override;
  void zeroGrad(Model &model, Optimizer &optim) override;
  void backward(const torch::Tensor &loss, bool sync) override;
  void afterBackward(Model &model) override;
  bool reached(const Model &model, size_t index) const override;
  double clipGradients(Model &model, double maxNorm) override;
  void optimizerStep(Optimizer &optim, double lr) override;
  std::string saveCheckpoint(Checkpointer &ckpt, Model &model,
                             const Optimizer &optim,
                             const TrainState &state) override;
  Checkpoint readCheckpoint(const std::string &from) const override;
  void loadCheckpoint(const Checkpoint &c, const std::string &from,
                      Model &model, Optimizer &optim,
                      const std::string &modelText) override;
  void sumOverProcesses(std::vector<double> &values) override;
  void reduceValidation(ChannelMetrics &metrics) override {
    reduceMetrics(*comm_, metrics);
  }
  bool writesOutput() const override { return comm_->rank() == 0; }
  int64_t rank() const override { return comm_->rank(); }
  int64_t processes() const override { return comm_->size(); }
  bool collectiveForward() const override { return stage_ == 3; }

  std::string placement(const Optimizer &optim) const override;
  std::string finalReport() const override;
  HeldBytes held(const Optimizer &optim) const override;

private:
  /// zero1/2: the parameters `ps` (in model order, of `units`) made views
  /// of flat_, zero1's gradients of flatGrad_, zero2's buckets set up.
  /// `whole`: their values, concatenated.
  void flatten(std::vector<torch::Tensor> &ps, const torch::Tensor &whole,
               const std::vector<ShardedParameters::Unit> &units);
  /// zero1/2: every rank's shard all-gathered into the parameters.
  void gatherParameters();
  /// zero1: every parameter's gradient a view of flatGrad_ again (a
  /// backward with create_graph assigns new ones).
  void bindGradients();
  /// What a sharded checkpoint of this run lists (its manifest).
  /// (the optimizer's flat tensors are added by saveCheckpoint).
  ShardLayout shardLayout() const;
  /// loadCheckpoint from this rank's own shard (Checkpoint::shard).
  void loadOwnShard(const Checkpoint &c, const std::string &from, Model &model,
                    Optimizer &optim);
  /// This rank's shard of a whole flat vector of P values.
  torch::Tensor shardOf(const torch::Tensor &flat) const;

  ParallelConfig parallel_;
  std::shared_ptr<Communicator> comm_;
  int stage_;
  NamedTensors params_;
  FlatShards layout_;      ///< P values over N ranks
  torch::Tensor shard_;    ///< this rank's values (zero1/2: a slice of flat_)
  torch::Tensor flat_;     ///< zero1/2: the parameters' values, N·S
  torch::Tensor flatGrad_; ///< zero1: their gradients
  std::unique_ptr<GradientBuckets> buckets_;   ///< zero2
  std::unique_ptr<ShardedParameters> sharded_; ///< zero3
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_ZEROSHARDS_H
