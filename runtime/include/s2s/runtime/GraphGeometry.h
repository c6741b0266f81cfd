//===- GraphGeometry.h - GraphCast's graphs ---------------------*- C++ -*-===//
//
// The one statement of the graphs of GraphCast (Lam et al. 2023, Section 3
// and the supplement's graph description) that both s2sc (the static edge
// counts of graph_edges and friends) and the runtime (the kernels that build
// the edges and their features) follow:
//
//  - M0 is the unit icosahedron (12 nodes, 20 faces), oriented as GraphCast
//    orients it (two faces parallel to the equator). M(r+1) splits each
//    face of Mr into four at its edge midpoints, pushed out onto the unit
//    sphere. Numbering is nested: Mr's nodes are the first 10*4^r+2 of
//    M(r+1)'s, and the children of face f of Mr are faces 4f..4f+3 of
//    M(r+1) (so a point is located by descending the levels).
//  - The multimesh of refinement R has the nodes of MR and the union of the
//    edges of M0..MR, in both directions. An edge of Mk joins two nodes of
//    Mk that a finer level never joins again (its midpoint becomes a node),
//    so the union has sum_k 30*4^k undirected edges (the tests check it).
//  - grid2mesh: an edge from every grid point whose chord distance (unit
//    sphere) to a mesh node is at most 0.6 x the longest (chord) edge of MR.
//  - mesh2grid: an edge from each of the three nodes of the MR face that
//    contains the grid point (the face whose flat triangle the point's ray
//    crosses, which is the spherical triangle containing it).
//  - node features: cos(colatitude) (= sin(latitude)), cos and sin of the
//    longitude, as the published code computes them (the paper's "cosine of
//    the latitude" is measured from the pole; cos(latitude) itself would not
//    tell the hemispheres apart).
//  - edge features: the edge's length and the sender's position minus the
//    receiver's in the receiver's local frame (radial, east, north), all
//    divided by the longest edge of that graph.
//
// Latitudes and longitudes are in degrees; grid point (i, j) of an H x W
// grid is node i*W + j. Header-only and free of torch and LLVM, so both
// sides include it; no exceptions (callers check their inputs first).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_GRAPHGEOMETRY_H
#define S2S_RUNTIME_GRAPHGEOMETRY_H

#include "s2s/runtime/GridCoordinates.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace s2s::rt::geometry {

using Vec3 = std::array<double, 3>;
using Face = std::array<int64_t, 3>;
/// (sender, receiver) pairs.
using Edges = std::vector<std::pair<int64_t, int64_t>>;

/// Refinement levels offered (M12 has 167 million nodes).
constexpr int64_t kMaxRefinement = 12;
/// grid2mesh's radius, as a fraction of the finest mesh's longest edge.
constexpr double kGrid2MeshRadius = 0.6;

inline double dot(const Vec3 &a, const Vec3 &b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
inline Vec3 cross(const Vec3 &a, const Vec3 &b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
          a[0] * b[1] - a[1] * b[0]};
}
inline double chord(const Vec3 &a, const Vec3 &b) {
  double x = a[0] - b[0], y = a[1] - b[1], z = a[2] - b[2];
  return std::sqrt(x * x + y * y + z * z);
}
inline Vec3 normalised(const Vec3 &v) {
  double n = std::sqrt(dot(v, v));
  return {v[0] / n, v[1] / n, v[2] / n};
}
inline double radians(double degrees) {
  return degrees * (3.14159265358979323846 / 180.0);
}
inline double degrees(double radians) {
  return radians * (180.0 / 3.14159265358979323846);
}
inline Vec3 unitVector(double latDeg, double lonDeg) {
  double la = radians(latDeg), lo = radians(lonDeg);
  return {std::cos(la) * std::cos(lo), std::cos(la) * std::sin(lo),
          std::sin(la)};
}
inline double latitudeOf(const Vec3 &v) {
  return degrees(std::asin(std::clamp(v[2], -1.0, 1.0)));
}
inline double longitudeOf(const Vec3 &v) {
  double lo = degrees(std::atan2(v[1], v[0]));
  return lo < 0 ? lo + 360.0 : lo;
}

/// M0..MR: the nodes of MR (nested numbering) and the faces of every level.
struct Icosphere {
  std::vector<Vec3> vertices;           ///< 10*4^R + 2 unit vectors
  std::vector<std::vector<Face>> faces; ///< faces[r]: Mr's 20*4^r faces
  int64_t refinement() const { return int64_t(faces.size()) - 1; }
  const std::vector<Face> &finest() const { return faces.back(); }
};

