//===- Train.cpp - s2s::rt::main: command line, training, validation ------===//
//
// What every generated program runs: parse the command line over the spec's
// values, open the data (a BatchLoader in the spec's or --memory's mode),
// build and materialise the model, then train epoch by epoch (seeded
// shuffling, unrolled rollout loss, clipping, optimizer, schedule), validate
// (one-step RMSE/ACC of the model and of persistence), log to metrics.jsonl
// and checkpoint atomically; --resume continues from the newest checkpoint
// at the exact batch it stopped at (except in stream mode, whose batches
// depend on I/O timing).
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Checkpoint.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Loader.h"
#include "s2s/runtime/Maps.h"
#include "s2s/runtime/Metrics.h"
#include "s2s/runtime/Optim.h"
#include "s2s/runtime/Program.h"
#include "s2s/runtime/Sampler.h"

#include "FieldReader.h"
#include "Progress.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>

namespace fs = std::filesystem;

namespace s2s::rt {
namespace {

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

/// A bad command line: reported like Error, but exit status 2.
struct UsageError : Error {
  using Error::Error;
};

struct Options {
  bool help = false;
  bool maps = true;
  std::string data, stats, out, device = "auto";
  bool resume = false;
  std::string resumeDir;
  int64_t epochs = 0, steps = 0, batch = 0, seed = -1, threads = 0,
          logEvery = 10;
  double lr = 0.0;
  std::string memory;       ///< "": the spec's
  int64_t prefetch = -1, buffer = 0, loaderThreads = 0; ///< -1/0: the spec's
};

struct Flag {
  const char *name;
  const char *arg;   ///< nullptr: no value; "[DIR]": optional
  const char *help;
};

const Flag kFlags[] = {
    {"data", "PATTERN", "HDF5 files to read, a glob"},
    {"stats", "FILE", "normalisation statistics, HDF5 /mean and /std"},
    {"epochs", "N", "passes over the training split"},
    {"steps", "N", "at most N optimizer steps per epoch, for quick runs"},
    {"batch", "N", "global batch size"},
    {"lr", "X", "learning rate"},
    {"seed", "N", "random seed of initialisation, shuffling and dropout"},
    {"threads", "N", "CPU threads for LibTorch"},
    {"memory", "MODE",
     "how the data is held: eager (read before training), lazy (read per "
     "batch), stream (a buffer refreshed in the background) or shared (one "
     "copy per node)"},
    {"prefetch", "N", "batches assembled ahead by background threads; 0: none"},
    {"buffer", "N", "stream mode: samples (windows) held in memory"},
    {"loader-threads", "N", "the data loader's reader threads"},
    {"out", "DIR", "run folder: checkpoints/, metrics.jsonl"},
    {"resume", "[DIR]",
     "continue from the newest complete checkpoint of the run, or of DIR "
     "(a ckpt-* folder, a folder of them or a run folder)"},
    {"log-every", "N", "a train-loss record in metrics.jsonl every N steps"},
    {"no-maps", nullptr, "do not write <out>/maps/epoch-N-<channel>.png "
                         "(truth | prediction | error of a validation sample)"},
    {"device", "D", "cpu, cuda or auto"},
    {"help", nullptr, "print this message"},
};

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string fmtDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

int64_t parseInt(const std::string &flag, const std::string &v, int64_t min) {
  errno = 0;
  char *end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  bool ok = !v.empty() && end == v.c_str() + v.size() && errno == 0;
  if (!ok || x < min)
    throw UsageError("--" + flag + " must be an integer >= " +
                     std::to_string(min) + ", got '" + v + "'");
  return x;
}

double parsePositive(const std::string &flag, const std::string &v) {
  errno = 0;
  char *end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  bool ok = !v.empty() && end == v.c_str() + v.size() && errno == 0 &&
            std::isfinite(x);
  if (!ok || !(x > 0.0))
    throw UsageError("--" + flag + " must be a number > 0, got '" + v + "'");
  return x;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h") {
      o.help = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg == "--")
      throw UsageError("unexpected argument '" + arg +
                       "' (options start with '--'; see --help)");
    std::string name = arg.substr(2), value;
    bool hasValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    const Flag *flag = nullptr;
    for (const Flag &f : kFlags)
      if (name == f.name)
        flag = &f;
    if (!flag) {
      const Flag *best = nullptr;
      size_t bestD = SIZE_MAX;
      for (const Flag &f : kFlags) {
        size_t d = editDistance(name, f.name);
        if (d < bestD)
          bestD = d, best = &f;
      }
      bool close = best && (bestD <= 2 || bestD * 3 <= name.size() ||
                            std::string(best->name).rfind(name, 0) == 0);
      throw UsageError("unknown option '--" + name + "'" +
                       (close ? "; did you mean '--" + std::string(best->name) + "'?"
                              : std::string("; see --help")));
    }
    if (!flag->arg) {
      if (hasValue)
        throw UsageError("--" + name + " takes no value");
      if (name == "no-maps")
        o.maps = false;
      else
        o.help = true;
      continue;
    }
    bool optional = flag->arg[0] == '[';
    if (!hasValue) {
      if (i + 1 < argc && (optional ? argv[i + 1][0] != '-' : true)) {
        value = argv[++i];
        hasValue = true;
      } else if (!optional) {
        throw UsageError("--" + name + " needs a value (" + flag->arg + ")");
      }
    }
    if (name == "data") {
      if (value.empty())
        throw UsageError("--data needs a non-empty file pattern");
      o.data = value;
    } else if (name == "stats") {
      if (value.empty())
        throw UsageError("--stats needs a file name");
      o.stats = value;
    } else if (name == "epochs") {
      o.epochs = parseInt(name, value, 1);
    } else if (name == "steps") {
      o.steps = parseInt(name, value, 1);
    } else if (name == "batch") {
      o.batch = parseInt(name, value, 1);
    } else if (name == "lr") {
      o.lr = parsePositive(name, value);
    } else if (name == "seed") {
      o.seed = parseInt(name, value, 0);
    } else if (name == "threads") {
      o.threads = parseInt(name, value, 1);
    } else if (name == "memory") {
      if (value != "eager" && value != "lazy" && value != "stream" &&
          value != "shared")
        throw UsageError("--memory must be eager, lazy, stream or shared, got '" +
                         value + "'");
      o.memory = value;
    } else if (name == "prefetch") {
      o.prefetch = parseInt(name, value, 0);
    } else if (name == "buffer") {
      o.buffer = parseInt(name, value, 1);
    } else if (name == "loader-threads") {
      o.loaderThreads = parseInt(name, value, 1);
    } else if (name == "out") {
      if (value.empty())
        throw UsageError("--out needs a folder name");
      o.out = value;
    } else if (name == "resume") {
      o.resume = true;
      o.resumeDir = value;
    } else if (name == "log-every") {
      o.logEvery = parseInt(name, value, 1);
    } else if (name == "device") {
      if (value != "cpu" && value != "cuda" && value != "auto")
        throw UsageError("--device must be cpu, cuda or auto, got '" + value +
                         "'");
      o.device = value;
    }
  }
  return o;
}

