//===- Forecast.h - Forecasts and scorecards from trained weights -*- C++
//-*-===//
//
// `EXE forecast`: the model rolled out --steps steps from the data's state
// at --start, written in the data's units to an HDF5 file
// (hdf5/ForecastFile.h). `EXE evaluate`: every window of a split rolled
// out --steps steps and scored per channel and lead time against the
// truth, next to persistence and climatology: latitude-weighted RMSE and
// ACC (metrics/Scores.h, WeatherBench's definitions), as a JSON scorecard
// and a PNG of skill against lead time.
//
// A rollout calls the model on its own output, with the batch context of
// the start (as training's unrolled rollout does); a lead-time model
// (rollout leads) is called once per lead on the start state instead.
// Weights: --init FILE, --checkpoint DIR or the run's newest checkpoint.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TRAIN_FORECAST_H
#define S2S_RUNTIME_TRAIN_FORECAST_H

#include "s2s/runtime/Program.h"

namespace s2s::rt {

struct Options;

/// Returns the exit status; throws Error / UsageError like training.
int forecast(const Program &p, const Options &o);
int evaluate(const Program &p, const Options &o);

} // namespace s2s::rt

#endif // S2S_RUNTIME_TRAIN_FORECAST_H
