//===- Resume.cpp - Where a run starts: afresh or from a checkpoint -------===//

#include "train/Resume.h"

#include "dist/Launch.h"

#include "data/Loader.h"
#include "metrics/MetricsLog.h"
#include "optim/LossScaler.h"
#include "s2s/runtime/Error.h"
#include "support/Hash.h"
#include "support/Text.h"
#include "train/Banner.h"
#include "train/Fingerprint.h"
#include "train/Options.h"
#include "train/Strategy.h"
#include "train/TrainData.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;

namespace s2s::rt {

std::string checkpointDir(const Settings &s) {
  const std::string &dir = s.train.checkpoint.dir;
  return (fs::path(dir).is_absolute() ? fs::path(dir) : fs::path(s.out) / dir)
      .string();
}

Checkpointer openCheckpoints(const Settings &s) {
  const std::string dir = checkpointDir(s);
  Checkpointer ckpt(dir, s.train.checkpoint.keep);
  if (int n = ckpt.removeIncomplete())
    std::printf("note: removed %d incomplete checkpoint folder(s) in '%s' "
                "(left by an interrupted save)\n",
                n, dir.c_str());
  return ckpt;
}

namespace {

/// The newest intact checkpoint of `ckpt`, saying which newer ones are
/// damaged and passed over.
std::string newestIntact(const Checkpointer &ckpt) {
  std::vector<std::string> damaged;
  std::string from = ckpt.newestIntact(damaged);
  for (const std::string &why : damaged)
    std::printf("warning: %s\n", why.c_str());
  if (!damaged.empty())
    std::printf("warning: %s\n",
                from.empty() ? "no intact checkpoint is left"
                             : ("passing over the damaged checkpoint(s): "
                                "using the newest intact one, '" +
                                from + "'")
                                   .c_str());
  return from;
}

/// --resume DIR: DIR itself, the newest intact ckpt-* in it, or the newest
/// intact one in its checkpoint folder.
std::string resumeDirCheckpoint(const std::string &dir,
                                const std::string &ckptSubdir,
                                const char *flag = "--resume") {
  const fs::path d(dir);
  std::error_code ec;
  if (!fs::is_directory(d, ec))
    throw Error(std::string(flag) + ": '" + dir + "' is not a folder");
  std::string from;
  if (fs::is_regular_file(d / "state.json", ec))
    from = d.string(); // named: used as it is, or refused when damaged
  else if (!Checkpointer(d.string(), 0).list().empty())
    from = newestIntact(Checkpointer(d.string(), 0));
  else
    from = newestIntact(Checkpointer((d / ckptSubdir).string(), 0));
  if (from.empty())
    throw Error(std::string(flag) + ": no complete checkpoint in '" + dir +
                "' (looked for ckpt-* folders there and in '" +
                (d / ckptSubdir).string() + "')");
  return from;
}

} // namespace

std::string checkpointToRead(const Settings &s, const std::string &dir,
                             const char *flag) {
  const Checkpointer ckpt(checkpointDir(s), 0);
  const std::string from =
      !dir.empty() ? resumeDirCheckpoint(dir, s.train.checkpoint.dir, flag)
                   : newestIntact(ckpt);
  if (from.empty())
    throw Error(std::string(flag) + ": no checkpoint in '" + ckpt.dir() +
                "'; name one with " + flag + " DIR");
  return from;
}

NamedTensors checkpointParameters(const Program &p, const std::string &from) {
  const Checkpoint c = loadCheckpoint(from);
  NamedTensors params;
  for (const ParameterSpec &spec : p.parameters)
    params.emplace_back(spec.path,
                        torch::empty(spec.shape, torch::device(torch::kMeta)));
  checkCheckpointParameters(c, from, params, modelText(p));
  for (auto &np : params)
    np.second = c.model.at(np.first).contiguous();
  return params;
}

std::string findResume(const Options &o, const Settings &s,
                       const Checkpointer &ckpt) {
  if (o.resume) {
    if (!o.resumeDir.empty()) {
      std::string from =
          resumeDirCheckpoint(o.resumeDir, s.train.checkpoint.dir);
      // --out names another run folder: DIR is only read, and the
      // continued run must not mix with checkpoints already there.
      const std::vector<std::string> have = ckpt.list();
      const fs::path mine = fs::absolute(ckpt.dir()).lexically_normal();
      if (!have.empty() &&
          fs::absolute(from).lexically_normal().parent_path() != mine)
        throw Error("--out '" + s.out + "' already holds checkpoints (" +
                    fs::path(have.back()).filename().string() +
                    ") of another run: continuing '" + from +
                    "' there would mix the two; give an empty --out, or "
                    "leave --out out to continue in '" +
                    o.resumeDir + "'");
      return from;
    }
    std::string from = newestIntact(ckpt);
    if (from.empty())
      std::printf("note: --resume: no checkpoint in '%s' yet; starting from "
                  "the beginning\n",
                  ckpt.dir().c_str());
    return from;
  }
  // A run the launcher restarted (torchrun --max_restarts, Slurm --requeue)
  // re-runs the same command line: it resumes by itself.
  if (const int64_t restarts = rendezvous().restartCount; restarts > 0) {
    std::string from = newestIntact(ckpt);
    std::printf(
        "note: restart %lld of this job (%s): %s\n", (long long)restarts,
        std::getenv("TORCHELASTIC_RESTART_COUNT") ? "TORCHELASTIC_RESTART_COUNT"
                                                  : "SLURM_RESTART_COUNT",
        from.empty() ? "no checkpoint yet; starting from the beginning"
                     : ("resuming from " + from).c_str());
    return from;
  }
  if (std::vector<std::string> have = ckpt.list(); !have.empty())
    throw Error("the checkpoint folder '" + ckpt.dir() +
                "' already holds checkpoints (newest: " +
                fs::path(have.back()).filename().string() +
                "); pass --resume to continue that run, or --out DIR to start "
                "a new one elsewhere");
  return "";
}

uint64_t shuffleSeed(int64_t seed, int64_t epoch) {
  return splitmix64(splitmix64(uint64_t(seed)) ^ uint64_t(epoch + 1));
}

TrainState freshState(const Program &p, const TrainData &data,
                      const Settings &s) {
  TrainState st;
  st.program = p.name;
  st.spec = p.specFile;
  st.batchSize = s.train.batch;
  st.stepsPerEpoch = data.stepsPerEpoch;
  st.trainWindows = data.windows;
  st.fingerprint = runFingerprint(p, s, data);
  st.precision = name(s.train.precision);
  st.lossScale = s.train.precision == Precision::Fp16 ? kInitialLossScale : 0;
  return st;
}

namespace {

/// Warnings when the continued run cannot match an uninterrupted one.
void warnOnChanges(const TrainState &s, const Settings &set,
                   const TrainData &data) {
  const int64_t B = set.train.batch;
  if (s.batchSize != B || s.stepsPerEpoch != data.stepsPerEpoch ||
      s.trainWindows != data.windows)
    std::printf("warning: the checkpoint was written with batch %lld, %lld "
                "steps/epoch and %lld training windows; now %lld, %lld and "
                "%lld: the continued run will not match an uninterrupted "
                "one\n",
                (long long)s.batchSize, (long long)s.stepsPerEpoch,
                (long long)s.trainWindows, (long long)B,
                (long long)data.stepsPerEpoch, (long long)data.windows);
  // Another precision is a legitimate change (fp32 weights train on in
  // bf16), said once.
  const std::string then = s.precision.empty() ? "fp32" : s.precision;
  if (then != name(set.train.precision))
    std::printf("note: the checkpoint was trained in %s; this run continues "
                "in %s\n",
                then.c_str(), name(set.train.precision));
  if (s.batch > 0 && s.shuffleSeed != shuffleSeed(set.train.seed, s.epoch))
    std::printf("warning: the checkpoint's shuffling seed differs (another "
                "--seed?); the rest of epoch %lld is shuffled anew\n",
                (long long)s.epoch + 1);
}

} // namespace

TrainState resume(const std::string &from, const Program &p, const Settings &s,
                  const TrainData &data, Strategy &strategy, Model &model,
                  Optimizer &optim, const std::string &metricsPath) {
  Checkpoint c = strategy.readCheckpoint(from);
  if (c.state.program != p.name)
    throw Error("'" + from + "' is a checkpoint of program '" +
                c.state.program + "', not of '" + p.name + "'");
  const TrainState fresh = freshState(p, data, s);
  if (const std::vector<std::string> diff =
          fingerprintDifferences(c.state.fingerprint, fresh.fingerprint);
      !diff.empty())
    throw Error("'" + from +
                "' was written by a run that differs from this "
                "one:\n  " +
                join(diff, "\n  ") +
                "\ncontinuing it would train its weights on what they were "
                "not trained for; to start a new run from its weights only, "
                "give --init " +
                from + " (and another --out)");
  if (c.state.fingerprint.empty())
    std::printf("note: '%s' records no fingerprint (an older s2s wrote it): "
                "whether it matches this program's data is not checked\n",
                from.c_str());
  strategy.loadCheckpoint(c, from, model, optim, modelText(p));
  warnOnChanges(c.state, s, data);
  TrainState st = c.state;
  st.program = fresh.program;
  st.spec = fresh.spec;
  st.batchSize = fresh.batchSize;
  st.stepsPerEpoch = fresh.stepsPerEpoch;
  st.trainWindows = fresh.trainWindows;
  st.fingerprint = fresh.fingerprint;
  st.precision = fresh.precision;
  // fp16 continues the checkpoint's loss scale; one that did not scale its
  // loss starts fp16 at the initial scale.
  if (s.train.precision != Precision::Fp16 || st.lossScale <= 0) {
    st.lossScale = fresh.lossScale;
    st.lossScaleGoodSteps = 0;
  }
  st.batch = std::min(st.batch, data.stepsPerEpoch);
  std::printf("resuming from %s: epoch %lld, step %lld/%lld, global step "
              "%lld\n",
              from.c_str(), (long long)st.epoch + 1, (long long)st.batch,
              (long long)data.stepsPerEpoch, (long long)st.globalStep);
  if (data.config.mode == LoaderConfig::Mode::Stream)
    std::printf("note: stream mode draws its batches from a buffer filled "
                "in the background: the continued run will not repeat the "
                "uninterrupted one's batches\n");
  std::fflush(stdout);
  if (strategy.writesOutput()) // one process owns metrics.jsonl
    if (const std::string kept = truncateMetrics(metricsPath, st.globalStep);
        !kept.empty())
      std::printf("note: '%s' held records past global step %lld (written "
                  "after that checkpoint); they are dropped from it, and the "
                  "file as it was is kept as '%s'\n",
                  metricsPath.c_str(), (long long)st.globalStep, kept.c_str());
  return st;
}

} // namespace s2s::rt