std::string yearsText(const YearRange &y) {
  if (y.empty())
    return "all years";
  if (y.first == y.last)
    return std::to_string(y.first);
  return std::to_string(y.first) + "-" + std::to_string(y.last);
}

std::string scheduleText(const ScheduleConfig &s) {
  std::string t = s.kind;
  if (s.kind == "step")
    t += "(every " + std::to_string(s.every) + " epochs, gamma " +
         fmtDouble(s.gamma) + ")";
  else if (s.kind == "cosine")
    t += "(min_lr " + fmtDouble(s.minLr) + ")";
  if (s.warmup > 0)
    t += ", warm-up " + std::to_string(s.warmup) + " steps";
  return t;
}

void printUsage(const Program &p, const char *argv0) {
  const TrainConfig &t = p.train;
  std::string name = p.name.empty() ? std::string(argv0) : p.name;
  std::ostringstream o;
  o << "usage: " << argv0 << " [options]\n\n"
    << "Trains model '" << p.modelName << "'"
    << (p.specFile.empty() ? std::string() : " of " + p.specFile)
    << " autoregressively (" << p.rollout.order << "-step rollout, "
    << p.rollout.loss << " loss).\n\noptions (defaults from the spec):\n";
  auto line = [&](const Flag &f, const std::string &def) {
    std::string lhs = std::string("  --") + f.name + (f.arg ? " " : "") +
                      (f.arg ? f.arg : "");
    o << lhs << std::string(lhs.size() < 20 ? 20 - lhs.size() : 1, ' ')
      << f.help;
    if (!def.empty())
      o << " (default: " << def << ")";
    o << "\n";
  };
  for (const Flag &f : kFlags) {
    std::string n = f.name, def;
    if (n == "data")
      def = "'" + p.data.pattern + "'";
    else if (n == "stats")
      def = p.data.stats.empty() ? "none" : "'" + p.data.stats + "'";
    else if (n == "epochs")
      def = std::to_string(t.epochs);
    else if (n == "steps")
      def = "all";
    else if (n == "batch")
      def = std::to_string(t.batch);
    else if (n == "lr")
      def = fmtDouble(t.optimizer.lr) + ", " + t.optimizer.kind + ", schedule " +
            scheduleText(t.schedule);
    else if (n == "seed")
      def = std::to_string(t.seed);
    else if (n == "threads")
      def = std::to_string(torch::get_num_threads());
    else if (n == "memory" || n == "prefetch" || n == "buffer" ||
             n == "loader-threads") {
      try {
        const LoaderConfig lc = LoaderConfig::fromSpec(p.data.memory);
        if (n == "memory")
          def = lc.name();
        else if (n == "prefetch")
          def = std::to_string(lc.prefetch);
        else if (n == "buffer")
          def = lc.mode == LoaderConfig::Mode::Stream
                    ? std::to_string(lc.buffer)
                    : "none (the spec's memory is not stream)";
        else
          def = std::to_string(lc.threads);
      } catch (const Error &) {
        def = "the spec's memory arguments are invalid";
      }
    }
    else if (n == "out")
      def = "runs/" + name + "; checkpoints in <out>/" + t.checkpoint.dir +
            (fs::path(t.checkpoint.dir).is_absolute() ? " (absolute: as is)" : "");
    else if (n == "log-every")
      def = "10";
    else if (n == "device")
      def = "auto: cuda when available";
    line(f, def);
  }
  o << "\ncheckpoints: every " << t.checkpoint.everyEpochs << " epoch(s)";
  if (t.checkpoint.everySteps > 0)
    o << " and every " << t.checkpoint.everySteps << " steps";
  o << ", keeping the newest " << t.checkpoint.keep << "\n"
    << "environment (tests): S2S_CRASH_AT_STEP=N exits (status 3) after step N;"
    << " S2S_CRASH_IN_CHECKPOINT=N exits while writing the N-th checkpoint\n";
  std::cout << o.str() << std::flush;
}

