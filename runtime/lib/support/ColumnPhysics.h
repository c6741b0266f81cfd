//===- ColumnPhysics.h - Constants and layers of a pressure-level column -===//
//
// What convective_adjust (model/Convection.cpp) and the convective synth
// atmosphere (prep/Synth.cpp) agree on: the physical constants and the
// pressure thickness of the layer each level stands for. The column's
// moist enthalpy per unit area is sum_k (c_p T_k + L_v q_k) dp_k / g
// (J/m^2): dry static energy without the geopotential term, which a column
// whose levels stay at fixed pressures does not change, plus the latent
// heat of its water vapour.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_COLUMNPHYSICS_H
#define S2S_RUNTIME_SUPPORT_COLUMNPHYSICS_H

#include <cstdint>
#include <vector>

namespace s2s::rt::column {

constexpr double kCp = 1004.64;      ///< dry air, J/(kg K)
constexpr double kLv = 2.501e6;      ///< latent heat of vaporisation, J/kg
constexpr double kGravity = 9.80665; ///< m/s^2
constexpr double kRd = 287.04;       ///< dry air gas constant, J/(kg K)
constexpr double kKappa = kRd / kCp;
constexpr double kP0 = 1000.0; ///< reference pressure of theta, hPa

/// The pressure thickness (Pa) of the layer each level stands for, levels
/// in hPa ordered from the top down (increasing, at least 2): interfaces
/// halfway between adjacent levels, the outer ones as far beyond the
/// outermost levels as the nearest interface is inside (the top one at
/// least 0 hPa). [1000, 850, 700, 500, 300] from the top gives 200, 200,
/// 175, 150, 150 hPa.
std::vector<double> layerThicknessPa(const std::vector<int64_t> &levelsHPa);

/// (p / p0)^kappa of each level: temperature over potential temperature.
std::vector<double> exner(const std::vector<int64_t> &levelsHPa);

} // namespace s2s::rt::column

#endif // S2S_RUNTIME_SUPPORT_COLUMNPHYSICS_H
