//===- GraphGeometryTest.cpp - GraphCast's graphs against closed forms ----===//
//
// GraphGeometry.h (shared by s2sc's shapes and the runtime's kernels)
// against closed forms and independent computations: the icosahedron's
// counts per refinement, the multimesh as a union of levels whose edges
// never coincide (checked, not assumed), grid2mesh against a brute-force
// radius search, mesh2grid against a barycentric test of the containing
// triangle, and the features against rotation matrices.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/GraphGeometry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <set>

using namespace s2s::rt;
using namespace s2s::rt::geometry;

namespace {

int64_t pow4(int64_t k) {
  int64_t p = 1;
  while (k-- > 0)
    p *= 4;
  return p;
}

std::set<std::pair<int64_t, int64_t>> asSet(const Edges &e) {
  return {e.begin(), e.end()};
}

} // namespace

// Refinement r: V = 10*4^r + 2 nodes, E = 30*4^r edges, F = 20*4^r faces
// (Euler: V - E + F = 2), every node on the unit sphere, faces
// counter-clockwise seen from outside, numbering nested.
TEST(GraphGeometryTest, IcosphereCountsPerLevel) {
  Icosphere m = icosphere(5);
  ASSERT_EQ(m.refinement(), 5);
  EXPECT_EQ((int64_t)m.vertices.size(), 10 * pow4(5) + 2);
  for (int64_t r = 0; r <= 5; ++r) {
    Icosphere level = icosphere(r);
    EXPECT_EQ((int64_t)level.vertices.size(), 10 * pow4(r) + 2) << r;
    EXPECT_EQ(meshNodeCount(r), 10 * pow4(r) + 2) << r;
    EXPECT_EQ((int64_t)m.faces[r].size(), 20 * pow4(r)) << r;
    EXPECT_EQ((int64_t)undirectedEdges(m.faces[r]).size(), 30 * pow4(r)) << r;
    for (size_t i = 0; i < level.vertices.size(); ++i)
      for (int k = 0; k < 3; ++k)
        ASSERT_DOUBLE_EQ(level.vertices[i][k], m.vertices[i][k]) << r << i;
    for (const Face &f : m.faces[r]) {
      const Vec3 &a = m.vertices[f[0]], &b = m.vertices[f[1]],
                 &c = m.vertices[f[2]];
      Vec3 centre = {a[0] + b[0] + c[0], a[1] + b[1] + c[1],
                     a[2] + b[2] + c[2]};
      Vec3 ab = {b[0] - a[0], b[1] - a[1], b[2] - a[2]},
           ac = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
      ASSERT_GT(dot(cross(ab, ac), centre), 0) << "clockwise face at " << r;
    }
  }
  for (const Vec3 &v : m.vertices)
    ASSERT_NEAR(dot(v, v), 1.0, 1e-14);
}

// The multimesh of refinement R: the nodes of MR, the union of the edges of
// M0..MR. Edges of different levels never coincide (an edge of Mk is
// split at its midpoint in M(k+1), and a finer edge is shorter than any
// coarser one): checked here, so the union has sum_k 30*4^k undirected
// edges, 2 * 10 * (4^(R+1) - 1) directed ones: 327,660 at M6.
TEST(GraphGeometryTest, MultimeshIsTheUnionOfDisjointLevels) {
  const int64_t R = 4;
  Icosphere m = icosphere(R);
  std::vector<std::set<std::pair<int64_t, int64_t>>> levels;
  for (int64_t k = 0; k <= R; ++k)
    levels.push_back(asSet(undirectedEdges(m.faces[k])));
  int64_t sum = 0;
  for (int64_t k = 0; k <= R; ++k) {
    sum += 30 * pow4(k);
    for (int64_t j = 0; j < k; ++j)
      for (const auto &e : levels[j])
        ASSERT_FALSE(levels[k].count(e))
            << "level " << j << " and " << k << " share " << e.first << "-"
            << e.second;
  }
  Edges mm = multimeshEdges(m);
  EXPECT_EQ((int64_t)mm.size(), 2 * sum);
  EXPECT_EQ((int64_t)mm.size(), 20 * (pow4(R + 1) - 1));
  std::set<std::pair<int64_t, int64_t>> all = asSet(mm);
  EXPECT_EQ(all.size(), mm.size()) << "duplicate edges";
  for (auto [s, r] : mm) {
    ASSERT_NE(s, r);
    ASSERT_TRUE(all.count({r, s})) << "one-way edge";
    bool inALevel = false;
    for (const auto &level : levels)
      inALevel |= level.count({std::min(s, r), std::max(s, r)}) > 0;
    ASSERT_TRUE(inALevel) << s << "->" << r;
  }
  // M6 as published: 327,660 directed edges on 40,962 nodes.
  EXPECT_EQ(defaultGridEdgeCount("multimesh", 6, 0, 0), 327660);
  EXPECT_EQ(meshNodeCount(6), 40962);
}

