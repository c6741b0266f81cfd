//===- Synth.cpp - A synthetic, learnable data set on a lat-lon grid ------===//
//
// The "atmosphere" of `s2s-data synth`, on a sphere of Earth's radius:
//
//  * A known, smooth, time-constant, non-divergent background flow: solid
//    body rotation (period 10 days, 46 m/s at the equator) plus two zonal
//    jets (15 m/s more at 40N and 40S) plus two stationary waves (zonal
//    wavenumbers 2 and 3, 2.5 and 1.5 m/s) that carry air across
//    latitudes. Built from a stream function, so it is non-divergent and
//    regular at the poles.
//  * Channels 'u' and 'v' (when both are asked for) are that background
//    wind plus a perturbation wind (u', v'), advected by the background,
//    turned by a Coriolis-like rotation (f = f0 sin(lat), period 5 days at
//    the poles) and held at about 15 m/s by a weak Stuart-Landau growth and
//    saturation: an oscillation that neither dies nor blows up.
//  * Every other channel is a tracer (for 't' a temperature-like one:
//    270 K, 40 K pole to equator) relaxed towards its own smooth
//    equilibrium field (30 days) and advected by the wind. With 'u' and 'v'
//    that is the whole wind the channels show (background plus
//    perturbation), so the tracer is stirred for ever and its change is a
//    function of the channels alone; without them it is the background
//    flow, and the tracers settle towards a steady state on the relaxation
//    time. The perturbation wind is divergent, so a global fixer keeps the
//    tracer's area mean (the background flow keeps it by itself).
//  * Weak diffusion (1e5 m^2/s, in flux form, capped near the poles).
//
// Advection is semi-Lagrangian: midpoint departure points, bicubic
// Catmull-Rom interpolation clipped to the four surrounding values,
// periodic in longitude, clamped at the polar rows; at least 4 sub-steps
// per output step (more when the background would move more than 0.7
// cells per sub-step). The background is constant, so its stencils are
// computed once; the tracers' departure points follow the current wind
// (bilinear at the midpoint). The next frame is a deterministic function of
// the current one (all of the state is in the channels), and everything
// random (initial and equilibrium fields) comes from std::mt19937_64
// seeded by hash(seed, channel name).
//
// Within a sub-step the tracers, the wind's two components and rows of the
// tracers' stencil are independent jobs run on the machine's cores, each
// on its own field and scratch: the bytes do not depend on the number of
// cores.
//
// The integration runs on continuously across the year files: the first
// sample of year Y+1 is one step after the last sample of year Y, even
// though the time stamps jump to January 1.
//
//===----------------------------------------------------------------------===//

#include "prep/Synth.h"

#include "hdf5/FileMeta.h"
#include "hdf5/Hdf5.h"
#include "prep/Stats.h"
#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"
#include "support/Calendar.h"
#include "support/ColumnPhysics.h"
#include "support/Grid.h"
#include "support/Hash.h"
#include "support/ParallelFor.h"
#include "support/Text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <thread>

namespace s2s::rt {

using namespace hdf5;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kRadius = 6.371e6; // m
constexpr double kDay = 86400.0;
constexpr double kDeg = kPi / 180.0;

// Background flow.
constexpr double kRotation = 2 * kPi / (10 * kDay); // solid body, rad/s
constexpr double kJetSpeed = 15.0;                  // m/s
constexpr double kJetLat = 40 * kDeg, kJetWidth = 12 * kDeg;
struct Wave {
  int m;
  double speed; // peak meridional wind, m/s
  double phase; // rad
};
constexpr Wave kWaves[] = {{2, 2.5, 0.3}, {3, 1.5, 1.7}};

// Perturbation wind (u', v').
constexpr double kInertial = 2 * kPi / (5 * kDay); // f0, rad/s
constexpr double kGrowth = 1.0 / (8 * kDay);       // Stuart-Landau rate
constexpr double kAmplitude = 15.0;                // m/s

// Tracers.
constexpr double kRelax = 1.0 / (30 * kDay);
constexpr double kDiffusivity = 1e5; // m^2/s

/// Angular velocities (rad/s) of the background flow at (lam, phi).
void velocity(double lam, double phi, double &dlam, double &dphi) {
  phi = std::clamp(phi, -kPi / 2, kPi / 2);
  const double c = std::cos(phi), s = std::sin(phi);
  const double g1 = (phi - kJetLat) / kJetWidth,
               g2 = (phi + kJetLat) / kJetWidth;
  // u_jet = J cos(phi) (gaussians) -> dlam = u / (R cos phi), no pole
  // singularity.
  dlam = kRotation +
         kJetSpeed / kRadius * (std::exp(-g1 * g1) + std::exp(-g2 * g2));
  dphi = 0;
  for (const Wave &w : kWaves) {
    // Stream function psi / R^2 = A cos^(m+1)(phi) sin(m (lam - phase)).
    const double A = w.speed / (kRadius * w.m);
    const double arg = w.m * (lam - w.phase);
    dlam += A * (w.m + 1) * std::pow(c, w.m - 1) * s * std::sin(arg);
    dphi += A * w.m * std::pow(c, w.m) * std::cos(arg);
  }
}

/// The seeded generator for one channel (std::mt19937_64; our own uniform
/// and normal draws so the numbers do not depend on the standard library).
struct Rng {
  std::mt19937_64 gen;
  Rng(uint64_t seed, const std::string &name) {
    gen.seed(seed * 0x9E3779B97F4A7C15ull ^ Fnv1a().text(name).value());
  }
  double uniform() { return double(gen() >> 11) * 0x1.0p-53; }
  double normal() {
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
  }
};

struct Grid {
  int64_t nlat, nlon, n;
  std::vector<double> lat, lon; // radians (lat descending)
  std::vector<double> area;     // per row, relative
  std::vector<double> edge;     // nlat + 1 latitude edges, radians
  double dlat, dlon;

