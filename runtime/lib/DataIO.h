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

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt::data_detail {

/// An HDF5 identifier closed by its close function at scope exit.
class Hid {
public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer close) : id_(id), close_(close) {}
  Hid(Hid &&o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Hid &operator=(Hid &&o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid &) = delete;
  Hid &operator=(const Hid &) = delete;
  ~Hid() { reset(); }
  void reset() {
    if (id_ >= 0 && close_)
      close_(id_);
    id_ = -1;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

/// Turns off HDF5's printing of its error stack (we build our messages).
void silenceHdf5();
/// The innermost description on HDF5's error stack (then clears it).
std::string h5Reason();

/// Times (seconds since 1970-01-01 UTC).
int yearOf(int64_t t);
int64_t yearStart(int year);            ///< Jan 1 00:00 UTC of `year`
std::string formatTime(int64_t t);      ///< 2003-01-05T06:00
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
