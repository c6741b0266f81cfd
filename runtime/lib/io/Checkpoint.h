//===- Checkpoint.h - Training checkpoints ----------------------*- C++ -*-===//
//
// A checkpoint is a folder <dir>/ckpt-<global step> holding
//
//   model.safetensors      the parameters, named as Model::namedParameters()
//   optimizer.safetensors  the optimizer state (Optimizer::state())
//   state.json             where training stands: epoch, batch within the
//                          epoch, global and schedule step, the epoch's
//                          shuffling seed, the running loss sums, the RNG
//                          states (base64) of the model's generator and of
//                          torch's default CPU generator, program and spec,
//                          the precision and fp16's loss scale;
//                          the SHA-256 of every other file of the folder
//                          ("files"), checked on load; and the run's
//                          fingerprint (what a resume must match:
//                          train/Fingerprint.h)
//
// A sharded checkpoint (ZeRO: no process holds the whole state) holds
// instead of the two safetensors files
//
//   shard-<r>-of-<N>.safetensors  rank r's S values of each flat tensor
//                          (parameters, optimizer moments) and the
//                          optimizer's scalars
//   manifest.json          the layout: N, S, the total P, its segments
//                          (io/FlatShards.h), the parameters'
//                          names and shapes in flat order, and which
//                          tensors are flat (and the names of their whole
//                          parts)
//
// (state.json's "files" lists the shards and the manifest) every rank
// writing its file into <dir>/.tmp-ckpt-<step>-shards, rank 0
// writing the manifest and state.json and renaming the folder into place
// after all have (the strategy's barriers). loadCheckpoint assembles the
// whole state from the shards, under the names a one-process checkpoint
// has, so a run resumes on any number of processes and with any strategy.
//
// It is written as <dir>/.tmp-ckpt-<step>-<pid> and renamed into place once
// complete; <dir>/latest names the newest one and is replaced the same way
// (temp file + rename). A crash leaves at most a .tmp-* folder, which the
// next run removes; folders named ckpt-* are always complete. A file
// damaged later (overwritten bytes, a truncation) fails its checksum:
// Checkpointer::newestIntact then passes over that checkpoint to the
// previous one. Checkpoints of format 1 (before checksums) load unchecked.
//
// What a checkpoint holds for a training run is the strategy's to say
// (train/Strategy.h); this is the folder format and its atomic writes.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_CHECKPOINT_H
#define S2S_RUNTIME_IO_CHECKPOINT_H

