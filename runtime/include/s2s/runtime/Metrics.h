//===- Metrics.h - Validation metrics and the metrics log -------*- C++ -*-===//
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

#ifndef S2S_RUNTIME_METRICS_H
#define S2S_RUNTIME_METRICS_H

#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace s2s::rt {

/// cos(latitude) normalised to mean 1, [lat] float64 (degrees in).
torch::Tensor latitudeWeights(const torch::Tensor &latitudeDegrees);

class ChannelMetrics {
public:
  /// latitude [lat] degrees; mean, stddev [channel] (normalisation);
  /// climatology [channel] in physical units (default: mean).
  ChannelMetrics(const torch::Tensor &latitude, const torch::Tensor &mean,
                 const torch::Tensor &stddev,
                 const torch::Tensor &climatology = {});

  /// prediction, truth: [b, channel, lat, lon], normalised.
  void add(const torch::Tensor &prediction, const torch::Tensor &truth);

  int64_t samples() const { return samples_; }
  std::vector<double> rmse() const;  ///< per channel, physical units
  std::vector<double> acc() const;   ///< per channel, in [-1, 1]

private:
  torch::Tensor weights_, mean_, std_, clim_;
  // Per-channel float64 sums.
  torch::Tensor rmseSum_, sumWFA_, sumFA_, sumWA_, sumA_, sumWFF_, sumWAA_,
      sumWFAA_, sumW_;
  double count_ = 0.0; ///< grid points per channel so far
  int64_t samples_ = 0;
};

/// metrics.jsonl: one JSON object a line, flushed after each line so a crash
/// loses nothing already reported.
class MetricsLog {
public:
  MetricsLog() = default;
  /// Opens `path` (creating its folder); append keeps what is there.
  /// Throws s2s::rt::Error naming the path.
  void open(const std::string &path, bool append);
  void write(const std::string &jsonObject);
  const std::string &path() const { return path_; }

private:
  std::string path_;
  std::ofstream out_;
};

/// For a resume from global step `step`: keeps the records of `path` whose
/// "step" is <= step (and drops unreadable lines, e.g. a line a crash cut),
/// rewriting the file through a temp file + rename.
void truncateMetrics(const std::string &path, int64_t step);

} // namespace s2s::rt

#endif // S2S_RUNTIME_METRICS_H
