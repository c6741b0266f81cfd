//===- MemoryModesTest.cpp - The training program in every memory mode ---===//
//
// --memory, --prefetch, --buffer and --loader-threads on the command line,
// and the same training (loss for loss) whichever deterministic mode holds
// the data. The data set is made once per process in
// build/test-tmp/MemoryModesTest-<pid>.
//
//===----------------------------------------------------------------------===//

#include "TestData.h"
#include "TestSupport.h"
#include "prep/Synth.h"
#include "s2s/runtime/Program.h"
#include "support/Json.h"
#include "train/RunMain.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace rt = s2s::rt;
using rt::DataConfig;

namespace {

/// Removed at the end (S2S_TEST_KEEP=1 keeps it).
const fs::path &root() {
  static const s2s_test::ProgramTempDir dir("MemoryModesTest");
  return dir.path();
}

/// 4 years of 16 samples, 8x16: 56 windows of 3 frames.
const std::string &smallSet() {
  static const std::string d =
      s2s_test::synthOnce((root() / "small").string(), 8, 16, 4, 16, 5);
  return d;
}

DataConfig config(const std::string &dir) {
  return s2s_test::zscoreConfig(dir);
}

torch::Tensor stepOf(rt::Model &m, const torch::Tensor &x) {
  const int64_t C = x.size(1);
  const torch::Tensor &w = m.param("net.conv.weight", {C, C, 3, 3});
  return x + torch::conv2d(x, w, {}, 1, 1);
}

torch::Tensor lossOf(rt::Model &m, const torch::Tensor &window) {
  torch::Tensor x = window.select(1, 0);
  torch::Tensor loss = torch::zeros({}, window.options());
  for (int64_t k = 1; k < window.size(1); ++k) {
    x = stepOf(m, x);
    loss = loss + torch::mse_loss(x, window.select(1, k));
  }
  return loss;
}

rt::Program program(const std::string &dir) {
  rt::Program p;
  p.name = "loadertiny";
  p.modelName = "net";
  p.data = config(dir);
  p.data.train = {2000, 2002};
  p.data.valid = {2003, 2003};
  p.data.memory = rt::MemoryConfig(); // eager, prefetch 2
  p.rollout.order = 2;
  p.train.epochs = 2;
  p.train.batch = 4;
  p.train.seed = 1;
  p.forward = stepOf;
  p.rolloutLoss = lossOf;
  rt::declare(p.parameters, "net.conv.weight", {3, 3, 3, 3},
              rt::Init{rt::InitKind::FanIn, 27.0, 0.0}, rt::Sharding{});
  return p;
}

using MainRun = s2s_test::MainResult;

MainRun runMain(const rt::Program &p, std::vector<std::string> args) {
  return s2s_test::runMain(p, "loadertiny", std::move(args));
}

std::vector<rt::Json> metrics(const std::string &out) {
  return s2s_test::readMetrics(out + "/metrics.jsonl");
}

} // namespace

TEST(LoaderTrain, CommandLineMemoryOptions) {
  const rt::Program p = program(smallSet());
  MainRun h = runMain(p, {"--help"});
  EXPECT_EQ(h.status, 0);
  EXPECT_NE(h.out.find("--memory MODE"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("(default: eager)"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("--prefetch N"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("--loader-threads N"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("none (the spec's memory is not stream)"),
            std::string::npos)
      << h.out;
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string message;
  } cases[] = {
      {{"--memory", "disk"},
       2,
       "--memory must be eager, lazy, stream or shared, got 'disk'"},
      {{"--prefetch", "-1"}, 2, "--prefetch must be an integer >= 0, got '-1'"},
      {{"--buffer", "0"}, 2, "--buffer must be an integer >= 1, got '0'"},
      {{"--loader-threads", "0"},
       2,
       "--loader-threads must be an integer >= 1, got '0'"},
      {{"--buffer", "8"}, 2, "--buffer applies to stream mode only"},
      {{"--memory", "stream"}, 2, "--memory stream needs a buffer"},
  };
  for (const Case &c : cases) {
    MainRun r = runMain(p, c.args);
    EXPECT_EQ(r.status, c.status) << c.args[0];
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "expected: " << c.message << "\ngot: " << r.err;
  }
  rt::Program bad = p;
  bad.data.memory.prefetch = -3;
  MainRun r = runMain(bad, {});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("memory = in_memory(shared = false, lazy = false, "
                       "prefetch = -3): prefetch must be an integer >= 0"),
            std::string::npos)
      << r.err;
}

TEST(LoaderTrain, EveryDeterministicModeTrainsTheSame) {
  const rt::Program p = program(smallSet());
  std::map<std::string, std::vector<rt::Json>> runs;
  for (std::vector<std::string> mode :
       {std::vector<std::string>{"--memory", "eager", "--prefetch", "0"},
        {"--memory", "lazy", "--loader-threads", "2"},
        {"--memory", "shared", "--prefetch", "3"},
        {"--memory", "stream", "--buffer", "16"}}) {
    const std::string out = (root() / ("train-" + mode[1])).string();
    fs::remove_all(out);
    std::vector<std::string> args = mode;
    args.insert(args.end(), {"--out", out, "--log-every", "1"});
    MainRun r = runMain(p, args);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("memory " + mode[1]), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(", data wait "), std::string::npos) << r.out;
    runs[mode[1]] = metrics(out);
  }
  const std::vector<rt::Json> &e = runs["eager"];
  ASSERT_EQ(e.size(), 2u * (42 / 4) + 2);
  for (const char *m : {"lazy", "shared"}) {
    const std::vector<rt::Json> &x = runs[m];
    ASSERT_EQ(x.size(), e.size()) << m;
    for (size_t i = 0; i < e.size(); ++i) {
      const char *key =
          e[i].get("kind")->string == "train" ? "loss" : "train_loss";
      EXPECT_EQ(e[i].get(key)->number, x[i].get(key)->number)
          << m << " record " << i;
    }
  }
  for (const auto &[m, recs] : runs)
    for (const rt::Json &j : recs) {
      if (j.get("kind")->string == "epoch") {
        ASSERT_NE(j.get("data_wait_s"), nullptr) << m;
        EXPECT_GE(j.get("data_wait_s")->number, 0.0) << m;
      }
    }
}