  Grid(int64_t la, int64_t lo) : nlat(la), nlon(lo), n(la * lo) {
    for (double d : defaultLatitudes(la))
      lat.push_back(d * kDeg);
    for (double d : defaultLongitudes(lo))
      lon.push_back(d * kDeg);
    dlat = la > 1 ? lat[0] - lat[1] : kPi;
    dlon = 2 * kPi / double(lo);
    edge.push_back(kPi / 2);
    for (int64_t i = 1; i < la; ++i)
      edge.push_back(0.5 * (lat[i - 1] + lat[i]));
    edge.push_back(-kPi / 2);
    for (int64_t i = 0; i < la; ++i)
      area.push_back(std::sin(edge[i]) - std::sin(edge[i + 1]));
  }

  /// Area-weighted mean.
  double mean(const std::vector<double> &q) const {
    double s = 0, w = 0;
    for (int64_t i = 0; i < nlat; ++i) {
      double r = 0;
      for (int64_t j = 0; j < nlon; ++j)
        r += q[i * nlon + j];
      s += area[i] * r;
      w += area[i] * double(nlon);
    }
    return s / w;
  }
};

/// A smooth random field: a few low-wavenumber modes, cos^m(lat) keeping
/// it regular at the poles; area-weighted mean 0 and rms 1.
std::vector<double> smoothField(Rng &rng, const Grid &g) {
  std::vector<double> q(size_t(g.n), 0.0);
  for (int m = 0; m <= 3; ++m)
    for (int l = 0; l <= 3; ++l) {
      const double amp = rng.normal() / double(1 + m + l);
      const double a = 2 * kPi * rng.uniform(), b = 2 * kPi * rng.uniform();
      for (int64_t i = 0; i < g.nlat; ++i) {
        const double ph = g.lat[i];
        const double rowf =
            amp * std::pow(std::cos(ph), m) * std::cos(l * (ph + kPi / 2) + b);
        for (int64_t j = 0; j < g.nlon; ++j)
          q[i * g.nlon + j] += rowf * std::cos(m * g.lon[j] + a);
      }
    }
  const double mu = g.mean(q);
  for (double &v : q)
    v -= mu;
  std::vector<double> sq(q.size());
  for (size_t p = 0; p < q.size(); ++p)
    sq[p] = q[p] * q[p];
  const double rms = std::sqrt(g.mean(sq));
  if (rms > 0)
    for (double &v : q)
      v /= rms;
  return q;
}

/// Precomputed semi-Lagrangian stencils for sub-step h.
struct Stencil {
  struct Point {
    int32_t ilat[4], ilon[4];
    double wlat[4], wlon[4];
  };
  std::vector<Point> pts;
};

void cubicWeights(double t, double w[4]) {
  const double t2 = t * t, t3 = t2 * t;
  w[0] = 0.5 * (-t3 + 2 * t2 - t);
  w[1] = 0.5 * (3 * t3 - 5 * t2 + 2);
  w[2] = 0.5 * (-3 * t3 + 4 * t2 + t);
  w[3] = 0.5 * (t3 - t2);
}

/// The interpolation stencil of departure point (ld, pd).
void setPoint(const Grid &g, Stencil::Point &p, double ld, double pd) {
  // Latitude: fractional row index, clamped to the polar rows.
  double fi = (g.lat[0] - pd) / g.dlat;
  fi = std::clamp(fi, 0.0, double(g.nlat - 1));
  const auto i0 = int64_t(std::floor(fi));
  cubicWeights(fi - double(i0), p.wlat);
  for (int a = 0; a < 4; ++a)
    p.ilat[a] = int32_t(std::clamp<int64_t>(i0 - 1 + a, 0, g.nlat - 1));
  // Longitude: periodic.
  double fj = ld / g.dlon;
  fj -= std::floor(fj / double(g.nlon)) * double(g.nlon);
  const auto j0 = int64_t(std::floor(fj));
  cubicWeights(fj - double(j0), p.wlon);
  for (int b = 0; b < 4; ++b) {
    int64_t jj = (j0 - 1 + b) % g.nlon;
    if (jj < 0)
      jj += g.nlon;
    p.ilon[b] = int32_t(jj);
  }
}

/// Stencils of the background flow (analytic velocity) for sub-step h.
Stencil makeStencil(const Grid &g, double h) {
  Stencil s;
  s.pts.resize(size_t(g.n));
  for (int64_t i = 0; i < g.nlat; ++i)
    for (int64_t j = 0; j < g.nlon; ++j) {
      const double lam = g.lon[j], phi = g.lat[i];
      double dl, dp;
      velocity(lam, phi, dl, dp);
      const double lm = lam - 0.5 * h * dl;
      const double pm = std::clamp(phi - 0.5 * h * dp, -kPi / 2, kPi / 2);
      velocity(lm, pm, dl, dp);
      setPoint(g, s.pts[size_t(i * g.nlon + j)], lam - h * dl,
               std::clamp(phi - h * dp, -kPi / 2, kPi / 2));
    }
  return s;
}

/// Bilinear value of the gridded field q at (lam, phi): periodic in
/// longitude, clamped at the polar rows.
double bilinear(const Grid &g, const std::vector<double> &q, double lam,
                double phi) {
  double fi = std::clamp((g.lat[0] - phi) / g.dlat, 0.0, double(g.nlat - 1));
  const auto i0 = std::min<int64_t>(int64_t(fi), g.nlat - 1);
  const int64_t i1 = std::min<int64_t>(i0 + 1, g.nlat - 1);
  const double ti = fi - double(i0);
  double fj = lam / g.dlon;
  fj -= std::floor(fj / double(g.nlon)) * double(g.nlon);
  const auto j0 = std::min<int64_t>(int64_t(fj), g.nlon - 1);
  const int64_t j1 = (j0 + 1) % g.nlon;
  const double tj = fj - double(j0);
  auto at = [&](int64_t i, int64_t j) { return q[size_t(i * g.nlon + j)]; };
  return (1 - ti) * ((1 - tj) * at(i0, j0) + tj * at(i0, j1)) +
         ti * ((1 - tj) * at(i1, j0) + tj * at(i1, j1));
}

/// Stencils for sub-step h of the gridded angular velocities (al, ap), rows
/// [i0, i1) (s.pts already sized to the grid).
void windStencil(const Grid &g, double h, const std::vector<double> &al,
                 const std::vector<double> &ap, Stencil &s, int64_t i0,
                 int64_t i1) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t j = 0; j < g.nlon; ++j) {
      const size_t k = size_t(i * g.nlon + j);
      const double lam = g.lon[j], phi = g.lat[i];
      const double lm = lam - 0.5 * h * al[k];
      const double pm = std::clamp(phi - 0.5 * h * ap[k], -kPi / 2, kPi / 2);
      const double dl = bilinear(g, al, lm, pm), dp = bilinear(g, ap, lm, pm);
      setPoint(g, s.pts[k], lam - h * dl,
               std::clamp(phi - h * dp, -kPi / 2, kPi / 2));
    }
}

