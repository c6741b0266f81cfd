//===- GridCoordinates.h - Default lat-lon coordinates ----------*- C++ -*-===//
//
// What a data file without /lat or /lon is taken to hold (Config.h's file
// layout), for the loader, s2s-data, the maps, the graph kernels and the
// compiler's graph shapes alike (GraphGeometry.h). Header-only and free of
// torch and LLVM, so both sides include it.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_GRIDCOORDINATES_H
#define S2S_RUNTIME_GRIDCOORDINATES_H

#include <algorithm>
#include <cstdint>
#include <vector>

namespace s2s::rt {

/// `n` latitudes in degrees, equally spaced from +90 to -90: poles included
/// when n is odd, cell centres otherwise (0 for n = 1).
inline std::vector<double> defaultLatitudes(int64_t n) {
  std::vector<double> lat(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) {
    if (n == 1)
      lat[size_t(i)] = 0.0;
    else if (n % 2 == 1)
      lat[size_t(i)] = 90.0 - 180.0 * double(i) / double(n - 1);
    else
      lat[size_t(i)] = 90.0 - 180.0 * (double(i) + 0.5) / double(n);
  }
  return lat;
}

/// `n` longitudes in degrees: 0, 360/n, ...
inline std::vector<double> defaultLongitudes(int64_t n) {
  std::vector<double> lon(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t j = 0; j < n; ++j)
    lon[size_t(j)] = 360.0 * double(j) / double(n);
  return lon;
}

} // namespace s2s::rt

#endif // S2S_RUNTIME_GRIDCOORDINATES_H
