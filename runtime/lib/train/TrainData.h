//===- TrainData.h - The training and validation data of a run --*- C++ -*-===//
//
// The phase after the folders: the loaders in the spec's (or --memory's)
// mode, this process's share of each epoch (from the launch environment),
// and how many steps an epoch has.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_TRAINDATA_H
#define S2S_RUNTIME_TRAIN_TRAINDATA_H

#include "data/Loader.h"
#include "dist/Launch.h"
#include "train/Options.h"

#include <cstdint>
#include <memory>
#include <string>

namespace s2s::rt {

struct TrainData {
  LoaderConfig config; ///< the training loader's
  RankInfo ranks;
  std::unique_ptr<BatchLoader> train;
  std::unique_ptr<BatchLoader> valid; ///< null without a validation split
  int64_t windows = 0;                ///< training windows, all processes
  int64_t stepsPerEpoch = 0, totalSteps = 0;
  int64_t channels = 0, lat = 0, lon = 0;
  std::string firstFile; ///< for messages

  /// "32x64 with 3 channels".
  std::string gridText() const;
};

/// Opens the training split (shuffled, short last batch dropped, this
/// process's share) and the validation split (in order, whole, every
/// process; lazily in stream mode). Throws Error when the batch does not
/// divide among the processes or an epoch has no batch.
TrainData openData(const Program &p, const Settings &s, const Options &o);

/// Frames of a validation window: 2 (a one-step forecast), or the largest
/// lead + 1 when the model is validated at each of the rollout's leads.
int64_t validationFrames(const RolloutConfig &r);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_TRAINDATA_H