/// One semi-Lagrangian step: bicubic at the departure points, clipped to
/// the range of the four surrounding values (quasi-monotone: no new
/// extrema, so no growth of grid-scale noise where the flow converges).
void advect(const Grid &g, const Stencil &s, const std::vector<double> &q,
            std::vector<double> &out) {
  for (int64_t k = 0; k < g.n; ++k) {
    const Stencil::Point &p = s.pts[size_t(k)];
    double acc = 0;
    for (int a = 0; a < 4; ++a) {
      const double *row = q.data() + int64_t(p.ilat[a]) * g.nlon;
      double r = 0;
      for (int b = 0; b < 4; ++b)
        r += p.wlon[b] * row[p.ilon[b]];
      acc += p.wlat[a] * r;
    }
    const double *r1 = q.data() + int64_t(p.ilat[1]) * g.nlon;
    const double *r2 = q.data() + int64_t(p.ilat[2]) * g.nlon;
    const double lo =
        std::min({r1[p.ilon[1]], r1[p.ilon[2]], r2[p.ilon[1]], r2[p.ilon[2]]});
    const double hi =
        std::max({r1[p.ilon[1]], r1[p.ilon[2]], r2[p.ilon[1]], r2[p.ilon[2]]});
    out[size_t(k)] = std::clamp(acc, lo, hi);
  }
}

/// Flux-form diffusion coefficients for one sub-step (conservative: what
/// leaves one cell enters its neighbour, weighted by cell area).
struct Diffusion {
  std::vector<double> zonal; // per row: K h / dx^2, capped
  std::vector<double> merid; // per edge between rows i and i+1 (area units)
  Diffusion(const Grid &g, double h) {
    for (int64_t i = 0; i < g.nlat; ++i) {
      const double dx = kRadius * std::cos(g.lat[i]) * g.dlon;
      zonal.push_back(dx > 0 ? std::min(kDiffusivity * h / (dx * dx), 0.2)
                             : 0.2);
    }
    for (int64_t i = 0; i + 1 < g.nlat; ++i) {
      // Flux through the edge: K h cos(edge) dlon (dq / R dphi) R, over the
      // cell area R^2 dlon area[i].
      double G = kDiffusivity * h * std::cos(g.edge[i + 1]) /
                 (kRadius * kRadius * (g.lat[i] - g.lat[i + 1]));
      G = std::min({G, 0.2 * g.area[i], 0.2 * g.area[i + 1]});
      merid.push_back(G);
    }
  }
  void apply(const Grid &g, std::vector<double> &q,
             std::vector<double> &tmp) const {
    tmp = q;
    for (int64_t i = 0; i < g.nlat; ++i) {
      const double kz = zonal[size_t(i)];
      const double *r = tmp.data() + i * g.nlon;
      double *o = q.data() + i * g.nlon;
      for (int64_t j = 0; j < g.nlon; ++j) {
        const int64_t jl = j ? j - 1 : g.nlon - 1,
                      jr = j + 1 < g.nlon ? j + 1 : 0;
        o[j] += kz * (r[jr] - 2 * r[j] + r[jl]);
      }
    }
    for (int64_t i = 0; i + 1 < g.nlat; ++i) {
      const double G = merid[size_t(i)];
      for (int64_t j = 0; j < g.nlon; ++j) {
        const double f = G * (tmp[i * g.nlon + j] - tmp[(i + 1) * g.nlon + j]);
        q[i * g.nlon + j] -= f / g.area[i];
        q[(i + 1) * g.nlon + j] += f / g.area[i + 1];
      }
    }
  }
};

