//===- Strategy.cpp - Training in one process, and the factory ------------===//

#include "train/Strategy.h"

#include "s2s/runtime/Error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace s2s::rt {

Strategy::~Strategy() = default;

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
  TrainState w = state;
  w.modelRng = model.generator().get_state();
  w.torchRng = cpuGeneratorState();
  return ckpt.save(model.namedParameters(), optim.state(), w);
}

void SingleProcess::loadCheckpoint(const Checkpoint &c, const std::string &from,
                                   Model &model, Optimizer &optim,
                                   const std::string &modelText) {
  for (const auto &[name, p] : model.namedParameters()) {
    auto it = c.model.find(name);
    if (it == c.model.end())
      throw Error("the checkpoint '" + from + "' has no parameter '" + name +
                  "' of " + modelText);
    if (it->second.sizes() != p.sizes())
      throw Error("the checkpoint '" + from + "' has parameter '" + name +
                  "' of shape " + c10::str(it->second.sizes()) + ", " +
                  modelText + " has " + c10::str(p.sizes()));
    model.load(name, it->second.to(p.device(), p.scalar_type()));
  }
  if (c.model.size() != model.namedParameters().size())
    for (const auto &kv : c.model) {
      bool found = false;
      for (const auto &np : model.namedParameters())
        found = found || np.first == kv.first;
      if (!found)
        throw Error("the checkpoint '" + from + "' has parameter '" + kv.first +
                    "', which " + modelText + " does not");
    }
  try {
    optim.loadState(c.optimizer);
  } catch (const Error &e) {
    throw Error("'" + from + "': " + e.what());
  }
  if (c.state.modelRng.defined())
    model.generator().set_state(c.state.modelRng);
  if (c.state.torchRng.defined())
    setCpuGeneratorState(c.state.torchRng);
}

std::string SingleProcess::name() const {
  // With one process every strategy is the same computation and no
  // collective runs; say what the spec chose all the same.
  return std::string("one process (") + rt::name(parallel_.strategy) +
         ", backend " + rt::name(parallel_.backend) +
         ": nothing to synchronise)";
}

std::unique_ptr<Strategy> makeStrategy(const ParallelConfig &parallel) {
  int64_t meshSize = 1;
  for (int64_t s : parallel.sizes)
    meshSize *= std::max<int64_t>(s, 1);
  if (meshSize > 1) // s2sc refuses it; a Program built by hand must not
    throw Error("a parallel mesh of " + std::to_string(meshSize) +
                " processes is not implemented yet: this runtime trains in "
                "one process");
  return std::make_unique<SingleProcess>(parallel);
}

} // namespace s2s::rt
