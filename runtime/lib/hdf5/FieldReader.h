//===- FieldReader.h - Samples read straight from the files -----*- C++ -*-===//
//
// Every mode of the data loader (data/Loader.h) and Dataset::open read
// field values through a FieldReader, which reads SampleRuns: some samples
// of some files (a split, planned by data/Split.h). Torch-free.
//
// Where a file's layout allows it — the field is float32 in the machine's
// byte order, stored without filters (no compression, no shuffle) either
// contiguously or in chunks that span whole lat-lon planes — each plane
// (time, channel) is a run of bytes at a known place in the file, and the
// reader copies it with pread(2) straight into the caller's buffer: no
// HDF5 call, no lock, no intermediate copy, so reader threads run in
// parallel. The place comes from the dataset's address (contiguous) or,
// chunked, from the chunk's address (H5Dget_chunk_info_by_coord), looked
// up the first time a chunk is needed and kept (the lookup holds
// hdf5Mutex(); nothing is looked up before it is needed, so opening stays
// independent of the data size). Chunks compressed by HDF5's deflate
// filter (with or without shuffle before it: what `s2s-data import
// --deflate` and most writers use) are read the same way and inflated with
// zlib by the reading thread, so decompression runs in parallel too
// (HDF5 would decompress one chunk at a time under its lock). Every other
// layout (other filters, float64, other byte order, chunks cutting planes,
// unallocated chunks) is read through HDF5 under hdf5Mutex(), with at
// most kMaxOpen files open there. S2S_HDF5_READS=1 sends every read
// through HDF5 (a comparison, or a way around a file system where pread
// misbehaves).
//
// A reading thread keeps the last chunk it inflated (its stored and its
// inflated bytes, twice the latter with shuffle), so the samples and
// channels of one chunk inflate it once; chunks over 64 MiB inflated
// (FileMeta::kMaxInflatedChunk) are left to HDF5 so that this stays
// bounded. s2s-data import never writes chunks over 64 MiB. `bytes` counts
// field values as read (uncompressed), whichever way they were read.
//
// Values are checked finite as they arrive (checkFinite's message: file,
// channel, time index) and, with a Normalization, normalised while still
// in cache.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_FIELDREADER_H
#define S2S_RUNTIME_HDF5_FIELDREADER_H

#include "hdf5/FileMeta.h"

#include <hdf5.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace s2s::rt::hdf5 {

/// Samples held outside files (a data server: data/ServerSource.h), read
/// raw by FieldReader and then checked finite and normalised like a
/// file's. The "files" of a SampleRuns with these are descriptions only.
class ExternalSamples {
public:
  virtual ~ExternalSamples();
  /// Samples [t0, t0 + n) of "file" f, channels `chans`, as float32 into
  /// out ([n, chans.size(), lat, lon]); thread-safe. `bytes` counts them.
  virtual void read(size_t f, int64_t t0, int64_t n,
                    const std::vector<int64_t> &chans, float *out) = 0;
};

/// Samples of some files read as one sequence: the files' metadata (sorted
/// by first time), the channels wanted (indices into the files' channels,
/// in the order wanted) and which samples of which file, in order.
struct SampleRuns {
  std::vector<FileMeta> files;
  /// Set: the samples come from here, not from the files.
  std::shared_ptr<ExternalSamples> external;
  std::vector<int64_t> chans;
  struct Part {
    size_t file;   ///< index into files
    int64_t t0, n; ///< the file's samples [t0, t0 + n)
    int64_t at;    ///< index of sample t0 in the sequence
  };
  std::vector<Part> parts; ///< in order
  int64_t total = 0;       ///< samples in all parts

  int64_t lat() const { return files.front().nlat; }
  int64_t lon() const { return files.front().nlon; }
  /// Floats of one sample of the selected channels.
  int64_t frame() const { return int64_t(chans.size()) * lat() * lon(); }
  /// The part holding sample `g` (0 <= g < total).
  const Part &partOf(int64_t g) const;
};

/// Per-channel normalisation, x -> (x - a) / b (0 and 1 without
/// normalisation); `apply` is false for none.
struct Normalization {
  std::vector<double> a, b;
  bool apply = false;
};

/// S2S_HDF5_READS is set (and not 0): every read goes through HDF5.
bool hdf5ReadsForced();
/// Whether a FieldReader reads file `m` itself (pread, deflated chunks
/// inflated by its threads) rather than through HDF5.
inline bool readsItself(const FileMeta &m) {
  return !hdf5ReadsForced() && (m.rawFloat32 || m.deflate);
}

class FieldReader {
public:
  /// `plan` must outlive the reader. `norm` (optional, copied) normalises
  /// what read() returns; `bytes`, if given, counts the field bytes read.
  FieldReader(const SampleRuns &plan, std::string field,
              const Normalization *norm = nullptr,
              std::atomic<int64_t> *bytes = nullptr);
  ~FieldReader();
  FieldReader(const FieldReader &) = delete;
  FieldReader &operator=(const FieldReader &) = delete;

  /// Samples [g, g + n) of the selected channels into `out`
  /// ([n, C, lat, lon] row major): checked finite, normalised when the
  /// reader has a Normalization. Thread-safe; the samples may span parts.
  void read(int64_t g, int64_t n, float *out);

  /// All samples into `out` ([total, C, lat, lon]) by `threads`
  /// threads, each taking blocks of about 8 MiB in turn; the first error
  /// (in sample order) is thrown after all threads stopped.
  void readAll(float *out, int64_t threads);

  /// Threads for a one-off load of a whole split: the machine's cores, at
  /// most 8.
  static int64_t loadThreads();

private:
  struct Chunk;
  struct File;
  File &file(size_t f);
  int fdOf(size_t f);
  Chunk chunkInfo(size_t f, int64_t t, int64_t c);
  /// The values of the deflated chunk holding (t, c), decompressed by this
  /// thread (kept until it needs another); nullptr when only HDF5 can read
  /// it (not allocated).
  const float *inflateChunk(size_t f, int64_t t, int64_t c);
  void readDeflate(size_t f, int64_t t0, int64_t n, float *out);
  void readPart(const SampleRuns::Part &part, int64_t t0, int64_t n,
                float *out);
  void readDirect(size_t f, int64_t t0, int64_t n, float *out);
  void readHdf5(size_t f, int64_t t0, int64_t n, float *out);
  void readExternal(size_t f, int64_t t0, int64_t n, float *out);
  /// Checks plane (t, selected channel j) of file m finite, normalises it.
  void finishPlane(const FileMeta &m, int64_t t, int64_t j, float *p);
  int64_t chunkOffset(size_t f, int64_t t, int64_t c);
  hid_t dataset(size_t f); ///< hdf5Mutex() held

  static constexpr size_t kMaxOpen = 16;
  const SampleRuns &plan_;
  std::string field_;
  Normalization norm_;
  std::atomic<int64_t> *bytes_;
  std::vector<std::unique_ptr<File>> files_;
  uint64_t serial_;    ///< this reader's number (thread caches' key)
  bool hdf5Only_;      ///< hdf5ReadsForced() when made
  uint64_t clock_ = 0; ///< LRU of HDF5 handles (hdf5Mutex() held)
};

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_FIELDREADER_H
