//===- Loader.h - Batches of windows, in every memory mode ------*- C++ -*-===//
//
// What the training loop iterates over, whichever way the data is held
// (the spec's `memory = ...`, overridable on the command line):
//
//   in_memory()                 eager: the split read before training
//   in_memory(lazy = true)      lazy: the first batch read, the rest on
//                               demand; start-up independent of data size
//   in_memory(shared = true)    one copy per node in POSIX shared memory,
//                               loaded by local rank 0, attached by the rest
//   in_memory(prefetch = N)     N batches assembled ahead by background
//                               threads (read, normalise, stack); 0 = none
//   stream(buffer = N, refresh = f)
//                               a buffer of N samples refreshed from the
//                               files in the background (a fraction f per
//                               pass), batches drawn shuffled from it;
//                               memory bounded for any data size
//
// Each rank sees a disjoint, reproducible part of every epoch (Sampler.h's
// epochIndices: with dropLast = false the epoch is padded to a multiple of
// the world size by repeating its first windows, so a few windows are seen
// twice; with dropLast = true its tail is dropped). Batches come in a
// deterministic order for a seed (exact resume from (epoch, batch)), except
// in stream mode, whose order depends on I/O timing by design: which
// windows are in the buffer when a batch is drawn depends on how fast the
// reader threads got them from the files.
//
// Eager, shared and lazy modes give the same batches, bit for bit, as
// Dataset::batch for the same indices. Lazy mode reads, per batch, the
// frames its windows need (each frame once, straight into the batch),
// checks them finite (Dataset's message, naming file, channel and time
// index) and normalises them; it caches nothing.
//
// Stream mode: reader threads walk this rank's windows in a seeded order
// (a new order each pass over them) and fill the buffer; once it is full,
// every window drawn lets the readers replace `refresh` of a window (round
// robin, oldest first), so after `buffer` windows drawn a fraction
// `refresh` of the buffer is new, and each window is drawn about 1/refresh
// times. Draws never wait for the readers (only the first batch waits for
// the buffer to fill): slow I/O means more reuse, not stalls. Resident
// memory: the buffer plus one window per reader thread plus the batches
// queued, whatever the data size. startEpoch(epoch, first) only resets the
// epoch's count (the buffer is kept); resuming is not exact.
//
// A server(...) source (data/ServerSource.h) works in every mode. In lazy
// mode each startEpoch plans the split again from the server's index:
// samples pushed since are in the epoch (stats().samplesAdded counts
// them; the epoch keeps the first epoch's number of batches, drawn from
// every window present), and samples replaced are read in their new
// version. The other modes keep the samples they loaded. With several
// ranks each plans at its own epoch start: a push at that moment may give
// ranks different windows for that epoch.
//
// Field values are read with pread(2) straight from the files where their
// layout allows (float32, no compression; contiguous or chunked in whole
// lat-lon planes: what s2s-data synth and import write by default), so
// reader threads read in parallel; other layouts are read through HDF5.
// HDF5 calls are serialised by one mutex of the library (Debian 12's HDF5
// 1.10.8 reports H5is_library_threadsafe = 1, but builds without
// --enable-threadsafe are common and even a thread-safe HDF5 runs one call
// at a time); normalising, checking and stacking happen outside it. Batch
// tensors are reused once the consumer drops them: a loader holds its
// split (eager, shared: one copy per node) plus about prefetch + 1 batches.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_LOADER_H
#define S2S_RUNTIME_DATA_LOADER_H

