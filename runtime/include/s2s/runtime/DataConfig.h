//===- DataConfig.h - The data section of a program -------------*- C++ -*-===//
//
// Part of the program description (Program.h); torch-free, so the
// data-preparation tools share it. The file layout it describes (what
// `s2s-data synth` writes and `s2s-data import` converts ERA5 NetCDF into),
// one or many files matched by a glob pattern, e.g. one per year:
//
//   /fields    float32 [time, channel, lat, lon]  (dataset name configurable)
//     attribute "channels": variable-length strings, one per channel
//   /time      int64 [time]  seconds since 1970-01-01 UTC, increasing
//   /lat       float64 [lat] degrees north (optional; default: equally spaced
//              from +90 to -90, poles included when lat is odd, cell centres
//              otherwise)
//   /lon       float64 [lon] degrees east (optional; default 0, 360/lon, ...)
//
// Files are ordered by their first time; times must increase across files.
//
// A stats file (HDF5) holds /mean and /std float64 [channel] with the same
// "channels" attribute on each; z-score normalisation divides by std after
// subtracting the mean, per channel, selected by name.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_DATACONFIG_H
#define S2S_RUNTIME_DATACONFIG_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt {

/// An inclusive range of calendar years (UTC) of valid times.
struct YearRange {
  int first = 0, last = -1;
  bool empty() const { return last < first; }
  bool contains(int year) const { return year >= first && year <= last; }
};

struct DataConfig {
  std::string name;                   ///< the spec's data set name
  std::string pattern;                ///< glob, relative to the working dir
  std::string field = "fields";
  std::vector<std::string> channels;  ///< names, in model order
  std::vector<int64_t> grid;          ///< [lat, lon] or empty (take the files')
  int64_t stepSeconds = 0;            ///< 0: the files' own spacing
  std::string normalize;              ///< "" (none), "zscore", "minmax"
  std::string stats;                  ///< stats file for normalize
  YearRange train, valid, test;       ///< splits; an empty train = all years
  int64_t history = 1;
  /// The spec's `memory = ...` arguments as written (in_memory: shared,
  /// lazy, prefetch; stream: buffer, prefetch, refresh).
  std::map<std::string, std::string> memory;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_DATACONFIG_H
