//===- bench_layers.cpp - Tensor and spatial parallel layers at 2 ranks ---===//
//
// bench/parallel/run-layers: the runtime's parallel layers at the library
// level, forward + backward steps/s of one process (the serial kernels of
// s2s/runtime/Ops.h, the same math) next to 2 processes over Gloo on
// loopback (this binary re-executed as each rank with RANK, WORLD_SIZE,
// MASTER_ADDR, MASTER_PORT: runtime/test/Processes.h's spawn):
//
//   tp     one pre-norm transformer block (LayerNorm, attention, LayerNorm,
//          MLP fc1 -> GELU -> fc2, residuals), MSE loss; 2 ranks: Megatron's
//          tensor parallel (tp/TensorParallel.h: parallelAttention,
//          columnLinear, rowLinear) on each rank's slices of the weights
//   conv   ResConvNet (std/models/conv.s2s, kernel 3) on the sphere; 2
//          ranks: latitude bands (spatial/Spatial.h: halo rows, group norm
//          statistics summed over the bands), parameter gradients summed
//   afno   AFNONet's trunk (std/models/afno.s2s: patch 2, 2 AFNO blocks);
//          2 ranks: the distributed 2-D FFT (all-to-all transposes)
//
// The models are runtime/test/spatial/SpatialModels.h, the bodies
// SpatialTest checks. Each parallel run first checks itself: every rank
// computes the serial step on the whole input and compares the output
// and the input gradient with its parallel ones (max |difference|), so
// the timing is of the right computation. Then `--warmup` steps, then
// `--steps` timed steps. Figures per rank over the timed steps:
//
//   steps/s   steps / the slowest rank's seconds, the best of --repeat
//             rounds (every configuration once per round)
//   cpu       CPU seconds per step of a rank (all threads)
//   handed    bytes given to collectives (Communicator::stats())
//   sent      /proc/self/io wchar: what the process wrote (Gloo's TCP)
//   model     the bytes a formula predicts handed (see printTable)
//   params    the parameters this rank holds
//   field     one activation [batch, width, rows, W] (tp: [b, s, h]) of
//             this rank
//   live      the most tensor storage bytes alive at once during the
//             timed steps less those alive before them (activations,
//             gradients, workspace): train/StorageCounter's counting CPU
//             allocator, independent of malloc's caching
//   hwm       VmHWM over the timed steps less VmRSS before them (after a
//             malloc_trim; /proc/self/clear_refs resets the peak)
//
//===----------------------------------------------------------------------===//

#include "Processes.h"
#include "spatial/SpatialModels.h"

#include "comm/Communicator.h"
#include "dist/Launch.h"
#include "tp/TensorParallel.h"
#include "train/StorageCounter.h"

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

namespace {

namespace rt = s2s::rt;
namespace sp = s2s::rt::spatial;
namespace fs = std::filesystem;
using s2s_test::SpatialOps;
using torch::Tensor;

constexpr double kMiB = 1 << 20;

/// The sizes, from the command line (the children get the same one).
struct Sizes {
  int64_t steps = 5, warmup = 1, repeat = 3;
  int64_t tpBatch = 2, tokens = 512, embed = 512, heads = 8;
  int64_t batch = 2, channels = 4, height = 128, width = 256;
  int64_t convWidth = 32, groups = 8, afnoEmbed = 64;
  std::string cases = "tp,conv,afno";
};

Sizes parse(int argc, char **argv) {
  Sizes z;
  auto usage = [] {
    std::fprintf(
        stderr,
        "usage: s2s-bench-layers [--steps N] [--warmup N] [--repeat N] "
        "[--cases "
        "tp,conv,afno]\n  [--tp BATCH,TOKENS,EMBED,HEADS] [--grid HxW] "
        "[--batch N] [--channels N]\n  [--conv-width N] [--afno-embed N]\n");
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      usage();
    std::string v = argv[++i];
    char sep;
    std::istringstream in(v);
    if (a == "--steps")
      in >> z.steps;
    else if (a == "--warmup")
      in >> z.warmup;
    else if (a == "--repeat")
      in >> z.repeat;
    else if (a == "--cases")
      z.cases = v;
    else if (a == "--tp")
      in >> z.tpBatch >> sep >> z.tokens >> sep >> z.embed >> sep >> z.heads;
    else if (a == "--grid")
      in >> z.height >> sep >> z.width;
    else if (a == "--batch")
      in >> z.batch;
    else if (a == "--channels")
      in >> z.channels;
    else if (a == "--conv-width")
      in >> z.convWidth;
    else if (a == "--afno-embed")
      in >> z.afnoEmbed;
    else
      usage();
    if (in.fail())
      usage();
  }
  return z;
}

//===----------------------------------------------------------------------===//
// A rank: one case, serial (WORLD_SIZE 1) or parallel
//===----------------------------------------------------------------------===//

/// A figure of /proc/self/status in kB ("VmRSS", "VmHWM").
int64_t statusKb(const std::string &key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0)
      return std::stoll(line.substr(key.size() + 1));
  return 0;
}

