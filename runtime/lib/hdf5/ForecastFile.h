//===- ForecastFile.h - A forecast as an HDF5 file --------------*- C++ -*-===//
//
// What `EXE forecast` writes (torch-free):
//
//   /forecast    float32 [lead, channel, lat, lon], the data's own units
//                (de-normalised), one chunk per lead; attributes "channels"
//                and "units"
//   /time        int64 [lead], valid times, seconds since 1970-01-01 UTC
//   /lead_hours  float64 [lead]
//   /init_time   int64 [1], the start time
//   /lat, /lon   float64 degrees
//   root attributes: "channels" and every entry of `attributes` (program,
//   weights, data, start) as strings
//
// Leads are written as the model makes them, so a forecast of many leads
// at full resolution never holds more than one in memory. The file
// appears under its name only when finish() succeeds (support/AtomicFile).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_FORECASTFILE_H
#define S2S_RUNTIME_HDF5_FORECASTFILE_H

#include "hdf5/Hdf5.h"
#include "support/AtomicFile.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt::hdf5 {

/// Everything but the values.
struct ForecastMeta {
  int64_t initTime = 0;
  std::vector<int64_t> validTimes; ///< [lead]
  std::vector<double> leadHours;   ///< [lead]
  std::vector<std::string> channels;
  std::vector<double> latitude, longitude;
  std::map<std::string, std::string> attributes;
};

class ForecastWriter {
public:
  /// Creates the file (under a temporary name) with its coordinates and
  /// metadata. Throws Error naming `path` when it cannot.
  ForecastWriter(const std::string &path, const ForecastMeta &meta);
  /// Lead `lead` (0-based): [channel, lat, lon] values. Error naming the
  /// path on a failed write (a full disk).
  void write(int64_t lead, const float *values);
  /// Flushes and renames the file into place; Error when a lead is missing
  /// or the flush fails. Without it the temporary is removed.
  void finish();

private:
  [[noreturn]] void fail(const std::string &what) const;
  std::string path_;
  AtomicFile file_;
  Hid h5_, forecast_;
  hsize_t leads_, channels_, lat_, lon_;
  std::vector<bool> written_;
};

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_FORECASTFILE_H
