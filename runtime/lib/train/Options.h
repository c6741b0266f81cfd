//===- Options.h - The training program's command line ----------*- C++ -*-===//
//
// What a user can change without recompiling: the data, the schedule's
// length, the batch, the learning rate, the seed, how the data is held,
// where the run goes and whether it resumes; --help prints every option
// with the spec's value as its default. settle() merges the options into
// the program's values.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_OPTIONS_H
#define S2S_RUNTIME_TRAIN_OPTIONS_H

#include "data/Loader.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Program.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace s2s::rt {

/// A bad command line: reported like Error, but exit status 2.
struct UsageError : Error {
  using Error::Error;
};

/// What the program does: train (the default), forecast from a start
/// time, or score rollouts of a split (Forecast.h).
enum class Command { Train, Forecast, Evaluate };

struct Options {
  Command command = Command::Train;
  bool help = false;
  bool maps = true;
  std::string data, stats, out, device = "auto";
  std::string precision; ///< "": the spec's
  bool resume = false;
  std::string resumeDir;
  std::string exportFile; ///< --export: write the weights and exit
  std::string initFile;   ///< --init: start from these weights
  std::string map;        ///< --map: the name map of --init and --export
  bool initPartial = false;
  std::string checkpoint;     ///< forecast/evaluate: the weights' checkpoint
  std::string start;          ///< forecast: the start time, as written
  std::string split = "test"; ///< evaluate: the split scored
  /// train: --out is the run folder, --steps the steps per epoch;
  /// forecast/evaluate: the output file and the lead steps.
  int64_t epochs = 0, steps = 0, batch = 0, seed = -1, threads = 0,
          logEvery = 10, timeout = 0;
  double lr = 0.0;
  std::string memory;                                   ///< "": the spec's
  int64_t prefetch = -1, buffer = 0, loaderThreads = 0; ///< -1/0: the spec's
};

/// Parses the command line (argv[1..]: an optional command, then
/// options); throws UsageError naming the flag.
Options parseArgs(int argc, char **argv);

/// --help: every option with the spec's value as its default.
void printUsage(const Program &p, const char *argv0);

/// The program's values with the command line's overrides, checked, and
/// where the run goes.
struct Settings {
  TrainConfig train;
  DataConfig data;
  ParallelConfig parallel;
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat32;
  std::string out; ///< the run folder
};

/// Merges `o` into the program's values and applies the process-wide ones
/// (threads). Throws Error for an invalid train section or fp16 on a CPU,
/// UsageError for --device cuda without a CUDA device.
Settings settle(const Program &p, const Options &o);

/// The command line that resumes this run in `out` (quoted for a shell):
/// argv without --init, --map, --init-partial, --resume and --out, then
/// `--out OUT --resume`.
std::string resumeCommandLine(int argc, char **argv, const std::string &out);

/// The spec's memory arguments with the command line's overrides.
LoaderConfig loaderConfig(const DataConfig &dc, const Options &opt);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_OPTIONS_H