/// /proc/self/io's wchar: the bytes this process passed to write calls.
int64_t writtenBytes() {
  std::ifstream in("/proc/self/io");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("wchar:", 0) == 0)
      return std::stoll(line.substr(6));
  return 0;
}

/// CPU seconds of this process, all its threads (Gloo's included).
double cpuSeconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// What a rank measured, printed as one `s2s-bench k=v ...` line.
struct Figures {
  double seconds = 0, cpu = 0, diffOut = -1, diffGrad = -1;
  int64_t handed = 0, sent = 0, params = 0, field = 0, live = 0, hwm = 0;
};

int64_t parameterBytes(const rt::Model &m) {
  int64_t b = 0;
  for (const auto &[name, p] : m.namedParameters())
    b += p.numel() * p.element_size();
  return b;
}

void clearGrads(const rt::Model &m) {
  for (const auto &[name, p] : m.namedParameters())
    p.mutable_grad().reset();
}

double maxDiff(const Tensor &a, const Tensor &b) {
  return (a - b).abs().max().item<double>();
}

/// Runs `step` warm-up and timed; fills the timing, bytes and peak.
void timeSteps(const Sizes &z, rt::Communicator *comm,
               const std::function<void()> &step, Figures &f) {
  for (int64_t i = 0; i < z.warmup; ++i)
    step();
  ::malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5"; // VmHWM := VmRSS
  const int64_t base = statusKb("VmRSS"), alive = rt::resetStoragePeak();
  if (comm)
    comm->barrier();
  const int64_t handed = comm ? comm->stats().bytes : 0, sent = writtenBytes();
  const double cpu = cpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < z.steps; ++i)
    step();
  f.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  f.cpu = cpuSeconds() - cpu;
  f.sent = writtenBytes() - sent;
  f.handed = comm ? comm->stats().bytes - handed : 0;
  f.live = rt::storagePeak() - alive;
  f.hwm = (statusKb("VmHWM") - base) * 1024;
}

Tensor mse(const Tensor &y, const Tensor &t) { return (y - t).pow(2).mean(); }

// --- tp ----------------------------------------------------------------------

/// The pre-norm block with the serial kernels (comm null) or Megatron's
/// layers over `comm`.
Tensor block(rt::Model &m, rt::Communicator *comm, const Tensor &x,
             int64_t heads) {
  using rt::Activation;
  const int64_t e = x.size(2), hidden = 4 * e;
  const double eps = 1e-5;
  Tensor a = rt::layer_norm(m, "norm1", x, eps);
  Tensor y =
      x + (comm ? rt::parallelAttention(m, *comm, "attn", a, heads, true, 0.0)
                : rt::attention(m, "attn", a, heads, true, 0.0));
  Tensor n = rt::layer_norm(m, "norm2", y, eps);
  if (!comm)
    return y +
           rt::linear(m, "fc2",
                      rt::linear(m, "fc1", n, hidden, true, Activation::Gelu),
                      e, true, Activation::None);
  Tensor h =
      rt::columnLinear(m, *comm, "fc1", n, hidden, true, Activation::Gelu);
  return y + rt::rowLinear(m, *comm, "fc2", h, e, true, Activation::None);
}

/// s2s-shard's layout of the block's parameters.
rt::TensorLayout layoutOf(const std::string &name) {
  if (name.rfind("attn.", 0) == 0 || name.rfind("fc1.", 0) == 0)
    return rt::TensorLayout::Column;
  return name.rfind("fc2.", 0) == 0 ? rt::TensorLayout::Row
                                    : rt::TensorLayout::Replicated;
}

