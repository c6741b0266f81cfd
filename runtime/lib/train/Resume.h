//===- Resume.h - Where a run starts: afresh or from a checkpoint -*- C++
//-*-===//
//
// Before the data is opened, which checkpoint --resume means (the run's
// newest, or one given as a ckpt-* folder, a folder of them or a run
// folder), and the refusal to start afresh over existing checkpoints;
// after the model exists, the checkpoint loaded into it, the optimizer and
// the training state, and metrics.jsonl cut back to the checkpoint's step.
// A resumed run continues at the exact batch it stopped at (except in
// stream mode, whose batches depend on I/O timing).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_RESUME_H
#define S2S_RUNTIME_TRAIN_RESUME_H

#include "io/Checkpoint.h"
#include "optim/Optim.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <cstdint>
#include <string>

namespace s2s::rt {

struct Options;
struct Settings;
struct TrainData;
class Strategy;

/// The checkpoint folder of a run: the spec's checkpoint dir, under the run
/// folder unless absolute.
std::string checkpointDir(const Settings &s);

/// The run's checkpoints, after removing the folders an interrupted save
/// left (with a note).
Checkpointer openCheckpoints(const Settings &s);

/// The checkpoint to read weights from (--export, forecast, evaluate):
/// `dir` (a ckpt-* folder, a folder of them or a run folder) when given,
/// else the run's newest. Throws Error naming `flag` when there is none.
std::string checkpointToRead(const Settings &s, const std::string &dir,
                             const char *flag);

/// The parameters of checkpoint `from`, checked against the program's
/// manifest (names and shapes), in manifest order; sharded checkpoints are
/// assembled. Throws Error naming the checkpoint.
NamedTensors checkpointParameters(const Program &p, const std::string &from);

/// The checkpoint to resume from ("" for a fresh start). Throws Error when
/// --resume names no checkpoint, or a fresh run would mix with existing
/// checkpoints.
std::string findResume(const Options &o, const Settings &s,
                       const Checkpointer &ckpt);

/// The permutation seed of `epoch` (the loader's order depends on it only).
uint64_t shuffleSeed(int64_t seed, int64_t epoch);

/// The state of a fresh run.
TrainState freshState(const Program &p, const TrainData &data,
                      const Settings &s);

/// Loads checkpoint `from` into the model and optimizer (through the
/// strategy), warns when the batch, epoch length or seed changed, cuts
/// metrics.jsonl back to the checkpoint's step and returns the state to
/// continue from.
TrainState resume(const std::string &from, const Program &p, const Settings &s,
                  const TrainData &data, Strategy &strategy, Model &model,
                  Optimizer &optim, const std::string &metricsPath);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_RESUME_H
