//===- Grid.cpp - Default coordinates of a lat-lon grid -------------------===//

#include "support/Grid.h"

#include <algorithm>

namespace s2s::rt {

std::vector<double> defaultLatitudes(int64_t n) {
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

std::vector<double> defaultLongitudes(int64_t n) {
  std::vector<double> lon(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t j = 0; j < n; ++j)
    lon[size_t(j)] = 360.0 * double(j) / double(n);
  return lon;
}

} // namespace s2s::rt
