//===- SynthTest.cpp - s2s-data synth, stats and the tool
//------------------===//
//
// The synthetic data set (its bytes, layout and physics: conserved
// tracers, stirring, learnable from local features), statistics against a
// direct computation, and s2s-data's command line.
//
//===----------------------------------------------------------------------===//

#include "prep/Synth.h"
#include "prep/Stats.h"

#include "TestData.h"
#include "TestSupport.h"
#include "data/Dataset.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using s2s::rt::DataConfig;
using s2s::rt::Dataset;
using s2s::rt::Split;
using s2s::rt::SynthConfig;
using namespace s2s_test;

namespace {

/// Area weights of the rows (cell areas between midpoints, poles at the
/// ends).
std::vector<double> rowAreas(const std::vector<double> &latDeg) {
  const double k = M_PI / 180;
  std::vector<double> edge{M_PI / 2};
  for (size_t i = 1; i < latDeg.size(); ++i)
    edge.push_back(0.5 * (latDeg[i - 1] + latDeg[i]) * k);
  edge.push_back(-M_PI / 2);
  std::vector<double> a;
  for (size_t i = 0; i < latDeg.size(); ++i)
    a.push_back(std::sin(edge[i]) - std::sin(edge[i + 1]));
  return a;
}

} // namespace

//===----------------------------------------------------------------------===//
// synthesize
//===----------------------------------------------------------------------===//

TEST(DataSynth, SameSeedSameBytesOtherSeedOtherData) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "a", 7));
  s2s::rt::synthesize(small(tmp / "b", 7));
  s2s::rt::synthesize(small(tmp / "c", 8));
  for (const char *f : {"2000.h5", "2003.h5", "stats.h5"}) {
    const std::string a = slurp(tmp / ("a/" + std::string(f)));
    ASSERT_FALSE(a.empty()) << f;
    EXPECT_EQ(a, slurp(tmp / ("b/" + std::string(f)))) << f;
  }
  const Raw a = readRaw(tmp / "a/2000.h5"), c = readRaw(tmp / "c/2000.h5");
  ASSERT_EQ(a.f.size(), c.f.size());
  double diff = 0;
  for (size_t i = 0; i < a.f.size(); ++i)
    diff = std::max(diff, double(std::abs(a.f[i] - c.f[i])));
  EXPECT_GT(diff, 1.0);
  // No temporary files left behind.
  for (const auto &e : fs::directory_iterator(tmp / "a"))
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
}

