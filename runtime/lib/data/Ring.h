//===- Ring.h - Training from a data server's ring --------------*- C++ -*-===//
//
// `source = server(address, name, ring = true)` (s2sc lowers it to
// DataConfig::field = "ring"): the train split is the data set's ring on
// the data server (store/ServerStore.h), the newest N samples of an
// unbounded stream that producers append to (`s2s-data push --ring N`);
// validation and test splits read the set's index as usual. The sampling
// rule (BatchLoader::open's RingLoader, data/Loader.cpp):
//
//   - each ring entry is one time (the newest version of a time pushed
//     twice); a window is `window` ring samples at consecutive times, the
//     data section's step apart, inside the train years: windows form
//     wherever the ring holds all their frames, as in the files;
//   - batch b of epoch e on rank r: the ring listed as it is then (one
//     LRANGE) and `batch` distinct windows drawn uniformly from its
//     windows (the first `batch` of a shuffle seeded by (seed, rank, e,
//     b)); ranks draw independently and draws consume nothing: a sample is
//     drawn until the producers push it out, about (windows drawn per
//     second) x (its life in the ring) / (windows in the ring) times;
//   - a window trimmed off between the listing and its read (RingMoved):
//     the ring is listed again and the batch drawn anew, at most 8 times;
//   - an epoch is a fixed number of steps: the full ring's windows (its
//     capacity as appends record it) over the global batch, on every rank;
//     each epoch start counts the samples appended since the previous one
//     and how many of the previous epoch's distinct samples were appended
//     during training (ringStats; the training program prints them).
//
// Normalisation and the finiteness check are the file modes' (FieldReader
// over the ring's samples). Memory: the batches built ahead plus the
// ring's N times. Only prefetch applies: eager, lazy, shared and stream
// modes (which hold or stream a fixed split) are errors. Resuming is not
// exact: the ring moved.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_RING_H
#define S2S_RUNTIME_DATA_RING_H

#include "data/Split.h"

#include <cstdint>
#include <optional>

namespace s2s::rt {

class BatchLoader;

/// Whether `split` is drawn from a data server's ring: a server source
/// whose field is "ring", the train split.
inline bool ringSplit(const DataConfig &cfg, Split split) {
  return !cfg.server.empty() && cfg.field == "ring" && split == Split::Train;
}

/// What a ring loader counted at its last startEpoch.
struct RingStats {
  int64_t samples = 0;  ///< in the ring
  int64_t appended = 0; ///< since the previous epoch started
  int64_t drawn = 0;    ///< distinct samples the previous epoch drew
  int64_t drawnNew = 0; ///< ... of them appended after training started
};

/// The counters of `loader` when it draws from a ring; nullopt otherwise.
std::optional<RingStats> ringStats(const BatchLoader &loader);

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATA_RING_H