/// M0..MR. Faces are counter-clockwise seen from outside.
inline Icosphere icosphere(int64_t refinement) {
  const double phi = (1.0 + std::sqrt(5.0)) / 2.0;
  Icosphere m;
  const double corners[12][3] = {{-1, phi, 0},  {1, phi, 0},   {-1, -phi, 0},
                                 {1, -phi, 0},  {0, -1, phi},  {0, 1, phi},
                                 {0, -1, -phi}, {0, 1, -phi},  {phi, 0, -1},
                                 {phi, 0, 1},   {-phi, 0, -1}, {-phi, 0, 1}};
  // GraphCast's orientation: turned about the y axis by half the
  // supplement of the angle between adjacent faces, so that two faces are
  // parallel to the equator (the poles sit at face centres, not vertices).
  const double turn =
      (3.14159265358979323846 - 2.0 * std::asin(phi / std::sqrt(3.0))) / 2.0;
  const double c = std::cos(turn), s = std::sin(turn);
  for (const auto &p : corners)
    m.vertices.push_back(
        normalised({c * p[0] - s * p[2], p[1], s * p[0] + c * p[2]}));
  m.faces.push_back({{0, 11, 5},  {0, 5, 1},  {0, 1, 7},  {0, 7, 10},
                     {0, 10, 11}, {1, 5, 9},  {5, 11, 4}, {11, 10, 2},
                     {10, 7, 6},  {7, 1, 8},  {3, 9, 4},  {3, 4, 2},
                     {3, 2, 6},   {3, 6, 8},  {3, 8, 9},  {4, 9, 5},
                     {2, 4, 11},  {6, 2, 10}, {8, 6, 7},  {9, 8, 1}});
  for (int64_t r = 0; r < refinement; ++r) {
    std::unordered_map<uint64_t, int64_t> midpoints;
    auto midpoint = [&](int64_t a, int64_t b) {
      uint64_t key =
          (uint64_t(std::min(a, b)) << 32) | uint64_t(std::max(a, b));
      auto [it, fresh] = midpoints.emplace(key, int64_t(m.vertices.size()));
      if (fresh) {
        const Vec3 &p = m.vertices[a], &q = m.vertices[b];
        m.vertices.push_back(
            normalised({p[0] + q[0], p[1] + q[1], p[2] + q[2]}));
      }
      return it->second;
    };
    std::vector<Face> next;
    next.reserve(m.faces.back().size() * 4);
    for (const Face &f : m.faces.back()) {
      int64_t ab = midpoint(f[0], f[1]), bc = midpoint(f[1], f[2]),
              ca = midpoint(f[2], f[0]);
      next.push_back({f[0], ab, ca});
      next.push_back({f[1], bc, ab});
      next.push_back({f[2], ca, bc});
      next.push_back({ab, bc, ca});
    }
    m.faces.push_back(std::move(next));
  }
  return m;
}

/// The undirected edges (a < b) of the faces given, sorted, each once.
inline Edges undirectedEdges(const std::vector<Face> &faces) {
  Edges e;
  e.reserve(faces.size() * 3);
  for (const Face &f : faces)
    for (int k = 0; k < 3; ++k)
      e.emplace_back(std::min(f[k], f[(k + 1) % 3]),
                     std::max(f[k], f[(k + 1) % 3]));
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  return e;
}

/// The multimesh: both directions of every edge of M0..MR, sorted by
/// (sender, receiver), each once.
inline Edges multimeshEdges(const Icosphere &m) {
  Edges e;
  for (const auto &level : m.faces)
    for (auto [a, b] : undirectedEdges(level)) {
      e.emplace_back(a, b);
      e.emplace_back(b, a);
    }
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  return e;
}

/// The longest chord of the finest level's edges.
inline double longestEdge(const Icosphere &m) {
  double longest = 0;
  for (auto [a, b] : undirectedEdges(m.finest()))
    longest = std::max(longest, chord(m.vertices[a], m.vertices[b]));
  return longest;
}

/// Grid point positions, row-major.
inline std::vector<Vec3> gridPoints(const std::vector<double> &lat,
                                    const std::vector<double> &lon) {
  std::vector<Vec3> p;
  p.reserve(lat.size() * lon.size());
  for (double la : lat)
    for (double lo : lon)
      p.push_back(unitVector(la, lo));
  return p;
}

