//===- SpatialModels.h - Model bodies serial or on latitude bands -*- C++
//-*-===//
//
// std/models/conv.s2s's ResConvNet and std/models/afno.s2s's AFNONet trunk
// written once against an Ops switch: the serial kernels of Ops.h on the
// whole grid, or spatial/Spatial.h's banded ones on this rank's band.
// SpatialTest compares the two; bench/parallel/bench_layers times them.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_SPATIAL_SPATIALMODELS_H
#define S2S_RUNTIME_TEST_SPATIAL_SPATIALMODELS_H

#include "spatial/Spatial.h"

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <string>

namespace s2s_test {

/// The ops a model body calls: the serial ones, or the banded ones.
struct SpatialOps {
  using Tensor = torch::Tensor;
  const s2s::rt::spatial::Space *space = nullptr; ///< null: serial
  Tensor padSphere(const Tensor &x, int64_t p) const {
    namespace sp = s2s::rt::spatial;
    return space ? sp::padSphere(*space, x, {p, p})
                 : s2s::rt::pad_sphere(x, {p, p});
  }
  Tensor groupNorm(s2s::rt::Model &m, const char *name, const Tensor &x,
                   int64_t g) const {
    return space ? s2s::rt::spatial::groupNorm(m, name, *space, x, g, 1e-5)
                 : s2s::rt::group_norm(m, name, x, g, 1e-5);
  }
  Tensor afno2d(s2s::rt::Model &m, const char *name, const Tensor &x,
                int64_t blocks, double sparsity, double modes,
                s2s::rt::AfnoCutoff cutoff) const {
    return space ? s2s::rt::spatial::afno2d(m, name, *space, x, blocks,
                                            sparsity, modes, cutoff)
                 : s2s::rt::afno2d(m, name, x, blocks, sparsity, modes, cutoff);
  }
  Tensor loss(s2s::rt::Model &m, const Tensor &y, const Tensor &t) const {
    using s2s::rt::LossKind, s2s::rt::Weighting;
    return space ? s2s::rt::spatial::loss(m, *space, LossKind::Mse, y, t,
                                          Weighting::Latitude)
                 : s2s::rt::loss(m, LossKind::Mse, y, t, Weighting::Latitude,
                                 1.0);
  }
};

/// std/blocks.s2s SphereConv.
inline torch::Tensor sphereConv(s2s::rt::Model &m, const SpatialOps &ops,
                                const std::string &name, const torch::Tensor &x,
                                int64_t out, int64_t k) {
  return s2s::rt::conv2d(m, name.c_str(), ops.padSphere(x, k / 2), out, {k, k},
                         {1, 1}, {0, 0}, s2s::rt::PadMode::Zeros, true,
                         s2s::rt::Activation::None);
}

/// std/models/conv.s2s ResConvNet(channels, width, depth 2, kernel k,
/// groups).
inline torch::Tensor resConvNet(s2s::rt::Model &m, const SpatialOps &ops,
                                const torch::Tensor &x, int64_t k,
                                int64_t width = 8, int64_t groups = 2) {
  using s2s::rt::Activation;
  torch::Tensor h = s2s::rt::activation(sphereConv(m, ops, "in", x, width, k),
                                        Activation::Gelu);
  for (int i = 0; i < 2; ++i) {
    const std::string at = "res." + std::to_string(i) + ".";
    torch::Tensor a = s2s::rt::activation(
        ops.groupNorm(m, (at + "n1").c_str(),
                      sphereConv(m, ops, at + "c1", h, width, k), groups),
        Activation::Gelu);
    a = ops.groupNorm(m, (at + "n2").c_str(),
                      sphereConv(m, ops, at + "c2", a, width, k), groups);
    h = s2s::rt::activation(h + a, Activation::Gelu);
  }
  return x + sphereConv(m, ops, "out", h, x.size(1), k);
}

/// std/models/afno.s2s AFNONet (2 blocks, patch 2, 4 filter blocks) on a
/// grid the patch divides (no crop): `rows` token rows of h on this rank
/// (all of them serially), starting at token row `rowBegin`.
inline torch::Tensor afnoNet(s2s::rt::Model &m, const SpatialOps &ops,
                             const torch::Tensor &x, int64_t h, int64_t rows,
                             int64_t rowBegin, s2s::rt::AfnoCutoff cutoff,
                             double modes, int64_t embed = 16) {
  namespace rt = s2s::rt;
  const int64_t C = x.size(1), W = x.size(3), p = 2, w = W / p;
  torch::Tensor pos = rt::param(m, "pos", {1, h * w, embed})
                          .view({1, h, w, embed})
                          .narrow(1, rowBegin, rows)
                          .reshape({1, rows * w, embed});
  torch::Tensor f = (rt::patch_embed(m, "embed", x, {p, p}, embed) + pos)
                        .reshape({-1, rows, w, embed});
  for (int i = 0; i < 2; ++i) {
    const std::string at = "blk." + std::to_string(i) + ".";
    torch::Tensor a =
        ops.afno2d(m, (at + "filter").c_str(),
                   rt::layer_norm(m, (at + "n1").c_str(), f, 1e-6), 4, 0.01,
                   modes, cutoff);
    f = a + f;
    torch::Tensor n = rt::layer_norm(m, (at + "n2").c_str(), f, 1e-6);
    torch::Tensor hidden = rt::linear(m, (at + "fc1").c_str(), n, 4 * embed,
                                      true, rt::Activation::Gelu);
    f = f + rt::linear(m, (at + "fc2").c_str(), hidden, embed, true,
                       rt::Activation::None);
  }
  torch::Tensor y = rt::linear(m, "head", f.reshape({-1, rows * w, embed}),
                               C * p * p, false, rt::Activation::None);
  return rt::unpatch(y, {p, p}, {rows * p, W}, C);
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_SPATIAL_SPATIALMODELS_H