struct Tracer {
  std::vector<double> q, eq;
  std::vector<double> tmp, tmp2; ///< this tracer's scratch (parallel sub-steps)
};

/// Runs the jobs on the machine's cores (the calling thread is one of
/// them). Each job touches only its own field and scratch, so the result
/// is the same, bit for bit, whatever the number of threads.
void runJobs(const std::vector<std::function<void()>> &jobs) {
  static const int64_t cores =
      std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  parallelFor(int64_t(jobs.size()), cores,
              [&](int64_t i) { jobs[size_t(i)](); });
}

/// What writes the frames: one step on, the current frame.
class SynthProcess {
public:
  virtual ~SynthProcess() = default;
  virtual void step() = 0;
  /// The current frame, [channel, lat, lon].
  virtual void frame(std::vector<float> &out) const = 0;
};

class Atmosphere : public SynthProcess {
public:
  Atmosphere(const SynthConfig &cfg, const Grid &g, double dt)
      : cfg_(cfg), g_(g) {
    // Sub-steps: at most 0.7 cells per sub-step, at least 4.
    double rate = 0;
    U_.resize(size_t(g.n));
    V_.resize(size_t(g.n));
    for (int64_t i = 0; i < g.nlat; ++i)
      for (int64_t j = 0; j < g.nlon; ++j) {
        double dl, dp;
        velocity(g.lon[j], g.lat[i], dl, dp);
        rate = std::max({rate, std::abs(dl) / g.dlon, std::abs(dp) / g.dlat});
        U_[size_t(i * g.nlon + j)] = kRadius * std::cos(g.lat[i]) * dl;
        V_[size_t(i * g.nlon + j)] = kRadius * dp;
      }
    substeps_ = std::max<int64_t>(4, int64_t(std::ceil(dt * rate / 0.7)));
    substeps_ =
        std::max<int64_t>(substeps_, int64_t(std::ceil(dt * kInertial / 0.3)));
    h_ = dt / double(substeps_);
    stencil_ = makeStencil(g, h_);
    diff_ = std::make_unique<Diffusion>(g, h_);

    auto find = [&](const char *n) {
      auto it = std::find(cfg.channels.begin(), cfg.channels.end(), n);
      return it == cfg.channels.end() ? -1 : int(it - cfg.channels.begin());
    };
    iu_ = find("u");
    iv_ = find("v");
    wind_ = iu_ >= 0 && iv_ >= 0;
    if (wind_) {
      Rng r(cfg.seed, "u,v perturbation");
      up_ = smoothField(r, g);
      vp_ = smoothField(r, g);
      const double s = kAmplitude / std::sqrt(2.0);
      for (int64_t k = 0; k < g.n; ++k) {
        up_[size_t(k)] *= s;
        vp_[size_t(k)] *= s;
      }
    }
    for (size_t c = 0; c < cfg.channels.size(); ++c) {
      if (wind_ && (int(c) == iu_ || int(c) == iv_))
        continue;
      const std::string &name = cfg.channels[c];
      Rng r(cfg.seed, "tracer " + name);
      const bool temp = name == "t";
      const double M = temp ? 270.0 : 10.0 * double(c + 1);
      const double D = temp ? 40.0 : 5.0;
      Tracer t;
      t.eq = smoothField(r, g);
      std::vector<double> anomaly = smoothField(r, g);
      t.q.resize(size_t(g.n));
      for (int64_t i = 0; i < g.nlat; ++i) {
        const double cz = std::cos(g.lat[i]);
        for (int64_t j = 0; j < g.nlon; ++j) {
          const size_t k = size_t(i * g.nlon + j);
          t.eq[k] = M + D * (cz * cz - 2.0 / 3.0) + 0.2 * D * t.eq[k];
        }
      }
      const double shift = M - g.mean(t.eq); // both means exactly M
      for (int64_t k = 0; k < g.n; ++k) {
        t.eq[size_t(k)] += shift;
        t.q[size_t(k)] = t.eq[size_t(k)] + 0.3 * D * anomaly[size_t(k)];
      }
      tracerOf_.push_back(int(c));
      t.tmp.resize(size_t(g.n));
      t.tmp2.resize(size_t(g.n));
      tracers_.push_back(std::move(t));
    }
    tmp_.resize(size_t(g.n));
    tmp2_.resize(size_t(g.n));
    tmpV_.resize(size_t(g.n));
    tmp2V_.resize(size_t(g.n));
    if (wind_) {
      // Background angular velocities; the perturbation's are added each
      // sub-step (its zonal part over cos(lat), floored near the poles).
      bgL_.resize(size_t(g.n));
      bgP_.resize(size_t(g.n));
      invCos_.resize(size_t(g.nlat));
      for (int64_t i = 0; i < g.nlat; ++i) {
        invCos_[size_t(i)] =
            1.0 / (kRadius *
                   std::max(std::cos(g.lat[i]), 0.5 * std::sin(0.5 * g.dlat)));
        for (int64_t j = 0; j < g.nlon; ++j)
          velocity(g.lon[j], g.lat[i], bgL_[size_t(i * g.nlon + j)],
                   bgP_[size_t(i * g.nlon + j)]);
      }
      al_.resize(size_t(g.n));
      ap_.resize(size_t(g.n));
    }
  }

