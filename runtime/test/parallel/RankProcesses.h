//===- RankProcesses.h - Real ranks of a hand-built program ----*- C++ -*-===//
//
// The parallel tests' fixtures: a small program (three residual conv
// blocks and a per-channel gain: 255 parameters in three ZeRO-3 units, no
// dropout, rollout order 3) over a synthetic data set, and its
// ranks as real processes: this test binary re-executed with
// ParallelChild.DISABLED_Main (RankChild.cpp) and the launcher's variables,
// directly or under torchrun, mpirun or a simulated Slurm. A case travels to
// the ranks in S2S_TEST_CASE.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_PARALLEL_RANKPROCESSES_H
#define S2S_RUNTIME_TEST_PARALLEL_RANKPROCESSES_H

#include "io/Checkpoint.h"
#include "s2s/runtime/Ops.h"
#include "s2s/runtime/Program.h"

#include "Processes.h"
#include "TestData.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace s2s_test {

namespace rt = s2s::rt;

inline std::string dataDir() {
  static std::string dir = [] {
    if (const char *d = std::getenv("S2S_TEST_DATA"))
      return std::string(d);
    return s2s_test::synthOnce((fs::path(tempRoot()) / "data").string(), 8, 16,
                               3, 24, 11);
  }();
  return dir;
}

//===----------------------------------------------------------------------===//
// The program: a residual conv with a per-channel gain, no dropout
//===----------------------------------------------------------------------===//

/// Block `i`: x + 0.5 · tanh(conv(x)).
inline torch::Tensor gainBlock(rt::Model &m, const torch::Tensor &x, int i) {
  const int64_t C = x.size(1);
  const std::string at = "net." + std::to_string(i) + ".";
  const torch::Tensor &w = m.param(at + "conv.weight", {C, C, 3, 3});
  const torch::Tensor &b = m.param(at + "conv.bias", {C});
  torch::Tensor y = torch::tanh(torch::conv2d(x, w, b, 1, 1));
  return x + 0.5 * y;
}

/// The three blocks, their update scaled by a gain of block 0 taken as a
/// value (`s2s.param`, as ViT's position embedding) before and used after
/// the other blocks' units were gathered (zero3 frees block 0's then).
inline torch::Tensor gainForward(rt::Model &m, torch::Tensor x) {
  torch::Tensor g =
      rt::param(m, "net.0.gain", {x.size(1)}).view({1, x.size(1), 1, 1});
  torch::Tensor y = x;
  for (int i = 0; i < 3; ++i)
    y = gainBlock(m, y, i);
  return x + (1.0 + g) * (y - x);
}

/// The loss of rolling `step` out over the window.
inline torch::Tensor rolloutWith(
    rt::Model &m, const torch::Tensor &window,
    const std::function<torch::Tensor(rt::Model &, torch::Tensor)> &step) {
  torch::Tensor x = window.select(1, 0);
  torch::Tensor loss = torch::zeros({}, window.options());
  const int64_t order = window.size(1) - 1;
  for (int64_t k = 1; k <= order; ++k) {
    x = step(m, x);
    loss = loss + torch::mse_loss(x, window.select(1, k));
  }
  return loss / double(order);
}

inline torch::Tensor gainRollout(rt::Model &m, const torch::Tensor &window) {
  return rolloutWith(m, window, gainForward);
}

/// The same, each step recomputed in the backward (checkpoint_activations).
inline torch::Tensor gainRolloutRecomputed(rt::Model &m,
                                           const torch::Tensor &window) {
  return rolloutWith(m, window, [](rt::Model &mm, torch::Tensor x) {
    return rt::recompute(mm, gainForward, x);
  });
}

/// What a case varies, passed to the ranks through the environment.
struct Case {
  std::string strategy = "ddp";
  std::string optimizer = "adamw";
  int world = 2;
  int accumulate = 1;
  double clip = 0.0;
  int epochs = 2, steps = 3; ///< steps per epoch
  int timeout = 60;          ///< seconds
  int checkpointEvery = 1;   ///< steps
  /// torchrun: restarts allowed; rank `crashRank` exits after step
  /// `crashStep` in the first attempt (RankChild.cpp), when >= 0.
  int maxRestarts = 0, crashRank = -1, crashStep = 0;
  int recompute = 0; ///< checkpoint_activations
  /// --resume FOLDER (passed in S2S_TEST_RESUME), when not empty.
  std::string resumeFrom;
  /// --export FILE (S2S_TEST_EXPORT), when not empty.
  std::string exportTo;
};