/// grid2mesh: (grid point, mesh node) for every pair at most
/// kGrid2MeshRadius x longestEdge(m) apart (chord), sorted. Candidates come
/// from the rows within the cap's latitude band and, per row, the columns
/// within its longitude half-width; the chord decides.
inline Edges grid2meshEdges(const Icosphere &m, const std::vector<double> &lat,
                            const std::vector<double> &lon) {
  const double radius = kGrid2MeshRadius * longestEdge(m);
  const double cap = degrees(2.0 * std::asin(radius / 2.0)) + 1e-9;
  const int64_t W = int64_t(lon.size());
  std::vector<std::pair<double, int64_t>> rows, cols;
  for (size_t i = 0; i < lat.size(); ++i)
    rows.emplace_back(lat[i], int64_t(i));
  for (size_t j = 0; j < lon.size(); ++j) {
    double l = std::fmod(lon[j], 360.0);
    cols.emplace_back(l < 0 ? l + 360.0 : l, int64_t(j));
  }
  std::sort(rows.begin(), rows.end());
  std::sort(cols.begin(), cols.end());
  auto colsIn = [&](double lo, double hi, auto &&visit) {
    auto it = std::lower_bound(cols.begin(), cols.end(),
                               std::make_pair(lo, int64_t(-1)));
    for (; it != cols.end() && it->first <= hi; ++it)
      visit(it->second);
  };
  Edges e;
  for (int64_t v = 0; v < int64_t(m.vertices.size()); ++v) {
    const Vec3 &pv = m.vertices[v];
    double la = latitudeOf(pv), lo = longitudeOf(pv);
    auto row = std::lower_bound(rows.begin(), rows.end(),
                                std::make_pair(la - cap, int64_t(-1)));
    for (; row != rows.end() && row->first <= la + cap; ++row) {
      int64_t i = row->second;
      auto consider = [&](int64_t j) {
        if (chord(pv, unitVector(lat[i], lon[j])) <= radius)
          e.emplace_back(i * W + j, v);
      };
      double half =
          std::abs(la) + cap >= 90.0
              ? 180.0
              : degrees(std::asin(std::min(1.0, std::sin(radians(cap)) /
                                                    std::cos(radians(la))))) +
                    1e-9;
      if (half >= 180.0) {
        for (int64_t j = 0; j < W; ++j)
          consider(j);
        continue;
      }
      double from = lo - half, to = lo + half;
      colsIn(std::max(from, 0.0), std::min(to, 360.0), consider);
      if (from < 0)
        colsIn(from + 360.0, 360.0, consider);
      if (to >= 360.0)
        colsIn(0.0, to - 360.0, consider);
    }
  }
  std::sort(e.begin(), e.end());
  e.erase(std::unique(e.begin(), e.end()), e.end());
  return e;
}

/// How far inside face f the direction p is: the smallest of its three
/// edge planes' signed distances (>= 0 inside, faces counter-clockwise).
inline double insideness(const Icosphere &m, const Face &f, const Vec3 &p) {
  const Vec3 &a = m.vertices[f[0]], &b = m.vertices[f[1]],
             &c = m.vertices[f[2]];
  return std::min(
      {dot(cross(a, b), p), dot(cross(b, c), p), dot(cross(c, a), p)});
}

/// The index of the finest face containing p: the best of M0's 20 faces,
/// then at each level the best of its four children (which tile it).
inline int64_t containingFace(const Icosphere &m, const Vec3 &p) {
  int64_t best = 0;
  double inside = insideness(m, m.faces[0][0], p);
  for (int64_t f = 1; f < 20; ++f)
    if (double in = insideness(m, m.faces[0][f], p); in > inside) {
      best = f;
      inside = in;
    }
  for (int64_t r = 1; r <= m.refinement(); ++r) {
    int64_t first = 4 * best;
    best = first;
    inside = insideness(m, m.faces[r][first], p);
    for (int64_t c = first + 1; c < first + 4; ++c)
      if (double in = insideness(m, m.faces[r][c], p); in > inside) {
        best = c;
        inside = in;
      }
  }
  return best;
}

