//===- Options.cpp - The training program's command line -----------------===//

#include "train/Options.h"

#include "dist/Launch.h"

#include "support/Text.h"
#include "train/Banner.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sched.h>
#include <sstream>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace s2s::rt {

namespace {

enum : unsigned {
  kTrain = 1,
  kForecast = 2,
  kEvaluate = 4,
  kRun = 6,
  kAll = 7
};

struct Flag {
  const char *name;
  const char *arg; ///< nullptr: no value; "[DIR]": optional
  const char *help;
  unsigned commands = kAll; ///< the commands that take it
};

const Flag kFlags[] = {
    {"data", "PATTERN",
     "HDF5 files to read, a glob (instead of the spec's source, a data "
     "server's too)"},
    {"stats", "FILE", "normalisation statistics, HDF5 /mean and /std"},
    {"epochs", "N", "passes over the training split", kTrain},
    {"steps", "N", "at most N optimizer steps per epoch, for quick runs",
     kTrain},
    {"steps", "N", "lead steps: the model's steps from each start", kRun},
    {"batch", "N", "global batch size", kTrain | kEvaluate},
    {"lr", "X", "learning rate", kTrain},
    {"seed", "N", "random seed of initialisation, shuffling and dropout",
     kTrain},
    {"threads", "N", "CPU threads for LibTorch"},
    {"memory", "MODE",
     "how the data is held: eager (read before training), lazy (read per "
     "batch), stream (a buffer refreshed in the background) or shared (one "
     "copy per node)",
     kTrain | kEvaluate},
    {"prefetch", "N", "batches assembled ahead by background threads; 0: none",
     kTrain | kEvaluate},
    {"buffer", "N", "stream mode: samples (windows) held in memory", kTrain},
    {"loader-threads", "N", "the data loader's reader threads",
     kTrain | kEvaluate},
    {"out", "DIR", "run folder: checkpoints/, metrics.jsonl", kTrain},
    {"out", "FILE.h5",
     "the forecast: /forecast [lead, channel, lat, lon] in the data's units, "
     "with /time, /lead_hours, /channel, /lat, /lon",
     kForecast},
    {"out", "FILE.json",
     "the scorecard (RMSE and ACC per channel and lead of the model, "
     "persistence and climatology) and FILE.png, skill against lead time",
     kEvaluate},
    {"resume", "[DIR]",
     "continue from the newest intact checkpoint of the run, or of DIR "
     "(a ckpt-* folder, a folder of them or a run folder), writing into "
     "DIR's run folder unless --out names another",
     kTrain},
    {"init", "FILE",
     "start from the weights in FILE: a PyTorch state dict (.pt/.pth, "
     "torch.save) or safetensors, renamed by --map; or those of a "
     "checkpoint folder only (a new run)"},
    {"map", "MAP",
     "the name map of --init and --export: a built-in one (fourcastnet) or a "
     "file of 'S2S_NAME OTHER_NAME [transpose]' lines (default: s2s's names "
     "and layouts)"},
    {"init-partial", nullptr,
     "--init: import what matches; parameters the file lacks keep their "
     "initial values (default: every mismatch is an error)"},
    {"export", "FILE",
     "write the parameters of the run's newest checkpoint (or of --resume "
     "DIR's), sharded or not, to FILE (.safetensors, or .pt/.pth for "
     "torch.load) under --map's names, and exit",
     kTrain},
    {"checkpoint", "DIR",
     "the weights: a ckpt-* folder, a folder of them or a run folder "
     "(default: the newest checkpoint of runs/<program>, unless --init)",
     kRun},
    {"start", "TIME", "the start time, 2009-01-01T00:00 (UTC), in the data",
     kForecast},
    {"split", "NAME", "the split whose windows are scored: test or valid",
     kEvaluate},
    {"log-every", "N", "a train-loss record in metrics.jsonl every N steps",
     kTrain},
    {"no-maps", nullptr,
     "do not write <out>/maps/epoch-N-<channel>.png "
     "(truth | prediction | error of a validation sample)",
     kTrain},
    {"device", "D", "cpu, cuda or auto"},
    {"precision", "P",
     "the forward's arithmetic: fp32, bf16 (autocast on a CPU or GPU) or fp16 "
     "(autocast with loss scaling, GPU only); weights and optimizer state "
     "stay fp32"},
    {"timeout", "S",
     "seconds a collective may wait for the other processes before the run "
     "fails (a peer died or hangs)",
     kTrain},
    {"help", nullptr, "print this message"},
};

unsigned bitOf(Command c) {
  return c == Command::Train      ? kTrain
         : c == Command::Forecast ? kForecast
                                  : kEvaluate;
}

const char *commandName(Command c) {
  return c == Command::Train      ? "train"
         : c == Command::Forecast ? "forecast"
                                  : "evaluate";
}

constexpr Command kCommands[] = {Command::Train, Command::Forecast,
                                 Command::Evaluate};

/// The names of the commands in `mask`.
std::vector<std::string> commandsIn(unsigned mask) {
  std::vector<std::string> names;
  for (Command c : kCommands)
    if (mask & bitOf(c))
      names.push_back(commandName(c));
  return names;
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

/// A number > 0 that float32, in which training computes, holds.
double parsePositive(const std::string &flag, const std::string &v) {
  errno = 0;
  char *end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  bool ok = !v.empty() && end == v.c_str() + v.size() && errno == 0 &&
            std::isfinite(x);
  if (!ok || !(x > 0.0) || x > double(FLT_MAX))
    throw UsageError("--" + flag +
                     " must be a number > 0 that float32 holds (at most "
                     "3.4e38), got '" +
                     v + "'");
  return x;
}

/// CPU cores this process may run on (its affinity mask).
int64_t availableCores() {
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

/// A thread count >= 1 and at most 4 per available core.
int64_t parseThreads(const std::string &flag, const std::string &v) {
  const int64_t n = parseInt(flag, v, 1), cores = availableCores();
  if (n > 4 * cores)
    throw UsageError(
        "--" + flag + " " + v + ": this process may run on " +
        std::to_string(cores) + " CPU core" + (cores == 1 ? "" : "s") +
        "; more than 4 threads a core (" + std::to_string(4 * cores) +
        ") only adds switching and memory");
  return n;
}

/// Sets option `name` (a flag that takes a value) to `value`, checked.
void setOption(Options &o, const std::string &name, const std::string &value) {
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
    o.threads = parseThreads(name, value);
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
    o.loaderThreads = parseThreads(name, value);
  } else if (name == "out") {
    if (value.empty())
      throw UsageError("--out needs a folder name");
    o.out = value;
  } else if (name == "resume") {
    o.resume = true;
    o.resumeDir = value;
  } else if (name == "export") {
    if (value.empty())
      throw UsageError("--export needs a file name (weights.safetensors)");
    o.exportFile = value;
  } else if (name == "init") {
    if (value.empty())
      throw UsageError("--init needs a weights file (.pt, .pth or "
                       ".safetensors) or a checkpoint folder");
    o.initFile = value;
  } else if (name == "map") {
    if (value.empty())
      throw UsageError("--map needs a built-in map's name or a map file");
    o.map = value;
  } else if (name == "checkpoint") {
    if (value.empty())
      throw UsageError("--checkpoint needs a folder");
    o.checkpoint = value;
  } else if (name == "start") {
    o.start = value;
  } else if (name == "split") {
    if (value != "test" && value != "valid")
      throw UsageError("--split must be test or valid, got '" + value + "'");
    o.split = value;
  } else if (name == "log-every") {
    o.logEvery = parseInt(name, value, 1);
  } else if (name == "timeout") {
    o.timeout = parseInt(name, value, 1);
  } else if (name == "device") {
    if (value != "cpu" && value != "cuda" && value != "auto")
      throw UsageError("--device must be cpu, cuda or auto, got '" + value +
                       "'");
    o.device = value;
  } else if (name == "precision") {
    if (value != "fp32" && value != "bf16" && value != "fp16")
      throw UsageError("--precision must be fp32, bf16 or fp16, got '" + value +
                       "'");
    o.precision = value;
  }
}

} // namespace

Options parseArgs(int argc, char **argv) {
  Options o;
  int first = 1;
  if (argc > 1) {
    for (Command c : kCommands)
      if (argv[1] == std::string(commandName(c))) {
        o.command = c;
        first = 2;
      }
  }
  const unsigned bit = bitOf(o.command);
  for (int i = first; i < argc; ++i) {
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
    const Flag *flag = nullptr, *elsewhere = nullptr;
    for (const Flag &f : kFlags)
      if (name == f.name)
        (f.commands & bit ? flag : elsewhere) = &f;
    if (!flag && elsewhere)
      throw UsageError("--" + name + " applies to " +
                       join(commandsIn(elsewhere->commands), " and ") +
                       ", not to " + commandName(o.command) + "; see --help");
    if (!flag) {
      std::vector<std::string> names;
      for (const Flag &f : kFlags)
        names.push_back(f.name);
      const Nearest best = nearest(name, names);
      const bool close = best.name && (best.distance <= 2 ||
                                       best.distance * 3 <= name.size() ||
                                       best.name->rfind(name, 0) == 0);
      throw UsageError("unknown option '--" + name + "'" +
                       (close ? "; did you mean '--" + *best.name + "'?"
                              : std::string("; see --help")));
    }
    if (!flag->arg) {
      if (hasValue)
        throw UsageError("--" + name + " takes no value");
      if (name == "no-maps")
        o.maps = false;
      else if (name == "init-partial")
        o.initPartial = true;
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
    setOption(o, name, value);
  }
  return o;
}

namespace {

std::string shellQuoted(const std::string &arg) {
  const bool plain =
      !arg.empty() && arg.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"
                                            "ijklmnopqrstuvwxyz0123456789_./=:,"
                                            "+-@%") == std::string::npos;
  if (plain)
    return arg;
  std::string q = "'";
  for (char c : arg)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

} // namespace

std::string resumeCommandLine(int argc, char **argv, const std::string &out) {
  std::string line = argc > 0 ? shellQuoted(argv[0]) : std::string("PROGRAM");
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const std::string name = arg.substr(0, arg.find('='));
    const bool inline_ = name.size() < arg.size();
    if (name == "--init-partial")
      continue;
    if (name == "--init" || name == "--map" || name == "--out") {
      i += inline_ ? 0 : 1; // and its value
      continue;
    }
    if (name == "--resume") { // its value is optional
      if (!inline_ && i + 1 < argc && argv[i + 1][0] != '-')
        ++i;
      continue;
    }
    line += " " + shellQuoted(arg);
  }
  return line + " --out " + shellQuoted(out) + " --resume";
}

void printUsage(const Program &p, const char *argv0) {
  const TrainConfig &t = p.train;
  std::string name = p.name.empty() ? std::string(argv0) : p.name;
  std::ostringstream o;
  o << "usage: " << argv0 << " [train] [options]      train (the default)\n"
    << "       " << argv0
    << " forecast [options]     roll out from --start into --out FILE.h5\n"
    << "       " << argv0
    << " evaluate [options]     score rollouts of a split: --out FILE.json "
       "and .png\n\n"
    << "Trains model '" << p.modelName << "'"
    << (p.specFile.empty() ? std::string() : " of " + p.specFile)
    << " autoregressively (" << p.rollout.order << "-step rollout, "
    << rt::name(p.rollout.loss.kind) << " loss).\n\noptions (defaults from the "
    << "spec; [command]: only there):\n";
  auto line = [&](const Flag &f, const std::string &def) {
    std::string lhs = std::string("  --") + f.name + (f.arg ? " " : "") +
                      (f.arg ? f.arg : "");
    const std::string only =
        f.commands == kAll ? "" : "[" + join(commandsIn(f.commands)) + "] ";
    o << lhs << std::string(lhs.size() < 20 ? 20 - lhs.size() : 1, ' ') << only
      << f.help;
    if (!def.empty())
      o << " (default: " << def << ")";
    o << "\n";
  };
  for (const Flag &f : kFlags) {
    std::string n = f.name, def;
    if (n == "data")
      def = p.data.server.empty()
                ? "'" + p.data.pattern + "'"
                : "server '" + p.data.server + "', data set '" +
                      p.data.serverSet + "'";
    else if (n == "stats")
      def = p.data.stats.empty() ? "none" : "'" + p.data.stats + "'";
    else if (n == "epochs")
      def = std::to_string(t.epochs);
    else if (n == "steps")
      def = f.commands == kTrain
                ? "all"
                : std::to_string(p.rollout.order) + ", the rollout's order";
    else if (n == "init")
      def = "none: the spec's initialisers";
    else if (n == "start")
      def = "none";
    else if (n == "split")
      def = "test";
    else if (n == "batch")
      def = std::to_string(t.batch);
    else if (n == "lr")
      def = formatNumber(t.optimizer.lr) + ", " + rt::name(t.optimizer.kind) +
            ", schedule " + scheduleText(t.schedule);
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
    } else if (n == "out" && f.commands == kTrain)
      def = "runs/" + name + "; checkpoints in <out>/" + t.checkpoint.dir +
            (fs::path(t.checkpoint.dir).is_absolute() ? " (absolute: as is)"
                                                      : "");
    else if (n == "log-every")
      def = "10";
    else if (n == "device")
      def = "auto: cuda when available";
    else if (n == "precision")
      def = std::string(rt::name(t.precision)) + ", the spec's";
    else if (n == "timeout")
      def = std::to_string(p.parallel.timeoutSeconds);
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

/// Each process of a node on its own GPU: the local rank's, modulo the
/// GPUs this process sees.
static c10::DeviceIndex cudaIndexOfThisProcess() {
  const int64_t gpus = int64_t(torch::cuda::device_count());
  return c10::DeviceIndex(gpus > 0 ? localRanks().rank % gpus : 0);
}

Settings settle(const Program &p, const Options &opt) {
  Settings s;
  TrainConfig &tc = s.train;
  DataConfig &dc = s.data;
  tc = p.train;
  dc = p.data;
  if (!opt.data.empty()) {
    dc.pattern = opt.data; // files, even where the spec names a server
    // A server source has no dataset name (a ring's field, "ring", names
    // the set's ring); files hold theirs under the default one.
    if (!dc.server.empty() && (dc.field.empty() || dc.field == "ring"))
      dc.field = DataConfig{}.field;
    dc.server.clear();
    dc.serverSet.clear();
  }
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
  if (!opt.precision.empty())
    tc.precision = opt.precision == "bf16"   ? Precision::Bf16
                   : opt.precision == "fp16" ? Precision::Fp16
                                             : Precision::Fp32;
  s.parallel = p.parallel;
  if (opt.timeout > 0)
    s.parallel.timeoutSeconds = opt.timeout;
  if (tc.epochs < 1 || tc.batch < 1 || tc.seed < 0 || !(tc.optimizer.lr > 0) ||
      tc.accumulate < 1 || s.parallel.timeoutSeconds < 1)
    throw Error("the spec's train section has an invalid value (epochs " +
                std::to_string(tc.epochs) + ", batch " +
                std::to_string(tc.batch) + ", seed " + std::to_string(tc.seed) +
                ", lr " + formatNumber(tc.optimizer.lr) + ", accumulate " +
                std::to_string(tc.accumulate) + ", timeout " +
                std::to_string(s.parallel.timeoutSeconds) + ")");
  if (opt.threads)
    torch::set_num_threads(int(opt.threads));

  if (opt.device == "cuda" && !torch::cuda::is_available())
    throw UsageError("--device cuda: this LibTorch sees no CUDA device");
  s.device = (opt.device == "cuda" ||
              (opt.device == "auto" && torch::cuda::is_available()))
                 ? torch::Device(torch::kCUDA, cudaIndexOfThisProcess())
                 : torch::Device(torch::kCPU);
  if (tc.precision == Precision::Fp16 && !s.device.is_cuda())
    throw Error(
        (opt.precision.empty()
             ? "the spec's train.precision = fp16 (" + p.specFile + ")"
             : std::string("--precision fp16")) +
        ": fp16 runs on a CUDA device only (LibTorch's CPU autocast has "
        "bf16 only) and this run is on the CPU; use precision = bf16 "
        "(--precision bf16) on a CPU, or run on a GPU (--device cuda)");
  if (p.data.history != 1)
    throw Error("history = " + std::to_string(p.data.history) +
                " (several input time steps per sample) is not implemented "
                "yet");
  // forecast and evaluate: --out is their output file; the run folder
  // (where their default checkpoint is) is the default one.
  s.out = opt.out.empty() || opt.command != Command::Train ? "runs/" + p.name
                                                           : opt.out;
  return s;
}

LoaderConfig loaderConfig(const DataConfig &dc, const Options &opt) {
  MemoryConfig mem = dc.memory;
  const bool specStream = mem.mode == MemoryMode::Stream;
  if (!opt.memory.empty()) {
    if (opt.memory == "stream") {
      mem.mode = MemoryMode::Stream;
      mem.shared = false;
      if (!specStream) { // the spec's stream values do not exist
        mem.buffer = 0;
        mem.refresh = MemoryConfig().refresh;
      }
    } else {
      mem.mode = opt.memory == "lazy" ? MemoryMode::Lazy : MemoryMode::Eager;
      mem.shared = opt.memory == "shared";
    }
  }
  const bool stream = mem.mode == MemoryMode::Stream;
  if (opt.buffer > 0) {
    if (!stream)
      throw UsageError("--buffer applies to stream mode only (--memory stream "
                       "or the spec's memory = stream(...))");
    mem.buffer = opt.buffer;
  }
  if (stream && mem.buffer < 1)
    throw UsageError("--memory stream needs a buffer: give --buffer N (the "
                     "samples held in memory)");
  LoaderConfig lc = LoaderConfig::fromSpec(mem);
  if (opt.prefetch >= 0)
    lc.prefetch = opt.prefetch;
  if (opt.loaderThreads > 0)
    lc.threads = opt.loaderThreads;
  return lc;
}

} // namespace s2s::rt