//===----------------------------------------------------------------------===//
// Training
//===----------------------------------------------------------------------===//

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The permutation seed of `epoch`.
uint64_t shuffleSeed(int64_t seed, int64_t epoch) {
  return splitmix64(splitmix64(uint64_t(seed)) ^ uint64_t(epoch + 1));
}

std::string firstLines(const std::string &s, int n = 3) {
  std::string out;
  std::istringstream in(s);
  std::string line;
  for (int i = 0; i < n && std::getline(in, line); ++i) {
    if (line.empty())
      continue;
    if (!out.empty())
      out += " ";
    out += line;
  }
  return out;
}

std::string withCommas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0)
      out += ',';
    out += s[i];
  }
  return (v < 0 ? "-" : "") + out;
}

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

/// The spec's memory arguments with the command line's overrides.
LoaderConfig loaderConfig(const DataConfig &dc, const Options &opt) {
  std::map<std::string, std::string> mem = dc.memory;
  auto get = [&](const char *k) {
    auto it = mem.find(k);
    return it == mem.end() ? std::string() : it->second;
  };
  const bool specStream = get("callee") == "stream";
  if (!opt.memory.empty()) {
    std::map<std::string, std::string> m;
    const bool stream = opt.memory == "stream";
    m["callee"] = stream ? "stream" : "in_memory";
    for (const char *k : {"prefetch", "threads"})
      if (mem.count(k))
        m[k] = mem[k];
    if (stream && specStream)
      for (const char *k : {"buffer", "refresh"})
        if (mem.count(k))
          m[k] = mem[k];
    if (!stream) {
      m["lazy"] = opt.memory == "lazy" ? "true" : "false";
      m["shared"] = opt.memory == "shared" ? "true" : "false";
    }
    mem = std::move(m);
  }
  const bool stream = get("callee") == "stream";
  if (opt.buffer > 0) {
    if (!stream)
      throw UsageError("--buffer applies to stream mode only (--memory stream "
                       "or the spec's memory = stream(...))");
    mem["buffer"] = std::to_string(opt.buffer);
  }
  if (stream && !mem.count("buffer"))
    throw UsageError("--memory stream needs a buffer: give --buffer N (the "
                     "samples held in memory)");
  LoaderConfig lc = LoaderConfig::fromSpec(mem);
  if (opt.prefetch >= 0)
    lc.prefetch = opt.prefetch;
  if (opt.loaderThreads > 0)
    lc.threads = opt.loaderThreads;
  return lc;
}

struct Run {
  const Program &P;
  Options opt;
  TrainConfig tc;
  DataConfig dc;
  std::string prog;       ///< for messages
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;

  Run(const Program &p, Options o) : P(p), opt(std::move(o)) {}
  int run();
};