Figures runTp(const Sizes &z, rt::Communicator *comm) {
  torch::manual_seed(7);
  const Tensor x = torch::randn({z.tpBatch, z.tokens, z.embed}),
               t = torch::randn({z.tpBatch, z.tokens, z.embed});
  Figures f;
  f.field = x.numel() * x.element_size();
  auto whole = std::make_unique<rt::Model>(1);
  rt::Model mine(1);
  block(*whole, nullptr, x, z.heads); // creates the parameters
  if (comm) {
    for (const auto &[name, p] : whole->namedParameters()) {
      Tensor s =
          rt::tensorShard(p.detach(), rt::shardSpec(name, layoutOf(name)),
                          comm->rank(), comm->size());
      mine.create(name, s.sizes(), rt::Init{});
      mine.load(name, s);
    }
    Tensor xs = x.clone().requires_grad_(true),
           xp = x.clone().requires_grad_(true);
    Tensor ys = block(*whole, nullptr, xs, z.heads);
    mse(ys, t).backward();
    Tensor yp = block(mine, comm, xp, z.heads);
    mse(yp, t).backward();
    f.diffOut = maxDiff(yp, ys);
    f.diffGrad = maxDiff(xp.grad(), xs.grad());
    whole.reset(); // the whole model is no part of a rank's step
  }
  rt::Model &m = comm ? mine : *whole;
  f.params = parameterBytes(m);
  timeSteps(
      z, comm,
      [&] {
        clearGrads(m);
        mse(block(m, comm, x, z.heads), t).backward();
      },
      f);
  return f;
}

// --- conv and afno
// -------------------------------------------------------------

using Body =
    std::function<Tensor(rt::Model &, const SpatialOps &, const Tensor &)>;

/// One spatial case: `serial` on the whole grid, `banded` on this rank's
/// rows (`body` its Space: the token rows for AFNO), the loss on the
/// pixel rows; the parameter gradients summed over the bands.
Figures runSpatial(const Sizes &z, rt::Communicator *comm,
                   const sp::Space &body, const Body &serial,
                   const Body &banded, int64_t fieldPerRow) {
  torch::manual_seed(7);
  const Tensor x = torch::randn({z.batch, z.channels, z.height, z.width}),
               t = torch::randn({z.batch, z.channels, z.height, z.width});
  rt::Model m(1);
  serial(m, SpatialOps{}, x); // creates the parameters
  Figures f;
  f.params = parameterBytes(m);
  f.field = fieldPerRow * (comm ? body.rows() : body.bands.rows);
  if (!comm) {
    timeSteps(
        z, comm,
        [&] {
          clearGrads(m);
          SpatialOps{}.loss(m, serial(m, SpatialOps{}, x), t).backward();
        },
        f);
    return f;
  }
  const sp::Space pixels{comm, sp::Bands{z.height, comm->size()}};
  const Tensor xb = sp::band(x, pixels.bands, comm->rank(), 2),
               tb = sp::band(t, pixels.bands, comm->rank(), 2);
  auto step = [&](const Tensor &in) {
    clearGrads(m);
    Tensor y = banded(m, SpatialOps{&body}, in);
    SpatialOps{&pixels}.loss(m, y, tb).backward();
    // One flat all-reduce (Gloo's takes tensors of one size).
    std::vector<Tensor> grads;
    for (const auto &[name, p] : m.namedParameters())
      grads.push_back(p.grad().flatten());
    std::vector<Tensor> flat = {torch::cat(grads)};
    comm->allReduceSum(flat);
    int64_t at = 0;
    for (const auto &[name, p] : m.namedParameters()) {
      p.mutable_grad().copy_(flat[0].narrow(0, at, p.numel()).view_as(p));
      at += p.numel();
    }
    return y;
  };
  { // the guard: the bands' output and input gradient against serial
    Tensor xs = x.clone().requires_grad_(true);
    Tensor ys = serial(m, SpatialOps{}, xs);
    SpatialOps{}.loss(m, ys, t).backward();
    Tensor xp = xb.clone().requires_grad_(true);
    Tensor yp = step(xp);
    f.diffOut = maxDiff(sp::gather(pixels, yp.detach(), 2), ys);
    f.diffGrad = maxDiff(sp::gather(pixels, xp.grad(), 2), xs.grad());
  }
  timeSteps(
      z, comm, [&] { step(xb); }, f);
  return f;
}