#include "io/Safetensors.h"

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt {

/// Where training stands; enough to continue exactly where it stopped.
struct TrainState {
  std::string program;      ///< Program::name
  std::string spec;         ///< Program::specFile
  int64_t epoch = 0;        ///< the epoch to continue in (0-based)
  int64_t batch = 0;        ///< the next batch within that epoch
  int64_t globalStep = 0;   ///< optimizer steps taken
  int64_t scheduleStep = 0; ///< the learning-rate schedule's counter
  uint64_t shuffleSeed = 0; ///< permutation seed of `epoch`
  int64_t batchSize = 0;    ///< to warn when a resume changes them
  int64_t stepsPerEpoch = 0;
  int64_t trainWindows = 0;
  double epochLossSum = 0.0; ///< sum of the step losses of `epoch` so far
  int64_t epochLossCount = 0;
  double logLossSum = 0.0; ///< since the last metrics.jsonl train record
  int64_t logLossCount = 0;
  /// The precision the run trained in ("fp32", "bf16", "fp16"; "" in
  /// checkpoints written before mixed precision: fp32). Recorded, not
  /// matched: a run may resume in another precision.
  std::string precision;
  /// fp16's dynamic loss scale (optim/LossScaler.h) and its good steps in
  /// a row; 0 when the run did not scale its loss.
  double lossScale = 0.0;
  int64_t lossScaleGoodSteps = 0;
  torch::Tensor modelRng; ///< Model::generator() state (uint8)
  torch::Tensor torchRng; ///< torch's default CPU generator (uint8)
  /// What a resume must match (train/Fingerprint.h): key -> value; empty
  /// in checkpoints written before fingerprints.
  std::vector<std::pair<std::string, std::string>> fingerprint;
};

struct Checkpoint {
  std::string path; ///< the ckpt-* folder
  std::map<std::string, torch::Tensor> model, optimizer;
  /// loadOwnShard: one rank's shard file as written (S values of each flat
  /// tensor, and the scalars); `model` and `optimizer` are then empty.
  std::map<std::string, torch::Tensor> shard;
  TrainState state;
};

/// The flat layout of a sharded checkpoint (see the header).
struct ShardLayout {
  int64_t world = 1, shardValues = 0, total = 0;
  /// The flat vector's segments (io/FlatShards.h), lengths in order; one
  /// of `total` values when the manifest lists none.
  std::vector<int64_t> segments;
  /// In flat order.
  std::vector<std::pair<std::string, std::vector<int64_t>>> parameters;
  /// Flat tensor name in the shard files -> the prefix of the names of its
  /// whole parts ("adamw.m.zero.shard" -> "adamw.m."); kShardParameters
  /// -> "" is the model's parameters.
  std::vector<std::pair<std::string, std::string>> flat;
};
/// The parameters' flat tensor's name in shard files.
inline const char *const kShardParameters = "parameters";

/// Reads and checks a checkpoint folder (whole or sharded), its files
/// against their checksums. Throws s2s::rt::Error naming the file at fault.
Checkpoint loadCheckpoint(const std::string &folder);
/// Checks that `folder` is a complete checkpoint whose state.json reads
/// and whose files match their checksums. Throws Error naming the file at
/// fault.
void verifyCheckpoint(const std::string &folder);
/// A resume on the layout it was saved with: when `folder` is a sharded
/// checkpoint whose world, segments and parameters (names and shapes, in
/// order) are `layout`'s, its state and rank `rank`'s shard file only
/// (Checkpoint::shard), so no process reads the whole state; else
/// std::nullopt (read it whole with loadCheckpoint). Throws Error naming
/// the shard file when it lacks a flat tensor of S values.
std::optional<Checkpoint> loadOwnShard(const std::string &folder, int64_t rank,
                                       const ShardLayout &layout);

class Checkpointer {
public:
  /// `keep` <= 0 keeps all.
  Checkpointer(std::string dir, int64_t keep);

  const std::string &dir() const { return dir_; }

  /// Removes .tmp-* folders an interrupted save left; returns how many.
  int removeIncomplete();
  /// Complete checkpoint folders (full paths), oldest first by step.
  std::vector<std::string> list() const;
  /// The newest complete checkpoint: the one `latest` names when it is
  /// complete, else the highest-step ckpt-* folder; "" when there is none.
  std::string newest() const;
  /// The newest checkpoint that verifyCheckpoint() passes; "" when none
  /// does. The messages of the newer ones it passed over go to `damaged`.
  std::string newestIntact(std::vector<std::string> &damaged) const;

  /// Writes ckpt-<state.globalStep> atomically, points `latest` at it and
  /// removes the oldest beyond `keep`. Returns the folder. Throws
  /// s2s::rt::Error naming the path when the disk is full or the folder not
  /// writable; the previous checkpoints are then untouched.
  /// S2S_CRASH_IN_CHECKPOINT=N (tests) makes the N-th save of this process
  /// exit with status 3 after writing part of the temp folder.
  std::string save(const NamedTensors &model, const NamedTensors &optimizer,
                   const TrainState &state);

  /// A sharded save of step `step`: rank 0 calls beginSharded (a fresh
  /// temp folder), then every rank writeShard, then rank 0 commitSharded
  /// (manifest, state, rename, `latest`, keep), with barriers between.
  /// Each throws Error naming the path when a write fails.
  void beginSharded(int64_t step);
  void writeShard(int64_t step, int64_t rank, int64_t world,
                  const NamedTensors &tensors, const std::string &program);
  std::string commitSharded(const ShardLayout &layout, const TrainState &state);
  /// Removes the temp folder of a sharded save that failed.
  void abandonSharded(int64_t step);

private:
  std::filesystem::path shardedTemp(int64_t step) const;
  /// Renames the complete folder `tmp` to `name` and points `latest` at it.
  void publish(const std::filesystem::path &tmp, const std::string &name);
  /// Removes the oldest checkpoints beyond `keep`.
  void prune();
  /// The message of a failed save (`what`), after removing `tmp`.
  std::string failed(const std::filesystem::path &tmp, const std::string &what);

  std::string dir_;
  int64_t keep_;
  int64_t saves_ = 0;
};

/// Base64 (RFC 4648, padded) of bytes, and back (throws on bad input).
std::string base64Encode(const uint8_t *data, size_t size);
std::vector<uint8_t> base64Decode(const std::string &text);

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_CHECKPOINT_H
