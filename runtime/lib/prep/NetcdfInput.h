//===- NetcdfInput.h - What one NetCDF input holds ---------------*- C++
//-*-===//
//
// Pass 1 of s2s-data import (prep/Import.h): one input scanned for its
// grid, its times as seconds since 1970 and its importable variables with
// their levels, packing and missing values; no field values read.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_NETCDFINPUT_H
#define S2S_RUNTIME_PREP_NETCDFINPUT_H

#include <netcdf.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt::netcdf {

/// An open NetCDF file, closed at scope exit.
class NcFile {
public:
  NcFile() = default;
  /// Opens `path` read-only; an Error naming it when that fails.
  explicit NcFile(const std::string &path);
  NcFile(NcFile &&o) noexcept : id_(o.id_), path_(std::move(o.path_)) {
    o.id_ = -1;
  }
  NcFile &operator=(NcFile &&o) noexcept {
    if (this != &o) {
      close();
      id_ = o.id_;
      path_ = std::move(o.path_);
      o.id_ = -1;
    }
    return *this;
  }
  ~NcFile() { close(); }
  void close() {
    if (id_ >= 0)
      nc_close(id_);
    id_ = -1;
  }
  int id() const { return id_; }
  bool open() const { return id_ >= 0; }

private:
  int id_ = -1;
  std::string path_;
};

/// One importable variable of one input.
struct Var {
  std::string name;
  int varid = -1;
  bool hasLevels = false;              ///< (time, level, lat, lon)
  size_t nlev = 1;                     ///< 1 for a surface variable
  std::vector<std::string> levelNames; ///< channel suffixes ("" surface)
  double scale = 1, offset = 0;
  std::vector<double> missing; ///< raw values meaning "missing"
  std::string missingText;     ///< for messages
  std::string units;
};

struct Input {
  std::string path;
  std::vector<int64_t> times;
  std::vector<double> lat, lon;
  std::vector<Var> vars;
  std::map<std::string, std::string> rejected; ///< variable -> why
};

/// Scans `path`: an Error naming the file when it is not a NetCDF file,
/// has no time, latitude or longitude, or its times cannot be read.
Input scanInput(const std::string &path);

/// Throws the Error of a failed NetCDF call on `path`.
[[noreturn]] void ncFail(const std::string &path, const std::string &what,
                         int status);

/// Larger per-variable chunk caches for NetCDF-4 inputs whose chunks span
/// several time steps, so that reading them one step at a time does not
/// inflate the same chunk again for every step (bounded at 256 MiB).
void tuneChunkCache(int nc, const Var &var);

} // namespace s2s::rt::netcdf

#endif // S2S_RUNTIME_PREP_NETCDFINPUT_H
