//===- RunStats.h - S2S_STATS=1: what each epoch's steps cost ---*- C++ -*-===//
//
// For benchmarks (bench/parallel): with S2S_STATS=1 in its environment,
// every process prints one line per epoch of what its training steps
// cost, measured over the step loop only (not validation, checkpoints or
// setup):
//
//   s2s-stats epoch=2 rank=0 size=2 steps=8 seconds=3.2 comm_bytes=..
//     comm_calls=.. written_bytes=.. rss_before_model_kb=.. hwm_kb=..
//     rss_anon_kb=.. rss_shmem_kb=.. pss_shmem_kb=.. allreduce_bytes=..
//     reduce_scatter_bytes=.. all_gather_bytes=.. broadcast_bytes=..
//     step_peak_bytes=.. step_start_bytes=.. first_step_peak_bytes=..
//
// comm_bytes: bytes handed to collectives (Communicator's CommStats, DDP's
// gradient buckets included); written_bytes: bytes the process passed to
// write/writev (/proc/self/io wchar), which over the step loop is what
// Gloo's TCP transport sent, plus the progress bar's few bytes;
// rss_before_model_kb: the resident set before the model was made (the
// runtime, LibTorch, the data); hwm_kb: the peak resident set so far
// (VmHWM; the allocator keeps freed memory, so it is the heap's peak);
// rss_anon_kb, rss_shmem_kb: the resident set's private and shared-memory
// parts now (a node-shared data set is shared memory, counted whole in
// every rank's rss_shmem_kb); pss_shmem_kb: this rank's share of the shared
// pages (each page divided by the processes mapping it), so its sum over a
// node's ranks is the shared memory they hold, counted once;
// allreduce_bytes ..: comm_bytes by collective; step_peak_bytes: the most
// bytes of CPU tensor storage a step allocated on top of what was alive
// when it began (its activations, gathered parameters, buckets, ...),
// the largest over the epoch's steps after the process's first
// (StorageCounter.h; the plan's "step" figure, docs/plan.md);
// step_start_bytes: the storage alive at that step's start;
// first_step_peak_bytes: the same for the process's first step, which also
// makes the gradients and the optimizer state (0 after the first epoch).
// Storage is counted in every thread: the data loader's batches assembled
// ahead (--prefetch N) count too; --prefetch 0 leaves them out.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_RUNSTATS_H
#define S2S_RUNTIME_TRAIN_RUNSTATS_H

#include <cstdint>
#include <optional>

namespace s2s::rt {

/// The process's counters at one moment.
struct RunSample {
  double seconds = 0;    ///< steady clock
  int64_t commBytes = 0; ///< handed to collectives so far
  int64_t commCalls = 0; ///< collectives so far
  int64_t written = 0;   ///< /proc/self/io wchar; -1 when unreadable
  int64_t commByKind[4] = {0, 0, 0, 0}; ///< CommStats::byKind
};

class RunStats {
public:
  /// Set when S2S_STATS is set to anything but "" or "0"; remembers the
  /// resident set now (call it just before the model is made).
  static std::optional<RunStats> fromEnvironment();

  RunSample sample() const;
  /// Around one training step: its storage peak above its start.
  void beginStep();
  void endStep();
  /// The line for `steps` steps of `epoch` (0-based) since `before`.
  void printEpoch(int64_t epoch, int64_t steps, const RunSample &before);

private:
  long rssBeforeModelKb_ = -1;
  int64_t stepStart_ = 0, stepPeak_ = 0, peakStart_ = 0; ///< this epoch
  int64_t stepsSeen_ = 0, firstStepPeak_ = 0;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_RUNSTATS_H
