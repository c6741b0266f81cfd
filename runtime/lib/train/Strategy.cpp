//===- Strategy.cpp - Training in one process, and the factory ------------===//

#include "train/Strategy.h"

#include "comm/Communicator.h"
#include "comm/Mesh.h"
#include "dist/Launch.h"
#include "s2s/runtime/Error.h"
#include "support/Text.h"
#include "train/DataParallel.h"
#include "train/Materialize.h"
#include "train/TensorParallelRun.h"
#include "train/ZeroShards.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <set>

namespace s2s::rt {

Strategy::~Strategy() = default;

std::unique_ptr<Optimizer> Strategy::makeOptimizer(const OptimizerConfig &c,
                                                   Model &model) {
  return std::make_unique<Optimizer>(c, model.namedParameters());
}

void Strategy::zeroGrad(Model &, Optimizer &optim) { optim.zeroGrad(); }

void Strategy::backward(const torch::Tensor &loss, bool) { loss.backward(); }

bool Strategy::reached(const Model &model, size_t index) const {
  // A sharded parameter's gradient reaches the shard: its kernel must
  // have asked for it.
  const torch::Tensor &p = model.namedParameters().at(index).second;
  return p.is_meta() ? model.requested(index) : p.grad().defined();
}

HeldBytes Strategy::held(const Optimizer &optim) const {
  return measureHeld(optim);
}

HeldBytes measureHeld(const Optimizer &optim,
                      const std::vector<torch::Tensor> &gradientBuffers) {
  // Each storage once, whole: parameters that are views of one flat
  // buffer (zero1/2), gradients that are views of DDP's buckets.
  std::set<const void *> seen;
  auto storageBytes = [&](const torch::Tensor &t) -> int64_t {
    if (!t.defined() || !t.has_storage() ||
        !seen.insert(t.storage().data()).second)
      return 0;
    return int64_t(t.storage().nbytes());
  };
  HeldBytes h;
  for (const auto &[name, p] : optim.parameters())
    h.parameters += storageBytes(p);
  for (const auto &[name, p] : optim.parameters())
    h.gradients += storageBytes(p.grad());
  for (const torch::Tensor &b : gradientBuffers)
    h.gradients += storageBytes(b);
  h.optimizer = optimizerStateBytes(optim);
  return h;
}

std::string heldReport(const Strategy &strategy, const HeldBytes &h) {
  std::string line = "rank " + std::to_string(strategy.rank()) + " of " +
                     std::to_string(strategy.processes()) +
                     " holds between steps: parameters " +
                     withCommas(h.parameters) + " bytes, gradients " +
                     withCommas(h.gradients) + " bytes, optimizer state " +
                     withCommas(h.optimizer) + " bytes";
  if (h.bucketPeak > 0)
    line += "; at most " + withCommas(h.bucketPeak) +
            " bytes of gradient buckets at once in a backward";
  return line;
}

int64_t optimizerStateBytes(const Optimizer &optim) {
  int64_t bytes = 0;
  for (const auto &[name, t] : optim.state())
    if (t.dim() > 0) // not the step counter
      bytes += t.numel() * int64_t(t.element_size());
  return bytes;
}

torch::Tensor cpuGeneratorState() {
  at::Generator g = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(g.mutex());
  return g.get_state();
}

void setCpuGeneratorState(const torch::Tensor &s) {
  at::Generator g = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(g.mutex());
  g.set_state(s);
}

void SingleProcess::prepareModel(Model &model) {
  for (const auto &np : model.namedParameters())
    np.second.requires_grad_(true);
  params_ = model.parameters();
}

double SingleProcess::clipGradients(Model &, double maxNorm) {
  return clipGradNorm(params_, maxNorm);
}

void SingleProcess::optimizerStep(Optimizer &optim, double lr) {
  optim.step(lr);
}

std::string SingleProcess::saveCheckpoint(Checkpointer &ckpt, Model &model,
                                          const Optimizer &optim,
                                          const TrainState &state) {
  return saveWholeCheckpoint(ckpt, model, optim.state(), state);
}

void SingleProcess::loadCheckpoint(const Checkpoint &c, const std::string &from,
                                   Model &model, Optimizer &optim,
                                   const std::string &modelText) {
  loadModelAndRng(c, from, model, modelText);
  try {
    optim.loadState(c.optimizer);
  } catch (const Error &e) {
    throw Error("'" + from + "': " + e.what());
  }
}

TrainState stateWithRng(Model &model, const TrainState &state) {
  TrainState w = state;
  w.modelRng = model.generator().get_state();
  w.torchRng = cpuGeneratorState();
  return w;
}

std::string saveWholeCheckpoint(Checkpointer &ckpt, Model &model,
                                const NamedTensors &optimizerState,
                                const TrainState &state) {
  return ckpt.save(model.namedParameters(), optimizerState,
                   stateWithRng(model, state));
}

void checkCheckpointParameters(const Checkpoint &c, const std::string &from,
                               const NamedTensors &params,
                               const std::string &modelText) {
  for (const auto &[name, p] : params) {
    auto it = c.model.find(name);
    if (it == c.model.end())
      throw Error("the checkpoint '" + from + "' has no parameter '" + name +
                  "' of " + modelText);
    if (it->second.sizes() != p.sizes())
      throw Error("the checkpoint '" + from + "' has parameter '" + name +
                  "' of shape " + c10::str(it->second.sizes()) + ", " +
                  modelText + " has " + c10::str(p.sizes()));
  }
  if (c.model.size() != params.size())
    for (const auto &kv : c.model) {
      bool found = false;
      for (const auto &np : params)
        found = found || np.first == kv.first;
      if (!found)
        throw Error("the checkpoint '" + from + "' has parameter '" + kv.first +
                    "', which " + modelText + " does not");
    }
}

void loadRng(const Checkpoint &c, Model &model) {
  if (c.state.modelRng.defined())
    model.generator().set_state(c.state.modelRng);
  if (c.state.torchRng.defined())
    setCpuGeneratorState(c.state.torchRng);
}

void loadModelAndRng(const Checkpoint &c, const std::string &from, Model &model,
                     const std::string &modelText) {
  checkCheckpointParameters(c, from, model.namedParameters(), modelText);
  for (const auto &[name, p] : model.namedParameters())
    model.load(name, c.model.at(name).to(p.device(), p.scalar_type()));
  loadRng(c, model);
}

std::string SingleProcess::name() const {
  // With one process every strategy is the same computation and no
  // collective runs; say what the spec chose all the same.
  return std::string("one process (") + rt::name(parallel_.strategy) +
         ", backend " + rt::name(parallel_.backend) +
         ": nothing to synchronise)";
}

namespace {

/// The mesh's size; throws for an axis this runtime does not spread over.
int64_t meshSizeOf(const ParallelConfig &parallel) {
  int64_t meshSize = 1;
  for (size_t i = 0; i < parallel.sizes.size(); ++i) {
    const int64_t n = std::max<int64_t>(parallel.sizes[i], 1);
    const std::string axis =
        i < parallel.axes.size() ? parallel.axes[i] : std::string("?");
    if (n > 1 && axis != "data" && axis != "tensor")
      throw Error("mesh axis '" + axis + "' of size " + std::to_string(n) +
                  " is not implemented yet: this runtime spreads training "
                  "over the data and tensor axes only");
    meshSize *= n;
  }
  return meshSize;
}

} // namespace

void Strategy::materialize(const Program &p, Model &model) {
  materializeModel(p, model);
}

int64_t meshAxisSize(const ParallelConfig &parallel, const std::string &axis) {
  for (size_t i = 0; i < parallel.axes.size() && i < parallel.sizes.size(); ++i)
    if (parallel.axes[i] == axis)
      return std::max<int64_t>(parallel.sizes[i], 1);
  return 1;
}

std::unique_ptr<Strategy> makeStrategy(const ParallelConfig &parallel,
                                       torch::Device device) {
  const int64_t meshSize = meshSizeOf(parallel);
  const LaunchEnv env = launchEnv();
  const int64_t world = env.ranks.worldSize;
  if (meshSize != world)
    throw Error("the spec's mesh spans " + std::to_string(meshSize) +
                " process" + (meshSize == 1 ? "" : "es") + " but " +
                (env.ranks.source.empty()
                     ? std::string("this process was started alone")
                     : "the launcher started " + std::to_string(world) + " (" +
                           env.ranks.source + ")") +
                "; start " + std::to_string(meshSize) +
                " processes (torchrun --nproc_per_node, srun -n, mpirun -n) "
                "or change the mesh");
  if (world == 1)
    return std::make_unique<SingleProcess>(parallel);
  std::shared_ptr<Communicator> comm = Communicator::connect(
      env, parallel.backend, std::chrono::seconds(parallel.timeoutSeconds),
      device);
  if (const int64_t tensor = meshAxisSize(parallel, "tensor"); tensor > 1) {
    if (parallel.strategy != StrategyKind::Ddp)
      throw Error(std::string("strategy ") + rt::name(parallel.strategy) +
                  " on a mesh with a tensor axis is not implemented yet: "
                  "tensor parallel composes with ddp over the data axis");
    MeshGroups groups = splitMesh(*comm, tensor);
    std::shared_ptr<Communicator> data = std::move(groups.data);
    std::unique_ptr<Strategy> inner =
        data->size() > 1 ? std::unique_ptr<Strategy>(
                               std::make_unique<DataParallel>(parallel, data))
                         : std::make_unique<SingleProcess>(parallel);
    return std::make_unique<TensorParallelRun>(
        std::move(inner), std::move(comm), std::move(groups.tensor),
        groups.tensorIndex);
  }
  if (parallel.strategy == StrategyKind::Ddp)
    return std::make_unique<DataParallel>(parallel, std::move(comm));
  const int stage = parallel.strategy == StrategyKind::Zero1   ? 1
                    : parallel.strategy == StrategyKind::Zero2 ? 2
                                                               : 3;
  return std::make_unique<ZeroShards>(parallel, std::move(comm), stage);
}

} // namespace s2s::rt
