//===- TrainTest.cpp - Training loop, optimizers, checkpoints, metrics ----===//
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

#include "s2s/runtime/Checkpoint.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Metrics.h"
#include "s2s/runtime/Optim.h"
#include "s2s/runtime/Program.h"

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
    rt::SynthConfig c;
    c.dir = (fs::path(tempRoot()) / "data").string();
    c.channels = {"u", "v", "t"};
    c.lat = 8;
    c.lon = 16;
    c.firstYear = 2000;
    c.lastYear = 2003;
    c.stepsPerYear = 24;
    c.seed = 7;
    rt::synthesize(c);
    return c.dir;
  }();
  return dir;
}

torch::Tensor tinyForward(rt::Model &m, const torch::Tensor &x) {
  const int64_t C = x.size(1);
  const torch::Tensor &w = m.param("net.conv.weight", {C, C, 3, 3},
                                   rt::Init{rt::Init::FanIn, double(C * 9), 0});
  const torch::Tensor &b = m.param("net.conv.bias", {C}, rt::Init{});
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
  p.data.normalize = "zscore";
  p.data.stats = dir + "/stats.h5";
  p.data.train = {2000, 2001};
  p.data.valid = {2002, 2002};
  p.rollout.order = 2;
  p.train.epochs = 2;
  p.train.batch = 4;
  p.train.seed = 3;
  p.train.gradClip = 1.0;
  p.train.optimizer.kind = "adam";
  p.train.optimizer.lr = 3e-3;
  p.train.schedule.kind = "cosine";
  p.train.schedule.warmup = 3;
  p.train.schedule.minLr = 1e-4;
  p.train.checkpoint.everyEpochs = 1;
  p.train.checkpoint.everySteps = 4;
  p.train.checkpoint.keep = 3;
  p.forward = tinyForward;
  p.rolloutLoss = tinyRollout;
  p.expectedParameters = 3 * 3 * 9 + 3;
  return p;
}

struct Result {
  int status = -1;
  std::string out, err;
};

