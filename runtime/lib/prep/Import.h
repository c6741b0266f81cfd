//===- Import.h - ERA5 NetCDF into the runtime's HDF5 layout ----*- C++ -*-===//
//
// importNetcdf converts NetCDF files as the Copernicus Climate Data Store
// (CDS) distributes ERA5 into the layout of Config.h, one file per
// calendar year (<outDir>/<year>.h5). What it understands:
//
//   * Data variables with dimensions (time, latitude, longitude) or
//     (time, level, latitude, longitude). The time dimension is "time" or
//     "valid_time" (or any whose coordinate has units "<unit> since
//     <date>"); latitude "latitude"/"lat", longitude "longitude"/"lon" (or
//     units degrees_north / degrees_east). Each level of a level variable
//     becomes one channel named variable + level, e.g. "t850" (levels in Pa
//     are named in hPa).
//   * Time as "<unit> since <date> [time] [zone]" with seconds, minutes,
//     hours or days, any integer or float type (older CDS: int32 "hours
//     since 1900-01-01 00:00:00.0"; newer CDS: int64 valid_time "seconds
//     since 1970-01-01"), standard/gregorian/proleptic_gregorian calendars;
//     written as int64 seconds since 1970-01-01 UTC.
//   * Packed values (scale_factor, add_offset) unpacked to float32;
//     _FillValue, missing_value and NaN are missing values: an Error naming
//     the file, variable and index, unless ImportOptions::fill is set.
//   * Latitudes and longitudes as the files have them (ERA5: 90..-90,
//     0..359.75), written to /lat and /lon.
//
// Inputs may be split by variable, by time (e.g. one file per month) or
// both: every input must have the same grid, and at every time every
// channel must come from exactly one input; otherwise an Error names the
// two files that disagree. Everything is checked before anything is
// written; then each year is written one time step at a time (memory: one
// sample plus one variable's levels), to a hidden temporary renamed into
// place when complete.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_IMPORT_H
#define S2S_RUNTIME_PREP_IMPORT_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt {

/// How /fields is chunked (the unit HDF5 reads and decompresses).
enum class Chunking {
  /// Sample when one sample [1, C, lat, lon] is at most kSampleChunkLimit
  /// bytes, else Channel (see NetcdfImport.cpp for why).
  Auto,
  Sample,  ///< [1, C, lat, lon]: one time step, all channels
  Channel, ///< [1, 1, lat, lon]: one time step, one channel
};

/// The largest whole-sample chunk Chunking::Auto picks (64 MiB).
constexpr int64_t kSampleChunkLimit = int64_t(64) << 20;

struct ImportOptions {
  /// Channels in output order: a variable name ("t2m", or "t" for all of a
  /// level variable's levels in the file's order) or one level ("t850").
  /// Empty: every data variable, in the order of first appearance.
  std::vector<std::string> variables;
  std::string field = "fields"; ///< the output dataset's name
  int deflate = 0;              ///< 0 (none) .. 9, with the shuffle filter
  Chunking chunking = Chunking::Auto;
  /// Replace missing values (in unpacked units) with this; unset: a
  /// missing value is an Error.
  std::optional<float> fill;
  /// Called with one line per year file written (may be empty).
  std::function<void(const std::string &)> log;
};

struct ImportSummary {
  std::vector<std::string> files;    ///< the year files written, in order
  std::vector<std::string> channels; ///< the channels, in file order
  std::vector<int64_t> chunk;        ///< /fields' chunk dims
  int64_t steps = 0;                 ///< time steps over all files
  int64_t filled = 0;                ///< missing values replaced by fill
};

/// Converts `inputs` (NetCDF-3 or NetCDF-4 files) into `outDir`/<year>.h5
/// (creating `outDir` when needed; existing year files are replaced).
/// Throws s2s::rt::Error naming the file and variable on any problem.
ImportSummary importNetcdf(const std::vector<std::string> &inputs,
                           const std::string &outDir,
                           const ImportOptions &options = {});

} // namespace s2s::rt

#endif // S2S_RUNTIME_PREP_IMPORT_H
