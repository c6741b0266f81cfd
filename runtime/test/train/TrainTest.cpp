//===- TrainTest.cpp - The training program: command line, runs, resume ---===//
//
// No code generator involved: a Program is built by hand (a one-conv
// residual model with dropout on the model's generator, a 2-step rollout
// with MSE) over a small synthetic data set (8x16 grid, 4 years).
//
// Runs that must crash (S2S_CRASH_AT_STEP, S2S_CRASH_IN_CHECKPOINT) run in
// a child: this binary re-executed with only TrainChild.DISABLED_Main
// enabled, which calls s2s::rt::main with the arguments from the
// environment (fork+exec rather than a bare fork: LibTorch's thread pools
// do not survive a fork).
//
//===----------------------------------------------------------------------===//

#include "io/Checkpoint.h"
#include "prep/Synth.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Program.h"
#include "support/Json.h"

#include "TestData.h"
#include "train/Fingerprint.h"
#include "train/Options.h"
#include "train/RunFolder.h"
#include "train/RunMain.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace fs = std::filesystem;
namespace rt = s2s::rt;

namespace {

//===----------------------------------------------------------------------===//
// Fixtures: temp folder, data, the hand-built program
//===----------------------------------------------------------------------===//

std::string &tempRootSlot() {
  static std::string root;
  return root;
}

std::string tempRoot() {
  std::string &root = tempRootSlot();
  if (root.empty()) {
    root = (fs::temp_directory_path() /
            ("s2s-train-test-" + std::to_string(::getpid())))
               .string();
    fs::remove_all(root);
    fs::create_directories(root);
  }
  return root;
}

class CleanupEnvironment : public ::testing::Environment {
public:
  void TearDown() override {
    if (!tempRootSlot().empty() && !std::getenv("S2S_TEST_KEEP"))
      fs::remove_all(tempRootSlot());
  }
};
[[maybe_unused]] ::testing::Environment *const cleanupEnv =
    ::testing::AddGlobalTestEnvironment(new CleanupEnvironment);

std::string freshDir(const std::string &name) {
  fs::path p = fs::path(tempRoot()) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

/// The synthetic data set, made once per process (or given by the parent).
std::string dataDir() {
  static std::string dir = [] {
    if (const char *d = std::getenv("S2S_TEST_DATA"))
      return std::string(d);
    return s2s_test::synthOnce((fs::path(tempRoot()) / "data").string(), 8, 16,
                               4, 24, 7);
  }();
  return dir;
}

torch::Tensor tinyForward(rt::Model &m, const torch::Tensor &x) {
  const int64_t C = x.size(1);
  const torch::Tensor &w = m.param("net.conv.weight", {C, C, 3, 3});
  const torch::Tensor &b = m.param("net.conv.bias", {C});
  torch::Tensor h = torch::conv2d(x, w, b, 1, 1);
  if (m.isTraining()) // dropout drawn from the model's generator
    h = h * torch::bernoulli(torch::full_like(h, 0.9), m.generator()) / 0.9;
  return x + h;
}

torch::Tensor tinyRollout(rt::Model &m, const torch::Tensor &window) {
  torch::Tensor x = window.select(1, 0);
  torch::Tensor loss = torch::zeros({}, window.options());
  const int64_t order = window.size(1) - 1;
  for (int64_t k = 1; k <= order; ++k) {
    x = tinyForward(m, x);
    loss = loss + torch::mse_loss(x, window.select(1, k));
  }
  return loss / double(order);
}

rt::Program tinyProgram() {
  rt::Program p;
  p.name = "tiny";
  p.specFile = "tiny.s2s";
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
  p.rollout.order = 2;
  p.train.epochs = 2;
  p.train.batch = 4;
  p.train.seed = 3;
  p.train.gradClip = 1.0;
  p.train.optimizer.kind = rt::OptimizerKind::Adam;
  p.train.optimizer.lr = 3e-3;
  p.train.schedule.kind = rt::ScheduleKind::Cosine;
  p.train.schedule.warmup = 3;
  p.train.schedule.minLr = 1e-4;
  p.train.checkpoint.everyEpochs = 1;
  p.train.checkpoint.everySteps = 4;
  p.train.checkpoint.keep = 3;
  p.forward = tinyForward;
  p.rolloutLoss = tinyRollout;
  // What the compiler's manifest would say of this model.
  rt::declare(p.parameters, "net.conv.weight", {3, 3, 3, 3},
              rt::Init{rt::InitKind::FanIn, 27.0, 0.0}, rt::Sharding{});
  rt::declare(p.parameters, "net.conv.bias", {3}, rt::Init{}, rt::Sharding{});
  return p;
}

using Result = s2s_test::MainResult;

/// rt::main in this process, stdout/stderr captured.
Result runHere(const rt::Program &p, std::vector<std::string> args) {
  return s2s_test::runMain(p, "tiny", std::move(args));
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream o;
  o << in.rdbuf();
  return o.str();
}

/// rt::main with tinyProgram() in a child process (this binary, re-executed).
Result runChild(const std::vector<std::string> &args,
                const std::map<std::string, std::string> &env = {}) {
  static int serial = 0;
  const std::string base =
      (fs::path(tempRoot()) / ("child-" + std::to_string(++serial))).string();
  const std::string outPath = base + ".out", errPath = base + ".err";
  std::string joined;
  for (const std::string &a : args)
    joined += (joined.empty() ? "" : "\x1f") + a;
  // Everything the child needs is prepared before fork().
  std::vector<std::string> envStrings;
  for (char **e = environ; *e; ++e) {
    std::string s = *e;
    std::string key = s.substr(0, s.find('='));
    if (key == "S2S_TEST_ARGS" || key == "S2S_TEST_DATA" ||
        key == "S2S_CRASH_AT_STEP" || key == "S2S_CRASH_IN_CHECKPOINT" ||
        env.count(key))
      continue;
    envStrings.push_back(s);
  }
  envStrings.push_back("S2S_TEST_ARGS=" + joined);
  envStrings.push_back("S2S_TEST_DATA=" + dataDir());
  for (const auto &[k, v] : env)
    envStrings.push_back(k + "=" + v);
  std::vector<char *> envp;
  for (std::string &s : envStrings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=TrainChild.DISABLED_Main";
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char *> argv = {self.data(), filter.data(), disabled.data(),
                              nullptr};
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0)
      ::_exit(126);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(self.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  Result r;
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid)
    return r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = readFile(outPath);
  r.err = readFile(errPath);
  return r;
}

using s2s_test::readMetrics;

bool relClose(double a, double b, double rel) {
  return std::fabs(a - b) <=
         rel * std::max({std::fabs(a), std::fabs(b), 1e-12});
}

} // namespace

/// The child's side of runChild().
TEST(TrainChild, DISABLED_Main) {
  const char *args = std::getenv("S2S_TEST_ARGS");
  ASSERT_NE(args, nullptr) << "run through runChild()";
  std::vector<std::string> list = {"tiny"};
  std::string a = args;
  size_t start = 0;
  while (start <= a.size() && !a.empty()) {
    size_t end = a.find('\x1f', start);
    list.push_back(a.substr(start, end - start));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  std::vector<char *> argv;
  for (std::string &s : list)
    argv.push_back(s.data());
  argv.push_back(nullptr);
  int rc = rt::main(tinyProgram(), int(list.size()), argv.data());
  std::fflush(nullptr);
  std::_Exit(rc);
}

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

TEST(Cli, BadValuesAndUnknownOptions) {
  rt::Program p = tinyProgram();
  struct Case {
    std::vector<std::string> args;
    int status;
    std::string message;
  } cases[] = {
      {{"--epochs", "0"},
       2,
       "tiny: error: --epochs must be an integer >= 1, got '0'"},
      {{"--batch=x"}, 2, "--batch must be an integer >= 1, got 'x'"},
      {{"--threads", "-2"}, 2, "--threads must be an integer >= 1, got '-2'"},
      {{"--seed", "-1"}, 2, "--seed must be an integer >= 0, got '-1'"},
      {{"--lr", "0"},
       2,
       "--lr must be a number > 0 that float32 holds (at most 3.4e38), got "
       "'0'"},
      {{"--lr", "nan"},
       2,
       "--lr must be a number > 0 that float32 holds (at most 3.4e38), got "
       "'nan'"},
      {{"--steps"}, 2, "--steps needs a value (N)"},
      {{"--epoch", "3"},
       2,
       "unknown option '--epoch'; did you mean '--epochs'?"},
      {{"--sead", "3"}, 2, "unknown option '--sead'; did you mean '--seed'?"},
      {{"--frobnicate"}, 2, "unknown option '--frobnicate'; see --help"},
      {{"extra"}, 2, "unexpected argument 'extra'"},
      {{"--resume", "/nonexistent/run"},
       1,
       "--resume: '/nonexistent/run' is not a folder"},
  };
  for (const Case &c : cases) {
    Result r = runHere(p, c.args);
    EXPECT_EQ(r.status, c.status) << c.args[0] << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << "expected: " << c.message << "\ngot: " << r.err;
  }
}

TEST(Cli, HelpShowsTheSpecsValues) {
  Result r = runHere(tinyProgram(), {"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--epochs N"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(default: 2)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--lr X"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.003, adam"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--resume [DIR]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("runs/tiny"), std::string::npos) << r.out;
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

TEST(Train, DataThatDoesNotFitTheModel) {
  // The manifest made the weight for 5 input channels; the data has 3.
  rt::Program p = tinyProgram();
  p.parameters[0].shape = {3, 5, 3, 3};
  Result r = runHere(p, {"--out", freshDir("grid")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tiny: error: model 'net' (tiny.s2s) on a batch of the "
                       "data's grid 8x16 with 3 channels (file '"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("parameter 'net.conv.weight' has shape [3, 5, 3, 3] "
                       "but is used with shape [3, 3, 3, 3]"),
            std::string::npos)
      << r.err;
  // A LibTorch error of the forward is reported with the model and data.
  p = tinyProgram();
  p.forward = [](rt::Model &, const torch::Tensor &x) {
    return torch::conv2d(x, torch::zeros({3, 5, 3, 3}), {}, 1, 1);
  };
  p.rolloutLoss = [&p](rt::Model &m, const torch::Tensor &w) {
    return (p.forward(m, w.select(1, 0)) * m.param("net.conv.bias", {3})[0])
        .sum();
  };
  r = runHere(p, {"--out", freshDir("grid-torch")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tiny: error: model 'net' (tiny.s2s) failed on a batch "
                       "of the data's grid 8x16 with 3 channels (file '"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("check the spec's data grid and channels against the "
                       "model's sizes"),
            std::string::npos)
      << r.err;
}

TEST(Train, MetricsTakeTheirWeighting) {
  // rmse(weight = uniform), acc() (latitude): two sets of scores; the
  // table says which is unweighted and metrics.jsonl records it.
  rt::Program p = tinyProgram();
  p.train.metrics = {{rt::MetricKind::Rmse, rt::Weighting::Uniform},
                     {rt::MetricKind::Acc, rt::Weighting::Latitude}};
  const std::string out = freshDir("metric-weights");
  Result r =
      runHere(p, {"--out", out, "--epochs", "1", "--steps", "2", "--no-maps"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("(rmse: every grid point weighted alike, not by "
                       "latitude)"),
            std::string::npos)
      << r.out;
  const std::vector<rt::Json> m = readMetrics(out + "/metrics.jsonl");
  ASSERT_FALSE(m.empty());
  ASSERT_NE(m.back().get("rmse_weight"), nullptr);
  EXPECT_EQ(m.back().get("rmse_weight")->string, "uniform");
  EXPECT_EQ(m.back().get("acc_weight"), nullptr);
  // The same run with latitude weights scores differently.
  rt::Program q = tinyProgram();
  const std::string out2 = freshDir("metric-weights-lat");
  Result r2 =
      runHere(q, {"--out", out2, "--epochs", "1", "--steps", "2", "--no-maps"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  const std::vector<rt::Json> m2 = readMetrics(out2 + "/metrics.jsonl");
  EXPECT_NE(m.back().get("rmse")->get("u")->number,
            m2.back().get("rmse")->get("u")->number);
  EXPECT_EQ(m.back().get("acc")->get("u")->number,
            m2.back().get("acc")->get("u")->number);
}

TEST(Train, SaysWhenTheDataIsReadThroughHdf5) {
  // synthesize()'s files are read by the loader's threads: no note. With
  // S2S_HDF5_READS every read goes through HDF5, and the banner says so.
  Result fast =
      runHere(tinyProgram(), {"--out", freshDir("reads-fast"), "--epochs", "1",
                              "--steps", "1", "--no-maps"});
  EXPECT_EQ(fast.status, 0) << fast.err;
  EXPECT_EQ(fast.out.find("read through HDF5"), std::string::npos) << fast.out;
  ::setenv("S2S_HDF5_READS", "1", 1);
  Result slow =
      runHere(tinyProgram(), {"--out", freshDir("reads-hdf5"), "--epochs", "1",
                              "--steps", "1", "--no-maps"});
  ::unsetenv("S2S_HDF5_READS");
  EXPECT_EQ(slow.status, 0) << slow.err;
  EXPECT_NE(slow.out.find("note: S2S_HDF5_READS is set: every file of data "
                          "set '"),
            std::string::npos)
      << slow.out;
}

// The model's parameters come from the compiler's manifest; a kernel and a
// manifest that disagree stop the program with the parameter's name.
TEST(Train, ParameterTheManifestLacksIsAnError) {
  rt::Program p = tinyProgram();
  p.parameters.pop_back(); // no bias
  Result r = runHere(p, {"--out", freshDir("manifest-lacks")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("a layer asks for parameter 'net.conv.bias' of shape "
                       "[3], which the model's parameter manifest does not "
                       "declare: the compiler and the runtime disagree"),
            std::string::npos)
      << r.err;
}

TEST(Train, ParameterNoLayerUsesIsAnError) {
  rt::Program p = tinyProgram();
  rt::declare(p.parameters, "net.extra.weight", {4},
              rt::Init{rt::InitKind::Ones}, rt::Sharding{});
  Result r = runHere(p, {"--out", freshDir("manifest-extra")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("parameter 'net.extra.weight' of model 'net' "
                       "(tiny.s2s) is declared by the program's manifest but "
                       "no layer uses it"),
            std::string::npos)
      << r.err;
}

TEST(Train, ParametersAreCreatedFromTheManifest) {
  // Shape, order and initialiser as declared, before any forward runs.
  rt::Program p = tinyProgram();
  rt::Model m(3);
  m.materialize(p.parameters);
  ASSERT_EQ(m.namedParameters().size(), 2u);
  EXPECT_EQ(m.namedParameters()[0].first, "net.conv.weight");
  EXPECT_EQ(m.namedParameters()[0].second.sizes().vec(),
            (std::vector<int64_t>{3, 3, 3, 3}));
  EXPECT_LE(m.namedParameters()[0].second.abs().max().item<double>(),
            1.0 / std::sqrt(27.0));
  EXPECT_TRUE(m.namedParameters()[1].second.eq(0).all().item<bool>());
  EXPECT_TRUE(m.sealed());
  EXPECT_THROW(m.param("net.other", {2}), rt::Error);
}

TEST(Train, NanLossNamesTheStep) {
  rt::Program p = tinyProgram();
  auto calls = std::make_shared<int>(0);
  p.rolloutLoss = [calls](rt::Model &m, const torch::Tensor &w) {
    torch::Tensor l = tinyRollout(m, w);
    return ++*calls == 3 ? l * std::nan("") : l;
  };
  Result r = runHere(p, {"--out", freshDir("nan")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("the training loss became NaN at epoch 1, step 3 "
                       "(global step 3"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("try a lower --lr"), std::string::npos) << r.err;
}

TEST(Train, FreshRunRefusesExistingCheckpoints) {
  const std::string out = freshDir("refuse");
  Result a = runChild({"--out", out, "--epochs", "1", "--steps", "2"});
  ASSERT_EQ(a.status, 0) << a.out << a.err;
  Result b = runChild({"--out", out, "--epochs", "1", "--steps", "2"});
  EXPECT_EQ(b.status, 1);
  EXPECT_NE(b.err.find("already holds checkpoints (newest: ckpt-2); pass "
                       "--resume"),
            std::string::npos)
      << b.err;
}

TEST(Train, ResumeAfterCrashMatchesUninterruptedRun) {
  const std::string full = freshDir("full"), crashed = freshDir("crashed");
  Result a = runChild({"--out", full, "--log-every", "1"});
  ASSERT_EQ(a.status, 0) << a.out << a.err;
  // 11 steps per epoch, checkpoints every 4 steps and at epoch ends: the
  // crash after step 14 resumes from ckpt-12, in the middle of epoch 2.
  Result b = runChild({"--out", crashed, "--log-every", "1"},
                      {{"S2S_CRASH_AT_STEP", "14"}});
  ASSERT_EQ(b.status, 3) << b.out << b.err;
  EXPECT_NE(b.err.find("S2S_CRASH_AT_STEP: exiting after step 14"),
            std::string::npos);
  Result c = runChild({"--out", crashed, "--log-every", "1", "--resume"});
  ASSERT_EQ(c.status, 0) << c.out << c.err;
  EXPECT_NE(
      c.out.find("resuming from " + crashed +
                 "/checkpoints/ckpt-12: epoch 2, step 1/11, global step 12"),
      std::string::npos)
      << c.out;

  std::vector<rt::Json> ma = readMetrics(full + "/metrics.jsonl"),
                        mc = readMetrics(crashed + "/metrics.jsonl");
  ASSERT_EQ(ma.size(), 24u); // 22 steps + 2 epochs
  ASSERT_EQ(mc.size(), ma.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    const rt::Json &x = ma[i], &y = mc[i];
    ASSERT_EQ(x.get("kind")->string, y.get("kind")->string) << i;
    ASSERT_EQ(x.get("step")->integer, y.get("step")->integer) << i;
    const char *key = x.get("kind")->string == "train" ? "loss" : "train_loss";
    EXPECT_TRUE(relClose(x.get(key)->number, y.get(key)->number, 1e-6))
        << "record " << i << ": " << x.get(key)->number << " vs "
        << y.get(key)->number;
    EXPECT_TRUE(relClose(x.get("lr")->number, y.get("lr")->number, 1e-12));
    if (x.get("kind")->string == "epoch")
      for (const char *ch : {"u", "v", "t"}) {
        EXPECT_TRUE(relClose(x.get("rmse")->get(ch)->number,
                             y.get("rmse")->get(ch)->number, 1e-6));
        EXPECT_TRUE(relClose(x.get("acc")->get(ch)->number,
                             y.get("acc")->get(ch)->number, 1e-6));
      }
  }
  // The final weights agree too.
  auto wa = rt::readSafetensors(full + "/checkpoints/ckpt-22/model.safetensors")
                .byName();
  auto wc =
      rt::readSafetensors(crashed + "/checkpoints/ckpt-22/model.safetensors")
          .byName();
  ASSERT_EQ(wa.size(), 2u);
  for (auto &[name, t] : wa)
    EXPECT_TRUE(torch::allclose(t, wc.at(name), 1e-5, 1e-7)) << name;
  // Training went somewhere: the model beats persistence after 2 epochs? At
  // least the loss went down.
  EXPECT_LT(ma.back().get("train_loss")->number, ma[0].get("loss")->number);
}

TEST(Train, CrashInCheckpointKeepsThePreviousOne) {
  const std::string out = freshDir("atomic");
  const std::string dir = out + "/checkpoints";
  Result a = runChild({"--out", out, "--epochs", "1"});
  ASSERT_EQ(a.status, 0) << a.out << a.err;
  rt::Checkpointer ck(dir, 3);
  ASSERT_EQ(ck.newest(), dir + "/ckpt-11");
  ASSERT_EQ(ck.list().size(), 3u); // 4, 8, 11

  Result b = runChild({"--out", out, "--epochs", "2", "--resume"},
                      {{"S2S_CRASH_IN_CHECKPOINT", "1"}});
  ASSERT_EQ(b.status, 3) << b.out << b.err;
  EXPECT_NE(b.err.find("S2S_CRASH_IN_CHECKPOINT"), std::string::npos) << b.err;
  // The half-written folder is there, but not a checkpoint.
  int temps = 0;
  for (auto &e : fs::directory_iterator(dir))
    temps += e.path().filename().string().rfind(".tmp-ckpt-12-", 0) == 0;
  EXPECT_EQ(temps, 1);
  EXPECT_EQ(ck.newest(), dir + "/ckpt-11");
  EXPECT_EQ(readFile(dir + "/latest"), "ckpt-11\n");
  rt::Checkpoint c = rt::loadCheckpoint(ck.newest());
  EXPECT_EQ(c.state.globalStep, 11);
  EXPECT_EQ(c.state.epoch, 1);
  EXPECT_EQ(c.state.batch, 0);
  EXPECT_EQ(c.model.size(), 2u);
  EXPECT_EQ(c.optimizer.count("adam.m.net.conv.weight"), 1u);
  EXPECT_TRUE(c.state.modelRng.defined());

  Result r = runChild({"--out", out, "--epochs", "2", "--resume"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("removed 1 incomplete checkpoint folder"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(ck.newest(), dir + "/ckpt-22");
  for (auto &e : fs::directory_iterator(dir))
    EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u) << e.path();
  std::vector<std::string> kept = ck.list();
  ASSERT_EQ(kept.size(), 3u); // keep = 3 of 12, 16, 20, 22
  EXPECT_EQ(kept.back(), dir + "/ckpt-22");
}

TEST(Train, CheckpointWriteFailureKeepsThePreviousOne) {
  const std::string dir = freshDir("ckfail") + "/checkpoints";
  rt::Checkpointer ck(dir, 2);
  rt::TrainState s;
  s.program = "tiny";
  s.globalStep = 5;
  s.modelRng = torch::arange(10, torch::kUInt8);
  ck.save({{"w", torch::ones({2})}}, {{"adam.step", torch::tensor(int64_t(5))}},
          s);
  s.globalStep = 6;
  try {
    // A tensor safetensors cannot hold makes the write fail half way.
    ck.save({{"w", torch::ones({2}, torch::kComplexFloat)}}, {}, s);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    std::string m = e.what();
    EXPECT_NE(m.find("ckpt-5', is kept"), std::string::npos) << m;
  }
  EXPECT_EQ(ck.newest(), dir + "/ckpt-5");
  EXPECT_EQ(ck.list().size(), 1u);
  rt::Checkpoint c = rt::loadCheckpoint(ck.newest());
  EXPECT_TRUE(torch::equal(c.state.modelRng, s.modelRng));

  // A checkpoint folder that cannot be created: the error names it.
  const std::string blocked = freshDir("ckblock");
  std::ofstream(blocked + "/checkpoints") << "a file, not a folder";
  rt::Checkpointer bad(blocked + "/checkpoints", 1);
  try {
    bad.save({{"w", torch::ones({2})}}, {}, s);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(blocked + "/checkpoints"),
              std::string::npos)
        << e.what();
  }
}

/// Every file of a checkpoint has its SHA-256 in state.json: a changed
/// byte is named on load, and newestIntact passes over that checkpoint.
TEST(Train, DamagedCheckpointIsNamedAndPassedOver) {
  const std::string dir = freshDir("ckdamage") + "/checkpoints";
  rt::Checkpointer ck(dir, 3);
  rt::TrainState s;
  s.program = "tiny";
  s.fingerprint = {{"channels", "u,v"}};
  for (int64_t step : {4, 8}) {
    s.globalStep = step;
    ck.save({{"w", torch::full({64}, double(step))}},
            {{"adam.step", torch::tensor(step)}}, s);
  }
  const std::string model = dir + "/ckpt-8/model.safetensors";
  {
    std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  try {
    rt::loadCheckpoint(dir + "/ckpt-8");
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("'" + model + "' is damaged"),
              std::string::npos)
        << e.what();
  }
  std::vector<std::string> damaged;
  EXPECT_EQ(ck.newestIntact(damaged), dir + "/ckpt-4");
  ASSERT_EQ(damaged.size(), 1u);
  EXPECT_NE(damaged[0].find(model), std::string::npos) << damaged[0];
  rt::Checkpoint c = rt::loadCheckpoint(dir + "/ckpt-4");
  EXPECT_EQ(c.state.fingerprint, s.fingerprint);
  EXPECT_EQ(c.model.at("w")[0].item<double>(), 4.0);
}

TEST(Train, FingerprintDifferencesAreListed) {
  const rt::Fingerprint then = {
      {"channels", "u,v,t"}, {"grid", "32x64"}, {"optimizer", "adam"}};
  const rt::Fingerprint now = {{"channels", "v,u,t"},
                               {"grid", "32x64"},
                               {"normalisation of u", "mean 0, std 1"}};
  const std::vector<std::string> d = rt::fingerprintDifferences(then, now);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0], "channels: the checkpoint's 'u,v,t', this run's 'v,u,t'");
  EXPECT_EQ(d[1], "normalisation of u: not in the checkpoint; this run's "
                  "'mean 0, std 1'");
  EXPECT_EQ(d[2], "optimizer: the checkpoint's 'adam', not in this run");
  EXPECT_TRUE(rt::fingerprintDifferences({}, now).empty());
  EXPECT_TRUE(rt::fingerprintDifferences(now, now).empty());
}

/// Before the first step: a checkpoint folder without room for two
/// checkpoints, or one that cannot be made, is an error with the figures.
TEST(Train, CheckpointRoomIsCheckedBeforeTraining) {
  rt::Settings s;
  s.out = freshDir("room");
  s.train.checkpoint.dir = "checkpoints";
  EXPECT_NO_THROW(rt::checkCheckpointRoom(s, 1 << 20));
  // Adam keeps two moments: 3 copies of the parameters.
  const int64_t bytes = rt::checkpointBytesEstimate(s, int64_t(1) << 58, 4);
  EXPECT_EQ(bytes, (int64_t(3) << 60));
  try {
    rt::checkCheckpointRoom(s, bytes);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(s.out + "/checkpoints' has "), std::string::npos) << m;
    EXPECT_NE(m.find("free, less than two checkpoints"), std::string::npos)
        << m;
  }
  std::ofstream(s.out + "/file") << "not a folder";
  s.out += "/file";
  EXPECT_THROW(rt::checkCheckpointRoom(s, 1), rt::Error);
}

//===----------------------------------------------------------------------===//
// Precision
//===----------------------------------------------------------------------===//

TEST(Precision, Bf16TrainsOtherwiseThanFp32OnFp32State) {
  const std::string a = freshDir("fp32"), b = freshDir("bf16");
  const std::vector<std::string> args = {"--epochs", "1", "--log-every", "1",
                                         "--no-maps"};
  rt::Program p = tinyProgram();
  std::vector<std::string> argsA = args, argsB = args;
  argsA.insert(argsA.end(), {"--out", a});
  argsB.insert(argsB.end(), {"--out", b});
  Result ra = runHere(p, argsA);
  ASSERT_EQ(ra.status, 0) << ra.out << ra.err;
  p.train.precision = rt::Precision::Bf16;
  Result rb = runHere(p, argsB);
  ASSERT_EQ(rb.status, 0) << rb.out << rb.err;
  EXPECT_EQ(ra.out.find("precision"), std::string::npos) << ra.out;
  EXPECT_NE(rb.out.find("precision bf16: the forward under autocast in bf16"),
            std::string::npos)
      << rb.out;
  EXPECT_NE(rb.out.find("ms in fp32 (measured at start-up)"), std::string::npos)
      << rb.out;
  // The losses differ (bf16's rounding), step by step, but not by much.
  std::vector<rt::Json> ma = readMetrics(a + "/metrics.jsonl"),
                        mb = readMetrics(b + "/metrics.jsonl");
  ASSERT_EQ(ma.size(), mb.size());
  int differ = 0;
  for (size_t i = 0; i < ma.size(); ++i) {
    if (ma[i].get("kind")->string != "train")
      continue;
    const double x = ma[i].get("loss")->number, y = mb[i].get("loss")->number;
    differ += x != y;
    EXPECT_TRUE(relClose(x, y, 0.05)) << i << ": " << x << " vs " << y;
  }
  EXPECT_GT(differ, 0) << "bf16 losses bit-identical to fp32's";
  // Master weights and optimizer state stay fp32; the checkpoint says bf16.
  rt::Checkpoint c = rt::loadCheckpoint(b + "/checkpoints/ckpt-11");
  EXPECT_EQ(c.state.precision, "bf16");
  EXPECT_EQ(c.state.lossScale, 0.0);
  for (const auto &[name, t] : c.model)
    EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
  int moments = 0;
  for (const auto &[name, t] : c.optimizer)
    if (t.dim() > 0) {
      EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
      ++moments;
    }
  EXPECT_EQ(moments, 4); // m and v of two parameters
  // A resume in another precision is legitimate, and said.
  Result rc = runHere(tinyProgram(),
                      {"--epochs", "2", "--no-maps", "--out", b, "--resume"});
  ASSERT_EQ(rc.status, 0) << rc.out << rc.err;
  EXPECT_NE(rc.out.find("note: the checkpoint was trained in bf16; this run "
                        "continues in fp32"),
            std::string::npos)
      << rc.out;
  EXPECT_EQ(rt::loadCheckpoint(b + "/checkpoints/ckpt-22").state.precision,
            "fp32");
}

TEST(Precision, Fp16OnACpuIsRefusedNamingTheKey) {
  rt::Program p = tinyProgram();
  p.train.precision = rt::Precision::Fp16;
  Result r = runHere(p, {"--out", freshDir("fp16"), "--device", "cpu"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("the spec's train.precision = fp16 (tiny.s2s): fp16 "
                       "runs on a CUDA device only"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("use precision = bf16 (--precision bf16) on a CPU, or "
                       "run on a GPU"),
            std::string::npos)
      << r.err;
  Result o = runHere(tinyProgram(), {"--out", freshDir("fp16-flag"), "--device",
                                     "cpu", "--precision", "fp16"});
  EXPECT_EQ(o.status, 1);
  EXPECT_NE(o.err.find("--precision fp16: fp16 runs on a CUDA device only"),
            std::string::npos)
      << o.err;
  Result bad = runHere(tinyProgram(), {"--precision", "fp8"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--precision must be fp32, bf16 or fp16, got 'fp8'"),
            std::string::npos)
      << bad.err;
}
