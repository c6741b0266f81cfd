//===- Train.cpp - s2s::rt::main: the phases of a training run
//-------------===//
//
// What every generated program runs, phase by phase:
//
//   settle        the command line over the spec's values (Options.h)
//   strategy      how the run is spread over processes (Strategy.h)
//   folders       the run and checkpoint folders, which checkpoint
//                 --resume means (Resume.h)
//   data          the training and validation loaders (TrainData.h)
//   model         the parameters, made and checked (Materialize.h), or
//                 imported (--init, Weights.h), the strategy's
//                 preparation, the optimizer
//   banner        what the run is (Banner.h)
//   resume        the checkpoint loaded, metrics.jsonl cut back (Resume.h)
//   epochs        steps (Step.h) with metrics.jsonl records and the
//                 progress bar, validation (Validation.h), checkpoints;
//                 a stop signal ends the run after a step with a
//                 checkpoint (Stop.h); a failed save warns and training
//                 goes on, up to kMaxFailedSaves in a row
//
// --resume continues from the newest checkpoint at the exact batch it
// stopped at (except in stream mode, whose batches depend on I/O timing).
//
//===----------------------------------------------------------------------===//

#include "data/Ring.h"
#include "io/Checkpoint.h"
#include "metrics/MetricsLog.h"
#include "metrics/Progress.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Program.h"
#include "support/Json.h"
#include "support/Text.h"
#include "train/Banner.h"
#include "train/Forecast.h"
#include "train/Materialize.h"
#include "train/Options.h"
#include "train/Precision.h"
#include "train/Resume.h"
#include "train/RunFolder.h"
#include "train/RunStats.h"
#include "train/Step.h"
#include "train/Stop.h"
#include "train/Strategy.h"
#include "train/TrainData.h"
#include "train/Validation.h"
#include "train/Weights.h"

#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

namespace fs = std::filesystem;

namespace s2s::rt {
namespace {

/// The values of the whole model, as the manifest declares it (a tensor
/// rank holds a slice; its checkpoints hold the whole).
int64_t wholeModelValues(const Program &p) {
  int64_t n = 0;
  for (const ParameterSpec &s : p.parameters) {
    int64_t k = 1;
    for (int64_t d : s.shape)
      k *= d;
    n += k;
  }
  return n;
}

/// Consecutive failed checkpoint saves (a full disk that stays full, a
/// folder gone) after which the run ends; each failure before warns and
/// training goes on to the next cadence.
constexpr int kMaxFailedSaves = 3;

/// A run stopped by a signal (Stop.h) after the step it was in.
struct Stopped {
  int signal = 0;
  bool saved = false; ///< its checkpoint was written
};

/// What an epoch's steps leave for its record.
struct EpochSteps {
  int64_t first = 0;          ///< the first batch (a resumed epoch's later)
  bool checkpointDue = false; ///< a step checkpoint fell on its last step
  double seconds = 0, dataWait = 0;
};

/// A training run: the phases that set it up, then the epoch loop.
class Trainer {
public:
  Trainer(const Program &p, Options o, int argc, char **argv)
      : P(p), opt(std::move(o)), argc(argc), argv(argv) {}
  int run();

private:
  void setUp();
  void onRankZero(const std::function<void()> &part);
  void epochs();
  int agreedStopSignal();
  void stopIfAsked(Progress *progress);
  int reportStop(const Stopped &stop);
  EpochSteps trainEpoch(int64_t epoch, double &lr);
  void logTrainLoss(int64_t epoch, double lr);
  void checkpointAfterStep(int64_t b, Progress &progress, bool &due);
  [[noreturn]] void crash(Progress &progress);
  void finishEpoch(int64_t epoch, const EpochSteps &steps, double lr);
  bool saveCheckpoint();

