//===- ServerSource.h - The server(address, name) data source ---*- C++ -*-===//
//
// A data set held by a data server (store/ServerStore.h, filled by
// `s2s-data push`) as the loaders see it: its metadata as one FileMeta
// (path: "ADDRESS#NAME", for messages; channels, grid, coordinates and the
// times of the index when opened) and its samples as hdf5::ExternalSamples,
// which FieldReader reads raw and then checks finite and normalises exactly
// as it does a file's: the same batches, bit for bit, as from the files
// that were pushed, in every memory mode.
//
// Reads are pipelined (every chunk of a call's samples requested before
// the first reply is read) and parallel: each reading thread (the loader's
// threads, the eager load's threads) takes a connection of its own from a
// pool, opened on first need. A connection that failed is dropped, so the
// error (a dead server: ServerStore's message naming the address, within
// $S2S_REDIS_TIMEOUT seconds) reaches the training loop, which stops with
// its checkpoints kept; resuming once the server is back continues the run.
// The password comes from S2S_REDIS_PASSWORD or S2S_REDIS_PASSWORD_FILE.
//
// Normalisation comes from the data section's stats file, as in the file
// modes (the server holds samples only): `s2s-data stats` over the files
// that were pushed writes it.
//
// The ring (server(..., ring = true), the train split only): the source
// is the set's ring as listed when opened (its times, newest version of
// each); a sample trimmed off the ring before it is read throws
// RingMoved, and the ring loader (data/Ring.h) lists the ring again.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATA_SERVERSOURCE_H
#define S2S_RUNTIME_DATA_SERVERSOURCE_H

#include "hdf5/FieldReader.h"
#include "s2s/runtime/Config.h"
#include "s2s/runtime/Error.h"

#include <memory>

namespace s2s::rt::data_detail {

/// A listed ring sample was trimmed off before it could be read.
struct RingMoved : Error {
  using Error::Error;
};

struct ServerSource {
  hdf5::FileMeta meta;
  std::shared_ptr<hdf5::ExternalSamples> samples;
};

/// Connects to cfg.server, reads data set cfg.serverSet's metadata and
/// index (ring: its ring). Throws Error naming the address and set: no
/// server, a wrong password, no such data set (push it), an empty ring,
/// samples not float32.
ServerSource openServerSource(const DataConfig &cfg, bool ring = false);

/// The capacity of cfg.serverSet's ring (s2s-data push --ring N); 0 when
/// nothing was appended to it.
int64_t ringCapacity(const DataConfig &cfg);

} // namespace s2s::rt::data_detail

#endif // S2S_RUNTIME_DATA_SERVERSOURCE_H
