//===- TensorParallelRun.cpp - Megatron's tensor axis around a strategy ---===//

#include "train/TensorParallelRun.h"

#include "s2s/runtime/Error.h"
#include "train/Banner.h"
#include "train/DataParallel.h"

#include <cmath>

namespace s2s::rt {

TensorParallelRun::TensorParallelRun(std::unique_ptr<Strategy> data,
                                     std::shared_ptr<Communicator> world,
                                     std::shared_ptr<Communicator> tensor,
                                     int64_t tensorIndex)
    : data_(std::move(data)), world_(std::move(world)),
      tensor_(std::move(tensor)), tensorIndex_(tensorIndex) {}

std::string TensorParallelRun::name() const {
  return data_->name() + ", tensor parallel over " +
         std::to_string(tensor_->size()) + " ranks";
}

void TensorParallelRun::materialize(const Program &p, Model &model) {
  try {
    materializeShards(model, p.parameters, tensorIndex_, tensor_->size());
  } catch (const Error &e) {
    throw Error("building " + modelText(p) + " on tensor rank " +
                std::to_string(tensorIndex_) + ": " + e.what());
  }
  specs_.clear();
  for (const ParameterSpec &s : p.parameters)
    specs_.emplace_back(s.path, shardSpec(s.path, s.sharding.tensor));
  model.setTensorGroup(tensor_.get());
}

void TensorParallelRun::prepareModel(Model &model) {
  data_->prepareModel(model);
}

double TensorParallelRun::clipGradients(Model &model, double maxNorm) {
  torch::NoGradGuard noGrad;
  // [sliced, replicated] sums of squares, in float64.
  std::vector<double> squares = {0.0, 0.0};
  std::vector<torch::Tensor> grads;
  const std::vector<torch::Tensor> leaves = model.parameters();
  for (size_t i = 0; i < leaves.size(); ++i) {
    const torch::Tensor &g = leaves[i].grad();
    if (!g.defined())
      continue;
    grads.push_back(g);
    bool sliced = specs_.at(i).second.dim >= 0;
    squares[sliced ? 0 : 1] +=
        g.to(torch::kFloat64).pow(2).sum().item<double>();
  }
  std::vector<double> sliced = {squares[0]};
  sumDoubles(*tensor_, sliced);
  const double norm = std::sqrt(sliced[0] + squares[1]);
  scaleToNorm(grads, norm, maxNorm);
  return norm;
}

ShardSpec TensorParallelRun::specOf(const std::string &name) const {
  for (const auto &[path, spec] : specs_)
    if (name == path)
      return spec;
  // Optimizer state: "<optimizer>.<buffer>.<parameter>".
  const size_t first = name.find('.');
  const size_t second =
      first == std::string::npos ? first : name.find('.', first + 1);
  if (second != std::string::npos) {
    const std::string param = name.substr(second + 1);
    for (const auto &[path, spec] : specs_)
      if (param == path)
        return spec;
  }
  return {};
}

std::string TensorParallelRun::saveCheckpoint(Checkpointer &ckpt, Model &model,
                                              const Optimizer &optim,
                                              const TrainState &state) {
  // Every rank takes part in its tensor group's gathers; the writer saves
  // the whole model and optimizer state, as one process would.
  NamedTensors params, moments;
  for (const auto &[name, p] : model.namedParameters())
    params.emplace_back(name, gatherFull(*tensor_, p.detach(), specOf(name)));
  for (const auto &[name, t] : optim.state())
    moments.emplace_back(name, gatherFull(*tensor_, t, specOf(name)));
  return agreeOnPart(*world_, [&] {
    return writesOutput()
               ? ckpt.save(params, moments, stateWithRng(model, state))
               : std::string();
  });
}

void TensorParallelRun::loadCheckpoint(const Checkpoint &c,
                                       const std::string &from, Model &model,
                                       Optimizer &optim,
                                       const std::string &modelText) {
  // The checkpoint holds whole tensors: this rank's slices of each.
  Checkpoint mine = c;
  const int64_t size = tensor_->size();
  auto slice = [&](std::map<std::string, torch::Tensor> &tensors) {
    for (auto &[name, t] : tensors) {
      const ShardSpec spec = specOf(name);
      if (spec.dim < 0)
        continue;
      if (t.dim() <= spec.dim || t.size(spec.dim) % (spec.groups * size) != 0)
        throw Error("the checkpoint '" + from + "' has tensor '" + name +
                    "' of shape " + c10::str(t.sizes()) +
                    ", which does not split over " + std::to_string(size) +
                    " tensor ranks as " + modelText + " needs");
      t = tensorShard(t, spec, tensorIndex_, size);
    }
  };
  slice(mine.model);
  slice(mine.optimizer);
  data_->loadCheckpoint(mine, from, model, optim, modelText);
}

void TensorParallelRun::sumOverProcesses(std::vector<double> &values) {
  sumDoubles(*world_, values);
  for (double &v : values)
    v /= double(tensor_->size());
}

std::string TensorParallelRun::placement(const Optimizer &optim) const {
  const std::string inner = data_->placement(optim);
  return "rank " + std::to_string(world_->rank()) + " of " +
         std::to_string(world_->size()) + ": tensor rank " +
         std::to_string(tensorIndex_) + " of " +
         std::to_string(tensor_->size()) + " (its slices of the model)" +
         (inner.empty() ? std::string() : "; data group: " + inner);
}

} // namespace s2s::rt