  const Program &P;
  Options opt;
  int argc;
  char **argv; ///< the command line, for the resume hint
  Settings set;
  std::unique_ptr<Strategy> strategy;
  std::vector<FileLock> locks; ///< the run folder's (RunFolder.h)
  std::optional<Checkpointer> ckpt;
  std::string resumeFrom, metricsPath;
  TrainData data;
  std::unique_ptr<Model> model;
  std::unique_ptr<Optimizer> optim;
  std::unique_ptr<TrainStep> step;
  std::unique_ptr<Validation> validation;
  TrainState st;
  MetricsLog log;
  int64_t crashAtStep = 0;
  int64_t savedStep = -1; ///< the global step of the last checkpoint saved
  int failedSaves = 0;    ///< in a row
  std::optional<RunStats> runStats; ///< S2S_STATS=1 (RunStats.h)
};

/// Runs `part` in the process that writes the run's output; every process
/// throws when it threw.
void Trainer::onRankZero(const std::function<void()> &part) {
  std::string failure;
  if (strategy->writesOutput()) {
    try {
      part();
    } catch (const Error &e) {
      failure = e.what();
    }
  }
  std::vector<double> failed = {failure.empty() ? 0.0 : 1.0};
  strategy->sumOverProcesses(failed);
  if (!failure.empty())
    throw Error(failure);
  if (failed[0] > 0)
    throw Error("rank 0 stopped the run before training (its message says "
                "why)");
}

void Trainer::setUp() {
  set = settle(P, opt);
  // --resume DIR continues in DIR's run folder unless --out names another.
  if (opt.out.empty() && !opt.resumeDir.empty())
    set.out = runFolderOf(opt.resumeDir, set.train.checkpoint.dir, set.out);
  strategy = makeStrategy(set.parallel, set.device);
  onRankZero([&] { locks = lockRunFolders(set); });
  torch::manual_seed(uint64_t(set.train.seed));
  // LibTorch sets up its intra-op threads lazily, at the first parallel
  // loop of each thread; ops before that (the first step's) can split
  // their work differently and round differently. Set them up now, so a
  // run's numbers do not depend on what ran before its first step.
  at::init_num_threads();

  ckpt.emplace(openCheckpoints(set));
  metricsPath = (fs::path(set.out) / "metrics.jsonl").string();
  resumeFrom = findResume(opt, set, *ckpt);

  data = openData(P, set, opt);

  runStats = RunStats::fromEnvironment(); // before the model: its baseline
  model =
      std::make_unique<Model>(uint64_t(set.train.seed), set.device, set.dtype);
  model->context().latitude = data.train->latitude().to(set.device);
  model->context().longitude = data.train->longitude().to(set.device);
  model->context().channelOffset = data.train->mean().to(set.device);
  model->context().channelScale = data.train->stddev().to(set.device);
  strategy->materialize(P, *model);
  // --init: imported weights, before the strategy spreads them. A run
  // that resumes (a launcher's restart of the same command line) has
  // trained past them.
  if (resumeFrom.empty())
    loadInitialWeights(P, set, opt, *model);
  else if (!opt.initFile.empty())
    std::printf("note: --init %s is not read: the run resumes from %s\n",
                opt.initFile.c_str(), resumeFrom.c_str());
  strategy->prepareModel(*model);
  optim = strategy->makeOptimizer(set.train.optimizer, *model);
  onRankZero([&] {
    checkCheckpointRoom(
        set, checkpointBytesEstimate(set, wholeModelValues(P),
                                     int64_t(c10::elementSize(set.dtype))));
  });
  step = std::make_unique<TrainStep>(P, set.train, *strategy, *model, *optim,
                                     data.stepsPerEpoch, data.totalSteps,
                                     "the data's grid " + data.gridText() +
                                         " (file '" + data.firstFile + "')");

  printBanner(P, set, data, wholeModelValues(P), strategy->name());
  if (const std::string where = strategy->placement(*optim); !where.empty())
    std::printf("%s\n", where.c_str());
  if (const std::string line = precisionLine(
          P, set, *model, data.train->batch() / set.train.accumulate,
          data.channels, data.lat, data.lon);
      !line.empty())
    std::printf("%s\n", line.c_str());
  std::fflush(stdout);

  st = freshState(P, data, set);
  if (!resumeFrom.empty())
    st = resume(resumeFrom, P, set, data, *strategy, *model, *optim,
                metricsPath);
  if (strategy->writesOutput()) {
    // A fresh start over the metrics of a run that never saved a
    // checkpoint: keep them aside rather than overwrite them.
    if (resumeFrom.empty())
      if (const std::string kept = truncateMetrics(metricsPath, 0);
          !kept.empty())
        std::printf("note: '%s' held the records of an earlier run that saved "
                    "no checkpoint; this run starts it afresh, and the file "
                    "as it was is kept as '%s'\n",
                    metricsPath.c_str(), kept.c_str());
    log.open(metricsPath, !resumeFrom.empty());
  }
}

int Trainer::run() {
  setUp();
  const TrainConfig &tc = set.train;
  if (st.epoch >= tc.epochs) {
    std::printf("%s: training already finished (%lld of %lld epochs); nothing "
                "to do (raise --epochs to go on)\n",
                P.name.c_str(), (long long)st.epoch, (long long)tc.epochs);
    return 0;
  }
  validation = std::make_unique<Validation>(
      P, set, data,
      opt.maps ? (fs::path(set.out) / "maps").string() : std::string());
  if (const char *env = std::getenv("S2S_CRASH_AT_STEP"))
    crashAtStep = std::atoll(env);

  try {
    epochs();
  } catch (const Stopped &stop) {
    return reportStop(stop);
  }
  if (savedStep != st.globalStep) {
    const std::string newest = ckpt->newest();
    throw Error("the final checkpoint (global step " +
                std::to_string(st.globalStep) +
                ") could not be saved; the newest one is " +
                (newest.empty() ? std::string("none") : "'" + newest + "'") +
                ": free room in '" + ckpt->dir() +
                "' and resume from it with --resume");
  }
  if (const std::string report = strategy->finalReport(); !report.empty())
    std::printf("%s\n", report.c_str());
  if (strategy->processes() > 1 || runStats)
    std::printf("%s\n", heldReport(*strategy, strategy->held(*optim)).c_str());
  return 0;
}

void Trainer::epochs() {
  // From here on a signal stops the run after a step, with a checkpoint;
  // before, there is nothing to save and it ends the run at once.
  installStopHandlers();
  double lr = step->learningRate(st);
  for (int64_t epoch = st.epoch; epoch < set.train.epochs; ++epoch) {
    const EpochSteps steps = trainEpoch(epoch, lr);
    finishEpoch(epoch, steps, lr);
    stopIfAsked(nullptr);
  }
}

/// The stop signal of this process or, in a multi-process run, of any:
/// every process stops after the same step.
int Trainer::agreedStopSignal() {
  int signal = stopSignal();
  if (strategy->processes() > 1) {
    std::vector<double> v = {signal ? 1.0 : 0.0, double(signal)};
    strategy->sumOverProcesses(v);
    if (signal == 0 && v[0] > 0)
      signal = int(v[1] / v[0]);
  }
  return signal;
}

/// Saves a checkpoint of where the run stands (unless it just did) and
/// ends the epoch loop when a stop signal came.
void Trainer::stopIfAsked(Progress *progress) {
  const int signal = agreedStopSignal();
  if (signal == 0)
    return;
  if (progress)
    progress->finish();
  const bool saved = savedStep == st.globalStep || saveCheckpoint();
  throw Stopped{signal, saved};
}

/// What a stopped run prints; its exit status.
int Trainer::reportStop(const Stopped &stop) {
  std::fflush(stdout);
  const std::string newest = ckpt->newest();
  if (strategy->writesOutput()) {
    std::fprintf(stderr,
                 "%s: stopped by %s after global step %lld (epoch %lld, "
                 "batch %lld of %lld)\n",
                 P.name.c_str(), signalName(stop.signal),
                 (long long)st.globalStep, (long long)st.epoch + 1,
                 (long long)st.batch, (long long)data.stepsPerEpoch);
    if (stop.saved)
      std::fprintf(stderr,
                   "checkpoint '%s' holds it; metrics are in '%s'\nresume "
                   "with: %s\n",
                   newest.c_str(), metricsPath.c_str(),
                   resumeCommandLine(argc, argv, set.out).c_str());
    else
      std::fprintf(stderr,
                   "error: its checkpoint could not be written; the newest "
                   "one is %s\n",
                   newest.empty() ? "none" : ("'" + newest + "'").c_str());
  }
  std::fflush(stderr);
  return stop.saved ? kExitStopped : 1;
}

EpochSteps Trainer::trainEpoch(int64_t epoch, double &lr) {
  const TrainConfig &tc = set.train;
  BatchLoader &train = *data.train;
  const bool continuing = epoch == st.epoch && st.batch > 0;
  const uint64_t seedOfEpoch =
      continuing ? st.shuffleSeed : shuffleSeed(tc.seed, epoch);
  if (!continuing) {
    st.epochLossSum = 0.0;
    st.epochLossCount = 0;
  }
  st.epoch = epoch;
  st.shuffleSeed = seedOfEpoch;
  EpochSteps out;
  out.first = continuing ? st.batch : 0;
  // The loader's order depends on (seed, epoch) only: resuming at batch
  // `first` gives the batches the uninterrupted run had.
  train.startEpoch(epoch, out.first);
  const std::optional<RingStats> ring = ringStats(train);
  if (ring && epoch > 0 && strategy->writesOutput())
    std::printf("data: ring of %lld samples: %lld appended since the last "
                "epoch; the last epoch drew %lld distinct samples, %lld of "
                "them appended during training\n",
                (long long)ring->samples, (long long)ring->appended,
                (long long)ring->drawn, (long long)ring->drawnNew);
  else if (const int64_t added = train.stats().samplesAdded;
           added > 0 && strategy->writesOutput())
    std::printf("data: %lld new samples on the data server since the last "
                "epoch (%lld windows now)\n",
                (long long)added, (long long)train.size());
  const double wait0 = train.stats().waitSeconds;
  const RunSample before = runStats ? runStats->sample() : RunSample{};
  Progress progress("epoch " + std::to_string(epoch + 1) + "/" +
                        std::to_string(tc.epochs),
                    data.stepsPerEpoch, out.first);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t b = out.first; b < data.stepsPerEpoch; ++b) {
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
                  " of " + std::to_string(data.stepsPerEpoch) + " batches");
    if (runStats)
      runStats->beginStep();
    step->run(*batch, epoch, b, st, lr);
    if (runStats)
      runStats->endStep();
    if (st.globalStep % opt.logEvery == 0)
      logTrainLoss(epoch, lr);
    progress.update(b + 1, st.epochLossSum / double(st.epochLossCount));
    checkpointAfterStep(b, progress, out.checkpointDue);
    if (crashAtStep > 0 && st.globalStep == crashAtStep)
      crash(progress);
    stopIfAsked(&progress);
  }
  progress.finish();
  if (runStats)
    runStats->printEpoch(epoch, data.stepsPerEpoch - out.first, before);
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  out.dataWait = train.stats().waitSeconds - wait0;
  return out;
}