int Run::run() {
  tc = P.train;
  dc = P.data;
  if (!opt.data.empty())
    dc.pattern = opt.data;
  if (!opt.stats.empty())
    dc.stats = opt.stats;
  if (opt.epochs)
    tc.epochs = opt.epochs;
  if (opt.batch)
    tc.batch = opt.batch;
  if (opt.seed >= 0)
    tc.seed = opt.seed;
  if (opt.lr > 0)
    tc.optimizer.lr = opt.lr;
  if (tc.epochs < 1 || tc.batch < 1 || tc.seed < 0 || !(tc.optimizer.lr > 0))
    throw Error("the spec's train section has an invalid value (epochs " +
                std::to_string(tc.epochs) + ", batch " +
                std::to_string(tc.batch) + ", seed " + std::to_string(tc.seed) +
                ", lr " + fmtDouble(tc.optimizer.lr) + ")");
  if (opt.threads)
    torch::set_num_threads(int(opt.threads));

  if (opt.device == "cuda" && !torch::cuda::is_available())
    throw UsageError("--device cuda: this LibTorch sees no CUDA device");
  device = (opt.device == "cuda" ||
            (opt.device == "auto" && torch::cuda::is_available()))
               ? torch::Device(torch::kCUDA)
               : torch::Device(torch::kCPU);
  if (tc.precision != "fp32" && !tc.precision.empty())
    std::printf("note: precision %s is not implemented by this runtime yet; "
                "training in fp32\n",
                tc.precision.c_str());
  int64_t meshSize = 1;
  for (int64_t s : P.parallel.sizes)
    meshSize *= std::max<int64_t>(s, 1);
  if (meshSize > 1)
    std::printf("note: the parallel mesh has %lld devices; this runtime trains "
                "in one process on one device\n",
                (long long)meshSize);

  torch::manual_seed(uint64_t(tc.seed));

  // --- folders -------------------------------------------------------------
  const std::string out = opt.out.empty() ? "runs/" + P.name : opt.out;
  const fs::path ckptDir = fs::path(tc.checkpoint.dir).is_absolute()
                               ? fs::path(tc.checkpoint.dir)
                               : fs::path(out) / tc.checkpoint.dir;
  const std::string metricsPath = (fs::path(out) / "metrics.jsonl").string();
  Checkpointer ckpt(ckptDir.string(), tc.checkpoint.keep);
  if (int n = ckpt.removeIncomplete())
    std::printf("note: removed %d incomplete checkpoint folder(s) in '%s' "
                "(left by an interrupted save)\n",
                n, ckptDir.string().c_str());

  std::string resumeFrom;
  if (opt.resume) {
    if (!opt.resumeDir.empty()) {
      const fs::path d(opt.resumeDir);
      std::error_code ec;
      if (!fs::is_directory(d, ec))
        throw Error("--resume: '" + opt.resumeDir + "' is not a folder");
      if (fs::is_regular_file(d / "state.json", ec))
        resumeFrom = d.string();
      else if (std::string n = Checkpointer(d.string(), 0).newest(); !n.empty())
        resumeFrom = n;
      else
        resumeFrom = Checkpointer((d / tc.checkpoint.dir).string(), 0).newest();
      if (resumeFrom.empty())
        throw Error("--resume: no complete checkpoint in '" + opt.resumeDir +
                    "' (looked for ckpt-* folders there and in '" +
                    (d / tc.checkpoint.dir).string() + "')");
    } else {
      resumeFrom = ckpt.newest();
      if (resumeFrom.empty())
        std::printf("note: --resume: no checkpoint in '%s' yet; starting from "
                    "the beginning\n",
                    ckptDir.string().c_str());
    }
  } else if (std::vector<std::string> have = ckpt.list(); !have.empty()) {
    throw Error("the checkpoint folder '" + ckptDir.string() +
                "' already holds checkpoints (newest: " +
                fs::path(have.back()).filename().string() +
                "); pass --resume to continue that run, or --out DIR to start "
                "a new one elsewhere");
  }

  // --- data ----------------------------------------------------------------
  const int64_t order = std::max<int64_t>(P.rollout.order, 1);
  const int64_t B = tc.batch;
  LoaderConfig lc = loaderConfig(dc, opt);
  const RankInfo ranks = rankInfo();
  lc.rank = ranks.rank;
  lc.worldSize = ranks.worldSize;
  if (B % lc.worldSize != 0)
    throw Error("the global batch " + std::to_string(B) +
                " is not a multiple of the " + std::to_string(lc.worldSize) +
                " processes (" + ranks.source +
                "); each process takes batch / processes windows");
  if (lc.worldSize > 1)
    std::printf("note: rank %lld of %lld (%s): this process trains on its "
                "share of each epoch; this runtime does not synchronise "
                "gradients between processes\n",
                (long long)lc.rank, (long long)lc.worldSize,
                ranks.source.c_str());
  std::unique_ptr<BatchLoader> trainLoader = BatchLoader::open(
      dc, Split::Train, order + 1, B / lc.worldSize, lc, uint64_t(tc.seed),
      /*shuffle=*/true, /*dropLast=*/true);
  BatchLoader &train = *trainLoader;
  const int64_t C = int64_t(train.channelNames().size()), H = train.lat(),
                W = train.lon();
  const std::string firstFile =
      train.files().empty() ? dc.pattern : train.files().front();
  // Validation: every process validates the whole split, in order; stream
  // mode reads it lazily.
  std::unique_ptr<BatchLoader> valid;
  if (!dc.valid.empty()) {
    LoaderConfig vc = lc;
    if (vc.mode == LoaderConfig::Mode::Stream)
      vc.mode = LoaderConfig::Mode::Lazy;
    vc.rank = 0;
    vc.worldSize = 1;
    valid = BatchLoader::open(dc, Split::Valid, 2, B, vc, uint64_t(tc.seed),
                              /*shuffle=*/false, /*dropLast=*/false);
  }

  const int64_t nTrain = train.size();
  if (train.batchesPerEpoch() == 0)
    throw Error("the training split (" + yearsText(dc.train) + " of '" +
                dc.pattern + "') has " + std::to_string(nTrain) + " window" +
                (nTrain == 1 ? "" : "s") + " of " + std::to_string(order + 1) +
                " frames, fewer than one batch of " + std::to_string(B) +
                "; lower --batch or add data");
  const int64_t stepsPerEpoch =
      opt.steps > 0 ? std::min(opt.steps, train.batchesPerEpoch())
                    : train.batchesPerEpoch();
  const int64_t totalSteps = tc.epochs * stepsPerEpoch;

  // --- model ---------------------------------------------------------------
  Model model(uint64_t(tc.seed), device, dtype);
  model.context().latitude = train.latitude().to(device);
  model.context().longitude = train.longitude().to(device);
  const std::string gridText = std::to_string(H) + "x" + std::to_string(W) +
                               " with " + std::to_string(C) + " channel" +
                               (C == 1 ? "" : "s");
  const std::string modelText =
      "model '" + P.modelName + "'" +
      (P.specFile.empty() ? std::string() : " (" + P.specFile + ")");
  {
    torch::NoGradGuard noGrad;
    model.setTraining(false);
    model.context().time = train.fetch({0}).times.to(device);
    model.context().leadSeconds = 0;
    torch::Tensor x =
        torch::zeros({1, C, H, W}, torch::dtype(dtype).device(device));
    torch::Tensor y;
    try {
      y = P.forward(model, x);
    } catch (const c10::Error &e) {
      throw Error("the data's grid " + gridText + " (file '" + firstFile +
                  "') does not fit " + modelText + ": " +
                  firstLines(e.what_without_backtrace()) +
                  "; check the spec's data grid and channels against the "
                  "model's sizes");
    } catch (const Error &e) {
      throw Error("building " + modelText + " for the data's grid " + gridText +
                  " (file '" + firstFile + "'): " + e.what());
    }
    if (!y.defined() || y.sizes() != x.sizes())
      throw Error(modelText + " maps a [1, " + std::to_string(C) + ", " +
                  std::to_string(H) + ", " + std::to_string(W) + "] field to " +
                  (y.defined() ? c10::str(y.sizes()) : std::string("nothing")) +
                  "; it must return the next frame, of the same shape (the "
                  "data's grid " + gridText + ", file '" + firstFile + "')");
    model.setTraining(true);
  }
  if (model.namedParameters().empty())
    throw Error(modelText + " has no parameters to train");
  for (const auto &[name, p] : model.namedParameters()) {
    if (!p.is_leaf())
      throw Error("internal error: parameter '" + name +
                  "' is not a leaf tensor after materialisation");
    p.requires_grad_(true);
  }
  const int64_t nParams = model.parameterCount();
  if (P.expectedParameters >= 0 && nParams != P.expectedParameters)
    throw Error("internal error: s2sc counted " +
                withCommas(P.expectedParameters) + " parameters for " +
                modelText + ", the runtime made " + withCommas(nParams) + " (in " +
                std::to_string(model.namedParameters().size()) +
                " tensors); the kernels and the compiler's shape rules disagree "
                "- please report this");

  Optimizer optim(tc.optimizer, model.namedParameters());
  std::vector<torch::Tensor> params = model.parameters();

  std::printf("%s: %s, %s parameters; data %s: train %lld windows (%s), "
              "valid %lld (%s); grid %s; memory %s\n",
              P.name.c_str(), modelText.c_str(), withCommas(nParams).c_str(),
              dc.name.c_str(), (long long)nTrain, yearsText(dc.train).c_str(),
              (long long)(valid ? valid->size() : 0),
              valid ? yearsText(dc.valid).c_str() : "none", gridText.c_str(),
              lc.describe().c_str());
  if (const auto slow = trainLoader->hdf5Files();
      !slow.empty() && data_detail::hdf5ReadsForced()) {
    std::printf("note: S2S_HDF5_READS is set: every file of data set '%s' "
                "is read through HDF5, one read at a time\n",
                dc.name.c_str());
  } else if (!slow.empty()) {
    std::string list;
    for (size_t i = 0; i < slow.size() && i < 3; ++i)
      list += std::string(i ? ", " : "") + "'" + slow[i].first + "' (" +
              slow[i].second + ")";
    if (slow.size() > 3)
      list += ", ...";
    std::printf("note: %zu of %zu files of data set '%s' are read through "
                "HDF5, one read at a time: %s; the loader reads float32 "
                "files, uncompressed or deflated, chunked in whole lat-lon "
                "planes, in parallel (s2s-data import writes them)\n",
                slow.size(), trainLoader->files().size(), dc.name.c_str(),
                list.c_str());
  }
  std::printf("%s: %lld epoch%s x %lld steps, batch %lld, %s lr %s, schedule "
              "%s; out %s\n",
              P.name.c_str(), (long long)tc.epochs, tc.epochs == 1 ? "" : "s",
              (long long)stepsPerEpoch,
              (long long)B, tc.optimizer.kind.c_str(),
              fmtDouble(tc.optimizer.lr).c_str(),
              scheduleText(tc.schedule).c_str(), out.c_str());
  std::fflush(stdout);

  // --- resume --------------------------------------------------------------
  TrainState st;
  st.program = P.name;
  st.spec = P.specFile;
  st.batchSize = B;
  st.stepsPerEpoch = stepsPerEpoch;
  st.trainWindows = nTrain;
  if (!resumeFrom.empty()) {
    Checkpoint c = loadCheckpoint(resumeFrom);
    if (c.state.program != P.name)
      throw Error("'" + resumeFrom + "' is a checkpoint of program '" +
                  c.state.program + "', not of '" + P.name + "'");
    for (const auto &[name, p] : model.namedParameters()) {
      auto it = c.model.find(name);
      if (it == c.model.end())
        throw Error("the checkpoint '" + resumeFrom + "' has no parameter '" +
                    name + "' of " + modelText);
      if (it->second.sizes() != p.sizes())
        throw Error("the checkpoint '" + resumeFrom + "' has parameter '" +
                    name + "' of shape " + c10::str(it->second.sizes()) +
                    ", " + modelText + " has " + c10::str(p.sizes()));
      model.load(name, it->second.to(p.device(), p.scalar_type()));
    }
    if (c.model.size() != model.namedParameters().size())
      for (const auto &kv : c.model) {
        bool found = false;
        for (const auto &np : model.namedParameters())
          found = found || np.first == kv.first;
        if (!found)
          throw Error("the checkpoint '" + resumeFrom + "' has parameter '" +
                      kv.first + "', which " + modelText + " does not");
      }
    try {
      optim.loadState(c.optimizer);
    } catch (const Error &e) {
      throw Error("'" + resumeFrom + "': " + e.what());
    }
    if (c.state.modelRng.defined())
      model.generator().set_state(c.state.modelRng);
    if (c.state.torchRng.defined())
      setCpuGeneratorState(c.state.torchRng);
    const TrainState &s = c.state;
    if (s.batchSize != B || s.stepsPerEpoch != stepsPerEpoch ||
        s.trainWindows != nTrain)
      std::printf("warning: the checkpoint was written with batch %lld, %lld "
                  "steps/epoch and %lld training windows; now %lld, %lld and "
                  "%lld: the continued run will not match an uninterrupted "
                  "one\n",
                  (long long)s.batchSize, (long long)s.stepsPerEpoch,
                  (long long)s.trainWindows, (long long)B,
                  (long long)stepsPerEpoch, (long long)nTrain);
    if (s.batch > 0 && s.shuffleSeed != shuffleSeed(tc.seed, s.epoch))
      std::printf("warning: the checkpoint's shuffling seed differs (another "
                  "--seed?); the rest of epoch %lld is shuffled anew\n",
                  (long long)s.epoch + 1);
    st = s;
    st.program = P.name;
    st.spec = P.specFile;
    st.batchSize = B;
    st.stepsPerEpoch = stepsPerEpoch;
    st.trainWindows = nTrain;
    st.batch = std::min(st.batch, stepsPerEpoch);
    std::printf("resuming from %s: epoch %lld, step %lld/%lld, global step "
                "%lld\n",
                resumeFrom.c_str(), (long long)st.epoch + 1,
                (long long)st.batch, (long long)stepsPerEpoch,
                (long long)st.globalStep);
    if (lc.mode == LoaderConfig::Mode::Stream)
      std::printf("note: stream mode draws its batches from a buffer filled "
                  "in the background: the continued run will not repeat the "
                  "uninterrupted one's batches\n");
    std::fflush(stdout);
    truncateMetrics(metricsPath, st.globalStep);
  }
  MetricsLog log;
  log.open(metricsPath, !resumeFrom.empty());


  if (st.epoch >= tc.epochs) {
    std::printf("%s: training already finished (%lld of %lld epochs); nothing "
                "to do (raise --epochs to go on)\n",
                P.name.c_str(), (long long)st.epoch, (long long)tc.epochs);
    return 0;
  }

  // --- climatology for ACC -------------------------------------------------
  // z-score: the normalisation mean (0 in normalised units); otherwise the
  // training data's own per-channel mean.
  torch::Tensor climatology;
  if (valid && dc.normalize != "zscore") {
    torch::NoGradGuard noGrad;
    torch::Tensor sum = torch::zeros({C}, torch::kFloat64);
    int64_t n = 0;
    for (int64_t i = 0; i < nTrain; i += 64) {
      std::vector<int64_t> idx;
      for (int64_t k = i; k < std::min(nTrain, i + 64); ++k)
        idx.push_back(k);
      torch::Tensor x =
          train.fetch(idx).window.select(1, 0).to(torch::kFloat64);
      sum += x.sum({0, 2, 3});
      n += x.size(0) * H * W;
    }
    climatology = (sum / double(n)) * train.stddev().to(torch::kFloat64) +
                  train.mean().to(torch::kFloat64);
  }

  int64_t crashAtStep = 0;
  if (const char *env = std::getenv("S2S_CRASH_AT_STEP"))
    crashAtStep = std::atoll(env);

  auto saveCheckpoint = [&](const TrainState &s) {
    TrainState w = s;
    w.modelRng = model.generator().get_state();
    w.torchRng = cpuGeneratorState();
    std::string path = ckpt.save(model.namedParameters(), optim.state(), w);
    std::fprintf(stderr, "saved %s\n", path.c_str());
  };

  std::vector<std::string> wantMetrics = tc.metrics;
  if (wantMetrics.empty())
    wantMetrics = {"rmse", "acc"};
  auto wants = [&](const char *m) {
    return std::find(wantMetrics.begin(), wantMetrics.end(), m) !=
           wantMetrics.end();
  };

  double lr = learningRate(tc.schedule, tc.optimizer.lr, st.scheduleStep,
                           stepsPerEpoch, totalSteps);
  for (int64_t epoch = st.epoch; epoch < tc.epochs; ++epoch) {
    const bool continuing = epoch == st.epoch && st.batch > 0;
    const uint64_t seedOfEpoch =
        continuing ? st.shuffleSeed : shuffleSeed(tc.seed, epoch);
    if (!continuing) {
      st.epochLossSum = 0.0;
      st.epochLossCount = 0;
    }
    st.epoch = epoch;
    st.shuffleSeed = seedOfEpoch;
    const int64_t b0 = continuing ? st.batch : 0;
    // The loader's order depends on (seed, epoch) only: resuming at batch
    // b0 gives the batches the uninterrupted run had.
    train.startEpoch(epoch, b0);
    const double wait0 = train.stats().waitSeconds;
    const std::string label = "epoch " + std::to_string(epoch + 1) + "/" +
                              std::to_string(tc.epochs);
    Progress progress(label, stepsPerEpoch, b0);
    auto t0 = std::chrono::steady_clock::now();
    bool stepCheckpointDue = false;

    for (int64_t b = b0; b < stepsPerEpoch; ++b) {
      std::optional<Batch> batch;
      try {
        batch = train.next(); // lazy/stream: read errors surface here
      } catch (...) {
        progress.finish();
        throw;
      }
      if (!batch)
        throw Error("internal error: the data loader ended epoch " +
                    std::to_string(epoch + 1) + " after " + std::to_string(b) +
                    " of " + std::to_string(stepsPerEpoch) + " batches");
      torch::Tensor window = batch->window.to(device, dtype);
      model.context().time = batch->times.to(device);
      model.context().leadSeconds = 0;
      optim.zeroGrad();
      torch::Tensor loss = P.rolloutLoss(model, window);
      if (!loss.defined() || loss.numel() != 1)
        throw Error("the rollout loss of " + modelText +
                    " is not a scalar (internal error)");
      const double lossValue = loss.item<double>();
      if (!std::isfinite(lossValue))
        throw Error("the training loss became " +
                    std::string(std::isnan(lossValue) ? "NaN" : "infinite") +
                    " at epoch " + std::to_string(epoch + 1) + ", step " +
                    std::to_string(b + 1) + " (global step " +
                    std::to_string(st.globalStep + 1) + ", learning rate " +
                    fmtDouble(lr) +
                    "); the training diverged: try a lower --lr (e.g. " +
                    fmtDouble(tc.optimizer.lr / 10) + ")" +
                    (tc.gradClip > 0 ? std::string()
                                     : ", a warm-up or grad_clip in the spec"));
      if (!loss.requires_grad())
        throw Error("the rollout loss of " + modelText +
                    " does not depend on any parameter");
      loss.backward();
      if (tc.gradClip > 0)
        clipGradNorm(params, tc.gradClip);
      lr = learningRate(tc.schedule, tc.optimizer.lr, st.scheduleStep,
                        stepsPerEpoch, totalSteps);
      optim.step(lr);
      ++st.scheduleStep;
      ++st.globalStep;
      st.batch = b + 1;
      st.epochLossSum += lossValue;
      ++st.epochLossCount;
      st.logLossSum += lossValue;
      ++st.logLossCount;
      if (st.globalStep % opt.logEvery == 0) {
        log.write("{\"kind\":\"train\",\"epoch\":" + std::to_string(epoch + 1) +
                  ",\"step\":" + std::to_string(st.globalStep) +
                  ",\"loss\":" +
                  jsonNumber(st.logLossSum / double(st.logLossCount)) +
                  ",\"lr\":" + jsonNumber(lr) + "}");
        st.logLossSum = 0.0;
        st.logLossCount = 0;
      }
      progress.update(b + 1, st.epochLossSum / double(st.epochLossCount));
      if (tc.checkpoint.everySteps > 0 &&
          st.globalStep % tc.checkpoint.everySteps == 0) {
        if (b + 1 < stepsPerEpoch) {
          progress.finish();
          saveCheckpoint(st);
        } else {
          stepCheckpointDue = true; // after the epoch's validation
        }
      }
      if (crashAtStep > 0 && st.globalStep == crashAtStep) {
        progress.finish();
        std::fflush(stdout);
        std::fprintf(stderr, "S2S_CRASH_AT_STEP: exiting after step %lld\n",
                     (long long)st.globalStep);
        std::fflush(stderr);
        std::_Exit(3);
      }
    }
    progress.finish();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    const int64_t stepsRun = stepsPerEpoch - b0;
    const double dataWait = train.stats().waitSeconds - wait0;
    const double trainLoss =
        st.epochLossCount ? st.epochLossSum / double(st.epochLossCount) : NAN;

    // --- validation --------------------------------------------------------
    std::string record = "{\"kind\":\"epoch\",\"epoch\":" +
                         std::to_string(epoch + 1) +
                         ",\"step\":" + std::to_string(st.globalStep) +
                         ",\"train_loss\":" + jsonNumber(trainLoss) +
                         ",\"lr\":" + jsonNumber(lr) +
                         ",\"seconds\":" + jsonNumber(seconds) +
                         ",\"data_wait_s\":" + jsonNumber(dataWait);
    std::printf("epoch %lld/%lld  train loss %.6g  lr %.3g  %lld steps in %.3g s "
                "(%.1f steps/s), data wait %.2f s\n",
                (long long)epoch + 1, (long long)tc.epochs, trainLoss, lr,
                (long long)stepsRun, seconds,
                seconds > 0 ? double(stepsRun) / seconds : 0.0, dataWait);
    if (valid && valid->size() > 0) {
      ChannelMetrics mModel(valid->latitude(), valid->mean(), valid->stddev(),
                            climatology);
      ChannelMetrics mPersist(valid->latitude(), valid->mean(),
                              valid->stddev(), climatology);
      {
        torch::NoGradGuard noGrad;
        model.setTraining(false);
        valid->startEpoch(0);
        bool mapped = false;
        while (std::optional<Batch> vb = valid->next()) {
          torch::Tensor w = vb->window.to(device, dtype);
          torch::Tensor x0 = w.select(1, 0), x1 = w.select(1, 1);
          model.context().time = vb->times.to(device);
          model.context().leadSeconds = 0;
          torch::Tensor pred = P.forward(model, x0);
          mModel.add(pred, x1);
          mPersist.add(x0, x1);
          // Truth / prediction / error maps of the first validation window.
          if (!mapped && opt.maps) {
            mapped = true;
            writeValidationMaps((fs::path(out) / "maps").string(), epoch + 1,
                                x1[0], pred[0], valid->channelNames(),
                                valid->latitude(), valid->longitude(),
                                valid->mean(), valid->stddev());
          }
        }
        model.setTraining(true);
      }
      std::vector<double> rm = mModel.rmse(), rp = mPersist.rmse(),
                          am = mModel.acc(), ap = mPersist.acc();
      const std::vector<std::string> &names = valid->channelNames();
      size_t wName = 8;
      for (const std::string &n : names)
        wName = std::max(wName, n.size() + 2);
      std::string head = "  " + std::string("valid").append(wName - 5, ' ');
      if (wants("rmse"))
        head += "   rmse model  persistence";
      if (wants("acc"))
        head += "    acc model  persistence";
      std::printf("%s   (%lld windows)\n", head.c_str(),
                  (long long)valid->size());
      for (size_t c = 0; c < names.size(); ++c) {
        std::string row = "  " + names[c];
        row.append(wName - names[c].size(), ' ');
        char buf[64];
        if (wants("rmse")) {
          std::snprintf(buf, sizeof buf, " %12.5g %12.5g", rm[c], rp[c]);
          row += buf;
        }
        if (wants("acc")) {
          std::snprintf(buf, sizeof buf, " %12.4f %12.4f", am[c], ap[c]);
          row += buf;
        }
        std::printf("%s\n", row.c_str());
      }
      auto perChannel = [&](const std::vector<double> &v) {
        std::string s = "{";
        for (size_t c = 0; c < names.size(); ++c)
          s += (c ? "," : "") + jsonQuote(names[c]) + ":" + jsonNumber(v[c]);
        return s + "}";
      };
      record += ",\"valid_windows\":" + std::to_string(valid->size()) +
                ",\"rmse\":" + perChannel(rm) + ",\"acc\":" + perChannel(am) +
                ",\"rmse_persistence\":" + perChannel(rp) +
                ",\"acc_persistence\":" + perChannel(ap);
    }
    std::fflush(stdout);
    log.write(record + "}");

    // --- epoch checkpoint ----------------------------------------------------
    st.epoch = epoch + 1;
    st.batch = 0;
    st.epochLossSum = 0.0;
    st.epochLossCount = 0;
    st.shuffleSeed = shuffleSeed(tc.seed, epoch + 1);
    const bool lastEpoch = epoch + 1 == tc.epochs;
    if (stepCheckpointDue || lastEpoch ||
        (tc.checkpoint.everyEpochs > 0 &&
         (epoch + 1) % tc.checkpoint.everyEpochs == 0))
      saveCheckpoint(st);
  }
  return 0;
}

} // namespace

int main(const Program &program, int argc, char **argv) {
  std::string prog = !program.name.empty()
                         ? program.name
                         : (argc > 0 ? fs::path(argv[0]).filename().string()
                                     : std::string("s2s"));
  try {
    Options o = parseArgs(argc, argv);
    if (o.help) {
      printUsage(program, argc > 0 ? argv[0] : prog.c_str());
      return 0;
    }
    Run r(program, std::move(o));
    r.prog = prog;
    return r.run();
  } catch (const UsageError &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 2;
  } catch (const Error &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 1;
  } catch (const c10::Error &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(),
                 firstLines(e.what_without_backtrace(), 6).c_str());
    return 1;
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", prog.c_str(), e.what());
    return 1;
  }
}

} // namespace s2s::rt