  int64_t substeps() const { return substeps_; }

  void step() override {
    for (int64_t s = 0; s < substeps_; ++s)
      substep();
  }

  void frame(std::vector<float> &out) const override {
    out.resize(cfg_.channels.size() * size_t(g_.n));
    if (wind_)
      for (int64_t k = 0; k < g_.n; ++k) {
        out[size_t(iu_ * g_.n + k)] = float(U_[size_t(k)] + up_[size_t(k)]);
        out[size_t(iv_ * g_.n + k)] = float(V_[size_t(k)] + vp_[size_t(k)]);
      }
    for (size_t t = 0; t < tracers_.size(); ++t)
      for (int64_t k = 0; k < g_.n; ++k)
        out[size_t(tracerOf_[t] * g_.n + k)] = float(tracers_[t].q[size_t(k)]);
  }

private:
  void transport(std::vector<double> &q, const Stencil &st,
                 std::vector<double> &tmp, std::vector<double> &tmp2) const {
    advect(g_, st, q, tmp);
    q.swap(tmp);
    diff_->apply(g_, q, tmp2);
  }

  /// Poles included as grid rows (odd nlat): one value per polar row.
  void poleRows(std::vector<double> &q) const {
    if (g_.nlat % 2 == 0 || g_.nlat < 3)
      return;
    for (int64_t i : {int64_t(0), g_.nlat - 1}) {
      double s = 0;
      for (int64_t j = 0; j < g_.nlon; ++j)
        s += q[size_t(i * g_.nlon + j)];
      for (int64_t j = 0; j < g_.nlon; ++j)
        q[size_t(i * g_.nlon + j)] = s / double(g_.nlon);
    }
  }

  void substep() {
    const double h = h_;
    if (wind_ && !tracers_.empty()) {
      // The tracers move with the whole wind of this sub-step's start.
      for (int64_t i = 0; i < g_.nlat; ++i)
        for (int64_t j = 0; j < g_.nlon; ++j) {
          const size_t k = size_t(i * g_.nlon + j);
          al_[k] = bgL_[k] + up_[k] * invCos_[size_t(i)];
          ap_[k] = bgP_[k] + vp_[k] / kRadius;
        }
    }
    // The tracers' stencil (from the wind at the sub-step's start, al_ and
    // ap_) and the wind's own transport, side by side.
    std::vector<std::function<void()>> first;
    if (wind_ && !tracers_.empty()) {
      windStencil_.pts.resize(size_t(g_.n));
      constexpr int64_t kParts = 4;
      for (int64_t p = 0; p < kParts; ++p)
        first.push_back([this, h, p] {
          windStencil(g_, h, al_, ap_, windStencil_, g_.nlat * p / kParts,
                      g_.nlat * (p + 1) / kParts);
        });
    }
    if (wind_) {
      first.push_back([&] { transport(up_, stencil_, tmp_, tmp2_); });
      first.push_back([&] { transport(vp_, stencil_, tmpV_, tmp2V_); });
    }
    runJobs(first);
    if (wind_) {
      for (int64_t i = 0; i < g_.nlat; ++i) {
        const double th = kInertial * std::sin(g_.lat[i]) * h;
        const double c = std::cos(th), s = std::sin(th);
        for (int64_t j = 0; j < g_.nlon; ++j) {
          const size_t k = size_t(i * g_.nlon + j);
          const double u = up_[k], v = vp_[k];
          const double nu = c * u + s * v, nv = -s * u + c * v;
          const double grow =
              1.0 + h * kGrowth *
                        (1.0 - (nu * nu + nv * nv) / (kAmplitude * kAmplitude));
          up_[k] = nu * std::max(grow, 0.5);
          vp_[k] = nv * std::max(grow, 0.5);
        }
      }
      poleRows(up_);
      poleRows(vp_);
    }
    // The tracers are independent of each other: one job each.
    std::vector<std::function<void()>> jobs;
    for (Tracer &t : tracers_)
      jobs.push_back([this, &t, h] {
        if (wind_) {
          // The perturbation wind is divergent and the scheme advective: a
          // global fixer (as semi-Lagrangian climate models have) keeps the
          // area mean, which the background flow alone keeps by itself.
          const double before = g_.mean(t.q);
          transport(t.q, windStencil_, t.tmp, t.tmp2);
          const double fix = before - g_.mean(t.q);
          for (double &v : t.q)
            v += fix;
        } else {
          transport(t.q, stencil_, t.tmp, t.tmp2);
        }
        for (int64_t k = 0; k < g_.n; ++k)
          t.q[size_t(k)] -= h * kRelax * (t.q[size_t(k)] - t.eq[size_t(k)]);
        poleRows(t.q);
      });
    runJobs(jobs);
  }