void Trainer::logTrainLoss(int64_t epoch, double lr) {
  std::vector<double> sums = {st.logLossSum, double(st.logLossCount)};
  strategy->sumOverProcesses(sums);
  if (strategy->writesOutput())
    log.write("{\"kind\":\"train\",\"epoch\":" + std::to_string(epoch + 1) +
              ",\"step\":" + std::to_string(st.globalStep) +
              ",\"loss\":" + jsonNumber(sums[0] / sums[1]) +
              ",\"lr\":" + jsonNumber(lr) + "}");
  st.logLossSum = 0.0;
  st.logLossCount = 0;
}

/// A step checkpoint on the epoch's last step waits for the validation.
void Trainer::checkpointAfterStep(int64_t b, Progress &progress, bool &due) {
  const int64_t every = set.train.checkpoint.everySteps;
  if (every <= 0 || st.globalStep % every != 0)
    return;
  if (b + 1 < data.stepsPerEpoch) {
    progress.finish();
    saveCheckpoint();
  } else {
    due = true;
  }
}

/// S2S_CRASH_AT_STEP (tests): exit as a killed run would, after the step.
void Trainer::crash(Progress &progress) {
  progress.finish();
  std::fflush(stdout);
  std::fprintf(stderr, "S2S_CRASH_AT_STEP: exiting after step %lld\n",
               (long long)st.globalStep);
  std::fflush(stderr);
  std::_Exit(3);
}

