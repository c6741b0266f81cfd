//===- ForecastFile.h - A forecast as an HDF5 file --------------*- C++ -*-===//
//
// What `EXE forecast` writes (torch-free):
//
//   /forecast    float32 [lead, channel, lat, lon], the data's own units
//                (de-normalised); attribute "channels"
//   /time        int64 [lead], valid times, seconds since 1970-01-01 UTC
//   /lead_hours  float64 [lead]
//   /init_time   int64 [1], the start time
//   /lat, /lon   float64 degrees
//   root attributes: "channels" and every entry of `attributes` (program,
//   weights, data, start) as strings
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_HDF5_FORECASTFILE_H
#define S2S_RUNTIME_HDF5_FORECASTFILE_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt::hdf5 {

struct ForecastFile {
  std::vector<float> values; ///< [lead, channel, lat, lon]
  int64_t initTime = 0;
  std::vector<int64_t> validTimes; ///< [lead]
  std::vector<double> leadHours;   ///< [lead]
  std::vector<std::string> channels;
  std::vector<double> latitude, longitude;
  std::map<std::string, std::string> attributes;
};

/// Writes `f` to `path` atomically. Throws Error naming the path when the
/// sizes disagree or it cannot be written (a full disk).
void writeForecast(const std::string &path, const ForecastFile &f);

} // namespace s2s::rt::hdf5

#endif // S2S_RUNTIME_HDF5_FORECASTFILE_H