  const SynthConfig &cfg_;
  const Grid &g_;
  int64_t substeps_ = 4;
  double h_ = 0;
  Stencil stencil_, windStencil_;
  std::unique_ptr<Diffusion> diff_;
  std::vector<double> U_, V_, up_, vp_, tmp_, tmp2_, tmpV_, tmp2V_;
  std::vector<double> bgL_, bgP_, invCos_, al_, ap_;
  int iu_ = -1, iv_ = -1;
  bool wind_ = false;
  std::vector<Tracer> tracers_;
  std::vector<int> tracerOf_;
};

void check(bool ok, const std::string &message) {
  if (!ok)
    throw Error(message);
}

//===----------------------------------------------------------------------===//
// The convective mode (--levels)
//===----------------------------------------------------------------------===//

/// Saturation specific humidity (kg/kg) at T (K) and p (hPa): Tetens'
/// vapour pressure over water (Bolton 1980).
double saturation(double T, double pHPa) {
  const double es = 6.112 * std::exp(17.67 * (T - 273.15) / (T - 29.65));
  return 0.622 * es / pHPa;
}

/// Columns of temperature and specific humidity on pressure levels over a
/// surface temperature `ts` that moves one cell east per step (so the
/// next frame is a function of this one). Each step, column by column,
/// in float64:
///  1. surface exchange: the lowest level relaxes towards ts and towards
///     80% of saturation at ts (rate min(1, dt / 12 h)); radiative cooling
///     spread evenly (per unit mass) over the levels above takes the same
///     moist enthalpy out again;
///  2. convection: a column whose equivalent potential temperature
///     (T + L_v q / c_p) (p0 / p)^kappa falls with height relaxes at rate
///     min(1, dt / tau) towards constant equivalent potential temperature
///     and uniform q with the same moist enthalpy and water;
///  3. condensation: supersaturated levels condense (q falls, T rises by
///     L_v / c_p times as much), and the water rains out.
/// Each keeps the column's moist enthalpy sum_k (c_p T_k + L_v q_k) dp_k / g
/// (support/ColumnPhysics.h) exactly: the data conserve what
/// convective_adjust conserves.
class ConvectiveColumns : public SynthProcess {
public:
  ConvectiveColumns(const SynthConfig &cfg, const Grid &g)
      : g_(g), dt_(double(cfg.stepSeconds)), tau_(double(cfg.tauSeconds)) {
    std::vector<size_t> order(cfg.levels.size());
    for (size_t k = 0; k < order.size(); ++k)
      order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return cfg.levels[a] < cfg.levels[b];
    });
    const size_t K = order.size();
    for (size_t k : order) {
      p_.push_back(cfg.levels[k]);
      chanT_.push_back(int64_t(k));
      chanQ_.push_back(int64_t(K + k));
    }
    chanTs_ = int64_t(2 * K);
    dp_ = column::layerThicknessPa(p_);
    ex_ = column::exner(p_);
    Rng r(cfg.seed, "convective columns");
    const std::vector<double> surface = smoothField(r, g),
                              aloft = smoothField(r, g);
    ts_.resize(size_t(g.n));
    T_.assign(size_t(g.n) * K, 0.0);
    q_.assign(size_t(g.n) * K, 0.0);
    for (int64_t i = 0; i < g.nlat; ++i) {
      const double s = std::sin(g.lat[i]);
      for (int64_t j = 0; j < g.nlon; ++j) {
        const size_t c = size_t(i * g.nlon + j);
        ts_[c] = 300.0 - 30.0 * s * s + 6.0 * surface[c];
        for (size_t k = 0; k < K; ++k) {
          const double T = (ts_[c] - 4.0 + 2.0 * aloft[c]) *
                           std::pow(double(p_[k]) / double(p_[K - 1]), 0.19);
          T_[c * K + k] = T;
          q_[c * K + k] = 0.6 * saturation(T, double(p_[k]));
        }
      }
    }
  }

  void step() override {
    const size_t K = p_.size();
    for (size_t c = 0; c < size_t(g_.n); ++c) {
      double *T = &T_[c * K], *q = &q_[c * K];
      exchange(T, q, ts_[c]);
      convect(T, q);
      condense(T, q);
    }
    for (int64_t i = 0; i < g_.nlat; ++i) {
      double *row = &ts_[size_t(i * g_.nlon)];
      std::rotate(row, row + g_.nlon - 1, row + g_.nlon);
    }
  }

  void frame(std::vector<float> &out) const override {
    const size_t K = p_.size(), n = size_t(g_.n);
    out.resize((2 * K + 1) * n);
    for (size_t c = 0; c < n; ++c) {
      for (size_t k = 0; k < K; ++k) {
        out[size_t(chanT_[k]) * n + c] = float(T_[c * K + k]);
        out[size_t(chanQ_[k]) * n + c] = float(q_[c * K + k]);
      }
      out[size_t(chanTs_) * n + c] = float(ts_[c]);
    }
  }