void Trainer::finishEpoch(int64_t epoch, const EpochSteps &steps, double lr) {
  const TrainConfig &tc = set.train;
  std::vector<double> sums = {st.epochLossSum, double(st.epochLossCount)};
  strategy->sumOverProcesses(sums);
  const double trainLoss = sums[1] > 0 ? sums[0] / sums[1] : NAN;
  const int64_t stepsRun = data.stepsPerEpoch - steps.first;
  std::string record =
      "{\"kind\":\"epoch\",\"epoch\":" + std::to_string(epoch + 1) +
      ",\"step\":" + std::to_string(st.globalStep) +
      ",\"train_loss\":" + jsonNumber(trainLoss) + ",\"lr\":" + jsonNumber(lr) +
      ",\"seconds\":" + jsonNumber(steps.seconds) +
      ",\"data_wait_s\":" + jsonNumber(steps.dataWait);
  std::printf("epoch %lld/%lld  train loss %.6g  lr %.3g  %lld steps in %.3g s "
              "(%.1f steps/s), data wait %.2f s\n",
              (long long)epoch + 1, (long long)tc.epochs, trainLoss, lr,
              (long long)stepsRun, steps.seconds,
              steps.seconds > 0 ? double(stepsRun) / steps.seconds : 0.0,
              steps.dataWait);
  if (set.train.precision == Precision::Fp16) {
    std::printf("  fp16 loss scale %g; %lld step%s skipped so far by this run "
                "(gradients not finite)\n",
                st.lossScale, (long long)step->skippedSteps(),
                step->skippedSteps() == 1 ? "" : "s");
    record += ",\"loss_scale\":" + jsonNumber(st.lossScale);
  }
  if (validation->enabled())
    record += validation->run(*model, *strategy, epoch + 1);
  std::fflush(stdout);
  if (strategy->writesOutput())
    log.write(record + "}");

  st.epoch = epoch + 1;
  st.batch = 0;
  st.epochLossSum = 0.0;
  st.epochLossCount = 0;
  st.shuffleSeed = shuffleSeed(tc.seed, epoch + 1);
  const bool lastEpoch = epoch + 1 == tc.epochs;
  if (steps.checkpointDue || lastEpoch ||
      (tc.checkpoint.everyEpochs > 0 &&
       (epoch + 1) % tc.checkpoint.everyEpochs == 0))
    saveCheckpoint();
}

