//===- Hdf5.h - HDF5 handles, errors, attributes, small datasets -*- C++
//-*-===//
//
// The one HDF5 handle class of the runtime and the helpers every reader
// and writer of the data files shares (the loader, s2s-data synth, stats,
// inspect and import). Everything that can go wrong throws s2s::rt::Error
// naming the file, dataset or attribute. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_HDF5_H
#define S2S_RUNTIME_HDF5_HDF5_H

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt::hdf5 {

/// An HDF5 identifier closed by its close function at scope exit.
class Hid {
public:
  using Closer = herr_t (*)(hid_t);
  Hid() = default;
  Hid(hid_t id, Closer close) : id_(id), close_(close) {}
  Hid(Hid &&o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Hid &operator=(Hid &&o) noexcept {
    if (this != &o) {
      close();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid &) = delete;
  Hid &operator=(const Hid &) = delete;
  ~Hid() { close(); }
  /// Closes now; false when HDF5 reports a failure (e.g. a full disk when
  /// a file's last blocks are flushed).
  bool close() {
    bool ok = true;
    if (id_ >= 0 && close_)
      ok = close_(id_) >= 0;
    id_ = -1;
    return ok;
  }
  void reset() { close(); }
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

/// The HDF5 library of Debian (and most builds) is not thread-safe: every
/// HDF5 call of a process that runs loader threads holds this mutex.
/// Recursive, so helpers that lock may call helpers that lock.
std::recursive_mutex &hdf5Mutex();

/// Opens `path` read-only; `what` is "data" or "stats" for messages.
Hid openFile(const std::string &path, const char *what);
/// Throws the uniform "cannot read" error of a failed HDF5 call on `path`.
[[noreturn]] void readFailure(const std::string &path, const std::string &what);
/// The names of the root group's links.
std::vector<std::string> rootNames(hid_t file, const std::string &path);
/// Whether link `name` exists in the file: false when it (or a group on
/// its path) is missing; an Error when the file's structure cannot be read.
bool linkExists(hid_t loc, const std::string &name, const std::string &path);
/// "float32", "int64", "string", ... for messages.
std::string typeName(hid_t type);
/// The dimensions of a dataset; empty when HDF5 cannot say.
std::vector<hsize_t> extent(hid_t dataset);

/// Strings attribute `name` of `obj` (variable or fixed length), or nullopt
/// when absent; `where` names the object in messages.
std::optional<std::vector<std::string>>
readStringsAttr(hid_t obj, const char *name, const std::string &where);
/// A 1-d attribute of variable-length UTF-8 strings.
void writeStringsAttr(hid_t obj, const char *name,
                      const std::vector<std::string> &values);
/// A scalar fixed-length UTF-8 string attribute.
void writeStringAttr(hid_t obj, const char *name, const std::string &value);

/// A float64 [n] dataset (stats files); nullopt when absent.
std::optional<std::vector<double>> readDoubles(hid_t file, const char *name,
                                               const std::string &path);
void writeDoubles(hid_t loc, const char *name, const std::vector<double> &v);
/// A dataset `name` of `dims` in `fileType` from `data` in `memType`
/// (contiguous, unchunked); Error naming the dataset.
void writeArray(hid_t loc, const char *name, hid_t fileType, hid_t memType,
                const std::vector<hsize_t> &dims, const void *data);

/// The "channels" attribute of a stats file's dataset `lo` (/mean, /min),
/// else of `hi` (/std, /max); nullopt when neither has one. `where` names
/// the file in messages ("stats file 'x'").
std::optional<std::vector<std::string>> statsChannels(hid_t file,
                                                      const char *lo,
                                                      const char *hi,
                                                      const std::string &where);

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_HDF5_H