private:
  void exchange(double *T, double *q, double ts) const {
    using namespace column;
    const size_t K = p_.size(), b = K - 1;
    const double a = std::min(1.0, dt_ / (12 * 3600.0));
    const double dT = a * (ts - T[b]),
                 dq = a * (0.8 * saturation(ts, double(p_[b])) - q[b]);
    T[b] += dT;
    q[b] += dq;
    double above = 0;
    for (size_t k = 0; k < b; ++k)
      above += dp_[k];
    const double cool = (kCp * dT + kLv * dq) * dp_[b] / (kCp * above);
    for (size_t k = 0; k < b; ++k)
      T[k] -= cool;
  }

  void convect(double *T, double *q) const {
    using namespace column;
    const size_t K = p_.size();
    bool unstable = false;
    for (size_t k = 0; k + 1 < K; ++k)
      unstable |= (T[k + 1] + kLv / kCp * q[k + 1]) / ex_[k + 1] >
                  (T[k] + kLv / kCp * q[k]) / ex_[k];
    if (!unstable)
      return;
    double te = 0, exs = 0, water = 0, mass = 0;
    for (size_t k = 0; k < K; ++k) {
      te += (T[k] + kLv / kCp * q[k]) * dp_[k];
      exs += ex_[k] * dp_[k];
      water += q[k] * dp_[k];
      mass += dp_[k];
    }
    const double theta = te / exs, qRef = water / mass;
    const double r = std::min(1.0, dt_ / tau_);
    for (size_t k = 0; k < K; ++k) {
      const double TRef = theta * ex_[k] - kLv / kCp * qRef;
      T[k] += r * (TRef - T[k]);
      q[k] += r * (qRef - q[k]);
    }
  }

  void condense(double *T, double *q) const {
    using namespace column;
    for (size_t k = 0; k < p_.size(); ++k) {
      const double qs = saturation(T[k], double(p_[k]));
      if (q[k] <= qs)
        continue;
      // One Newton step on q - d = qs(T + L_v d / c_p).
      const double slope =
          qs * 17.67 * 243.5 / ((T[k] - 29.65) * (T[k] - 29.65));
      const double d = (q[k] - qs) / (1.0 + kLv / kCp * slope);
      q[k] -= d;
      T[k] += kLv / kCp * d;
    }
  }

  const Grid &g_;
  double dt_, tau_;
  std::vector<int64_t> p_;             ///< hPa, top down
  std::vector<int64_t> chanT_, chanQ_; ///< output channel of level k
  int64_t chanTs_ = 0;
  std::vector<double> dp_, ex_;    ///< per level
  std::vector<double> ts_, T_, q_; ///< [cell], [cell, level]
};

} // namespace

std::vector<std::string>
convectiveChannels(const std::vector<int64_t> &levels) {
  std::vector<std::string> names;
  for (const char *v : {"t", "q"})
    for (int64_t p : levels)
      names.push_back(v + std::to_string(p));
  names.push_back("ts");
  return names;
}

