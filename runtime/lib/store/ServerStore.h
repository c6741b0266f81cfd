//===- ServerStore.h - A data set held by a Redis server --------*- C++ -*-===//
//
// One data set `name` in a Redis server (what `s2s-data push` writes and the
// training program's `source = server(address, name)` reads):
//
//   s2s:<name>:meta     hash: channels (names, one per line), lat, lon
//                       (sizes), dtype ("float32"), latitudes, longitudes
//                       (float64 little-endian bytes; may be empty)
//   s2s:<name>:index    hash: time (seconds since 1970, decimal) ->
//                       "<version> <bytes> <chunks> <crc32c, 8 hex digits>"
//   s2s:<name>:version  counter: the last version number handed out
//   s2s:<name>:c:<time>:<version>:<k>
//                       chunk k of that version of the sample: at most
//                       kChunkBytes bytes of the float32 [channel, lat, lon]
//                       sample, in order
//
// Writing a sample never changes bytes a reader may be reading: the new
// version's chunks are written under new keys first, then the index entries
// are swapped in one MULTI/EXEC (which also returns the entries replaced),
// then the replaced versions' chunks are deleted. A reader takes a version
// from the index and fetches its chunks; when one is gone (the sample was
// replaced and the old version deleted in between) it takes the new entry
// and fetches again, so it sees whole samples, old or new, never a mix.
// Every sample carries a CRC-32C (support/Crc32c.h) of its bytes, checked
// by every read: a mismatch (a sample torn or corrupted by whatever wrote
// it) stops the read with an Error naming the data set, time and version.
// CRC-32C rather than support/Sha256: the threat is a torn or damaged
// value, not an adversary (the server wants a password), and the CRC runs
// in hardware at several GB/s, faster than the server delivers, where
// SHA-256 (and zlib's CRC-32, a third of memcpy's speed) would be the
// slowest step of a read.
//
// Chunks move pipelined: all SETs of a call are sent before the first reply
// is read, so one round trip serves many 8 MB values (0.86 GB/s measured,
// against 0.3-0.4 GB/s for whole 290 MB values; ../shared/DISTRIBUTED.md);
// GETs go out in a sliding window of kInFlightBytes. One ServerStore uses one
// RedisClient and is not thread-safe; parallel readers each have their own.
// Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_STORE_SERVERSTORE_H
#define S2S_RUNTIME_STORE_SERVERSTORE_H

#include "store/Redis.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt {

/// What every sample of a stored data set shares.
struct ServerSetMeta {
  std::vector<std::string> channels;
  int64_t nlat = 0, nlon = 0;
  std::vector<double> lat, lon; ///< degrees; empty: the default grid
  std::string dtype = "float32";
  int64_t sampleBytes() const {
    return int64_t(channels.size()) * nlat * nlon * 4;
  }
};

/// One index entry: where the current version of a sample is.
struct ServerSample {
  int64_t time = 0;
  uint64_t version = 0;
  int64_t bytes = 0, chunks = 0;
  uint32_t crc = 0;
};

/// CRC-32C of n bytes.
uint32_t sampleChecksum(const void *data, size_t n);

class ServerStore {
public:
  static constexpr int64_t kChunkBytes = int64_t(8) << 20;
  /// Replies a read keeps outstanding at most (at least one GET): 4 MiB.
  /// Deeper pipelines of large values fall off a cliff on Redis 7.0 (2 MB
  /// values over a Unix socket, bench/data: 1.4 GB/s with 2 GETs in
  /// flight, 0.13 GB/s with 4 or 8).
  static constexpr int64_t kInFlightBytes = int64_t(4) << 20;

  ServerStore(RedisClient &client, std::string name);

  /// "data set 'era5' on data server 'unix:///...'", for messages.
  std::string describe() const;

  /// The set's metadata; nullopt when nothing was pushed under the name.
  std::optional<ServerSetMeta> meta();
  /// Records the metadata on the first push; a later push must agree
  /// (channels, grid, coordinates) or it throws an Error saying how not.
  void putMeta(const ServerSetMeta &m);

  /// Writes samples times[i] (sampleBytes each, consecutive in `data`) as
  /// new versions and swaps them into the index at once; returns how many
  /// replaced a sample already there.
  int64_t put(const std::vector<int64_t> &times, const char *data,
              int64_t sampleBytes);

  /// The index, sorted by time.
  std::vector<ServerSample> index();

  /// Samples `entries` into out (entries[i].bytes each, consecutive), all
  /// chunks pipelined, every CRC checked. An entry whose version was
  /// replaced meanwhile is updated to the current one and read again.
  /// Throws Error naming the set and time on a checksum mismatch or a
  /// sample deleted from the index.
  void read(std::vector<ServerSample> &entries, char *out);

  /// Removes every key of the data set (index, chunks, meta, ring);
  /// returns the number of keys removed.
  int64_t clear();

  // The ring: the newest `capacity` samples of an unbounded stream
  // (s2s:<name>:ring, a list of "<time> <version> <bytes> <chunks> <crc>",
  // newest first, chunks under the same keys as the index's samples).
  // An append writes the sample's chunks, then in one MULTI/EXEC pushes
  // its entry, reads the entries beyond `capacity` and trims them off
  // (and records the capacity: meta's "ring"); their chunks are deleted
  // after. The server thus holds at most
  // capacity samples (plus those being appended), whatever the stream's
  // length.

  /// Appends a sample, keeping the newest `capacity`; returns how many
  /// samples dropped out of the ring.
  int64_t ringAppend(int64_t time, const char *data, int64_t bytes,
                     int64_t capacity);
  int64_t ringSize();
  /// The capacity the last append kept the ring to (0: none appended).
  int64_t ringCapacity();
  /// The ring's entries as they are now, newest first. Training draws its
  /// windows from them (data/Ring.h's sampling rule).
  std::vector<ServerSample> ring();
  /// Samples `entries` into out (entries[i].bytes each, consecutive), all
  /// chunks pipelined, every CRC checked (an Error as read's); returns the
  /// indices of those whose chunks are gone (trimmed off the ring since
  /// the entries were listed), left unfilled.
  std::vector<size_t> readListed(const std::vector<ServerSample> &entries,
                                 char *out);

private:
  std::string key(const std::string &suffix) const;
  /// Writes `n` samples as new versions (their chunks pipelined); returns
  /// their entries.
  std::vector<ServerSample> writeVersions(const std::vector<int64_t> &times,
                                          const char *data,
                                          int64_t sampleBytes);
  void deleteChunks(const std::vector<ServerSample> &dead);
  std::string chunkKey(int64_t time, uint64_t version, int64_t k) const;
  /// Fetches `entries`; returns the indices of those with a chunk missing.
  std::vector<size_t> fetch(const std::vector<ServerSample> &entries,
                            const std::vector<size_t> &which,
                            const std::vector<char *> &dst);

  RedisClient &client_;
  std::string name_;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_STORE_SERVERSTORE_H
