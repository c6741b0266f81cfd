//===- Maps.h - Validation maps for the training program --------*- C++ -*-===//
//
// PNG triptychs drawn by plot/Plot.h (no libpng: plot/Png.h encodes them).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_METRICS_MAPS_H
#define S2S_RUNTIME_METRICS_MAPS_H

#include <torch/torch.h>

#include <string>
#include <vector>

namespace s2s::rt {

/// Writes <dir>/epoch-<epoch>-<channel>.png for each channel: truth |
/// prediction | prediction - truth of one sample ([channel, lat, lon],
/// normalised; de-normalised with mean/stddev [channel]). Returns the paths.
/// Throws Error naming the path when a file cannot be written.
std::vector<std::string> writeValidationMaps(
    const std::string &dir, int64_t epoch, const torch::Tensor &truth,
    const torch::Tensor &prediction, const std::vector<std::string> &channels,
    const torch::Tensor &latitude, const torch::Tensor &longitude,
    const torch::Tensor &mean, const torch::Tensor &stddev);

} // namespace s2s::rt

#endif // S2S_RUNTIME_METRICS_MAPS_H
