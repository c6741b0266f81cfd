//===- DataIO.h - HDF5 helpers shared by Data, Stats and Synth --*- C++ -*-===//
//
// Private to libs2s_runtime (not installed): RAII for HDF5 handles, reading
// and checking the data files' metadata, reading blocks of samples with the
// finiteness check, times and messages. Everything that can go wrong throws
// s2s::rt::Error naming the file, channel or index.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_LIB_DATAIO_H
#define S2S_RUNTIME_LIB_DATAIO_H

#include "s2s/runtime/Data.h"

#include "Hdf5Common.h"

#include <hdf5.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt::data_detail {

std::string formatDuration(int64_t s);  ///< 6h, 30m, 1d, 45s
std::string formatYears(const YearRange &r);  ///< 2000..2007 or 2008

std::string join(const std::vector<std::string> &names,
                 const char *sep = ", ");
/// " (did you mean 'x'?)" for the closest of `candidates`, or "".
std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates);

/// Default coordinates (Data.h): degrees.
std::vector<double> defaultLatitudes(int64_t n);
std::vector<double> defaultLongitudes(int64_t n);

/// What one data file holds (no field values).
struct FileMeta {
  std::string path;
  bool isStats = false;  ///< no field but /mean and /std: a stats file
  std::vector<std::string> channels;
  int64_t nt = 0, nc = 0, nlat = 0, nlon = 0;
  std::vector<int64_t> times;
  std::vector<double> lat, lon;  ///< empty when the file has none
  std::string typeName;          ///< float32, float64, ...
  std::vector<int64_t> chunk;    ///< empty: contiguous
  /// Where the field's bytes are, for reads that bypass HDF5
  /// (FieldReader.h): float32 in the machine's byte order, no filters, no
  /// external storage, contiguous (and allocated) or chunked with chunks
  /// spanning whole lat-lon planes.
  bool rawFloat32 = false;
  /// Chunked, float32 in the machine's byte order, chunks spanning whole
  /// lat-lon planes, compressed by HDF5's deflate filter, with its shuffle
  /// filter before it or not and no other: FieldReader inflates the chunks
  /// itself. The filters' places in the pipeline (bits of a chunk's filter
  /// mask); shuffleFilter -1 without shuffle.
  bool deflate = false;
  int deflateFilter = -1, shuffleFilter = -1;
  /// Deflated chunks larger than this (inflated) are left to HDF5.
  static constexpr int64_t kMaxInflatedChunk = int64_t(64) << 20;
  int64_t userblock = 0; ///< bytes before HDF5's own (its addresses count them)
  /// Neither of the above: why HDF5 reads this file ("float64 values").
  std::string hdf5Why;
  int64_t address = -1;  ///< contiguous: file offset of the first value
};

/// Opens `path` read-only; `what` is "data" or "stats" for messages.
Hid openFile(const std::string &path, const char *what);
/// Reads and checks one file's layout (field rank and type, channels
/// attribute, /time increasing, /lat, /lon).
FileMeta readMeta(const std::string &path, const std::string &field);
/// Globs `pattern`, reads every file's layout, skips stats files, sorts by
/// first time and checks the files agree (grid, channels, coordinates) and
/// that times increase across files.
std::vector<FileMeta> scanFiles(const std::string &pattern,
                                const std::string &field);

/// Reads samples [t0, t0 + n) of channels `chans` (indices into the file's
/// channels, in the order wanted) as float32 into `out`
/// ([n, chans.size(), lat, lon], row major) and checks every value is
/// finite (else an Error naming the file, channel and time index) unless
/// `checkFinite` is false.
void readSamples(const FileMeta &meta, hid_t dataset, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, float *out,
                 bool checkFinite = true);

/// Throws the Error naming file, channel and time index for the first
/// non-finite value of `data`, which holds samples [t0, t0 + n) of channels
/// `chans` of `meta`'s file ([n, chans.size(), lat, lon], row major).
void checkFinite(const FileMeta &meta, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, const float *data);

/// The HDF5 library of Debian (and most builds) is not thread-safe: every
/// HDF5 call of a process that runs loader threads (Loader.cpp) holds this
/// mutex. Recursive, so helpers that lock may call helpers that lock.
std::recursive_mutex &hdf5Mutex();

