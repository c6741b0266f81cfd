//===- Stop.h - Graceful stop on a signal -----------------------*- C++ -*-===//
//
// SIGTERM (Slurm's time limit and preemption, torchrun's stop), SIGINT
// (Ctrl-C), SIGHUP (a closed terminal) and SIGUSR1 (Slurm's --signal) ask
// the training run to stop: the handler only records the signal and says
// so on stderr; the run finishes the step it is in, writes a checkpoint,
// flushes metrics.jsonl, prints how to resume and exits with kExitStopped.
// A second signal exits at once with 128 + its number (the checkpoints
// already written stay; a checkpoint being written is left as a .tmp-*
// folder, which the next run removes).
//
// SIGXFSZ (a write past `ulimit -f`) is ignored, so the write fails with
// EFBIG and the message names the file instead of the kernel killing the
// process without a word.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_STOP_H
#define S2S_RUNTIME_TRAIN_STOP_H

namespace s2s::rt {

/// The exit status of a run stopped by a signal after saving a checkpoint
/// (EX_TEMPFAIL of sysexits.h: run the same command with --resume).
inline constexpr int kExitStopped = 75;

/// Installs the handlers (idempotent).
void installStopHandlers();

/// The first stop signal received, or 0.
int stopSignal();

/// "SIGTERM", "SIGINT", ...
const char *signalName(int signal);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_STOP_H
