//===- Validation.h - One-step scores of the model and of persistence -*- C++
//-*-===//
//
// After each epoch: the model's one-step forecast of every validation
// window (with lead-time training, its forecast at each of the rollout's
// leads) against the truth, next to persistence (the forecast "no
// change"), as latitude-weighted RMSE and ACC per channel (metrics/
// Scores.h); a table on stdout, the scores for metrics.jsonl and
// truth/prediction/error maps of the first window (metrics/Maps.h).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_VALIDATION_H
#define S2S_RUNTIME_TRAIN_VALIDATION_H

#include "s2s/runtime/Model.h"
#include "s2s/runtime/Program.h"

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

class BatchLoader;

/// The per-channel mean of a split's data (the first frames of its
/// windows), in physical units, float64 [channel]: one pass over it.
torch::Tensor trainingMean(BatchLoader &train);

struct Settings;
struct TrainData;
class Strategy;

class Validation {
public:
  /// `mapsDir`: where the maps go ("" for none). Computes the climatology
  /// ACC needs: with z-score normalisation the normalisation mean, else the
  /// training data's own per-channel mean (one pass over it).
  Validation(const Program &p, const Settings &s, const TrainData &data,
             std::string mapsDir);

  /// Whether there is a validation split to score.
  bool enabled() const;

  /// Scores the model after epoch `epoch` (1-based); prints the table,
  /// writes the maps when this process writes output, and returns the
  /// fields for the epoch's metrics.jsonl record (",\"valid_windows\":...").
  std::string run(Model &model, Strategy &strategy, int64_t epoch);

private:
  /// The spec's metric of `kind`, if it asks for one.
  const MetricConfig *metric(MetricKind kind) const;
  /// The weighting a score of `kind` is computed with: the spec's, or
  /// latitude for a score only metrics.jsonl records.
  Weighting weighting(MetricKind kind) const;
  /// One table: `title` ("valid", "valid +12h") over the channels' rows.
  void printTable(const std::string &title, const std::vector<double> &rm,
                  const std::vector<double> &rp, const std::vector<double> &am,
                  const std::vector<double> &ap) const;

  const Program &p_;
  const TrainData &data_;
  std::string mapsDir_;
  std::vector<MetricConfig> metrics_;
  torch::Tensor climatology_;
  Precision precision_;     ///< the forward's (model/Autocast.h)
  int64_t stepSeconds_ = 0; ///< the data step, for lead times
};

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_VALIDATION_H