/// mesh2grid: (mesh node, grid point) for the three nodes of the finest face
/// containing each grid point, in grid order: 3 x H x W edges.
inline Edges mesh2gridEdges(const Icosphere &m, const std::vector<double> &lat,
                            const std::vector<double> &lon) {
  Edges e;
  std::vector<Vec3> points = gridPoints(lat, lon);
  e.reserve(points.size() * 3);
  for (int64_t p = 0; p < int64_t(points.size()); ++p) {
    const Face &f = m.finest()[containingFace(m, points[p])];
    for (int64_t v : f)
      e.emplace_back(v, p);
  }
  return e;
}

/// A graph's nodes: where each sits, in degrees and as a unit vector.
struct Nodes {
  std::vector<double> lat, lon;
  std::vector<Vec3> xyz;
};
inline Nodes meshNodes(const Icosphere &m) {
  Nodes n;
  for (const Vec3 &v : m.vertices) {
    n.lat.push_back(latitudeOf(v));
    n.lon.push_back(longitudeOf(v));
    n.xyz.push_back(v);
  }
  return n;
}
inline Nodes gridNodes(const std::vector<double> &lat,
                       const std::vector<double> &lon) {
  Nodes n;
  for (double la : lat)
    for (double lo : lon) {
      n.lat.push_back(la);
      n.lon.push_back(lo);
      n.xyz.push_back(unitVector(la, lo));
    }
  return n;
}

/// Per node: cos(colatitude), cos(longitude), sin(longitude); 3 per node.
inline std::vector<double> nodeFeatures(const Nodes &n) {
  std::vector<double> f;
  f.reserve(n.lat.size() * 3);
  for (size_t i = 0; i < n.lat.size(); ++i) {
    f.push_back(std::cos(radians(90.0 - n.lat[i])));
    f.push_back(std::cos(radians(n.lon[i])));
    f.push_back(std::sin(radians(n.lon[i])));
  }
  return f;
}

/// Per edge: [length, radial, east, north] of sender - receiver in the
/// receiver's local frame, divided by the graph's longest edge; 4 per edge.
inline std::vector<double>
edgeFeatures(const Nodes &senders, const Nodes &receivers, const Edges &edges) {
  std::vector<double> f;
  f.reserve(edges.size() * 4);
  double longest = 0;
  for (auto [s, r] : edges) {
    const Vec3 &ps = senders.xyz[s], &pr = receivers.xyz[r];
    Vec3 d = {ps[0] - pr[0], ps[1] - pr[1], ps[2] - pr[2]};
    double la = radians(receivers.lat[r]), lo = radians(receivers.lon[r]);
    Vec3 east = {-std::sin(lo), std::cos(lo), 0.0};
    Vec3 north = {-std::sin(la) * std::cos(lo), -std::sin(la) * std::sin(lo),
                  std::cos(la)};
    double length = std::sqrt(dot(d, d));
    longest = std::max(longest, length);
    f.insert(f.end(), {length, dot(d, pr), dot(d, east), dot(d, north)});
  }
  if (longest > 0)
    for (double &x : f)
      x /= longest;
  return f;
}

/// The graphs by name: "multimesh", "grid2mesh", "mesh2grid".
inline bool isGraphName(const std::string &g) {
  return g == "multimesh" || g == "grid2mesh" || g == "mesh2grid";
}

/// The edges of graph `g` on an icosphere and a grid.
inline Edges graphEdges(const std::string &g, const Icosphere &m,
                        const std::vector<double> &lat,
                        const std::vector<double> &lon) {
  if (g == "multimesh")
    return multimeshEdges(m);
  if (g == "grid2mesh")
    return grid2meshEdges(m, lat, lon);
  return mesh2gridEdges(m, lat, lon);
}

/// The number of edges of graph `g` at refinement R on the grid with the
/// default coordinates of H x W (GridCoordinates.h): what s2sc puts in the
/// IR's shapes.
inline int64_t defaultGridEdgeCount(const std::string &g, int64_t refinement,
                                    int64_t H, int64_t W) {
  Icosphere m = icosphere(refinement);
  return int64_t(
      graphEdges(g, m, defaultLatitudes(H), defaultLongitudes(W)).size());
}

/// Nodes of M_R: 10*4^R + 2.
inline int64_t meshNodeCount(int64_t refinement) {
  int64_t p = 1;
  for (int64_t i = 0; i < refinement; ++i)
    p *= 4;
  return 10 * p + 2;
}

} // namespace s2s::rt::geometry

#endif // S2S_RUNTIME_GRAPHGEOMETRY_H