Figures runCase(const std::string &what, const Sizes &z,
                rt::Communicator *comm) {
  if (what == "tp")
    return runTp(z, comm);
  const int64_t S = comm ? comm->size() : 1;
  if (what == "conv") {
    Body body = [&](rt::Model &m, const SpatialOps &ops, const Tensor &in) {
      return s2s_test::resConvNet(m, ops, in, 3, z.convWidth, z.groups);
    };
    return runSpatial(z, comm, sp::Space{comm, sp::Bands{z.height, S}}, body,
                      body, z.batch * z.convWidth * z.width * 4);
  }
  // AFNO: patch 2, so h token rows of w tokens.
  const int64_t h = z.height / 2, w = z.width / 2;
  const sp::Space tokens{comm, sp::Bands{h, S}};
  Body serial = [&](rt::Model &m, const SpatialOps &ops, const Tensor &in) {
    return s2s_test::afnoNet(m, ops, in, h, h, 0, rt::AfnoCutoff::Fourcastnet,
                             1.0, z.afnoEmbed);
  };
  Body banded = [&](rt::Model &m, const SpatialOps &ops, const Tensor &in) {
    return s2s_test::afnoNet(m, ops, in, h, tokens.rows(), tokens.begin(),
                             rt::AfnoCutoff::Fourcastnet, 1.0, z.afnoEmbed);
  };
  return runSpatial(z, comm, tokens, serial, banded,
                    z.batch * w * z.afnoEmbed * 4);
}

int rankMain(const Sizes &z, const std::string &what) {
  const rt::LaunchEnv env = rt::launchEnv();
  std::unique_ptr<rt::Communicator> comm;
  if (env.ranks.worldSize > 1)
    comm = rt::Communicator::connect(env, rt::Backend::Gloo,
                                     std::chrono::seconds(600), torch::kCPU);
  const Figures f = runCase(what, z, comm.get());
  std::printf("s2s-bench rank=%lld seconds=%.6f cpu=%.6f handed=%lld sent=%lld "
              "params=%lld field=%lld live=%lld hwm=%lld diff_out=%.3g "
              "diff_grad=%.3g\n",
              (long long)env.ranks.rank, f.seconds, f.cpu, (long long)f.handed,
              (long long)f.sent, (long long)f.params, (long long)f.field,
              (long long)f.live, (long long)f.hwm, f.diffOut, f.diffGrad);
  if (comm)
    comm->barrier();
  return 0;
}

//===----------------------------------------------------------------------===//
// The launcher: each case at 1 x 1, 1 x 2 and 2 x 1 (ranks x threads)
//===----------------------------------------------------------------------===//

struct Row {
  std::string what;
  int ranks = 1, threads = 1;
  std::string error;
  double stepsPerS = 0;
  std::vector<std::map<std::string, double>> perRank;
  double mean(const std::string &k) const {
    double s = 0;
    for (const auto &r : perRank)
      s += r.at(k);
    return perRank.empty() ? 0 : s / double(perRank.size());
  }
  double max(const std::string &k) const {
    double s = 0;
    for (const auto &r : perRank)
      s = std::max(s, r.at(k));
    return s;
  }
};

Row launch(char **argv, const std::string &what, int ranks, int threads,
           const std::string &dir) {
  Row row;
  row.what = what;
  row.ranks = ranks;
  row.threads = threads;
  const std::string port = std::to_string(s2s_test::freePort());
  std::vector<std::string> args = {fs::read_symlink("/proc/self/exe")};
  for (char **a = argv + 1; *a; ++a)
    args.push_back(*a);
  std::vector<pid_t> pids;
  const std::string base = dir + "/" + what + "-" + std::to_string(ranks) +
                           "x" + std::to_string(threads);
  for (int r = 0; r < ranks; ++r) {
    const std::string rs = std::to_string(r), n = std::to_string(ranks);
    pids.push_back(
        s2s_test::spawn(args,
                        {{"RANK", rs},
                         {"LOCAL_RANK", rs},
                         {"WORLD_SIZE", n},
                         {"LOCAL_WORLD_SIZE", n},
                         {"MASTER_ADDR", "127.0.0.1"},
                         {"MASTER_PORT", port},
                         {"OMP_NUM_THREADS", std::to_string(threads)},
                         {"S2S_BENCH_CASE", what}},
                        base + "-rank" + rs));
  }
  for (int r = 0; r < ranks; ++r) {
    const std::string log = base + "-rank" + std::to_string(r);
    const int status = s2s_test::waitStatus(pids[size_t(r)]);
    const std::string out = s2s_test::readFile(log + ".out");
    if (status && row.error.empty()) {
      std::string err = s2s_test::readFile(log + ".err");
      row.error = "rank " + std::to_string(r) + " exit " +
                  std::to_string(status) + ": " +
                  err.substr(0, err.find('\n')) + " (" + log + ".err)";
    }
    const size_t at = out.find("s2s-bench ");
    if (at == std::string::npos)
      continue;
    std::istringstream fields(out.substr(at + 10, out.find('\n', at) - at));
    std::map<std::string, double> m;
    for (std::string kv; fields >> kv;)
      m[kv.substr(0, kv.find('='))] = std::stod(kv.substr(kv.find('=') + 1));
    row.perRank.push_back(m);
  }
  if (row.error.empty() && int(row.perRank.size()) != ranks)
    row.error = "a rank printed no figures (" + base + "-rank*.out)";
  return row;
}

