//===- Spatial.h - The grid split into latitude bands over ranks -*- C++
//-*-===//
//
// Spatial (domain) parallelism on a mesh's `space` axis: rank r of S holds
// the latitude rows [floor(r·H/S), floor((r+1)·H/S)) of every field, all
// longitudes (bands split latitude only, so the periodic longitude stays
// local). An H that S does not divide gives bands of floor(H/S) and
// floor(H/S) + 1 rows, the taller ones towards the south.
//
// The ops here are the serial ones of model/Ops.cpp on a band, with the
// communication that makes them equal to the serial op on the whole grid,
// inside autograd functions whose backward sends the gradients back:
//
//   padSphere   pad_sphere: the k//2 halo rows come from the neighbouring
//               bands (point to point, every receive posted before any
//               send); the bands at the poles reflect across the pole
//               (rolled by 180° of longitude) locally, as the serial op
//   groupNorm   group_norm: the statistics are summed over the bands
//   loss        the (latitude-weighted) mean over the whole grid: each
//               band's weighted sum, summed over the bands, divided by
//               the whole grid's count; every rank gets the global value
//   afno2d      FourCastNet's spectral filter as a distributed 2-D FFT:
//               rfft along longitude on the band, an all-to-all transpose
//               to full latitude columns for a slice of the frequencies,
//               fft along latitude, the block-diagonal MLP on the local
//               modes (it mixes channels within one mode only), and back
//               the same way
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SPATIAL_SPATIAL_H
#define S2S_RUNTIME_SPATIAL_SPATIAL_H

#include "comm/Communicator.h"
#include "s2s/runtime/Ops.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace s2s::rt::spatial {

/// Which rows of a `rows`-row axis each of `count` ranks holds.
struct Bands {
  int64_t rows = 1, count = 1;
  int64_t begin(int64_t r) const { return r * rows / count; }
  int64_t size(int64_t r) const { return begin(r + 1) - begin(r); }
  std::vector<int64_t> sizes() const;
};

/// A rank's place in the bands: the communicator over the `space` axis
/// and the layout of the latitude axis it splits.
struct Space {
  Communicator *comm = nullptr;
  Bands bands;
  int64_t rank() const { return comm->rank(); }
  int64_t rows() const { return bands.size(rank()); }
  int64_t begin() const { return bands.begin(rank()); }
};

/// Rank `r`'s band of `x` along `dim`.
torch::Tensor band(const torch::Tensor &x, const Bands &b, int64_t r,
                   int64_t dim);
/// Every rank's band of `local` along `dim`, concatenated (the whole
/// field on every rank; no gradient).
torch::Tensor gather(const Space &s, const torch::Tensor &local, int64_t dim);

/// Sum over the ranks; the backward sums the gradients over the ranks too
/// (a statistic every band uses).
torch::Tensor allReduceSum(const Space &s, const torch::Tensor &x);
/// Sum over the ranks; the backward passes the gradient through (each
/// rank's part of a total every rank then differentiates once).
torch::Tensor sumParts(const Space &s, const torch::Tensor &x);

/// The `count` rows above this band (from rank r-1) and below it (from
/// r+1) of x [..., rows, W]; empty ([..., 0, W]) at the poles. The backward
/// sends their gradients back and adds them to the rows they came from.
std::pair<torch::Tensor, torch::Tensor>
haloRows(const Space &s, const torch::Tensor &x, int64_t count);

/// pad_sphere (Ops.h) on this rank's band of the whole grid.
torch::Tensor padSphere(const Space &s, const torch::Tensor &x, const Ints &p);

/// group_norm (Ops.h) on the band, statistics over the whole grid.
torch::Tensor groupNorm(Model &m, const char *name, const Space &s,
                        const torch::Tensor &x, int64_t groups, double eps);

/// loss (Ops.h) of the band's prediction and target: the whole grid's
/// mean on every rank.
torch::Tensor loss(Model &m, const Space &s, LossKind kind,
                   const torch::Tensor &prediction, const torch::Tensor &target,
                   Weighting weight, double delta = 1.0);

/// afno2d (Ops.h) of x [batch, h, w, embed] split over h into `s.bands`.
torch::Tensor afno2d(Model &m, const char *name, const Space &s,
                     const torch::Tensor &x, int64_t blocks, double sparsity,
                     double modes, AfnoCutoff cutoff);

/// The all-to-all transpose afno2d uses: x split along `splitDim` into
/// parts of `splitSizes` rows (part q to rank q), the parts received
/// concatenated along `catDim` (rank p's part has catSizes[p] rows). The
/// backward is the transpose the other way.
torch::Tensor transpose(const Space &s, const torch::Tensor &x,
                        int64_t splitDim,
                        const std::vector<int64_t> &splitSizes, int64_t catDim,
                        const std::vector<int64_t> &catSizes);

} // namespace s2s::rt::spatial

#endif // S2S_RUNTIME_SPATIAL_SPATIAL_H
