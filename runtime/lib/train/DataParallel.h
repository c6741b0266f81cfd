//===- DataParallel.h - ddp: replicas, averaged gradients ------*- C++ -*-===//
//
// Every process holds the whole model and optimizer; rank 0's parameters
// are broadcast at start, and each step's gradients are averaged over the
// processes during the backward by c10d's Reducer (comm/GradientReducer.h,
// bucketed, overlapping the backward). Micro-batches before a step's last
// accumulate locally without communication. Rank 0 writes the outputs
// and the (whole) checkpoints; every process reads them back.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_DATAPARALLEL_H
#define S2S_RUNTIME_TRAIN_DATAPARALLEL_H

#include "comm/Communicator.h"
#include "comm/GradientReducer.h"
#include "train/Strategy.h"

#include <functional>
#include <memory>
#include <string>

namespace s2s::rt {

class DataParallel final : public Strategy {
public:
  DataParallel(const ParallelConfig &parallel,
               std::shared_ptr<Communicator> comm);
  std::string name() const override;
  void prepareModel(Model &model) override;
  /// Zeros the gradients in place: they stay views of the buckets.
  void zeroGrad(Model &model, Optimizer &optim) override;
  void backward(const torch::Tensor &loss, bool sync) override;
  void afterBackward(Model &) override {}
  double clipGradients(Model &model, double maxNorm) override;
  void optimizerStep(Optimizer &optim, double lr) override;
  std::string saveCheckpoint(Checkpointer &ckpt, Model &model,
                             const Optimizer &optim,
                             const TrainState &state) override;
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

  std::string placement(const Optimizer &optim) const override;
  /// With the Reducer's bucket buffers (the gradients are views of them).
  HeldBytes held(const Optimizer &optim) const override;

private:
  ParallelConfig parallel_;
  std::shared_ptr<Communicator> comm_;
  std::unique_ptr<GradientReducer> reducer_;
  std::vector<torch::Tensor> params_;
};

/// Every process's parameters set to rank 0's (one flat broadcast).
void broadcastParameters(Communicator &comm,
                         const std::vector<torch::Tensor> &params);
/// `values` summed over the processes (as float64).
void sumDoubles(Communicator &comm, std::vector<double> &values);
/// Runs `part`, this process's share of a collective save, and agrees on
/// the outcome with the others (a collective, so also a barrier): when the
/// part of any process threw Error, every process throws, each with its
/// own message or one naming the first rank that failed. Returns what
/// `part` returned.
std::string agreeOnPart(Communicator &comm,
                        const std::function<std::string()> &part);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_DATAPARALLEL_H