/// rt::main in this process, stdout/stderr captured.
Result runHere(const rt::Program &p, std::vector<std::string> args) {
  args.insert(args.begin(), "tiny");
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  Result r;
  r.status = rt::main(p, int(args.size()), argv.data());
  std::fflush(stdout);
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
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

std::vector<rt::Json> readMetrics(const std::string &path) {
  std::vector<rt::Json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back(rt::Json::parse(line, path));
  return out;
}

bool relClose(double a, double b, double rel) {
  return std::fabs(a - b) <= rel * std::max({std::fabs(a), std::fabs(b), 1e-12});
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
// Optimizers
//===----------------------------------------------------------------------===//

namespace {

/// Three steps of `kind` on f(p) = 1/2 sum a_i p_i^2 (gradient a*p), by
/// hand in double, against Optimizer.
void checkOptimizer(const rt::OptimizerConfig &c) {
  const std::vector<double> a = {1.0, 3.0, 0.5}, p0 = {1.0, -2.0, 0.25};
  const double lrs[3] = {0.1, 0.05, 0.02};
  // Reference.
  std::vector<double> p = p0, m(3, 0.0), v(3, 0.0), buf(3, 0.0);
  for (int t = 1; t <= 3; ++t) {
    double lr = lrs[t - 1];
    for (size_t i = 0; i < 3; ++i) {
      double g = a[i] * p[i];
      if (c.kind == "sgd") {
        g += c.weightDecay * p[i];
        if (c.momentum != 0) {
          buf[i] = c.momentum * buf[i] + g;
          g = c.nesterov ? g + c.momentum * buf[i] : buf[i];
        }
        p[i] -= lr * g;
        continue;
      }
      if (c.kind == "adamw")
        p[i] *= 1 - lr * c.weightDecay;
      else
        g += c.weightDecay * p[i];
      m[i] = c.beta1 * m[i] + (1 - c.beta1) * g;
      v[i] = c.beta2 * v[i] + (1 - c.beta2) * g * g;
      double mhat = m[i] / (1 - std::pow(c.beta1, t));
      double vhat = v[i] / (1 - std::pow(c.beta2, t));
      p[i] -= lr * mhat / (std::sqrt(vhat) + c.eps);
    }
  }
  // Optimizer on float64 tensors.
  torch::Tensor param =
      torch::tensor(p0, torch::kFloat64).set_requires_grad(true);
  torch::Tensor at = torch::tensor(a, torch::kFloat64);
  rt::Optimizer opt(c, {{"w", param}});
  for (int t = 0; t < 3; ++t) {
    opt.zeroGrad();
    torch::Tensor loss = 0.5 * (at * param * param).sum();
    loss.backward();
    opt.step(lrs[t]);
  }
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_NEAR(param[i].item<double>(), p[size_t(i)], 1e-12)
        << c.kind << " element " << i;
  EXPECT_EQ(opt.steps(), 3);
}

} // namespace

TEST(Optim, SgdMomentumNesterovWeightDecay) {
  rt::OptimizerConfig c;
  c.kind = "sgd";
  checkOptimizer(c);
  c.momentum = 0.9;
  checkOptimizer(c);
  c.nesterov = true;
  c.weightDecay = 0.01;
  checkOptimizer(c);
}

TEST(Optim, AdamClosedForm) {
  rt::OptimizerConfig c;
  c.kind = "adam";
  checkOptimizer(c);
  c.weightDecay = 0.1;
  c.beta1 = 0.8;
  c.beta2 = 0.99;
  c.eps = 1e-6;
  checkOptimizer(c);
}

TEST(Optim, AdamFirstStepIsSignTimesLr) {
  // Bias correction makes Adam's first step lr * g / (|g| + eps).
  rt::OptimizerConfig c;
  torch::Tensor p = torch::tensor({2.0, -3.0}, torch::kFloat64).set_requires_grad(true);
  rt::Optimizer opt(c, {{"p", p}});
  (p * p).sum().backward();
  opt.step(0.01);
  EXPECT_NEAR(p[0].item<double>(), 2.0 - 0.01, 1e-9);
  EXPECT_NEAR(p[1].item<double>(), -3.0 + 0.01, 1e-9);
}

TEST(Optim, AdamWDecoupled) {
  rt::OptimizerConfig c;
  c.kind = "adamw";
  c.weightDecay = 0.05;
  checkOptimizer(c);
}

TEST(Optim, StateRoundTrip) {
  rt::OptimizerConfig c;
  c.kind = "adamw";
  torch::Tensor p = torch::tensor({1.0, 2.0}).set_requires_grad(true);
  rt::Optimizer opt(c, {{"net.w", p}});
  (p * p).sum().backward();
  opt.step(0.1);
  rt::NamedTensors s = opt.state();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].first, "adamw.m.net.w");
  EXPECT_EQ(s[1].first, "adamw.v.net.w");
  EXPECT_EQ(s[2].first, "adamw.step");
  std::map<std::string, torch::Tensor> byName;
  for (auto &kv : s)
    byName[kv.first] = kv.second.clone();
  torch::Tensor q = torch::tensor({1.0, 2.0}).set_requires_grad(true);
  rt::Optimizer other(c, {{"net.w", q}});
  other.loadState(byName);
  EXPECT_EQ(other.steps(), 1);
  EXPECT_TRUE(torch::equal(other.state()[0].second, s[0].second));

  rt::OptimizerConfig sgd;
  sgd.kind = "sgd";
  rt::Optimizer wrong(sgd, {{"net.w", q}});
  try {
    wrong.loadState(byName);
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("for adamw, but the spec's optimizer is sgd"),
              std::string::npos)
        << e.what();
  }
}

TEST(Optim, ClipGradNorm) {
  torch::Tensor a = torch::zeros({1}).set_requires_grad(true);
  torch::Tensor b = torch::zeros({1}).set_requires_grad(true);
  (3.0 * a + 4.0 * b).sum().backward();
  double norm = rt::clipGradNorm({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad().item<double>(), 0.8, 1e-5);
  // Below the limit: untouched.
  EXPECT_NEAR(rt::clipGradNorm({a, b}, 10.0), 1.0, 1e-5);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-5);
}

