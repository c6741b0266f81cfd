//===- Graph.cpp - Icosahedral meshes for graph_edges ---------------------===//

#include "model/Graph.h"

#include "s2s/runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

namespace s2s::rt::graph {

namespace {

std::array<double, 3> normalised(double x, double y, double z) {
  double n = std::sqrt(x * x + y * y + z * z);
  return {x / n, y / n, z / n};
}

/// Index of the value in `sorted` (ascending (value, index) pairs) nearest
/// `q`; with `period` > 0 the values wrap around (longitude).
int64_t nearest(const std::vector<std::pair<double, int64_t>> &sorted, double q,
                double period) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(),
                             std::make_pair(q, int64_t(-1)));
  auto dist = [&](double v) {
    double d = std::fabs(v - q);
    return period > 0 ? std::min(d, period - d) : d;
  };
  size_t n = sorted.size();
  size_t hi = static_cast<size_t>(it - sorted.begin());
  // Candidates: the neighbours of the insertion point, and with wrapping
  // the first and last values.
  size_t cands[4] = {hi == n ? n - 1 : hi, hi == 0 ? 0 : hi - 1, 0, n - 1};
  size_t best = cands[0];
  for (size_t c : cands)
    if (dist(sorted[c].first) < dist(sorted[best].first) ||
        (dist(sorted[c].first) == dist(sorted[best].first) &&
         sorted[c].second < sorted[best].second))
      best = c;
  return sorted[best].second;
}

} // namespace

Mesh icosphere(int64_t refinement) {
  if (refinement < 0 || refinement > 12)
    throw Error("icosahedral mesh refinement must be in 0..12, got " +
                std::to_string(refinement));
  const double phi = (1.0 + std::sqrt(5.0)) / 2.0;
  Mesh m;
  const double corners[12][3] = {{-1, phi, 0},  {1, phi, 0},   {-1, -phi, 0},
                                 {1, -phi, 0},  {0, -1, phi},  {0, 1, phi},
                                 {0, -1, -phi}, {0, 1, -phi},  {phi, 0, -1},
                                 {phi, 0, 1},   {-phi, 0, -1}, {-phi, 0, 1}};
  for (const auto &c : corners)
    m.vertices.push_back(normalised(c[0], c[1], c[2]));
  m.faces = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11},
             {1, 5, 9},  {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
             {3, 9, 4},  {3, 4, 2},  {3, 2, 6},   {3, 6, 8},  {3, 8, 9},
             {4, 9, 5},  {2, 4, 11}, {6, 2, 10},  {8, 6, 7},  {9, 8, 1}};

  for (int64_t r = 0; r < refinement; ++r) {
    std::unordered_map<uint64_t, int64_t> midpoints;
    midpoints.reserve(m.faces.size() * 2);
    auto midpoint = [&](int64_t a, int64_t b) {
      uint64_t key = (static_cast<uint64_t>(std::min(a, b)) << 32) |
                     static_cast<uint64_t>(std::max(a, b));
      auto [it, fresh] =
          midpoints.emplace(key, static_cast<int64_t>(m.vertices.size()));
      if (fresh) {
        const auto &p = m.vertices[a], &q = m.vertices[b];
        m.vertices.push_back(normalised(p[0] + q[0], p[1] + q[1], p[2] + q[2]));
      }
      return it->second;
    };
    std::vector<std::array<int64_t, 3>> next;
    next.reserve(m.faces.size() * 4);
    for (const auto &f : m.faces) {
      int64_t ab = midpoint(f[0], f[1]), bc = midpoint(f[1], f[2]),
              ca = midpoint(f[2], f[0]);
      next.push_back({f[0], ab, ca});
      next.push_back({f[1], bc, ab});
      next.push_back({f[2], ca, bc});
      next.push_back({ab, bc, ca});
    }
    m.faces = std::move(next);
  }
  return m;
}

std::vector<std::pair<int64_t, int64_t>> undirectedEdges(const Mesh &mesh) {
  std::vector<std::pair<int64_t, int64_t>> e;
  e.reserve(mesh.faces.size() * 3);
  for (const auto &f : mesh.faces)
    for (int k = 0; k < 3; ++k) {
      int64_t a = f[k], b = f[(k + 1) % 3];
      e.emplace_back(std::min(a, b), std::max(a, b));
    }
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  return e;
}

std::vector<std::pair<int64_t, int64_t>> directedEdges(const Mesh &mesh) {
  std::vector<std::pair<int64_t, int64_t>> u = undirectedEdges(mesh), e;
  e.reserve(u.size() * 2);
  for (auto [a, b] : u) {
    e.emplace_back(a, b);
    e.emplace_back(b, a);
  }
  std::sort(e.begin(), e.end());
  return e;
}

std::vector<std::pair<int64_t, int64_t>>
gridMeshEdges(const Mesh &mesh, const std::vector<double> &lat,
              const std::vector<double> &lon, bool toMesh) {
  if (lat.empty() || lon.empty())
    throw Error("grid-mesh graph edges need a grid with at least one "
                "latitude and one longitude");
  const double pi = std::acos(-1.0);
  const int64_t H = lat.size(), W = lon.size(), P = H * W;
  std::vector<std::pair<double, int64_t>> lats, lons;
  for (int64_t i = 0; i < H; ++i)
    lats.emplace_back(lat[i], i);
  for (int64_t j = 0; j < W; ++j) {
    double l = std::fmod(lon[j], 360.0);
    lons.emplace_back(l < 0 ? l + 360.0 : l, j);
  }
  std::sort(lats.begin(), lats.end());
  std::sort(lons.begin(), lons.end());

  std::vector<std::pair<int64_t, int64_t>> out;
  for (auto [s, t] : directedEdges(mesh)) {
    const auto &p = mesh.vertices[s], &q = mesh.vertices[t];
    auto mid = normalised(p[0] + q[0], p[1] + q[1], p[2] + q[2]);
    double la = std::asin(std::clamp(mid[2], -1.0, 1.0)) * 180.0 / pi;
    double lo = std::atan2(mid[1], mid[0]) * 180.0 / pi;
    if (lo < 0)
      lo += 360.0;
    int64_t g = nearest(lats, la, 0.0) * W + nearest(lons, lo, 360.0);
    if (toMesh)
      out.emplace_back(g, P + t);
    else
      out.emplace_back(P + t, g);
  }
  return out;
}

} // namespace s2s::rt::graph