#include "data/Split.h"
#include "s2s/runtime/Config.h"

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt {

/// `in_memory(shared = ..., lazy = ..., prefetch = ...)` or `stream(...)`:
/// the spec's memory value as written, for messages.
std::string memoryText(const MemoryConfig &memory);

struct LoaderConfig {
  using Mode = MemoryMode;
  static const char *modeName(Mode m); ///< "eager", "lazy", "stream"
  Mode mode = Mode::Eager;
  bool shared = false;   ///< one copy per node (eager/lazy)
  int64_t prefetch = 2;  ///< batches assembled ahead; 0 = synchronous
  int64_t buffer = 0;    ///< stream: samples held in memory
  double refresh = 0.25; ///< stream: fraction of the buffer replaced per pass
  int64_t threads = 1;   ///< reader threads (prefetch, lazy, stream)
  int64_t rank = 0, worldSize = 1;

  /// From the spec's `memory` (with the command line's overrides applied
  /// by the caller); throws Error on a value out of range, naming it:
  /// prefetch >= 0; stream: buffer >= 1, refresh in (0, 1], not shared;
  /// not shared and lazy together. (s2sc checks the same when it
  /// compiles a spec; these catch the command line's values.)
  static LoaderConfig fromSpec(const MemoryConfig &memory);
  std::string describe() const; ///< "lazy, prefetch 2, rank 0 of 1"
  /// The mode's name for the command line: eager, lazy, stream or shared.
  std::string name() const;
};

struct Batch {
  torch::Tensor window; ///< [b, window, channel, lat, lon] float32, normalised
  torch::Tensor times;  ///< [b] int64, valid time of frame 0
  std::vector<int64_t> indices; ///< window indices in the split
};

/// Counters a benchmark or test reads.
struct LoaderStats {
  int64_t bytesRead = 0;  ///< bytes of field data read from files
  int64_t batches = 0;    ///< batches handed out
  double waitSeconds = 0; ///< time next() blocked waiting for data
  /// Samples held in memory now: eager/shared, the split's time samples;
  /// lazy, the windows of the batches built ahead; stream, the windows in
  /// the buffer and being read into it.
  int64_t residentSamples = 0;
  /// Samples a data server gained since the previous epoch, picked up by
  /// the last startEpoch (lazy mode; see ServerSource.h).
  int64_t samplesAdded = 0;
};

class BatchLoader {
public:
  /// Opens split `split` of the data set for windows of `window` frames
  /// and batches of `batch` windows (per rank). Throws Error like
  /// Dataset::open, naming the file/channel/index.
  static std::unique_ptr<BatchLoader>
  open(const DataConfig &data, Split split, int64_t window, int64_t batch,
       const LoaderConfig &config, uint64_t seed, bool shuffle, bool dropLast);
  virtual ~BatchLoader();

  /// Batches each rank gets per epoch.
  virtual int64_t batchesPerEpoch() const = 0;
  /// Windows in the split (all ranks).
  virtual int64_t size() const = 0;
  /// Starts epoch `epoch` at batch `first` (resume); stops a running one.
  virtual void startEpoch(int64_t epoch, int64_t first = 0) = 0;
  /// The next batch of the epoch, or nullopt at its end.
  virtual std::optional<Batch> next() = 0;

  /// Windows `indices` of the split (all ranks' numbering), read and
  /// assembled now in the calling thread, whatever the mode (stream reads
  /// them from the files): random access for a pass over the data (the
  /// training program's climatology) and tests. Not counted in batches.
  virtual Batch fetch(const std::vector<int64_t> &indices) = 0;

  virtual LoaderStats stats() const = 0;
  virtual const LoaderConfig &config() const = 0;
  virtual int64_t window() const = 0; ///< frames per window
  virtual int64_t batch() const = 0;  ///< windows per batch (per rank)
  virtual const std::vector<std::string> &channelNames() const = 0;
  virtual int64_t lat() const = 0;
  virtual int64_t lon() const = 0;
  virtual torch::Tensor latitude() const = 0;
  virtual torch::Tensor longitude() const = 0;
  virtual torch::Tensor mean() const = 0;
  virtual torch::Tensor stddev() const = 0;
  virtual const std::vector<std::string> &files() const = 0;
  /// The files whose values go through HDF5, one read at a time, rather
  /// than the loader's own parallel reads, each with why ("float64
  /// values", "chunks [...] that cut the lat-lon planes", "S2S_HDF5_READS
  /// is set"); empty when every file is read in parallel.
  virtual std::vector<std::pair<std::string, std::string>>
  hdf5Files() const = 0;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_LOADER_H
