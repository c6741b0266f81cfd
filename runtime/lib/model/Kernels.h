//===- Kernels.h - Pieces of Ops.cpp's kernels other rooms reuse -*- C++
//-*-===//
//
// For the spatial-parallel ops (spatial/Spatial.h), which run the serial
// kernels' arithmetic on a band of the grid and must not copy it.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_MODEL_KERNELS_H
#define S2S_RUNTIME_MODEL_KERNELS_H

#include "s2s/runtime/Ops.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace s2s::rt {

/// The rows of the unshifted FFT over h and the leading columns of the
/// half axis (h rows, wr columns) that afno2d keeps for `modes`.
std::pair<std::vector<int64_t>, int64_t>
afnoModes(int64_t h, int64_t wr, double modes, AfnoCutoff cutoff);

/// afno2d's block-diagonal complex MLP (and softshrink when sparsity > 0)
/// on the kept modes z [..., embed] (complex), per mode.
Tensor afnoMlp(Model &m, const char *name, const Tensor &z, int64_t blocks,
               double sparsity);

/// The loss of each value (`reduction` at::Reduction::None) or their
/// mean (Mean); Error on differing shapes or a Huber delta <= 0.
Tensor pointwiseLoss(LossKind kind, const Tensor &prediction,
                     const Tensor &target, double delta, int64_t reduction);

/// The latitude weights of an `h`-row grid, cos(latitude) / its mean over
/// the rows, [h, 1], on `like`'s device and type (cached in the model).
Tensor latitudeWeights(Model &m, int64_t h, const Tensor &like);

} // namespace s2s::rt

#endif // S2S_RUNTIME_MODEL_KERNELS_H
