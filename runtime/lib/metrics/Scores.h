//===- Scores.h - Latitude-weighted RMSE and ACC per channel ----*- C++ -*-===//
//
// Latitude-weighted RMSE and anomaly correlation (ACC) per channel, as
// WeatherBench defines them (Rasp et al. 2020), in physical units:
//
//   L(j)  = cos(lat_j) / mean_j cos(lat_j)                (mean 1)
//   RMSE  = 1/N sum_i sqrt( 1/(H W) sum_jk L(j) (f_ijk - t_ijk)^2 )
//   f', t' = forecast / truth minus the climatology, each then minus its own
//           mean over all forecasts and grid points (WeatherBench's
//           compute_weighted_acc)
//   ACC   = sum L f' t' / sqrt( sum L f'^2  sum L t'^2 )   (over i, j, k)
//
// The climatology is the per-channel mean of the training data (the
// normalisation mean) unless given. Predictions and truth come in
// normalised units and are de-normalised with the data set's mean/std.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_METRICS_SCORES_H
#define S2S_RUNTIME_METRICS_SCORES_H

#include "s2s/runtime/Config.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace s2s::rt {

/// cos(latitude) normalised to mean 1, [lat] float64 (degrees in).
torch::Tensor latitudeWeights(const torch::Tensor &latitudeDegrees);

class ChannelMetrics {
public:
  /// latitude [lat] degrees; mean, stddev [channel] (normalisation);
  /// climatology [channel] in physical units (default: mean). `weighting`
  /// Uniform gives every grid point L = 1 (the unweighted scores).
  ChannelMetrics(const torch::Tensor &latitude, const torch::Tensor &mean,
                 const torch::Tensor &stddev,
                 const torch::Tensor &climatology = {},
                 Weighting weighting = Weighting::Latitude);

  /// prediction, truth: [b, channel, lat, lon], normalised.
  void add(const torch::Tensor &prediction, const torch::Tensor &truth);

  int64_t samples() const { return samples_; }
  std::vector<double> rmse() const; ///< per channel, physical units
  std::vector<double> acc() const;  ///< per channel, in [-1, 1]

  /// The sums behind rmse() and acc() as one float64 tensor [9 C + 2]:
  /// adding the sums of several ChannelMetrics (of disjoint samples, one
  /// per process) element by element and setting the total on one of them
  /// gives the metrics of all their samples (Strategy::reduceValidation).
  torch::Tensor sums() const;
  void setSums(const torch::Tensor &sums);

private:
  torch::Tensor weights_, mean_, std_, clim_;
  // Per-channel float64 sums.
  torch::Tensor rmseSum_, sumWFA_, sumFA_, sumWA_, sumA_, sumWFF_, sumWAA_,
      sumWFAA_, sumW_;
  double count_ = 0.0; ///< grid points per channel so far
  int64_t samples_ = 0;
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_METRICS_SCORES_H