TEST(DataSynth, LayoutTimesAndCoordinates) {
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.lat = 5; // odd: poles included
  c.stepSeconds = 3600;
  s2s::rt::synthesize(c);
  const Raw r = readRaw(tmp / "2001.h5");
  EXPECT_EQ(r.nt, 8);
  EXPECT_EQ(r.nc, 3);
  EXPECT_EQ(r.nlat, 5);
  EXPECT_EQ(r.nlon, 16);
  EXPECT_EQ(r.time.front(), 978307200); // 2001-01-01T00:00Z
  EXPECT_EQ(r.time[1] - r.time[0], 3600);
  EXPECT_DOUBLE_EQ(r.lat.front(), 90.0);
  EXPECT_DOUBLE_EQ(r.lat.back(), -90.0);
  // One sample per chunk.
  hid_t f = H5Fopen((tmp / "2001.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, "fields", H5P_DEFAULT);
  hid_t pl = H5Dget_create_plist(ds);
  hsize_t ch[4] = {0, 0, 0, 0};
  EXPECT_EQ(H5Pget_chunk(pl, 4, ch), 4);
  EXPECT_EQ(ch[0], 1u);
  EXPECT_EQ(ch[1], 3u);
  EXPECT_EQ(ch[2], 5u);
  EXPECT_EQ(ch[3], 16u);
  H5Pclose(pl);
  H5Dclose(ds);
  H5Fclose(f);
  for (float v : r.f)
    ASSERT_TRUE(std::isfinite(v));
}

namespace {

/// Area-weighted mean and spread of one channel of one sample.
struct Moments2 {
  double mean, spread;
};
Moments2 areaMoments(const Raw &r, int64_t t, int64_t ch) {
  const auto area = rowAreas(r.lat);
  double s = 0, w = 0;
  for (int64_t i = 0; i < r.nlat; ++i)
    for (int64_t j = 0; j < r.nlon; ++j) {
      s += area[size_t(i)] * r.at(t, ch, i, j);
      w += area[size_t(i)];
    }
  const double m = s / w;
  double v = 0;
  for (int64_t i = 0; i < r.nlat; ++i)
    for (int64_t j = 0; j < r.nlon; ++j)
      v += area[size_t(i)] * std::pow(r.at(t, ch, i, j) - m, 2);
  return {m, std::sqrt(v / w)};
}

double frameDistance(const Raw &r, int64_t a, int64_t b, int64_t ch) {
  double s = 0;
  for (int64_t i = 0; i < r.nlat; ++i)
    for (int64_t j = 0; j < r.nlon; ++j)
      s += std::pow(r.at(a, ch, i, j) - r.at(b, ch, i, j), 2);
  return std::sqrt(s);
}

} // namespace

TEST(DataSynth, AdvectionByTheBackgroundConservesTracerMeans) {
  // Tracers only: moved by the non-divergent background flow, relaxed to
  // fields of the same mean, diffused in flux form: the area-weighted mean
  // stays put (up to the semi-Lagrangian scheme's error).
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.channels = {"t", "q"};
  c.lat = 16;
  c.lon = 32;
  c.firstYear = c.lastYear = 2000;
  c.stepsPerYear = 120; // 30 days at 6h
  s2s::rt::synthesize(c);
  const Raw r = readRaw(tmp / "2000.h5");
  for (int64_t ch = 0; ch < 2; ++ch) {
    const Moments2 m0 = areaMoments(r, 0, ch);
    EXPECT_GT(m0.spread, 1.0);
    double worst = 0;
    for (int64_t t = 1; t < r.nt; ++t)
      worst = std::max(worst, std::abs(areaMoments(r, t, ch).mean - m0.mean));
    EXPECT_LT(worst, 0.01 * m0.spread) << "channel " << ch;
    std::printf("  [physics] tracer %lld: mean %.4f, spread %.3f, largest "
                "drift of the mean over 30 days %.2e\n",
                (long long)ch, m0.mean, m0.spread, worst);
    // Still far from uniform at the end.
    EXPECT_GT(areaMoments(r, r.nt - 1, ch).spread, 0.3 * m0.spread);
  }
}

TEST(DataSynth, ConvectiveColumnsKeepTheirMoistEnthalpyAndConvect) {
  // --levels: t and q at 1000, 700, 500, 300 hPa (channels 0-3, 4-7), ts
  // (8). Each column's sum_k (c_p T_k + L_v q_k) dp_k / g stays put from
  // step to step, recomputed here with the layers written out by hand
  // (interfaces 400, 600, 850 hPa; top 200, bottom 1150).
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.levels = {1000, 700, 500, 300};
  c.channels = s2s::rt::convectiveChannels(c.levels);
  ASSERT_EQ(c.channels,
            (std::vector<std::string>{"t1000", "t700", "t500", "t300", "q1000",
                                      "q700", "q500", "q300", "ts"}));
  c.firstYear = c.lastYear = 2000;
  c.stepsPerYear = 40;
  s2s::rt::synthesize(c);
  const Raw r = readRaw(tmp / "2000.h5");
  ASSERT_EQ(r.nc, 9);
  const double dp[4] = {30000, 25000, 20000, 20000}; // 1000 hPa first
  const double p[4] = {1000, 700, 500, 300};
  auto enthalpy = [&](int64_t t, int64_t i, int64_t j) {
    double h = 0;
    for (int64_t k = 0; k < 4; ++k)
      h += (1004.64 * r.at(t, k, i, j) + 2.501e6 * r.at(t, 4 + k, i, j)) *
           dp[k] / 9.80665;
    return h;
  };
  auto unstable = [&](int64_t t, int64_t i, int64_t j) {
    double below = 0;
    for (int64_t k = 0; k < 4; ++k) {
      const double te =
          (r.at(t, k, i, j) + 2.501e6 / 1004.64 * r.at(t, 4 + k, i, j)) *
          std::pow(1000.0 / p[k], 287.04 / 1004.64);
      if (k && te < below)
        return true;
      below = te;
    }
    return false;
  };
  double worst = 0, moved = 0;
  int64_t unstableBefore = 0, unstableAfter = 0;
  for (int64_t t = 0; t + 1 < r.nt; ++t)
    for (int64_t i = 0; i < r.nlat; ++i)
      for (int64_t j = 0; j < r.nlon; ++j) {
        const double h0 = enthalpy(t, i, j);
        worst = std::max(worst, std::abs(enthalpy(t + 1, i, j) - h0) / h0);
        moved = std::max(
            moved, double(std::abs(r.at(t + 1, 3, i, j) - r.at(t, 3, i, j))));
        // ts moves one cell east per step, exactly.
        EXPECT_EQ(r.at(t + 1, 8, i, (j + 1) % r.nlon), r.at(t, 8, i, j));
        unstableBefore += t == 0 && unstable(t, i, j);
        unstableAfter += t + 2 == r.nt && unstable(t + 1, i, j);
        for (int64_t k = 0; k < 4; ++k) {
          EXPECT_GT(r.at(t, 4 + k, i, j), 0.0f);
          EXPECT_GT(r.at(t, k, i, j), 150.0f);
          EXPECT_LT(r.at(t, k, i, j), 350.0f);
        }
      }
  std::printf("  [physics] convective columns: largest relative change of "
              "a column's moist enthalpy in a step %.2e; t300 moves up to "
              "%.2f K a step; unstable columns %lld at the start, %lld at "
              "the end\n",
              worst, moved, (long long)unstableBefore,
              (long long)unstableAfter);
  EXPECT_LT(worst, 1e-6);
  EXPECT_GT(moved, 0.1);

  SynthConfig bad = c;
  bad.channels = {"t", "q"};
  EXPECT_THROW(s2s::rt::synthesize(bad), s2s::rt::Error);
  bad = c;
  bad.levels = {1000};
  bad.channels = s2s::rt::convectiveChannels(bad.levels);
  EXPECT_THROW(s2s::rt::synthesize(bad), s2s::rt::Error);
}

TEST(DataSynth, WindStirsTheTracerAndFramesEvolveSmoothly) {
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.lat = 16;
  c.lon = 32;
  c.firstYear = 2000;
  c.lastYear = 2001;
  c.stepsPerYear = 240; // 2 x 60 days at 6h
  s2s::rt::synthesize(c);
  const Raw a = readRaw(tmp / "2000.h5"), b = readRaw(tmp / "2001.h5");
  // The tracer, stirred by a divergent perturbation wind: its mean kept
  // (by the fixer) to float32 rounding.
  const Moments2 m0 = areaMoments(a, 0, 2);
  double worst = 0;
  for (const Raw *r : {&a, &b})
    for (int64_t t = 0; t < r->nt; ++t)
      worst = std::max(worst, std::abs(areaMoments(*r, t, 2).mean - m0.mean));
  EXPECT_LT(worst, 1e-4 * m0.spread);
  std::printf("  [physics] 't' with wind: mean %.3f, spread %.3f, largest "
              "drift of the mean over 120 days %.3f\n",
              m0.mean, m0.spread, worst);
  // Months later the fields still change: a frame is closer to its
  // successor than to one 3 days (12 steps) away, in every channel.
  for (int64_t ch = 0; ch < 3; ++ch) {
    double near = 0, far = 0;
    for (int64_t t = 0; t + 12 < b.nt; t += 4) {
      near += frameDistance(b, t, t + 1, ch);
      far += frameDistance(b, t, t + 12, ch);
      EXPECT_LT(frameDistance(b, t, t + 1, ch), frameDistance(b, t, t + 12, ch))
          << "channel " << ch << " time " << t;
    }
    EXPECT_LT(near, 0.5 * far) << "channel " << ch;
    EXPECT_GT(near, 0.0) << "channel " << ch;
  }
  // The perturbation keeps its amplitude: v (whose background is weak)
  // still varies by metres per second at the end.
  EXPECT_GT(areaMoments(b, b.nt - 1, 1).spread, 5.0);
  EXPECT_GT(areaMoments(b, b.nt - 1, 2).spread, 5.0);
}

TEST(DataSynth, NextFrameIsLearnableFromLocalFeatures) {
  // A local model of the next frame, linear in the 3x3 neighbourhood of all
  // channels and in its products with the centre wind (what advection by
  // the visible wind needs), fitted by least squares on the first part of
  // the series, beats persistence on every channel of the rest (by 25% at
  // least; the Coriolis-like turning of u', v' changes sign with the
  // hemisphere, which this model cannot see, so v is the hardest).
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.lat = 16;
  c.lon = 32;
  c.firstYear = c.lastYear = 2000;
  c.stepsPerYear = 120;
  s2s::rt::synthesize(c);
  const Raw r = readRaw(tmp / "2000.h5");
  const auto mean = readDoubles(tmp / "stats.h5", "mean");
  const auto sd = readDoubles(tmp / "stats.h5", "std");
  auto x = torch::from_blob(const_cast<float *>(r.f.data()),
                            {r.nt, r.nc, r.nlat, r.nlon}, torch::kFloat32)
               .to(torch::kFloat64);
  x = (x - torch::tensor(mean, torch::kFloat64).view({1, 3, 1, 1})) /
      torch::tensor(sd, torch::kFloat64).view({1, 3, 1, 1});
  const int64_t T = r.nt, H = r.nlat, W = r.nlon, C = r.nc;
  auto p = torch::cat({x.slice(3, W - 1, W), x, x.slice(3, 0, 1)}, 3);
  p = torch::cat({p.slice(2, 0, 1), p, p.slice(2, H - 1, H)}, 2);
  auto patch = p.unfold(2, 3, 1)
                   .unfold(3, 3, 1) // [T, C, H, W, 3, 3]
                   .permute({0, 2, 3, 1, 4, 5})
                   .reshape({T, H * W, C * 9});
  auto centre = x.permute({0, 2, 3, 1}).reshape({T, H * W, C});
  auto feats = torch::cat({patch, patch * centre.slice(2, 0, 1),
                           patch * centre.slice(2, 1, 2),
                           torch::ones({T, H * W, 1}, torch::kFloat64)},
                          2);
  const int64_t F = feats.size(2), fit = 80;
  auto A = feats.slice(0, 0, fit - 1).reshape({-1, F});
  auto B = centre.slice(0, 1, fit).reshape({-1, C});
  auto sol = torch::linalg_solve(
      A.t().mm(A) + 1e-6 * torch::eye(F, torch::kFloat64), A.t().mm(B));
  auto At = feats.slice(0, fit, T - 1).reshape({-1, F});
  auto Bt = centre.slice(0, fit + 1, T).reshape({-1, C});
  auto persist = centre.slice(0, fit, T - 1).reshape({-1, C});
  auto mseFit = (At.mm(sol) - Bt).pow(2).mean(0);
  auto msePersist = (persist - Bt).pow(2).mean(0);
  for (int64_t ch = 0; ch < C; ++ch) {
    const double f = mseFit[ch].item<double>(),
                 q = msePersist[ch].item<double>();
    std::printf("  [learnable] channel %lld: local model MSE %.3g, "
                "persistence %.3g (ratio %.2f)\n",
                (long long)ch, f, q, f / q);
    EXPECT_GT(q, 1e-4) << "channel " << ch;
    EXPECT_LT(f, 0.75 * q) << "channel " << ch;
  }
}

//===----------------------------------------------------------------------===//
// stats
//===----------------------------------------------------------------------===//

TEST(DataStats, MatchDirectComputation) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "d"));
  s2s::rt::computeStats(tmp / "d/*.h5", "fields", {2000, 2001}, tmp / "s.h5");
  const Raw a = readRaw(tmp / "d/2000.h5"), b = readRaw(tmp / "d/2001.h5");
  const auto mean = readDoubles(tmp / "s.h5", "mean");
  const auto sd = readDoubles(tmp / "s.h5", "std");
  const auto mn = readDoubles(tmp / "s.h5", "min");
  const auto mx = readDoubles(tmp / "s.h5", "max");
  ASSERT_EQ(mean.size(), 3u);
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0, s2 = 0, lo = 1e300, hi = -1e300, n = 0;
    for (const Raw *r : {&a, &b})
      for (int64_t t = 0; t < r->nt; ++t)
        for (int64_t i = 0; i < r->nlat; ++i)
          for (int64_t j = 0; j < r->nlon; ++j) {
            const double v = r->at(t, c, i, j);
            s += v;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            ++n;
          }
    const double m = s / n;
    for (const Raw *r : {&a, &b})
      for (int64_t t = 0; t < r->nt; ++t)
        for (int64_t i = 0; i < r->nlat; ++i)
          for (int64_t j = 0; j < r->nlon; ++j)
            s2 += std::pow(r->at(t, c, i, j) - m, 2);
    EXPECT_NEAR(mean[size_t(c)], m, 1e-9 * (1 + std::abs(m)));
    EXPECT_NEAR(sd[size_t(c)], std::sqrt(s2 / n), 1e-9 * std::sqrt(s2 / n));
    EXPECT_EQ(mn[size_t(c)], lo);
    EXPECT_EQ(mx[size_t(c)], hi);
  }
  // synth's own stats.h5 covers all years but the last two: the same.
  const auto synthMean = readDoubles(tmp / "d/stats.h5", "mean");
  for (size_t c = 0; c < 3; ++c)
    EXPECT_DOUBLE_EQ(synthMean[c], mean[c]);
  // minmax normalisation uses /min and /max.
  DataConfig cfg = config(tmp / "d");
  cfg.train = {2000, 2001};
  cfg.normalize = s2s::rt::Normalizer::Minmax;
  cfg.stats = tmp / "s.h5";
  Dataset d = Dataset::open(cfg, Split::Train, 1);
  auto all = d.batch({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  EXPECT_NEAR(all.min().item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(all.max().item<float>(), 1.0, 1e-6);
}

namespace {

std::string tool() {
  if (const char *e = std::getenv("S2S_DATA"))
    return e;
  return (buildDir() / "bin" / "s2s-data").string();
}

/// Runs a shell command; output (stdout and stderr) and exit status.
std::pair<std::string, int> run(const std::string &cmd) {
  std::string out;
  FILE *p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p)
    return {"", -1};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  const int st = ::pclose(p);
  return {out, WIFEXITED(st) ? WEXITSTATUS(st) : -1};
}

} // namespace

TEST(DataTool, SynthInspectAndErrors) {
  // Each run loads LibTorch (most of a second): few runs.
  if (!fs::exists(tool()))
    GTEST_SKIP() << "no s2s-data at " << tool();
  TempDir tmp;
  const std::string t = "'" + tool() + "'";
  auto [out, rc] = run(t + " synth --out '" + (tmp / "d") +
                       "' --grid 4x8 --years 2000..2002 --steps-per-year 4 "
                       "--step 12h --seed 3");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(fs::exists(tmp / "d/2002.h5"));
  std::tie(out, rc) = run(t + " inspect '" + (tmp / "d/2001.h5") + "' '" +
                          (tmp / "d/stats.h5") + "'");
  EXPECT_EQ(rc, 0) << out;
  for (const char *s :
       {"float32 [4, 3, 4, 8]", "chunks: [1, 3, 4, 8]", "channels: u, v, t",
        "2001-01-01T00:00 .. 2001-01-02T12:00", "step 12h", "stats file",
        "years: 2000"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;

  std::tie(out, rc) = run(t + " synth --out x --grid 32by64");
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(out, "s2s-data synth: invalid --grid '32by64': expected LATxLON "
                 "with sizes of at least 2, e.g. 32x64 (see s2s-data synth "
                 "--help)\n");
  std::tie(out, rc) = run(t + " stats --data '" + (tmp / "none") +
                          "/*.h5' --out '" + (tmp / "s2.h5") + "'");
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out.rfind("s2s-data: error: no files match", 0), 0u) << out;
}