TEST(Schedule, Values) {
  rt::ScheduleConfig s;
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 0, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 99, 10, 100), 0.1);
  s.warmup = 4;
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 0, 10, 100), 0.025);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 3, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(s, 0.1, 4, 10, 100), 0.1);

  rt::ScheduleConfig st;
  st.kind = "step";
  st.every = 2;
  st.gamma = 0.5;
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 19, 10, 100), 0.1);   // epoch 1
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 20, 10, 100), 0.05);  // epoch 2
  EXPECT_DOUBLE_EQ(rt::learningRate(st, 0.1, 45, 10, 100), 0.025); // epoch 4

  rt::ScheduleConfig c;
  c.kind = "cosine";
  c.warmup = 10;
  c.minLr = 0.001;
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 0, 10, 110), 0.01);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 9, 10, 110), 0.1);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 10, 10, 110), 0.1);
  EXPECT_NEAR(rt::learningRate(c, 0.1, 60, 10, 110), 0.001 + 0.099 * 0.5, 1e-15);
  EXPECT_NEAR(rt::learningRate(c, 0.1, 35, 10, 110),
              0.001 + 0.099 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 110, 10, 110), 0.001);
  EXPECT_DOUBLE_EQ(rt::learningRate(c, 0.1, 500, 10, 110), 0.001);

  rt::ScheduleConfig bad;
  bad.kind = "linear";
  EXPECT_THROW(rt::learningRate(bad, 0.1, 0, 10, 100), rt::Error);
}

//===----------------------------------------------------------------------===//
// Safetensors and JSON
//===----------------------------------------------------------------------===//

TEST(Safetensors, HeaderIsByteExact) {
  const std::string path = freshDir("st-exact") + "/w.safetensors";
  rt::writeSafetensors(path, {{"w", torch::tensor({1.0f, 2.0f})}},
                       {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 85u);
  std::string expected;
  expected += std::string("\x58\0\0\0\0\0\0\0", 8); // 88 = 85 + 3 spaces
  expected += header + "   ";
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8); // 1.0f, 2.0f
  EXPECT_EQ(readFile(path), expected);
}

TEST(Safetensors, RoundTrip) {
  const std::string path = freshDir("st-round") + "/t.safetensors";
  torch::Tensor f32 = torch::arange(6, torch::kFloat32).reshape({2, 3}) / 7;
  torch::Tensor f64 = torch::tensor({1e-300, -2.5, 3.0, M_PI}, torch::kFloat64);
  torch::Tensor i64 = torch::tensor(int64_t(1) << 40, torch::kInt64);
  torch::Tensor u8 = torch::tensor({0, 255, 7}, torch::kUInt8);
  torch::Tensor empty = torch::zeros({0, 4});
  rt::writeSafetensors(path,
                       {{"a.f32", f32}, {"b.f64", f64}, {"c.i64", i64},
                        {"d.u8", u8}, {"e.empty", empty}},
                       {{"k", "v \"quoted\"\n"}});
  rt::SafetensorsFile f = rt::readSafetensors(path);
  ASSERT_EQ(f.tensors.size(), 5u);
  auto m = f.byName();
  EXPECT_TRUE(torch::equal(m["a.f32"], f32));
  EXPECT_TRUE(torch::equal(m["b.f64"], f64));
  EXPECT_EQ(m["c.i64"].dim(), 0);
  EXPECT_EQ(m["c.i64"].item<int64_t>(), int64_t(1) << 40);
  EXPECT_TRUE(torch::equal(m["d.u8"], u8));
  EXPECT_EQ(m["e.empty"].sizes(), empty.sizes());
  EXPECT_EQ(f.metadata.at("k"), "v \"quoted\"\n");
  // The data of a file size-aligned header starts at a multiple of 8.
  std::string bytes = readFile(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);

  // Truncated: the error names the file.
  {
    std::ofstream out(path + ".cut", std::ios::binary);
    out << bytes.substr(0, bytes.size() - 3);
  }
  try {
    rt::readSafetensors(path + ".cut");
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(path + ".cut"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos)
        << e.what();
  }
}