inline rt::Program gainProgram(const Case &c) {
  rt::Program p;
  p.name = "gain";
  p.specFile = "gain.s2s";
  p.modelName = "net";
  const std::string dir = dataDir();
  p.data.name = "synth";
  p.data.pattern = dir + "/*.h5";
  p.data.channels = {"u", "v", "t"};
  p.data.grid = {8, 16};
  p.data.normalize = rt::Normalizer::Zscore;
  p.data.stats = dir + "/stats.h5";
  p.data.train = {2000, 2001};
  p.data.valid = {2002, 2002};
  p.rollout.order = 3;
  p.parallel.sizes = {c.world};
  const std::map<std::string, rt::StrategyKind> kinds = {
      {"ddp", rt::StrategyKind::Ddp},
      {"zero1", rt::StrategyKind::Zero1},
      {"zero2", rt::StrategyKind::Zero2},
      {"zero3", rt::StrategyKind::Zero3},
      {"fsdp", rt::StrategyKind::Fsdp}};
  p.parallel.strategy = kinds.at(c.strategy);
  p.parallel.backend = rt::Backend::Gloo;
  p.parallel.timeoutSeconds = c.timeout;
  p.train.epochs = c.epochs;
  p.train.batch = 8;
  p.train.accumulate = c.accumulate;
  p.train.seed = 5;
  p.train.gradClip = c.clip;
  if (c.optimizer == "sgd") {
    p.train.optimizer.kind = rt::OptimizerKind::Sgd;
    p.train.optimizer.lr = 0.05;
    p.train.optimizer.momentum = 0.9;
    p.train.optimizer.weightDecay = 1e-3;
  } else {
    p.train.optimizer.kind = rt::OptimizerKind::Adamw;
    p.train.optimizer.lr = 1e-2;
    p.train.optimizer.weightDecay = 0.05;
  }
  p.train.checkpoint.everySteps = c.checkpointEvery;
  if (c.checkpointEvery == 0) // a long run: one checkpoint, at its end
    p.train.checkpoint.everyEpochs = 1000000;
  p.train.checkpoint.keep = 1000;
  p.forward = gainForward;
  p.rolloutLoss = c.recompute ? gainRolloutRecomputed : gainRollout;
  for (int i = 0; i < 3; ++i) {
    const std::string at = "net." + std::to_string(i) + ".";
    rt::Sharding unit; // zero3 gathers block i at once, as s2sc has it
    unit.unit = "net." + std::to_string(i);
    rt::declare(p.parameters, at + "conv.weight", {3, 3, 3, 3},
                rt::Init{rt::InitKind::FanIn, 27.0, 0.0}, unit);
    rt::declare(p.parameters, at + "conv.bias", {3},
                rt::Init{rt::InitKind::FanIn, 27.0, 0.0}, unit);
    if (i == 0) {
      rt::declare(p.parameters, at + "gain", {3},
                  rt::Init{rt::InitKind::FanIn, 3.0, 0.0}, unit);
    }
  }
  return p;
}

constexpr int64_t kParameters = 3 * (3 * 3 * 3 * 3 + 3) + 3; // 255

//===----------------------------------------------------------------------===//
// Processes
//===----------------------------------------------------------------------===//

/// How the ranks are started.
enum class Launcher {
  Direct,   ///< one process per rank with torchrun's variables
  Slurm,    ///< one process per rank with srun's (SLURM_*) variables
  Torchrun, ///< torchrun --no_python, agent store
  Mpirun    ///< mpirun --allow-run-as-root, no master address: a FileStore
};

/// A case's words for S2S_TEST_CASE (RankChild.cpp reads them back).
inline std::string caseText(const Case &c) {
  std::ostringstream o;
  o << c.strategy << " " << c.optimizer << " " << c.world << " " << c.accumulate
    << " " << c.clip << " " << c.epochs << " " << c.steps << " " << c.timeout
    << " " << c.checkpointEvery << " " << c.recompute;
  return o.str();
}

/// How gtest prints a case (the parameterised suites' names and logs).
inline void PrintTo(const Case &c, std::ostream *os) { *os << caseText(c); }

/// This binary's command line for one rank.
inline std::vector<std::string> childCommand() {
  return {fs::read_symlink("/proc/self/exe").string(),
          "--gtest_filter=ParallelChild.DISABLED_Main",
          "--gtest_also_run_disabled_tests"};
}

/// The variables every rank needs for case `c` into `out`.
inline std::map<std::string, std::string> caseVars(const Case &c,
                                                   const std::string &out) {
  return {{"S2S_TEST_DATA", dataDir()},
          {"S2S_TEST_CASE", caseText(c)},
          {"S2S_TEST_OUT", out},
          {"S2S_TEST_CRASH",
           std::to_string(c.crashRank) + " " + std::to_string(c.crashStep)},
          {"S2S_TEST_RESUME", c.resumeFrom},
          {"S2S_TEST_EXPORT", c.exportTo},
          {"OMP_NUM_THREADS", "1"}};
}