namespace {

/// Every grid point has a grid2mesh and a mesh2grid edge; the counts are
/// returned for the caller's checks.
void expectEveryPointConnected(int64_t R, int64_t H, int64_t W) {
  Icosphere m = icosphere(R);
  std::vector<double> lat = defaultLatitudes(H), lon = defaultLongitudes(W);
  std::vector<int64_t> sends(size_t(H * W), 0), receives(size_t(H * W), 0);
  for (auto [g, v] : grid2meshEdges(m, lat, lon)) {
    ASSERT_LT(g, H * W);
    ASSERT_LT(v, (int64_t)m.vertices.size());
    ++sends[size_t(g)];
  }
  Edges m2g = mesh2gridEdges(m, lat, lon);
  EXPECT_EQ((int64_t)m2g.size(), 3 * H * W);
  EXPECT_EQ(defaultGridEdgeCount("mesh2grid", R, H, W), 3 * H * W);
  for (auto [v, g] : m2g) {
    ASSERT_LT(v, (int64_t)m.vertices.size());
    ++receives[size_t(g)];
  }
  for (int64_t p = 0; p < H * W; ++p) {
    ASSERT_GE(sends[size_t(p)], 1)
        << "grid point " << p / W << "," << p % W << " sends to no mesh node (M"
        << R << ", " << H << "x" << W << ")";
    ASSERT_EQ(receives[size_t(p)], 3) << "grid point " << p;
  }
}

} // namespace

// The small grids of the tests (poles included when H is odd) and a
// mid-size 1-degree one.
TEST(GraphGeometryTest, EveryGridPointIsConnected) {
  expectEveryPointConnected(1, 16, 32);
  expectEveryPointConnected(2, 16, 32);
  expectEveryPointConnected(2, 17, 32);
  expectEveryPointConnected(1, 9, 16);
  expectEveryPointConnected(4, 181, 360);
}

// GraphCast's own grid and mesh: 0.25 degrees (721 x 1440, both poles) and
// M6; a few seconds.
TEST(GraphGeometryTest, EveryGridPointIsConnectedAtPaperSize) {
  auto start = std::chrono::steady_clock::now();
  expectEveryPointConnected(6, 721, 1440);
  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf("[figures] M6 at 721x1440: %.2f s\n", s);
}

// grid2mesh against a brute-force search over every (grid point, mesh
// node) pair, with the radius from a brute-force longest edge.
TEST(GraphGeometryTest, Grid2MeshIsTheRadiusQuery) {
  for (auto [R, H, W] :
       {std::array<int64_t, 3>{1, 16, 32}, std::array<int64_t, 3>{2, 17, 32},
        std::array<int64_t, 3>{3, 33, 64}}) {
    Icosphere m = icosphere(R);
    double longest = 0;
    for (const Face &f : m.finest())
      for (int k = 0; k < 3; ++k) {
        const Vec3 &a = m.vertices[f[k]], &b = m.vertices[f[(k + 1) % 3]];
        longest = std::max(longest, std::sqrt((a[0] - b[0]) * (a[0] - b[0]) +
                                              (a[1] - b[1]) * (a[1] - b[1]) +
                                              (a[2] - b[2]) * (a[2] - b[2])));
      }
    std::vector<double> lat = defaultLatitudes(H), lon = defaultLongitudes(W);
    std::set<std::pair<int64_t, int64_t>> want;
    const double pi = std::acos(-1.0);
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double la = lat[i] * pi / 180, lo = lon[j] * pi / 180;
        double x = std::cos(la) * std::cos(lo), y = std::cos(la) * std::sin(lo),
               z = std::sin(la);
        for (size_t v = 0; v < m.vertices.size(); ++v) {
          const Vec3 &p = m.vertices[v];
          double d =
              std::sqrt((x - p[0]) * (x - p[0]) + (y - p[1]) * (y - p[1]) +
                        (z - p[2]) * (z - p[2]));
          if (d <= 0.6 * longest)
            want.emplace(i * W + j, int64_t(v));
        }
      }
    Edges got = grid2meshEdges(m, lat, lon);
    EXPECT_EQ(asSet(got), want) << "M" << R << " " << H << "x" << W;
    EXPECT_EQ(got.size(), want.size());
    EXPECT_EQ(defaultGridEdgeCount("grid2mesh", R, H, W), (int64_t)want.size());
  }
}