std::string loadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// The bytes handed per step per rank that the layers' algorithm predicts
/// at 2 ranks (0: no formula).
double modelBytes(const Sizes &z, const std::string &what, double params) {
  if (what == "tp") // Megatron: 2 all-reduces forward, 2 backward of [b,s,h]
    return 4.0 * z.tpBatch * z.tokens * z.embed * 4;
  if (what == "conv") // one halo row forward of each of the 5 sphere convs'
    // inputs, backward of the 4 whose input needs a gradient (not x), at S = 2
    return z.batch * z.width * 4.0 * (z.channels + 10 * z.convWidth) + params;
  // afno: 2 blocks x 4 transposes (2 fwd, 2 bwd) of [B, h/2, w/2+1, E]
  // complex (8 B), plus the parameter gradients.
  const double h = z.height / 2, w = z.width / 2;
  return 8.0 * z.batch * (h / 2) * (w / 2 + 1) * z.afnoEmbed * 8 + params;
}

void printTable(const Sizes &z, const std::vector<Row> &rows,
                const std::string &loadBefore) {
  std::printf(
      "forward + backward steps of one process (serial kernels) and of 2 "
      "processes over Gloo on loopback; %lld timed steps after %lld "
      "warm-up, the best of %lld rounds; fp32; %u cores; load average (1, 5, "
      "15 min) before %s, "
      "after %s\n",
      (long long)z.steps, (long long)z.warmup, (long long)z.repeat,
      std::thread::hardware_concurrency(), loadBefore.c_str(),
      loadAverage().c_str());
  std::printf("  tp    pre-norm transformer block: batch %lld x %lld tokens, "
              "embed %lld, %lld heads, MLP %lld\n",
              (long long)z.tpBatch, (long long)z.tokens, (long long)z.embed,
              (long long)z.heads, (long long)(4 * z.embed));
  std::printf("  conv  ResConvNet(channels %lld, width %lld, depth 2, kernel "
              "3, groups %lld) on %lldx%lld, batch %lld\n",
              (long long)z.channels, (long long)z.convWidth,
              (long long)z.groups, (long long)z.height, (long long)z.width,
              (long long)z.batch);
  std::printf("  afno  AFNONet(embed %lld, patch 2, 2 blocks, fourcastnet "
              "modes) on %lldx%lld, batch %lld\n\n",
              (long long)z.afnoEmbed, (long long)z.height, (long long)z.width,
              (long long)z.batch);
  std::printf("%-5s %-9s %8s %6s %6s %6s | %-26s | %-32s | %s\n", "", "ranks",
              "", "speed", "up vs", "cpu s", "MiB / step / rank", "MiB / rank",
              "max |par - serial|");
  std::printf(
      "%-5s %-9s %8s %6s %6s %6s | %8s %8s %8s | %7s %7s %8s %7s | %9s %9s\n",
      "case", "x threads", "steps/s", "1x1", "1x2", "/step", "handed", "model",
      "sent", "params", "field", "live", "hwm", "output", "in grad");
  std::map<std::string, double> one, two; // the baselines' steps/s
  for (const Row &r : rows)
    if (r.error.empty() && r.ranks == 1)
      (r.threads == 1 ? one : two)[r.what] = double(z.steps) / r.max("seconds");
  for (const Row &r : rows) {
    if (!r.error.empty()) {
      std::printf("%-5s %d x %-5d FAILED: %s\n", r.what.c_str(), r.ranks,
                  r.threads, r.error.c_str());
      continue;
    }
    const double sps = double(z.steps) / r.max("seconds");
    auto ratio = [&](std::map<std::string, double> &base) {
      return base.count(r.what) ? sps / base[r.what] : 0.0;
    };
    const bool par = r.ranks > 1;
    char diffs[64] = "";
    if (par)
      std::snprintf(diffs, sizeof diffs, "%9.2g %9.2g", r.max("diff_out"),
                    r.max("diff_grad"));
    char comm[64] = "";
    if (par)
      std::snprintf(comm, sizeof comm, "%8.2f %8.2f %8.2f",
                    r.mean("handed") / double(z.steps) / kMiB,
                    modelBytes(z, r.what, r.mean("params")) / kMiB,
                    r.mean("sent") / double(z.steps) / kMiB);
    std::printf("%-5s %d x %-5d %8.3f %6.2f %6.2f %6.2f | %-26s | %7.2f %7.2f "
                "%8.1f %7.1f | %s\n",
                r.what.c_str(), r.ranks, r.threads, sps, ratio(one), ratio(two),
                r.mean("cpu") / double(z.steps), comm, r.mean("params") / kMiB,
                r.mean("field") / kMiB, r.max("live") / kMiB,
                r.max("hwm") / kMiB, diffs);
  }
  std::printf(
      "\ncpu s   CPU seconds a rank (all its threads) ran per step, mean "
      "over the ranks: below 1/steps/s x threads, the rank waited (for "
      "the cores, or for its peer)\n"
      "handed  bytes given to the Communicator's collectives\n"
      "sent    /proc/self/io wchar: what the rank wrote (Gloo's TCP)\n"
      "model   tp: Megatron's 4*b*s*h*4 B (2 all-reduces of [b, s, h] "
      "forward, 2 backward)\n"
      "        conv: one halo row of each of the 5 sphere convs' inputs "
      "forward, of the 4 but the\n"
      "        first backward, + the parameter gradients' sum; afno: 8 "
      "all-to-all transposes of\n"
      "        [b, h/2, w/2+1, E] complex + the parameter gradients' sum "
      "(group norm statistics\n"
      "        and the loss's sums left out)\n"
      "field   one activation of a rank: [b, s, h] (tp), [b, width, rows, "
      "W] (conv), [b, rows, w, E] (afno)\n"
      "live    the most tensor bytes alive at once in a step less those "
      "before it (counting allocator)\n"
      "hwm     VmHWM growth over the timed steps\n"
      "threads each process runs the intra-op threads of its row "
      "(torch::set_num_threads, OMP_NUM_THREADS)\n");
}

