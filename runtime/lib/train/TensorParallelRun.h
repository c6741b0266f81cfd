//===- TensorParallelRun.h - Megatron's tensor axis around a strategy -*- C++
//-*-===//
//
// A run on a mesh [data: D, tensor: T] (comm/Mesh.h: rank r at data index
// r / T, tensor index r % T). Each rank holds its tensor slices of the
// parameters (tp/TensorParallel.h's materializeShards), the forward runs
// Megatron's f and g over the tensor group (the kernels s2s-shard wrote
// into the program), and the data-parallel strategy (ddp, or one process
// when D = 1) runs over the data group, as it would over the world:
//
//   materialize     this rank's slices of the whole model's values
//   clipGradients   the global norm: the sliced gradients' squares summed
//                   over the tensor group, the replicated ones counted once
//   saveCheckpoint  every parameter and optimizer tensor gathered whole
//                   (the checkpoint is the one a single process writes, so a
//                   run resumes on any tensor size); loadCheckpoint slices it
//   sumOverProcesses over the world, divided by T (the tensor ranks of a
//                   data index hold the same loss)
//   writesOutput    tensor index 0 of the data strategy's writer
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_TENSORPARALLELRUN_H
#define S2S_RUNTIME_TRAIN_TENSORPARALLELRUN_H

#include "comm/Communicator.h"
#include "tp/TensorParallel.h"
#include "train/Strategy.h"

#include <memory>
#include <string>
#include <vector>

namespace s2s::rt {

class TensorParallelRun final : public Strategy {
public:
  TensorParallelRun(std::unique_ptr<Strategy> data,
                    std::shared_ptr<Communicator> world,
                    std::shared_ptr<Communicator> tensor, int64_t tensorIndex);
  std::string name() const override;
  void materialize(const Program &p, Model &model) override;
  void prepareModel(Model &model) override;
  std::unique_ptr<Optimizer> makeOptimizer(const OptimizerConfig &c,
                                           Model &model) override {
    return data_->makeOptimizer(c, model);
  }
  void zeroGrad(Model &model, Optimizer &optim) override {
    data_->zeroGrad(model, optim);
  }
  void backward(const torch::Tensor &loss, bool sync) override {
    data_->backward(loss, sync);
  }
  bool reached(const Model &model, size_t index) const override {
    return data_->reached(model, index);
  }
  void afterBackward(Model &model) override { data_->afterBackward(model); }
  double clipGradients(Model &model, double maxNorm) override;
  void optimizerStep(Optimizer &optim, double lr) override {
    data_->optimizerStep(optim, lr);
  }
  std::string saveCheckpoint(Checkpointer &ckpt, Model &model,
                             const Optimizer &optim,
                             const TrainState &state) override;
  void loadCheckpoint(const Checkpoint &c, const std::string &from,
                      Model &model, Optimizer &optim,
                      const std::string &modelText) override;
  void sumOverProcesses(std::vector<double> &values) override;
  void reduceValidation(ChannelMetrics &metrics) override {
    data_->reduceValidation(metrics);
  }
  bool writesOutput() const override {
    return tensorIndex_ == 0 && data_->writesOutput();
  }
  int64_t rank() const override { return world_->rank(); }
  int64_t processes() const override { return world_->size(); }
  int64_t dataRank() const override { return data_->rank(); }
  int64_t dataProcesses() const override { return data_->processes(); }
  /// f and g are collectives: every rank runs every forward.
  bool collectiveForward() const override { return true; }
  std::string placement(const Optimizer &optim) const override;
  std::string finalReport() const override { return data_->finalReport(); }
  HeldBytes held(const Optimizer &optim) const override {
    return data_->held(optim);
  }

private:
  /// The split of the parameter or optimizer tensor `name` ("adam.m.P").
  ShardSpec specOf(const std::string &name) const;

  std::unique_ptr<Strategy> data_;
  std::shared_ptr<Communicator> world_, tensor_;
  int64_t tensorIndex_;
  std::vector<std::pair<std::string, ShardSpec>> specs_; ///< per parameter
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_TENSORPARALLELRUN_H