TEST(Safetensors, DiskFullIsAnErrorNamingThePath) {
  if (!fs::exists("/dev/full"))
    GTEST_SKIP() << "no /dev/full";
  try {
    rt::writeSafetensors("/dev/full", {{"w", torch::ones({1000})}});
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("'/dev/full'"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists("/dev/full")); // never unlinked
}

TEST(Json, ParseAndQuote) {
  rt::Json j = rt::Json::parse(
      R"( {"a": [1, -2.5e3, true, null], "s": "x\"\u00e9\n", "n": {"k": 12345678901234}} )");
  ASSERT_EQ(j.kind, rt::Json::Object);
  ASSERT_EQ(j.get("a")->array.size(), 4u);
  EXPECT_TRUE(j.get("a")->array[0].isInteger);
  EXPECT_DOUBLE_EQ(j.get("a")->array[1].number, -2500.0);
  EXPECT_EQ(j.get("s")->string, "x\"\xc3\xa9\n");
  EXPECT_EQ(j.get("n")->get("k")->integer, 12345678901234);
  EXPECT_EQ(rt::jsonQuote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
  EXPECT_EQ(rt::Json::parse(rt::jsonNumber(0.1)).number, 0.1);
  EXPECT_EQ(rt::Json::parse(rt::jsonNumber(1.0 / 3)).number, 1.0 / 3);
  EXPECT_THROW(rt::Json::parse("{\"a\": }"), rt::Error);
  EXPECT_THROW(rt::Json::parse("[1, 2"), rt::Error);
  std::vector<uint8_t> bytes = {0, 1, 2, 250, 251};
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string enc = rt::base64Encode(bytes.data(), n);
    EXPECT_EQ(rt::base64Decode(enc),
              std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
  }
  EXPECT_EQ(rt::base64Encode(reinterpret_cast<const uint8_t *>("foobar"), 6),
            "Zm9vYmFy");
}

//===----------------------------------------------------------------------===//
// Metrics
//===----------------------------------------------------------------------===//

TEST(Metrics, LatitudeWeightedRmse) {
  // Rows at 60N, 0, 60S: cos = .5, 1, .5, weights .75, 1.5, .75.
  torch::Tensor lat = torch::tensor({60.0, 0.0, -60.0}, torch::kFloat64);
  torch::Tensor w = rt::latitudeWeights(lat);
  EXPECT_NEAR(w[0].item<double>(), 0.75, 1e-12);
  EXPECT_NEAR(w[1].item<double>(), 1.5, 1e-12);
  // One channel, mean 10, std 2: a normalised error of 1 is 2 physical.
  rt::ChannelMetrics m(lat, torch::tensor({10.0}, torch::kFloat64),
                       torch::tensor({2.0}, torch::kFloat64));
  torch::Tensor truth = torch::randn({2, 1, 3, 4}, torch::kFloat64);
  torch::Tensor err = torch::zeros({2, 1, 3, 4}, torch::kFloat64);
  err[0][0][0] = 1.0; // sample 0: physical error 2 in the outer rows
  err[0][0][2] = 1.0; //   weighted mean square (.75*4 + .75*4)/3 = 2
  err[1][0][1] = 2.0; // sample 1: physical error 4 on the equator
                      //   weighted mean square 1.5*16/3 = 8
  m.add(truth + err, truth);
  EXPECT_EQ(m.samples(), 2);
  // Mean over samples of the per-sample RMSE, not the root of the mean.
  EXPECT_NEAR(m.rmse()[0], (std::sqrt(2.0) + std::sqrt(8.0)) / 2, 1e-12);
}

TEST(Metrics, AccPerfectNoiseAndSign) {
  torch::manual_seed(1);
  torch::Tensor lat = torch::linspace(-87.5, 87.5, 36, torch::kFloat64);
  torch::Tensor mean = torch::tensor({5.0, -1.0}, torch::kFloat64);
  torch::Tensor sd = torch::tensor({3.0, 0.5}, torch::kFloat64);
  torch::Tensor truth = torch::randn({8, 2, 36, 72}, torch::kFloat64);
  rt::ChannelMetrics perfect(lat, mean, sd), noise(lat, mean, sd),
      flipped(lat, mean, sd), scaled(lat, mean, sd);
  perfect.add(truth, truth);
  noise.add(torch::randn_like(truth), truth);
  flipped.add(-truth, truth);
  scaled.add(2.0 * truth, truth);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(perfect.acc()[size_t(c)], 1.0, 1e-12);
    EXPECT_NEAR(perfect.rmse()[size_t(c)], 0.0, 1e-12);
    EXPECT_LT(std::fabs(noise.acc()[size_t(c)]), 0.05);
    EXPECT_NEAR(flipped.acc()[size_t(c)], -1.0, 1e-12);
    EXPECT_NEAR(scaled.acc()[size_t(c)], 1.0, 1e-12);
  }
  // RMSE of noise against truth in physical units: ~ std * sqrt(2).
  EXPECT_NEAR(noise.rmse()[0], 3.0 * std::sqrt(2.0), 0.15);
  EXPECT_NEAR(noise.rmse()[1], 0.5 * std::sqrt(2.0), 0.03);
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
      {{"--epochs", "0"}, 2, "tiny: error: --epochs must be an integer >= 1, got '0'"},
      {{"--batch=x"}, 2, "--batch must be an integer >= 1, got 'x'"},
      {{"--threads", "-2"}, 2, "--threads must be an integer >= 1, got '-2'"},
      {{"--seed", "-1"}, 2, "--seed must be an integer >= 0, got '-1'"},
      {{"--lr", "0"}, 2, "--lr must be a number > 0, got '0'"},
      {{"--lr", "nan"}, 2, "--lr must be a number > 0, got 'nan'"},
      {{"--steps"}, 2, "--steps needs a value (N)"},
      {{"--epoch", "3"}, 2, "unknown option '--epoch'; did you mean '--epochs'?"},
      {{"--sead", "3"}, 2, "unknown option '--sead'; did you mean '--seed'?"},
      {{"--frobnicate"}, 2, "unknown option '--frobnicate'; see --help"},
      {{"extra"}, 2, "unexpected argument 'extra'"},
      {{"--resume", "/nonexistent/run"}, 1,
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

TEST(Train, GridThatDoesNotFitTheModel) {
  rt::Program p = tinyProgram();
  p.forward = [](rt::Model &m, const torch::Tensor &x) {
    const torch::Tensor &w =
        m.param("net.conv.weight", {3, 5, 3, 3}, rt::Init{}); // 5 in-channels
    return torch::conv2d(x, w, {}, 1, 1);
  };
  Result r = runHere(p, {"--out", freshDir("grid")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tiny: error: the data's grid 8x16 with 3 channels (file '"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("does not fit model 'net' (tiny.s2s)"), std::string::npos)
      << r.err;
}

TEST(Train, SaysWhenTheDataIsReadThroughHdf5) {
  // synthesize()'s files are read by the loader's threads: no note. With
  // S2S_HDF5_READS every read goes through HDF5, and the banner says so.
  Result fast = runHere(tinyProgram(), {"--out", freshDir("reads-fast"),
                                        "--epochs", "1", "--steps", "1",
                                        "--no-maps"});
  EXPECT_EQ(fast.status, 0) << fast.err;
  EXPECT_EQ(fast.out.find("read through HDF5"), std::string::npos) << fast.out;
  ::setenv("S2S_HDF5_READS", "1", 1);
  Result slow = runHere(tinyProgram(), {"--out", freshDir("reads-hdf5"),
                                        "--epochs", "1", "--steps", "1",
                                        "--no-maps"});
  ::unsetenv("S2S_HDF5_READS");
  EXPECT_EQ(slow.status, 0) << slow.err;
  EXPECT_NE(slow.out.find("note: S2S_HDF5_READS is set: every file of data "
                          "set '"),
            std::string::npos)
      << slow.out;
}

TEST(Train, ParameterCountMismatchIsAnInternalError) {
  rt::Program p = tinyProgram();
  p.expectedParameters = 85;
  Result r = runHere(p, {"--out", freshDir("count")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("internal error: s2sc counted 85 parameters for model "
                       "'net' (tiny.s2s), the runtime made 84"),
            std::string::npos)
      << r.err;
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
  EXPECT_NE(c.out.find("resuming from " + crashed +
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
  auto wc = rt::readSafetensors(crashed + "/checkpoints/ckpt-22/model.safetensors")
                .byName();
  ASSERT_EQ(wa.size(), 2u);
  for (auto &[name, t] : wa)
    EXPECT_TRUE(torch::allclose(t, wc.at(name), 1e-5, 1e-7)) << name;
  // Training went somewhere: the model beats persistence after 2 epochs? At
  // least the loss went down.
  EXPECT_LT(ma.back().get("train_loss")->number,
            ma[0].get("loss")->number);
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
    EXPECT_NE(e.path().filename().string().rfind(".tmp-", 0), 0u)
        << e.path();
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
  ck.save({{"w", torch::ones({2})}}, {{"adam.step", torch::tensor(int64_t(5))}}, s);
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
