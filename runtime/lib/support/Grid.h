//===- Grid.h - Default coordinates of a lat-lon grid -----------*- C++ -*-===//
//
// What a data file without /lat or /lon is taken to hold (Config.h's
// file layout), for the loader, s2s-data and the maps alike. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_GRID_H
#define S2S_RUNTIME_SUPPORT_GRID_H

#include <cstdint>
#include <vector>

namespace s2s::rt {

/// `n` latitudes in degrees, equally spaced from +90 to -90: poles included
/// when n is odd, cell centres otherwise (0 for n = 1).
std::vector<double> defaultLatitudes(int64_t n);
/// `n` longitudes in degrees: 0, 360/n, ...
std::vector<double> defaultLongitudes(int64_t n);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_GRID_H