void synthesize(const SynthConfig &cfg) {
  silenceHdf5();
  check(!cfg.dir.empty(), "synth: no output folder given (--out DIR)");
  if (!cfg.levels.empty()) {
    std::set<int64_t> distinct(cfg.levels.begin(), cfg.levels.end());
    check(cfg.levels.size() >= 2 && distinct.size() == cfg.levels.size() &&
              *distinct.begin() >= 1 && *distinct.rbegin() <= 1100,
          "synth: --levels needs at least 2 distinct pressure levels in "
          "1..1100 hPa, e.g. 1000,850,700,500,300");
    check(cfg.channels == convectiveChannels(cfg.levels),
          "synth: the convective mode (--levels) writes the channels " +
              join(convectiveChannels(cfg.levels), ",") +
              "; leave --channels out");
    check(cfg.tauSeconds > 0, "synth: --tau must be positive");
  }
  check(!cfg.channels.empty(),
        "synth: no channels given; e.g. --channels u,v,t");
  std::set<std::string> seen;
  for (const auto &c : cfg.channels) {
    check(!c.empty(), "synth: an empty channel name in the channel list '" +
                          join(cfg.channels, ",") + "'");
    check(seen.insert(c).second,
          "synth: channel '" + c + "' is listed twice; each channel once");
  }
  check(cfg.lat >= 2 && cfg.lon >= 2, "synth: grid " + std::to_string(cfg.lat) +
                                          "x" + std::to_string(cfg.lon) +
                                          " is too small; at least 2x2");
  check(cfg.lat <= 100000 && cfg.lon <= 100000 &&
            double(cfg.channels.size()) * double(cfg.lat) * double(cfg.lon) *
                    4.0 <
                4.0e9,
        "synth: grid " + std::to_string(cfg.lat) + "x" +
            std::to_string(cfg.lon) + " with " +
            std::to_string(cfg.channels.size()) +
            " channels is too large (one sample must stay under 4 GB)");
  check(cfg.firstYear >= 1 && cfg.lastYear <= 9999,
        "synth: years " + std::to_string(cfg.firstYear) + ".." +
            std::to_string(cfg.lastYear) + " must lie in 1..9999");
  check(cfg.firstYear <= cfg.lastYear, "synth: the years " +
                                           std::to_string(cfg.firstYear) +
                                           ".." + std::to_string(cfg.lastYear) +
                                           " are empty; write FIRST..LAST "
                                           "with FIRST <= LAST");
  check(cfg.stepSeconds > 0, "synth: the step must be positive, got " +
                                 std::to_string(cfg.stepSeconds) + " s");
  check(cfg.stepsPerYear >= 1,
        "synth: steps per year must be at least 1, got " +
            std::to_string(cfg.stepsPerYear));
  for (int y = cfg.firstYear; y <= cfg.lastYear; ++y) {
    const int64_t len = yearStart(y + 1) - yearStart(y);
    check((cfg.stepsPerYear - 1) <= (len - 1) / cfg.stepSeconds,
          "synth: " + std::to_string(cfg.stepsPerYear) + " steps of " +
              formatDuration(cfg.stepSeconds) + " run past the end of year " +
              std::to_string(y) + " (at most " +
              std::to_string((len - 1) / cfg.stepSeconds + 1) +
              " fit); lower --steps-per-year or --step");
  }
  std::error_code ec;
  std::filesystem::create_directories(cfg.dir, ec);
  check(!ec, "synth: cannot create the output folder '" + cfg.dir +
                 "': " + ec.message());

  const Grid g(cfg.lat, cfg.lon);
  std::unique_ptr<SynthProcess> process;
  if (cfg.levels.empty())
    process = std::make_unique<Atmosphere>(cfg, g, double(cfg.stepSeconds));
  else
    process = std::make_unique<ConvectiveColumns>(cfg, g);
  SynthProcess &model = *process;
  const auto C = int64_t(cfg.channels.size());
  std::vector<float> frame;
  std::vector<std::string> written;
  std::vector<double> latDeg = defaultLatitudes(cfg.lat),
                      lonDeg = defaultLongitudes(cfg.lon);

  for (int y = cfg.firstYear; y <= cfg.lastYear; ++y) {
    char name[32];
    std::snprintf(name, sizeof name, "%04d.h5", y);
    const std::string path = (std::filesystem::path(cfg.dir) / name).string();
    AtomicFile af(path);
    {
      Hid f(H5Fcreate(af.tempPath().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                      H5P_DEFAULT),
            H5Fclose);
      if (!f.valid())
        throw Error("synth: cannot create '" + af.tempPath() +
                    "': " + h5Reason());
      const hsize_t dims[4] = {hsize_t(cfg.stepsPerYear), hsize_t(C),
                               hsize_t(cfg.lat), hsize_t(cfg.lon)};
      const hsize_t chunk[4] = {1, hsize_t(C), hsize_t(cfg.lat),
                                hsize_t(cfg.lon)};
      Hid space(H5Screate_simple(4, dims, nullptr), H5Sclose);
      Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
      H5Pset_chunk(dcpl.get(), 4, chunk);
      H5Pset_obj_track_times(dcpl.get(), false);
      Hid ds(H5Dcreate2(f.get(), "fields", H5T_IEEE_F32LE, space.get(),
                        H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
             H5Dclose);
      if (!ds.valid())
        throw Error("synth: cannot create dataset 'fields' in '" +
                    af.tempPath() + "': " + h5Reason());
      writeStringsAttr(ds.get(), "channels", cfg.channels);

      const hsize_t one[4] = {1, hsize_t(C), hsize_t(cfg.lat),
                              hsize_t(cfg.lon)};
      Hid mspace(H5Screate_simple(4, one, nullptr), H5Sclose);
      std::vector<int64_t> times;
      for (int64_t k = 0; k < cfg.stepsPerYear; ++k) {
        if (!(y == cfg.firstYear && k == 0))
          model.step();
        model.frame(frame);
        const hsize_t start[4] = {hsize_t(k), 0, 0, 0};
        H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, one,
                            nullptr);
        if (H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mspace.get(), space.get(),
                     H5P_DEFAULT, frame.data()) < 0)
          throw Error("synth: cannot write sample " + std::to_string(k) +
                      " of '" + path + "': " + h5Reason() +
                      " (is the disk full?)");
        times.push_back(yearStart(y) + k * cfg.stepSeconds);
      }
      {
        const hsize_t n = times.size();
        Hid ts(H5Screate_simple(1, &n, nullptr), H5Sclose);
        Hid tdcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_obj_track_times(tdcpl.get(), false);
        Hid td(H5Dcreate2(f.get(), "time", H5T_STD_I64LE, ts.get(), H5P_DEFAULT,
                          tdcpl.get(), H5P_DEFAULT),
               H5Dclose);
        if (!td.valid() || H5Dwrite(td.get(), H5T_NATIVE_INT64, H5S_ALL,
                                    H5S_ALL, H5P_DEFAULT, times.data()) < 0)
          throw Error("synth: cannot write /time of '" + path +
                      "': " + h5Reason());
      }
      writeDoubles(f.get(), "lat", latDeg);
      writeDoubles(f.get(), "lon", lonDeg);
      writeStringsAttr(f.get(), "source",
                       {"s2s-data synth (seed " + std::to_string(cfg.seed) +
                        ", step " + formatDuration(cfg.stepSeconds) + ")"});
      if (H5Fflush(f.get(), H5F_SCOPE_GLOBAL) < 0)
        throw Error("synth: cannot write '" + path + "': " + h5Reason());
    }
    af.commit();
    written.push_back(path);
  }

  // Stats over the training years: all but the last two (all when there
  // are two or fewer).
  const int n = cfg.lastYear - cfg.firstYear + 1;
  const YearRange train{cfg.firstYear, n > 2 ? cfg.lastYear - 2 : cfg.lastYear};
  std::vector<FileMeta> metas;
  for (const auto &p : written)
    metas.push_back(readMeta(p, "fields"));
  computeStatsFiles(metas, "fields", train,
                    (std::filesystem::path(cfg.dir) / "stats.h5").string(),
                    "s2s-data synth, years " +
                        formatYears(train.first, train.last));
}

} // namespace s2s::rt
