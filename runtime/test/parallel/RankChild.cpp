//===- RankChild.cpp - One rank of a parallel test, in its own process ----===//
//
// What RankProcesses.h starts: s2s::rt::main on the case in S2S_TEST_CASE,
// into S2S_TEST_OUT; the launcher's variables come from the parent (or
// torchrun, mpirun). Also holds the parallel tests' temp-folder cleanup.
//
//===----------------------------------------------------------------------===//

#include "RankProcesses.h"

using namespace s2s_test;

namespace {

[[maybe_unused]] ::testing::Environment *const cleanupEnv =
    ::testing::AddGlobalTestEnvironment(new TempRootCleanup("S2S_TEST_CASE"));

} // namespace

/// A rank's side (or the one process of the reference).
TEST(ParallelChild, DISABLED_Main) {
  const char *spec = std::getenv("S2S_TEST_CASE");
  ASSERT_NE(spec, nullptr) << "run through runCase()";
  Case c;
  std::istringstream in(spec);
  in >> c.strategy >> c.optimizer >> c.world >> c.accumulate >> c.clip >>
      c.epochs >> c.steps >> c.timeout >> c.checkpointEvery >> c.recompute;
  std::vector<std::string> args = {"gain",
                                   "--out",
                                   std::getenv("S2S_TEST_OUT"),
                                   "--steps",
                                   std::to_string(c.steps),
                                   "--threads",
                                   "1",
                                   "--no-maps"};
  if (const char *from = std::getenv("S2S_TEST_RESUME"); from && *from)
    args.insert(args.end(), {"--resume", from});
  if (const char *to = std::getenv("S2S_TEST_EXPORT"); to && *to)
    args.insert(args.end(), {"--export", to});
  // A crash of one rank in a job's first attempt (torchrun restarts it).
  int crashRank = -1, crashStep = 0;
  std::istringstream(
      std::getenv("S2S_TEST_CRASH") ? std::getenv("S2S_TEST_CRASH") : "-1 0") >>
      crashRank >> crashStep;
  const char *rank = std::getenv("RANK"),
             *restart = std::getenv("TORCHELASTIC_RESTART_COUNT");
  if (crashRank >= 0 && rank && std::atoi(rank) == crashRank &&
      (!restart || std::atoi(restart) == 0))
    ::setenv("S2S_CRASH_AT_STEP", std::to_string(crashStep).c_str(), 1);
  else
    ::unsetenv("S2S_CRASH_AT_STEP");
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = rt::main(gainProgram(c), int(args.size()), argv.data());
  std::fflush(nullptr);
  std::_Exit(rc);
}
