//===- Configure.cpp - Spec values into a Program, and run() ---------------===//
//
// The generated `configure(Program &)` sets each value of the spec's
// sections by key. Keys are checked here, so a compiler and a runtime of
// different versions fail with a message instead of training with a value
// silently dropped. run() is what a generated main() calls.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

#include "support/Allocator.h"

#include <cstdio>

namespace s2s::rt {

namespace {

[[noreturn]] void unknown(const std::string &key, const char *kind) {
  throw Error("the generated program sets " + std::string(kind) + " '" + key +
              "', which this runtime does not know; rebuild the program with "
              "the s2sc of the same s2s version as libs2s_runtime");
}

YearRange years(const std::string &key, const std::vector<int64_t> &v) {
  if (v.size() != 2)
    throw Error("'" + key + "' needs a first and a last year");
  return YearRange{static_cast<int>(v[0]), static_cast<int>(v[1])};
}

} // namespace

void setInt(Program &p, const std::string &key, int64_t v) {
  if (key == "data.step") p.data.stepSeconds = v;
  else if (key == "data.history") p.data.history = v;
  else if (key == "rollout.order") p.rollout.order = v;
  else if (key == "train.epochs") p.train.epochs = v;
  else if (key == "train.batch") p.train.batch = v;
  else if (key == "train.seed") p.train.seed = v;
  else if (key == "train.schedule.every") p.train.schedule.every = v;
  else if (key == "train.schedule.warmup") p.train.schedule.warmup = v;
  else if (key == "train.checkpoint.epochs") p.train.checkpoint.everyEpochs = v;
  else if (key == "train.checkpoint.steps") p.train.checkpoint.everySteps = v;
  else if (key == "train.checkpoint.keep") p.train.checkpoint.keep = v;
  else if (key == "program.parameters") p.expectedParameters = v;
  else if (key.rfind("data.memory.", 0) == 0) p.data.memory[key.substr(12)] = std::to_string(v);
  // Integers where the runtime keeps a float (a spec may write `lr = 1`).
  else if (key.rfind("train.optimizer.", 0) == 0 || key == "train.grad_clip" ||
           key.rfind("train.schedule.", 0) == 0)
    setFloat(p, key, static_cast<double>(v));
  else unknown(key, "integer");
}

void setFloat(Program &p, const std::string &key, double v) {
  OptimizerConfig &o = p.train.optimizer;
  if (key == "train.optimizer.lr") o.lr = v;
  else if (key == "train.optimizer.momentum") o.momentum = v;
  else if (key == "train.optimizer.beta1") o.beta1 = v;
  else if (key == "train.optimizer.beta2") o.beta2 = v;
  else if (key == "train.optimizer.eps") o.eps = v;
  else if (key == "train.optimizer.weight_decay") o.weightDecay = v;
  else if (key == "train.grad_clip") p.train.gradClip = v;
  else if (key == "train.schedule.gamma") p.train.schedule.gamma = v;
  else if (key == "train.schedule.min_lr") p.train.schedule.minLr = v;
  else if (key.rfind("data.memory.", 0) == 0) p.data.memory[key.substr(12)] = std::to_string(v);
  else unknown(key, "number");
}

void setBool(Program &p, const std::string &key, bool v) {
  if (key == "train.optimizer.nesterov") p.train.optimizer.nesterov = v;
  else if (key.rfind("data.memory.", 0) == 0) p.data.memory[key.substr(12)] = v ? "true" : "false";
  else unknown(key, "flag");
}

void setString(Program &p, const std::string &key, const std::string &v) {
  if (key == "program.name") p.name = v;
  else if (key == "program.spec") p.specFile = v;
  else if (key == "program.model") p.modelName = v;
  else if (key == "data.name") p.data.name = v;
  else if (key == "data.pattern") p.data.pattern = v;
  else if (key == "data.field") p.data.field = v;
  else if (key == "data.normalize") p.data.normalize = v;
  else if (key == "data.stats") p.data.stats = v;
  else if (key == "rollout.loss") p.rollout.loss = v;
  else if (key == "rollout.weight") p.rollout.weight = v;
  else if (key == "parallel.strategy") p.parallel.strategy = v;
  else if (key == "parallel.backend") p.parallel.backend = v;
  else if (key == "train.precision") p.train.precision = v;
  else if (key == "train.optimizer.kind") p.train.optimizer.kind = v;
  else if (key == "train.schedule.kind") p.train.schedule.kind = v;
  else if (key == "train.checkpoint.dir") p.train.checkpoint.dir = v;
  else if (key.rfind("data.memory.", 0) == 0) p.data.memory[key.substr(12)] = v;
  else unknown(key, "string");
}

void setStrings(Program &p, const std::string &key,
                const std::vector<std::string> &v) {
  if (key == "data.channels") p.data.channels = v;
  else if (key == "parallel.axes") p.parallel.axes = v;
  else if (key == "train.metrics") p.train.metrics = v;
  else unknown(key, "list of strings");
}

void setInts(Program &p, const std::string &key,
             const std::vector<int64_t> &v) {
  if (key == "data.grid") p.data.grid = v;
  else if (key == "data.split.train") p.data.train = years(key, v);
  else if (key == "data.split.valid") p.data.valid = years(key, v);
  else if (key == "data.split.test") p.data.test = years(key, v);
  else if (key == "parallel.sizes") p.parallel.sizes = v;
  else unknown(key, "list of integers");
}

int run(void (*configure)(Program &),
        torch::Tensor (*forward)(Model &, torch::Tensor),
        torch::Tensor (*rolloutLoss)(Model &, torch::Tensor), int argc,
        char **argv) {
  tuneAllocator();
  Program p;
  try {
    configure(p);
  } catch (const Error &e) {
    std::fprintf(stderr, "%s: error: %s\n", argc > 0 ? argv[0] : "s2s",
                 e.what());
    return 1;
  }
  p.forward = [forward](Model &m, const torch::Tensor &x) {
    return forward(m, x);
  };
  p.rolloutLoss = [rolloutLoss](Model &m, const torch::Tensor &w) {
    return rolloutLoss(m, w);
  };
  return main(p, argc, argv);
}

} // namespace s2s::rt