/// True when the checkpoint was written; a failure warns (the previous
/// checkpoints are kept) and training goes on, unless it is the
/// kMaxFailedSaves-th in a row.
bool Trainer::saveCheckpoint() {
  try {
    const std::string path =
        strategy->saveCheckpoint(*ckpt, *model, *optim, st);
    if (!path.empty())
      std::fprintf(stderr, "saved %s\n", path.c_str());
    savedStep = st.globalStep;
    failedSaves = 0;
    return true;
  } catch (const Error &e) {
    if (++failedSaves >= kMaxFailedSaves)
      throw Error(std::string(e.what()) + "\n" +
                  std::to_string(kMaxFailedSaves) +
                  " checkpoints in a row failed: the run stops; make room "
                  "in (or fix) '" +
                  ckpt->dir() + "' and resume with --resume");
    if (strategy->writesOutput())
      std::fprintf(stderr,
                   "warning: the checkpoint of global step %lld failed: %s\n"
                   "warning: training goes on and tries again at the next "
                   "checkpoint; %d failures in a row end the run\n",
                   (long long)st.globalStep, e.what(), kMaxFailedSaves);
    return false;
  }
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
    if (o.command == Command::Forecast)
      return forecast(program, o);
    if (o.command == Command::Evaluate)
      return evaluate(program, o);
    if (!o.exportFile.empty())
      return exportWeights(program, o);
    if (o.resume && !o.initFile.empty())
      throw UsageError("--init starts a run from imported weights and "
                       "--resume continues one from its checkpoint: give "
                       "one of them");
    return Trainer(program, std::move(o), argc, argv).run();
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
