//===- LauncherTest.cpp - torchrun, mpirun and Slurm start the same run ---===//
//
// The same 2-rank ddp run started by torchrun --no_python (its agent
// serves the store), by mpirun --allow-run-as-root (no master address: the
// ranks meet at a FileStore) and with the variables srun sets (SLURM_*,
// the master from the node list) gives every step's parameters of one
// process on the global batch. A launcher that is not installed skips
// (scripts/deps.txt names python3-torch and openmpi-bin). Under
// torchrun --max_restarts 1, a rank that dies after step 4 makes the
// others fail, torchrun restarts all of them, and they resume from the
// newest checkpoint by themselves: the same parameters at every step.
//
//===----------------------------------------------------------------------===//

#include "RankProcesses.h"

#include <gtest/gtest.h>

using namespace s2s_test;

namespace {

bool onPath(const std::string &tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

void expectLaunchedLikeOneProcess(Launcher how, const std::string &label) {
  Case c{"ddp", "sgd", 2, 1};
  const Models &ref = reference(c);
  std::string out;
  std::vector<Rank> r = runCase(c, 2, out, how);
  for (const Rank &k : r)
    ASSERT_EQ(k.status, 0) << label << ":\n" << k.out << k.err;
  const double worst = expectSameModels(ref, stepModels(out), label);
  std::printf("[figures] %s: %zu steps, max |difference| %.3g\n", label.c_str(),
              ref.size(), worst);
}

} // namespace

TEST(Launchers, SimulatedSlurm) {
  expectLaunchedLikeOneProcess(Launcher::Slurm, "SLURM_* variables");
}

TEST(Launchers, Torchrun) {
  if (!onPath("torchrun"))
    GTEST_SKIP() << "torchrun is not installed (python3-torch)";
  expectLaunchedLikeOneProcess(Launcher::Torchrun, "torchrun --no_python");
}

TEST(Launchers, Mpirun) {
  if (!onPath("mpirun"))
    GTEST_SKIP() << "mpirun is not installed (openmpi-bin)";
  expectLaunchedLikeOneProcess(Launcher::Mpirun,
                               "mpirun --allow-run-as-root (FileStore)");
}

TEST(Launchers, TorchrunRestartResumesFromTheNewestCheckpoint) {
  if (!onPath("torchrun"))
    GTEST_SKIP() << "torchrun is not installed (python3-torch)";
  Case c{"ddp", "sgd", 2, 1};
  c.maxRestarts = 1;
  c.crashRank = 1;
  c.crashStep = 4; // in the second epoch
  c.timeout = 20;
  const Models &ref = reference(c);
  std::string out;
  std::vector<Rank> r = runCase(c, 2, out, Launcher::Torchrun);
  ASSERT_EQ(r[0].status, 0) << r[0].out << r[0].err;
  EXPECT_NE(r[0].err.find("S2S_CRASH_AT_STEP: exiting after step 4"),
            std::string::npos)
      << r[0].err;
  EXPECT_NE(r[0].out.find("restart 1 of this job"), std::string::npos)
      << r[0].out;
  const double worst = expectSameModels(ref, stepModels(out), "restarted");
  std::printf("[figures] torchrun --max_restarts 1, rank 1 killed after step "
              "4: %zu steps equal to one process, max |difference| %.3g\n",
              ref.size(), worst);
}