int launcherMain(char **argv, const Sizes &z) {
  std::string dir = (fs::temp_directory_path() / "s2s-bench-layers-XXXXXX");
  if (!::mkdtemp(dir.data())) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string loadBefore = loadAverage();
  std::vector<std::pair<std::string, std::pair<int, int>>> runs;
  std::istringstream cases(z.cases);
  for (std::string what; std::getline(cases, what, ',');) {
    if (what != "tp" && what != "conv" && what != "afno") {
      std::fprintf(stderr, "error: unknown case '%s' (tp, conv, afno)\n",
                   what.c_str());
      return 2;
    }
    for (auto cfg : std::vector<std::pair<int, int>>{{1, 1}, {1, 2}, {2, 1}})
      runs.push_back({what, cfg});
  }
  // Every configuration `repeat` times, the rounds one after another (so
  // a burst of other load on the cores hits one round, not one row); the
  // row keeps the round of the fewest seconds.
  std::vector<Row> rows(runs.size());
  for (int64_t round = 0; round < z.repeat; ++round)
    for (size_t i = 0; i < runs.size(); ++i) {
      const auto &[what, cfg] = runs[i];
      std::fprintf(stderr, "[round %lld] %s: %d rank(s) x %d thread(s)\n",
                   (long long)round + 1, what.c_str(), cfg.first, cfg.second);
      Row r = launch(argv, what, cfg.first, cfg.second, dir);
      if (round == 0 || (!r.error.empty() && rows[i].error.empty()) ||
          (r.error.empty() && rows[i].error.empty() &&
           r.max("seconds") < rows[i].max("seconds")))
        rows[i] = r;
    }
  printTable(z, rows, loadBefore);
  bool failed = false;
  for (const Row &r : rows)
    failed |= !r.error.empty();
  if (!failed)
    fs::remove_all(dir);
  return failed ? 1 : 0;
}

} // namespace

int main(int argc, char **argv) {
  const Sizes z = parse(argc, argv);
  const char *what = std::getenv("S2S_BENCH_CASE");
  if (!what)
    return launcherMain(argv, z);
  try {
    const char *threads = std::getenv("OMP_NUM_THREADS");
    torch::set_num_threads(threads ? std::atoi(threads) : 1);
    rt::installStorageCounter(); // before any tensor
    const int rc = rankMain(z, what);
    std::fflush(nullptr);
    std::_Exit(rc);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    std::fflush(nullptr);
    std::_Exit(1);
  }
}
