//===- PatchGeometry.h - Where overlapping patches lie on a grid -*- C++
//-*-===//
//
// The one statement of the rule both s2sc (shapes, the coverage check) and
// the runtime (the patch kernels) follow for `patches = overlap(size,
// stride, halo)` on a [lat, lon] grid:
//
//  - longitude is periodic: patches start at 0, stride, 2 stride, ...
//    below the grid's width, and a patch running past the last column wraps
//    round to the first (a patch as wide as the grid is the whole circle);
//  - latitude is not: patches start at 0, stride, ... while they fit, and a
//    last patch is moved up to end at the last row when the stride does not
//    divide (grid - size);
//  - patches of a sample are numbered latitude-major: p = i * nLon + j;
//  - merging weighs a patch's point 0 when it lies within `halo` of one of
//    the patch's edges that is inside the grid (a latitude edge on the
//    grid's first or last row is the grid's own edge; a longitude edge of
//    a patch as wide as the grid does not exist), 1 otherwise, and divides
//    by the sum of the weights; every point must have some weight.
//
// Header-only and free of torch and LLVM, so both sides include it.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PATCHGEOMETRY_H
#define S2S_RUNTIME_PATCHGEOMETRY_H

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

/// The first index of each patch along one axis of `extent` points.
inline std::vector<int64_t> patchStarts(int64_t extent, int64_t size,
                                        int64_t stride, bool periodic) {
  std::vector<int64_t> starts;
  if (size < 1 || stride < 1 || size > extent)
    return starts;
  if (periodic) {
    if (size == extent)
      return {0};
    for (int64_t s = 0; s < extent; s += stride)
      starts.push_back(s);
    return starts;
  }
  int64_t s = 0;
  for (; s + size <= extent; s += stride)
    starts.push_back(s);
  if (starts.back() + size < extent)
    starts.push_back(extent - size);
  return starts;
}

/// The weight of offset `k` (0 <= k < size) in a patch starting at
/// `start` along one axis (see the header comment).
inline double patchWeight(int64_t extent, int64_t size, int64_t start,
                          int64_t halo, bool periodic, int64_t k) {
  if (halo <= 0)
    return 1.0;
  const bool whole = periodic && size == extent;
  const bool lowEdgeInside = !whole && (periodic || start > 0);
  const bool highEdgeInside = !whole && (periodic || start + size < extent);
  if (lowEdgeInside && k < halo)
    return 0.0;
  if (highEdgeInside && size - 1 - k < halo)
    return 0.0;
  return 1.0;
}

/// Patches of `size` every `stride` with `halo` on a grid: their starts
/// (latitude, longitude), and why they do not cover the grid when they do
/// not ("" when they do).
struct PatchLayout {
  std::vector<int64_t> latStarts, lonStarts;
  std::string problem;
  int64_t count() const {
    return int64_t(latStarts.size()) * int64_t(lonStarts.size());
  }
};

inline PatchLayout patchLayout(const int64_t grid[2], const int64_t size[2],
                               const int64_t stride[2], const int64_t halo[2]) {
  PatchLayout l;
  const char *axis[2] = {"latitude", "longitude"};
  for (int d = 0; d < 2; ++d) {
    if (size[d] < 1 || stride[d] < 1 || halo[d] < 0) {
      l.problem = std::string("the patch size and stride must be at least 1 "
                              "and the halo at least 0 in ") +
                  axis[d];
      return l;
    }
    if (size[d] > grid[d]) {
      l.problem = "patches of " + std::to_string(size[d]) + " are larger " +
                  "than the grid's " + std::to_string(grid[d]) + " points of " +
                  axis[d];
      return l;
    }
  }
  l.latStarts = patchStarts(grid[0], size[0], stride[0], false);
  l.lonStarts = patchStarts(grid[1], size[1], stride[1], true);
  // Every point needs a patch in which it has weight: check each axis.
  for (int d = 0; d < 2; ++d) {
    const std::vector<int64_t> &starts = d == 0 ? l.latStarts : l.lonStarts;
    const bool periodic = d == 1;
    std::vector<double> cover(size_t(grid[d]), 0.0);
    for (int64_t s : starts)
      for (int64_t k = 0; k < size[d]; ++k)
        cover[size_t((s + k) % grid[d])] +=
            patchWeight(grid[d], size[d], s, halo[d], periodic, k);
    for (int64_t i = 0; i < grid[d]; ++i)
      if (cover[size_t(i)] <= 0.0) {
        l.problem = std::string("patches of ") + std::to_string(size[d]) +
                    " every " + std::to_string(stride[d]) + " with a halo of " +
                    std::to_string(halo[d]) + " leave " + axis[d] + " " +
                    std::to_string(i) + " in no patch's interior (the " +
                    "stride may be at most size - 2 * halo)";
        return l;
      }
  }
  return l;
}

} // namespace s2s::rt

#endif // S2S_RUNTIME_PATCHGEOMETRY_H