/// One split of a data set, planned from the files' metadata (no field
/// values read): Dataset::open and the BatchLoader modes share it.
struct SplitPlan {
  std::string setName;              ///< "data set 'x'" or "the data set"
  std::string splitText;            ///< "the train split (years ...)"
  std::vector<FileMeta> files;      ///< sorted by first time
  std::vector<std::string> names;   ///< channels, model order
  std::vector<int64_t> chans;       ///< their indices in the files
  struct Part {
    size_t file;                    ///< index into files
    int64_t t0, n;                  ///< the file's samples [t0, t0 + n)
    int64_t at;                     ///< index of sample t0 in the split
  };
  std::vector<Part> parts;          ///< in time order
  int64_t total = 0;                ///< samples in the split
  int64_t step = 0, stride = 1;     ///< window spacing, in s and samples
  std::vector<int64_t> times;       ///< [total] valid times

  int64_t channels() const { return int64_t(names.size()); }
  int64_t lat() const { return files.front().nlat; }
  int64_t lon() const { return files.front().nlon; }
  /// Floats of one sample of the selected channels.
  int64_t frame() const { return channels() * lat() * lon(); }
  /// The part holding split sample `g` (0 <= g < total).
  const Part &partOf(int64_t g) const;
};

/// Checks the config's window, grid and step, scans the files (scanFiles),
/// finds the channels by name and the split's samples; throws Dataset's
/// errors (no samples in the split, unknown channel, ...).
SplitPlan planSplit(const DataConfig &cfg, Split split, int64_t window);
/// Reads the whole split into `out` ([total, C, lat, lon]), checking every
/// value is finite (Dataset's eager load) and, given `norm`, normalising
/// each block as it arrives; FieldReader::readAll with loadThreads()
/// threads. `bytes` counts the field bytes read.
struct Normalization;
void readSplit(const SplitPlan &plan, const std::string &field, float *out,
               const Normalization *norm = nullptr,
               std::atomic<int64_t> *bytes = nullptr);

/// An uninitialised float32 tensor for a whole split, in its own mapping
/// with transparent huge pages requested: filling gigabytes page-faults
/// 512x less often than on 4 KiB pages (the eager load's main cost on a VM,
/// measured with bench/data).
torch::Tensor emptySplitTensor(torch::IntArrayRef sizes);
/// Per-channel normalisation from the stats file, x -> (x - a) / b (0 and 1
/// without normalisation); `apply` is false for none.
struct Normalization {
  std::vector<double> a, b;
  bool apply = false;
};
Normalization loadNormalization(const DataConfig &cfg,
                                const std::vector<std::string> &names);
/// The first sample of each window of `window` frames `step` apart inside
/// the split (no gap in time); throws Dataset's error when there is none.
std::vector<int64_t> windowStarts(const SplitPlan &plan, int64_t window);
/// The grid's coordinates (the files' /lat, /lon or the defaults).
std::vector<double> latitudes(const SplitPlan &plan);
std::vector<double> longitudes(const SplitPlan &plan);

/// Strings attribute `name` of `obj` (variable or fixed length), or nullopt
/// when absent; `where` names the object in messages.
std::optional<std::vector<std::string>>
readStringsAttr(hid_t obj, const char *name, const std::string &where);
void writeStringsAttr(hid_t obj, const char *name,
                      const std::vector<std::string> &values);

/// A float64 [n] dataset (stats files); nullopt when absent.
std::optional<std::vector<double>> readDoubles(hid_t file, const char *name,
                                               const std::string &path);
void writeDoubles(hid_t loc, const char *name, const std::vector<double> &v);

/// Writes files atomically: a hidden temporary name beside `path`, renamed
/// over it by commit(); removed if never committed.
class AtomicFile {
public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  const std::string &tempPath() const { return temp_; }
  void commit();  ///< rename temp -> path (Error on failure)

private:
  std::string path_, temp_;
  bool done_ = false;
};

/// Writes `stats` (the Data.h layout plus /min and /max) over the samples of
/// `files` whose year is in `years` (empty: all), streaming one time slice
/// at a time.
void computeStatsFiles(const std::vector<FileMeta> &files,
                       const std::string &field, const YearRange &years,
                       const std::string &out, const std::string &source);

} // namespace s2s::rt::data_detail

#endif // S2S_RUNTIME_LIB_DATAIO_H
