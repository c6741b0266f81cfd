//===- Graph.h - Icosahedral meshes for graph_edges (private) ---*- C++ -*-===//
//
// The meshes behind s2s::rt::graph_edges (Ops.h). Not installed: Ops.cpp
// and the tests use it.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_GRAPH_H
#define S2S_RUNTIME_MODEL_GRAPH_H

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

namespace s2s::rt::graph {

/// The unit icosahedron refined `refinement` times: each triangle split into
/// four at its edge midpoints, which are pushed out onto the sphere. Vertex
/// numbering is nested: the vertices of refinement r-1 are the first
/// 10*4^(r-1)+2 of refinement r (the 12 icosahedron corners come first).
struct Mesh {
  std::vector<std::array<double, 3>> vertices; ///< 10*4^r + 2 unit vectors
  std::vector<std::array<int64_t, 3>> faces;   ///< 20*4^r triangles
};
Mesh icosphere(int64_t refinement);

/// The mesh's 30*4^r undirected edges (a < b), sorted.
std::vector<std::pair<int64_t, int64_t>> undirectedEdges(const Mesh &mesh);

/// Both directions of every edge, sorted by (sender, receiver): 60*4^r.
std::vector<std::pair<int64_t, int64_t>> directedEdges(const Mesh &mesh);

/// Grid <-> mesh edges on a lat-lon grid of `lat.size()` x `lon.size()`
/// points (degrees), indexing grid point (i, j) as i*W + j and mesh vertex v
/// as H*W + v. For each directed mesh edge (s -> t) the grid point nearest
/// the edge's midpoint is linked to t: the 60*4^r edges connect each mesh
/// vertex with the grid points around it, half way to its neighbours.
/// `toMesh` gives grid -> mesh (senders are grid points), otherwise
/// mesh -> grid.
std::vector<std::pair<int64_t, int64_t>>
gridMeshEdges(const Mesh &mesh, const std::vector<double> &lat,
              const std::vector<double> &lon, bool toMesh);

} // namespace s2s::rt::graph

#endif // S2S_RUNTIME_MODEL_GRAPH_H
