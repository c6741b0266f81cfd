//===- ColumnPhysics.cpp - Layers of a pressure-level column -------------===//

#include "support/ColumnPhysics.h"

#include "s2s/runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace s2s::rt::column {

std::vector<double> layerThicknessPa(const std::vector<int64_t> &p) {
  const size_t n = p.size();
  if (n < 2)
    throw Error("a column needs at least 2 pressure levels, got " +
                std::to_string(n));
  for (size_t k = 0; k < n; ++k)
    if (p[k] < 1 || (k && p[k] <= p[k - 1]))
      throw Error("column levels must be positive and increase from the top "
                  "down (hPa); level " +
                  std::to_string(k) + " is " + std::to_string(p[k]));
  std::vector<double> edge(n + 1);
  for (size_t k = 1; k < n; ++k)
    edge[k] = 0.5 * double(p[k - 1] + p[k]);
  edge[0] = std::max(0.0, 2.0 * double(p[0]) - edge[1]);
  edge[n] = 2.0 * double(p[n - 1]) - edge[n - 1];
  std::vector<double> dp(n);
  for (size_t k = 0; k < n; ++k)
    dp[k] = 100.0 * (edge[k + 1] - edge[k]);
  return dp;
}

std::vector<double> exner(const std::vector<int64_t> &p) {
  std::vector<double> e(p.size());
  for (size_t k = 0; k < p.size(); ++k)
    e[k] = std::pow(double(p[k]) / kP0, kKappa);
  return e;
}

} // namespace s2s::rt::column