// mesh2grid: each grid point's three nodes are a face of the finest mesh
// whose flat triangle the point's ray crosses: barycentric coordinates of
// the crossing (Cramer's rule on p = t * (a + u (b - a) + v (c - a))) all
// at least 0.
TEST(GraphGeometryTest, Mesh2GridTrianglesContainTheirPoints) {
  for (auto [R, H, W] :
       {std::array<int64_t, 3>{1, 16, 32}, std::array<int64_t, 3>{2, 17, 32},
        std::array<int64_t, 3>{4, 91, 180}}) {
    Icosphere m = icosphere(R);
    std::set<std::array<int64_t, 3>> faces;
    for (Face f : m.finest()) {
      std::sort(f.begin(), f.end());
      faces.insert(f);
    }
    std::vector<double> lat = defaultLatitudes(H), lon = defaultLongitudes(W);
    Edges e = mesh2gridEdges(m, lat, lon);
    for (int64_t p = 0; p < H * W; ++p) {
      std::array<int64_t, 3> f = {e[3 * p].first, e[3 * p + 1].first,
                                  e[3 * p + 2].first};
      for (int k = 0; k < 3; ++k)
        ASSERT_EQ(e[3 * p + k].second, p);
      std::array<int64_t, 3> sorted = f;
      std::sort(sorted.begin(), sorted.end());
      ASSERT_TRUE(faces.count(sorted)) << "not a face, point " << p;
      const Vec3 &a = m.vertices[f[0]], &b = m.vertices[f[1]],
                 &c = m.vertices[f[2]];
      Vec3 q = unitVector(lat[p / W], lon[p % W]);
      // Solve [q, a - b, a - c] (t, u, v) = a for the crossing
      // t q = a + u (b - a) + v (c - a).
      auto det3 = [](const Vec3 &x, const Vec3 &y, const Vec3 &z) {
        return x[0] * (y[1] * z[2] - y[2] * z[1]) -
               y[0] * (x[1] * z[2] - x[2] * z[1]) +
               z[0] * (x[1] * y[2] - x[2] * y[1]);
      };
      Vec3 ab = {a[0] - b[0], a[1] - b[1], a[2] - b[2]},
           ac = {a[0] - c[0], a[1] - c[1], a[2] - c[2]};
      double d = det3(q, ab, ac);
      ASSERT_NE(d, 0.0);
      double t = det3(a, ab, ac) / d, u = det3(q, a, ac) / d,
             v = det3(q, ab, a) / d;
      EXPECT_GT(t, 0) << "the triangle is on the far side, point " << p;
      EXPECT_GE(u, -1e-12) << p;
      EXPECT_GE(v, -1e-12) << p;
      EXPECT_GE(1 - u - v, -1e-12) << p;
    }
  }
}

// Edge features against rotations: Rz(-lon_r) then Ry(lat_r) takes the
// receiver to (1, 0, 0); the rotated sender minus (1, 0, 0) is the
// displacement (radial, east, north); divided by the longest edge.
TEST(GraphGeometryTest, EdgeFeaturesAreLocalDisplacements) {
  Icosphere m = icosphere(2);
  std::vector<double> lat = defaultLatitudes(9), lon = defaultLongitudes(12);
  Nodes mesh = meshNodes(m), grid = gridNodes(lat, lon);
  Edges e = grid2meshEdges(m, lat, lon);
  std::vector<double> f = edgeFeatures(grid, mesh, e);
  ASSERT_EQ(f.size(), e.size() * 4);
  const double pi = std::acos(-1.0);
  double longest = 0;
  for (auto [s, r] : e)
    longest = std::max(longest, chord(grid.xyz[s], mesh.xyz[r]));
  for (size_t i = 0; i < e.size(); ++i) {
    auto [s, r] = e[i];
    double lo = mesh.lon[r] * pi / 180, la = mesh.lat[r] * pi / 180;
    auto rotate = [&](const Vec3 &p) {
      // Rz(-lo): longitude lo to 0.
      double x = std::cos(lo) * p[0] + std::sin(lo) * p[1],
             y = -std::sin(lo) * p[0] + std::cos(lo) * p[1], z = p[2];
      // Ry(la): latitude la to 0 (x, z plane).
      return Vec3{std::cos(la) * x + std::sin(la) * z, y,
                  -std::sin(la) * x + std::cos(la) * z};
    };
    Vec3 rs = rotate(grid.xyz[s]), rr = rotate(mesh.xyz[r]);
    ASSERT_NEAR(rr[0], 1.0, 1e-12);
    Vec3 d = {rs[0] - rr[0], rs[1] - rr[1], rs[2] - rr[2]};
    EXPECT_NEAR(f[4 * i + 1], d[0] / longest, 1e-12) << i;
    EXPECT_NEAR(f[4 * i + 2], d[1] / longest, 1e-12) << i;
    EXPECT_NEAR(f[4 * i + 3], d[2] / longest, 1e-12) << i;
    EXPECT_NEAR(f[4 * i],
                std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]) / longest,
                1e-12);
  }
  // Node features: sin latitude (cos colatitude), cos and sin longitude.
  std::vector<double> n = nodeFeatures(grid);
  EXPECT_NEAR(n[0], 1.0, 1e-12); // the north pole
  size_t last = n.size() - 3;    // the south pole at 330 east
  EXPECT_NEAR(n[last], -1.0, 1e-12);
  EXPECT_NEAR(n[last + 1], std::cos(330 * pi / 180), 1e-12);
  EXPECT_NEAR(n[last + 2], std::sin(330 * pi / 180), 1e-12);
}