/// Starts rank `rank` of `world` (Direct or Slurm).
inline pid_t startRank(const Case &c, Launcher how, int rank, int world,
                       int port, const std::string &out,
                       const std::string &log) {
  std::map<std::string, std::string> vars = caseVars(c, out);
  const std::string r = std::to_string(rank), n = std::to_string(world);
  if (how == Launcher::Slurm) {
    vars.insert({{"SLURM_PROCID", r},
                 {"SLURM_NTASKS", n},
                 {"SLURM_LOCALID", r},
                 {"SLURM_NTASKS_PER_NODE", n},
                 {"SLURM_NODEID", "0"},
                 {"SLURM_JOB_NODELIST", "localhost"},
                 {"SLURM_JOB_ID", "77" + std::to_string(port)},
                 {"SLURM_STEP_ID", "0"},
                 {"MASTER_PORT", std::to_string(port)}});
  } else if (world > 1) {
    vars.insert({{"RANK", r},
                 {"LOCAL_RANK", r},
                 {"WORLD_SIZE", n},
                 {"LOCAL_WORLD_SIZE", n},
                 {"MASTER_ADDR", "127.0.0.1"},
                 {"MASTER_PORT", std::to_string(port)}});
  }
  return spawn(childCommand(), vars, log);
}

/// Starts torchrun or mpirun with `world` ranks.
inline pid_t startLauncher(const Case &c, Launcher how, int world, int port,
                           const std::string &out, const std::string &log) {
  std::map<std::string, std::string> vars = caseVars(c, out);
  std::vector<std::string> argv;
  if (how == Launcher::Torchrun) {
    argv = {"torchrun",
            "--redirects",
            "2",
            "--tee",
            "2",
            "--nproc_per_node",
            std::to_string(world),
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            std::to_string(port),
            "--max_restarts",
            std::to_string(c.maxRestarts),
            "--no_python"};
  } else {
    argv = {"mpirun", "--allow-run-as-root", "--oversubscribe", "-n",
            std::to_string(world)};
    for (const auto &[k, v] : vars)
      argv.insert(argv.end(), {"-x", k});
  }
  for (const std::string &a : childCommand())
    argv.push_back(a);
  return spawn(argv, vars, log);
}

/// Runs case `c` on c.world processes (or `world`) started `how` into a
/// fresh folder `out`; returns each rank's result (one, the launcher's, for
/// torchrun and mpirun).
inline std::vector<Rank> runCase(const Case &c, int world, std::string &out,
                                 Launcher how = Launcher::Direct) {
  const std::string base = freshRun(out);
  const int port = freePort();
  const bool launcher = how == Launcher::Torchrun || how == Launcher::Mpirun;
  std::vector<Rank> ranks(static_cast<size_t>(launcher ? 1 : world));
  for (size_t r = 0; r < ranks.size(); ++r) {
    const std::string log = base + "/rank" + std::to_string(r);
    ranks[r].pid = launcher ? startLauncher(c, how, world, port, out, log)
                            : startRank(c, how, int(r), world, port, out, log);
  }
  for (size_t r = 0; r < ranks.size(); ++r) {
    ranks[r].status = waitStatus(ranks[r].pid);
    ranks[r].out = readFile(base + "/rank" + std::to_string(r) + ".out");
    ranks[r].err = readFile(base + "/rank" + std::to_string(r) + ".err");
  }
  return ranks;
}

/// The model of every step's checkpoint, oldest first.
inline std::vector<std::map<std::string, torch::Tensor>>
stepModels(const std::string &out) {
  rt::Checkpointer ck(out + "/checkpoints", 1000);
  std::vector<std::map<std::string, torch::Tensor>> models;
  for (const std::string &folder : ck.list())
    models.push_back(rt::loadCheckpoint(folder).model);
  return models;
}

/// One process on the global batch, per optimizer (and clip): the
/// reference every case compares with.
inline const std::vector<std::map<std::string, torch::Tensor>> &
reference(const Case &c) {
  static std::map<std::string,
                  std::vector<std::map<std::string, torch::Tensor>>>
      cache;
  const std::string key = c.optimizer + std::to_string(c.clip) + " " +
                          std::to_string(c.epochs) + " " +
                          std::to_string(c.steps);
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second;
  Case one = c;
  one.world = 1;
  one.strategy = "ddp";
  one.accumulate = 1;
  std::string out;
  std::vector<Rank> r = runCase(one, 1, out);
  EXPECT_EQ(r[0].status, 0) << r[0].err;
  return cache[key] = stepModels(out);
}

using Models = std::vector<std::map<std::string, torch::Tensor>>;

/// Expects every step's parameters of `got` equal to `want`'s to rtol
/// 1.3e-6 / atol 1e-5; returns the largest difference.
inline double expectSameModels(const Models &want, const Models &got,
                               const std::string &label) {
  EXPECT_GE(want.size(), 5u) << label;
  EXPECT_EQ(got.size(), want.size()) << label;
  double worst = 0.0;
  for (size_t s = 0; s < std::min(want.size(), got.size()); ++s)
    for (const auto &[name, w] : want[s]) {
      auto it = got[s].find(name);
      if (it == got[s].end()) {
        ADD_FAILURE() << label << " step " << s + 1 << ": no " << name;
        continue;
      }
      const double d = (it->second - w).abs().max().item<double>();
      EXPECT_TRUE(torch::allclose(it->second, w, 1.3e-6, 1e-5))
          << label << " step " << s + 1 << " parameter " << name
          << ": max difference " << d;
      worst = std::max(worst, d);
    }
  return worst;
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_PARALLEL_RANKPROCESSES_H
