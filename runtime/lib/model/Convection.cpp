//===- Convection.cpp - Convective adjustment of t and q columns ----------===//
//
// Ops.h has the contract. The physics runs in float64 on the de-normalised
// columns: a column's moist enthalpy is ~3e9 J/m^2 for 5 levels, and the
// correction towards `before` must leave it within 1e-6 of the target
// after the round trip back to the model's (float32, normalised) units.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Ops.h"
#include "support/ColumnPhysics.h"

#include <algorithm>
#include <string>

namespace s2s::rt {

namespace {

/// [1, K, 1, 1] float64 on `like`'s device.
Tensor levelVector(const std::vector<double> &v, const Tensor &like) {
  return torch::tensor(v, torch::kFloat64)
      .to(like.device())
      .view({1, int64_t(v.size()), 1, 1});
}

/// Physical = offset + scale * normalised, per channel (the data's
/// normalisation from the model's context; 0 and 1 without one).
struct ChannelUnits {
  Tensor offset, scale; ///< [C] float64
};

ChannelUnits channelUnits(const Model &m, const Tensor &x) {
  const BatchContext &ctx = m.context();
  const int64_t C = x.size(1);
  auto opts = x.options().dtype(torch::kFloat64);
  if (!ctx.channelOffset.defined())
    return {torch::zeros({C}, opts), torch::ones({C}, opts)};
  if (ctx.channelOffset.numel() != C || ctx.channelScale.numel() != C)
    throw Error("convective_adjust: the input has " + std::to_string(C) +
                " channels but the data's normalisation has " +
                std::to_string(ctx.channelOffset.numel()) +
                "; the op works on the data's own channels");
  return {ctx.channelOffset.to(opts), ctx.channelScale.to(opts)};
}

/// Channels `idx` of z in physical units, [B, K, H, W] float64.
Tensor physical(const Tensor &z, const Tensor &idx, const ChannelUnits &u) {
  const int64_t K = idx.numel();
  return z.index_select(1, idx).to(torch::kFloat64) *
             u.scale.index_select(0, idx).view({1, K, 1, 1}) +
         u.offset.index_select(0, idx).view({1, K, 1, 1});
}

Tensor normalised(const Tensor &y, const Tensor &idx, const ChannelUnits &u,
                  torch::ScalarType type) {
  const int64_t K = idx.numel();
  return ((y - u.offset.index_select(0, idx).view({1, K, 1, 1})) /
          u.scale.index_select(0, idx).view({1, K, 1, 1}))
      .to(type);
}

/// sum_k (c_p T_k + L_v q_k) dp_k / g, [B, 1, H, W] (J/m^2).
Tensor moistEnthalpy(const Tensor &T, const Tensor &q, const Tensor &dp) {
  using namespace column;
  return ((kCp * T + kLv * q) * dp).sum(1, /*keepdim=*/true) / kGravity;
}

void checkColumns(const Tensor &x, const Tensor &before, const Ints &t,
                  const Ints &q, const Ints &levels, int64_t tauSeconds) {
  if (x.dim() != 4)
    throw Error("convective_adjust needs [batch, channels, lat, lon], got " +
                shapeStr(x.sizes()));
  if (before.sizes() != x.sizes())
    throw Error("convective_adjust: 'before' " + shapeStr(before.sizes()) +
                " and the input " + shapeStr(x.sizes()) + " differ");
  if (tauSeconds <= 0)
    throw Error("convective_adjust: tau must be positive, got " +
                std::to_string(tauSeconds));
  if (t.size() != levels.size() || q.size() != levels.size())
    throw Error("convective_adjust: " + std::to_string(t.size()) +
                " temperature and " + std::to_string(q.size()) +
                " humidity channels for " + std::to_string(levels.size()) +
                " levels");
  for (const Ints *list : {&t, &q})
    for (int64_t c : *list)
      if (c < 0 || c >= x.size(1))
        throw Error("convective_adjust: channel " + std::to_string(c) +
                    " is not one of the input's " + std::to_string(x.size(1)));
}

} // namespace

Tensor convective_adjust(Model &m, const Tensor &x, const Tensor &before,
                         const Ints &temperature, const Ints &humidity,
                         const Ints &levels, int64_t stepSeconds,
                         int64_t tauSeconds, double threshold) {
  using namespace column;
  checkColumns(x, before, temperature, humidity, levels, tauSeconds);
  const Tensor dp = levelVector(layerThicknessPa(levels), x);
  const Tensor ex = levelVector(exner(levels), x);
  const int64_t K = int64_t(levels.size());
  const int64_t dt =
      m.context().leadSeconds > 0 ? m.context().leadSeconds : stepSeconds;
  if (dt <= 0)
    throw Error("convective_adjust: the time step must be positive, got " +
                std::to_string(dt) + " s");
  const double rate = std::min(1.0, double(dt) / double(tauSeconds));

  const ChannelUnits units = channelUnits(m, x);
  auto index = [&](const Ints &c) {
    return torch::tensor(c, torch::kInt64).to(x.device());
  };
  const Tensor it = index(temperature), iq = index(humidity);
  const Tensor T = physical(x, it, units), q = physical(x, iq, units);

  // Equivalent temperature T + L_v q / c_p; over (p/p0)^kappa the
  // (linearised) equivalent potential temperature, whose fall with height
  // marks an unstable column. Level 0 is the top.
  const Tensor Te = T + (kLv / kCp) * q;
  Tensor unstable;
  {
    torch::NoGradGuard noGrad;
    const Tensor thetaE = Te / ex;
    const Tensor fall = thetaE.narrow(1, 1, K - 1) - thetaE.narrow(1, 0, K - 1);
    unstable = (fall > threshold).any(1, /*keepdim=*/true).to(torch::kFloat64);
  }
  // The neutral reference with the column's moist enthalpy and water:
  // theta_e constant (Theta), q uniform (its pressure-weighted mean).
  const Tensor sumDp = dp.sum();
  const Tensor Theta = (Te * dp).sum(1, true) / (ex * dp).sum();
  const Tensor qRef = (q * dp).sum(1, true) / sumDp;
  const Tensor TRef = Theta * ex - (kLv / kCp) * qRef;
  const Tensor w = unstable * rate;
  Tensor T2 = T + w * (TRef - T);
  const Tensor q2 = q + w * (qRef - q);
  // A uniform temperature shift gives the column `before`'s enthalpy.
  const Tensor target = moistEnthalpy(physical(before, it, units),
                                      physical(before, iq, units), dp);
  T2 = T2 + (target - moistEnthalpy(T2, q2, dp)) * (kGravity / kCp) / sumDp;

  const auto type = x.scalar_type();
  return x.index_copy(1, it, normalised(T2, it, units, type))
      .index_copy(1, iq, normalised(q2, iq, units, type));
}

} // namespace s2s::rt
