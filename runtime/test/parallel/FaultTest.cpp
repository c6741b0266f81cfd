//===- FaultTest.cpp - A rank that dies or hangs stops the others ---------===//
//
// Two ranks train a long ddp run; once rank 0 has finished its first
// epoch, rank 1 is SIGKILLed (the survivor must exit non-zero within 5 s,
// naming rank 1) or SIGSTOPped (the survivor must exit at the configured
// timeout, ±10%, naming rank 1).
//
//===----------------------------------------------------------------------===//

#include "RankProcesses.h"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

using namespace s2s_test;

namespace {

using Clock = std::chrono::steady_clock;

/// Waits until `path` contains `text` (true) or `seconds` pass (false).
bool waitForText(const std::string &path, const std::string &text,
                 double seconds) {
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    if (readFile(path).find(text) != std::string::npos)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

/// Exit status of `pid` and the seconds it took to exit, at most `limit`
/// (then -1).
std::pair<int, double> exitWithin(pid_t pid, double limit) {
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < limit) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid)
      return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
              std::chrono::duration<double>(Clock::now() - t0).count()};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {-1, limit};
}

/// Two ranks of case `c` started directly into a fresh run folder.
struct TwoRanks {
  std::string base, out;
  pid_t r0 = -1, r1 = -1;
};

TwoRanks startTwoRanks(const Case &c) {
  TwoRanks t;
  t.base = freshRun(t.out);
  const int port = freePort();
  t.r0 = startRank(c, Launcher::Direct, 0, 2, port, t.out, t.base + "/rank0");
  t.r1 = startRank(c, Launcher::Direct, 1, 2, port, t.out, t.base + "/rank1");
  return t;
}

struct Survivor {
  int status = -1;
  double seconds = 0; ///< from the signal to its exit
  std::string err;
};

/// Two ranks with timeout `timeout`; rank 1 gets `signal` after rank 0's
/// first epoch.
Survivor signalRankOne(int signal, int timeout) {
  Case c{"ddp", "sgd", 2, 1};
  c.epochs = 100000;
  c.timeout = timeout;
  c.checkpointEvery = 0;
  const TwoRanks ranks = startTwoRanks(c);
  const std::string &base = ranks.base;
  const pid_t r0 = ranks.r0, r1 = ranks.r1;
  Survivor s;
  if (!waitForText(base + "/rank0.out", "epoch 1/", 60)) {
    ::kill(r0, SIGKILL);
    ::kill(r1, SIGKILL);
    waitStatus(r0);
    waitStatus(r1);
    ADD_FAILURE() << "rank 0 did not finish an epoch:\n"
                  << readFile(base + "/rank0.err");
    return s;
  }
  ::kill(r1, signal);
  std::tie(s.status, s.seconds) = exitWithin(r0, 3.0 * timeout + 10);
  if (s.status == -1) {
    ::kill(r0, SIGKILL);
    waitStatus(r0);
  }
  ::kill(r1, SIGKILL);
  waitStatus(r1);
  s.err = readFile(base + "/rank0.err");
  return s;
}

} // namespace

TEST(Faults, KilledRankIsNamedWithinFiveSeconds) {
  Survivor s = signalRankOne(SIGKILL, 30);
  EXPECT_NE(s.status, 0) << s.err;
  EXPECT_NE(s.status, -1) << "rank 0 did not exit";
  EXPECT_LT(s.seconds, 5.0) << s.err;
  EXPECT_NE(s.err.find("rank 1 stopped answering"), std::string::npos) << s.err;
  std::printf("[figures] SIGKILL of rank 1: rank 0 exited (status %d) after "
              "%.2f s\n%s",
              s.status, s.seconds, s.err.c_str());
}

TEST(Faults, StoppedRankFailsTheOthersAtTheTimeout) {
  const int timeout = 6;
  Survivor s = signalRankOne(SIGSTOP, timeout);
  EXPECT_NE(s.status, 0) << s.err;
  EXPECT_NE(s.status, -1) << "rank 0 did not exit";
  EXPECT_GT(s.seconds, 0.9 * timeout) << s.err;
  EXPECT_LT(s.seconds, 1.1 * timeout) << s.err;
  EXPECT_NE(s.err.find("rank 1 stopped answering"), std::string::npos) << s.err;
  std::printf("[figures] SIGSTOP of rank 1, timeout %d s: rank 0 exited "
              "(status %d) after %.2f s\n%s",
              timeout, s.status, s.seconds, s.err.c_str());
}

/// SIGTERM to one rank of a zero2 run: every rank stops after the same
/// step, the sharded checkpoint of that step is written, and all exit 75.
TEST(Faults, SigtermToOneRankStopsEveryRankAtTheSameStep) {
  Case c{"zero2", "adamw", 2, 1};
  c.epochs = 100000;
  c.timeout = 30;
  c.checkpointEvery = 0;
  const TwoRanks ranks = startTwoRanks(c);
  const std::string &base = ranks.base, &out = ranks.out;
  const pid_t r0 = ranks.r0, r1 = ranks.r1;
  const bool started = waitForText(base + "/rank0.out", "epoch 1/", 60);
  ::kill(r1, SIGTERM);
  const auto [s0, t0] = exitWithin(r0, 60);
  const auto [s1, t1] = exitWithin(r1, 60);
  for (pid_t pid : {r0, r1})
    ::kill(pid, SIGKILL);
  const std::string err0 = readFile(base + "/rank0.err");
  const std::string err1 = readFile(base + "/rank1.err");
  ASSERT_TRUE(started) << err0;
  EXPECT_EQ(s0, 75) << err0;
  EXPECT_EQ(s1, 75) << err1;
  const std::string tag = "stopped by SIGTERM after global step ";
  const size_t at = err0.find(tag);
  ASSERT_NE(at, std::string::npos) << err0;
  const long step = std::atol(err0.c_str() + at + tag.size());
  EXPECT_GT(step, 3) << err0; // after the first epoch's 3 steps
  EXPECT_TRUE(fs::is_regular_file(out + "/checkpoints/ckpt-" +
                                  std::to_string(step) + "/manifest.json"))
      << err0;
  EXPECT_NE(err1.find("SIGTERM received"), std::string::npos) << err1;
  std::printf("[figures] SIGTERM to rank 1: both ranks stopped after step %ld "
              "(exit %d and %d within %.2f and %.2f s)\n",
              step, s0, s1, t0, t1);
}
