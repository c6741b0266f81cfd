//===- DataParallel.cpp - ddp: replicated model, averaged gradients -------===//

#include "train/DataParallel.h"

#include "s2s/runtime/Error.h"
#include "support/Text.h"

namespace s2s::rt {

void broadcastParameters(Communicator &comm,
                         const std::vector<torch::Tensor> &params) {
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> flat;
  for (const torch::Tensor &p : params)
    flat.push_back(p.reshape({-1}));
  torch::Tensor all = torch::cat(flat);
  comm.broadcast(all, 0);
  int64_t offset = 0;
  for (const torch::Tensor &p : params) {
    p.copy_(all.narrow(0, offset, p.numel()).view_as(p));
    offset += p.numel();
  }
}

void sumDoubles(Communicator &comm, std::vector<double> &values) {
  if (values.empty())
    return;
  std::vector<torch::Tensor> t = {
      torch::tensor(values, torch::dtype(torch::kFloat64))};
  comm.allReduceSum(t);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = t[0][int64_t(i)].item<double>();
}

std::string agreeOnPart(Communicator &comm,
                        const std::function<std::string()> &part) {
  std::string out, failure;
  try {
    out = part();
  } catch (const Error &e) {
    failure = e.what();
  }
  // [how many failed, the lowest failed rank + 1 as a one-hot sum]
  std::vector<double> v(size_t(comm.size()) + 1, 0.0);
  if (!failure.empty()) {
    v[0] = 1;
    v[size_t(comm.rank()) + 1] = 1;
  }
  sumDoubles(comm, v);
  if (v[0] == 0)
    return out;
  if (!failure.empty())
    throw Error(failure);
  size_t first = 1;
  while (first < v.size() && v[first] == 0)
    ++first;
  throw Error("rank " + std::to_string(first - 1) +
              "'s part of the checkpoint failed (its message is in its "
              "output)");
}

void reduceMetrics(Communicator &comm, ChannelMetrics &metrics) {
  std::vector<torch::Tensor> t = {metrics.sums()};
  comm.allReduceSum(t);
  metrics.setSums(t[0]);
}

DataParallel::DataParallel(const ParallelConfig &parallel,
                           std::shared_ptr<Communicator> comm)
    : parallel_(parallel), comm_(std::move(comm)) {}

std::string DataParallel::name() const {
  return "ddp over " + std::to_string(comm_->size()) + " processes (" +
         comm_->backendName() + ", " + std::to_string(reducer_->buckets()) +
         " gradient bucket" + (reducer_->buckets() == 1 ? "" : "s") +
         ", timeout " + std::to_string(comm_->timeout().count()) + " s)";
}

void DataParallel::prepareModel(Model &model) {
  for (const auto &np : model.namedParameters())
    np.second.requires_grad_(true);
  params_ = model.parameters();
  broadcastParameters(*comm_, params_);
  reducer_ = std::make_unique<GradientReducer>(*comm_, params_);
}

void DataParallel::zeroGrad(Model &, Optimizer &) {
  torch::NoGradGuard noGrad;
  for (torch::Tensor &p : params_)
    if (p.grad().defined())
      p.mutable_grad().zero_();
}

void DataParallel::backward(const torch::Tensor &loss, bool sync) {
  if (!sync) { // accumulate locally, as DDP's no_sync()
    loss.backward();
    return;
  }
  reducer_->expectSync();
  reducer_->backward(loss);
}

double DataParallel::clipGradients(Model &, double maxNorm) {
  return clipGradNorm(params_, maxNorm); // the gradients are averaged
}

void DataParallel::optimizerStep(Optimizer &optim, double lr) {
  optim.step(lr);
}

std::string DataParallel::saveCheckpoint(Checkpointer &ckpt, Model &model,
                                         const Optimizer &optim,
                                         const TrainState &state) {
  // No process runs ahead of a checkpoint the job may restart from, and
  // all go on (or stop) knowing whether it was saved.
  return agreeOnPart(*comm_, [&] {
    return comm_->rank() == 0
               ? saveWholeCheckpoint(ckpt, model, optim.state(), state)
               : std::string();
  });
}

void DataParallel::loadCheckpoint(const Checkpoint &c, const std::string &from,
                                  Model &model, Optimizer &optim,
                                  const std::string &modelText) {
  loadModelAndRng(c, from, model, modelText);
  try {
    optim.loadState(c.optimizer);
  } catch (const Error &e) {
    throw Error("'" + from + "': " + e.what());
  }
}

void DataParallel::sumOverProcesses(std::vector<double> &values) {
  sumDoubles(*comm_, values);
}

HeldBytes DataParallel::held(const Optimizer &optim) const {
  return measureHeld(optim, reducer_->bucketBuffers());
}

std::string DataParallel::placement(const Optimizer &optim) const {
  return "rank " + std::to_string(comm_->rank()) + " of " +
         std::to_string(comm_->size()) + ": the whole model; optimizer state " +
         std::to_string(optimizerStateBytes(optim)) + " bytes";
}

} // namespace s2s::rt
