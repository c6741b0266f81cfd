//===- Synth.h - A synthetic, learnable data set ----------------*- C++ -*-===//
//
// s2s-data synth, and what the tests make their small data sets with.
// Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PREP_SYNTH_H
#define S2S_RUNTIME_PREP_SYNTH_H

#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt {

/// Options of the synthetic data set (s2s-data synth).
struct SynthConfig {
  std::string dir; ///< output folder, one file per year
  std::vector<std::string> channels = {"u", "v", "t"};
  int64_t lat = 32, lon = 64;
  int firstYear = 2000, lastYear = 2009;
  int64_t stepsPerYear = 64; ///< samples per year file
  int64_t stepSeconds = 6 * 3600;
  uint64_t seed = 0;
  /// The convective mode: pressure levels (hPa) of columns of temperature
  /// and specific humidity under a moving surface temperature, with
  /// convection over `tauSeconds`; `channels` must then be
  /// convectiveChannels(levels). Empty: the advected atmosphere.
  std::vector<int64_t> levels;
  int64_t tauSeconds = 12 * 3600;
};

/// The channels of the convective mode: t<level> for each level, then
/// q<level>, then ts (t850, ..., q850, ..., ts).
std::vector<std::string> convectiveChannels(const std::vector<int64_t> &levels);

/// Writes `dir/<year>.h5` for each year and `dir/stats.h5` (stats over the
/// first year..last year - 2). Fields are advected by a known, smooth,
/// time-constant velocity field and diffused on the periodic lat-lon grid,
/// starting from smooth random fields; with `levels`, columns with
/// surface exchange, convection and condensation that keep each column's
/// moist enthalpy (Synth.cpp). Deterministic from the seed.
void synthesize(const SynthConfig &config);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PREP_SYNTH_H
