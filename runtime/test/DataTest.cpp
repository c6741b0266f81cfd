//===- DataTest.cpp - Synthetic data, Dataset, stats and bad inputs -------===//
//
// Every test makes its own small data set with synthesize() in a folder
// under the build dir (build/test-tmp/...), removed at the end.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Data.h"

#include "TestSupport.h"
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

namespace {

using s2s_test::buildDir;
using s2s_test::expectError;
using s2s_test::TempDir;

SynthConfig small(const std::string &dir, uint64_t seed = 0) {
  SynthConfig c;
  c.dir = dir;
  c.lat = 8;
  c.lon = 16;
  c.firstYear = 2000;
  c.lastYear = 2003;
  c.stepsPerYear = 8;
  c.seed = seed;
  return c;
}

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

/// The raw contents of a data file.
struct Raw {
  int64_t nt = 0, nc = 0, nlat = 0, nlon = 0;
  std::vector<float> f;
  std::vector<int64_t> time;
  std::vector<double> lat;
  float at(int64_t t, int64_t c, int64_t i, int64_t j) const {
    return f[size_t(((t * nc + c) * nlat + i) * nlon + j)];
  }
};

Raw readRaw(const std::string &path) {
  Raw r;
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(file, 0) << path;
  hid_t ds = H5Dopen2(file, "fields", H5P_DEFAULT);
  hid_t sp = H5Dget_space(ds);
  hsize_t d[4];
  H5Sget_simple_extent_dims(sp, d, nullptr);
  r.nt = int64_t(d[0]);
  r.nc = int64_t(d[1]);
  r.nlat = int64_t(d[2]);
  r.nlon = int64_t(d[3]);
  r.f.resize(d[0] * d[1] * d[2] * d[3]);
  H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, r.f.data());
  H5Sclose(sp);
  H5Dclose(ds);
  r.time.resize(d[0]);
  hid_t t = H5Dopen2(file, "time", H5P_DEFAULT);
  H5Dread(t, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, r.time.data());
  H5Dclose(t);
  r.lat.resize(d[2]);
  hid_t la = H5Dopen2(file, "lat", H5P_DEFAULT);
  H5Dread(la, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, r.lat.data());
  H5Dclose(la);
  H5Fclose(file);
  return r;
}

std::vector<double> readDoubles(const std::string &path, const char *name) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(ds);
  std::vector<double> v(size_t(H5Sget_simple_extent_npoints(sp)));
  H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(file);
  return v;
}

/// Writes one value of /fields (float) or of a float64 [n] dataset.
void poke(const std::string &path, const char *name,
          const std::vector<hsize_t> &where, double value) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t sp = H5Dget_space(ds);
  std::vector<hsize_t> count(where.size(), 1);
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, where.data(), nullptr, count.data(),
                      nullptr);
  const hsize_t one = 1;
  hid_t mem = H5Screate_simple(1, &one, nullptr);
  ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, &value), 0);
  H5Sclose(mem);
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(file);
}

DataConfig config(const std::string &dir) {
  DataConfig c;
  c.name = "small";
  c.pattern = dir + "/*.h5";
  c.channels = {"u", "v", "t"};
  return c;
}

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
  c.lat = 5;  // odd: poles included
  c.stepSeconds = 3600;
  s2s::rt::synthesize(c);
  const Raw r = readRaw(tmp / "2001.h5");
  EXPECT_EQ(r.nt, 8);
  EXPECT_EQ(r.nc, 3);
  EXPECT_EQ(r.nlat, 5);
  EXPECT_EQ(r.nlon, 16);
  EXPECT_EQ(r.time.front(), 978307200);  // 2001-01-01T00:00Z
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
  c.stepsPerYear = 120;  // 30 days at 6h
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

TEST(DataSynth, WindStirsTheTracerAndFramesEvolveSmoothly) {
  TempDir tmp;
  SynthConfig c = small(tmp.str());
  c.lat = 16;
  c.lon = 32;
  c.firstYear = 2000;
  c.lastYear = 2001;
  c.stepsPerYear = 240;  // 2 x 60 days at 6h
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
  auto patch = p.unfold(2, 3, 1).unfold(3, 3, 1)  // [T, C, H, W, 3, 3]
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
    const double f = mseFit[ch].item<double>(), q = msePersist[ch].item<double>();
    std::printf("  [learnable] channel %lld: local model MSE %.3g, "
                "persistence %.3g (ratio %.2f)\n",
                (long long)ch, f, q, f / q);
    EXPECT_GT(q, 1e-4) << "channel " << ch;
    EXPECT_LT(f, 0.75 * q) << "channel " << ch;
  }
}

//===----------------------------------------------------------------------===//
// Dataset
//===----------------------------------------------------------------------===//

TEST(DataDataset, WindowsCountAndContents) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));  // 4 years x 8 samples, 6h
  DataConfig cfg = config(tmp.str());
  cfg.channels = {"t", "u"};  // a subset, in another order
  cfg.grid = {8, 16};
  cfg.normalize = "zscore";
  cfg.stats = tmp / "stats.h5";
  cfg.train = {2000, 2001};
  const auto mean = readDoubles(cfg.stats, "mean"),
             sd = readDoubles(cfg.stats, "std");

  // Step = the files' spacing: 8 - 2 windows of 3 per file, none across
  // the gap between years.
  Dataset d = Dataset::open(cfg, Split::Train, 3);
  EXPECT_EQ(d.size(), 12);
  EXPECT_EQ(d.window(), 3);
  EXPECT_EQ(d.channels(), 2);
  EXPECT_EQ(d.lat(), 8);
  EXPECT_EQ(d.lon(), 16);
  EXPECT_EQ(d.channelNames(), (std::vector<std::string>{"t", "u"}));
  EXPECT_EQ(d.files().size(), 4u);
  const Raw y0 = readRaw(tmp / "2000.h5"), y1 = readRaw(tmp / "2001.h5");
  const int64_t fileCh[2] = {2, 0};
  auto check = [&](const Dataset &ds, int64_t w, const Raw &raw, int64_t t0,
                   int64_t stride) {
    auto b = ds.batch({w});
    ASSERT_EQ(b.sizes(), (torch::IntArrayRef{1, ds.window(), 2, 8, 16}));
    EXPECT_EQ(ds.times({w})[0].item<int64_t>(), raw.time[size_t(t0)]);
    for (int64_t k = 0; k < ds.window(); ++k)
      for (int64_t c = 0; c < 2; ++c)
        for (int64_t i = 0; i < 8; i += 3)
          for (int64_t j = 0; j < 16; j += 5) {
            const double want =
                (raw.at(t0 + k * stride, fileCh[c], i, j) -
                 mean[size_t(fileCh[c])]) /
                sd[size_t(fileCh[c])];
            EXPECT_NEAR(b[0][k][c][i][j].item<float>(), want, 1e-4)
                << "window " << w << " frame " << k << " channel " << c;
          }
  };
  check(d, 0, y0, 0, 1);
  check(d, 5, y0, 5, 1);
  check(d, 6, y1, 0, 1);
  check(d, 11, y1, 5, 1);
  auto b = d.batch({0, 3, 7});
  EXPECT_EQ(b.sizes(), (torch::IntArrayRef{3, 3, 2, 8, 16}));
  EXPECT_EQ(b.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(d.mean(), torch::tensor({mean[2], mean[0]},
                                                      torch::kFloat64)));

  // Step = 2 x spacing: frames 0, 2, 4 ... -> 8 - 4 windows per file.
  cfg.stepSeconds = 12 * 3600;
  Dataset d2 = Dataset::open(cfg, Split::Train, 3);
  EXPECT_EQ(d2.size(), 8);
  check(d2, 0, y0, 0, 2);
  check(d2, 3, y0, 3, 2);
  check(d2, 4, y1, 0, 2);
  EXPECT_EQ(d2.times({1})[0].item<int64_t>(), y0.time[1]);

  // Out of range.
  expectError([&] { d.batch({12}); }, {"window index 12", "12 windows"});
}

TEST(DataDataset, SplitsByYear) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  DataConfig cfg = config(tmp.str());
  cfg.train = {2000, 2001};
  cfg.valid = {2002, 2002};
  cfg.test = {2003, 2003};
  auto yearOf = [](int64_t t) {
    const time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return tm.tm_year + 1900;
  };
  for (auto [split, first, last, n] :
       {std::tuple{Split::Train, 2000, 2001, 14}, {Split::Valid, 2002, 2002, 7},
        {Split::Test, 2003, 2003, 7}}) {
    Dataset d = Dataset::open(cfg, split, 2);
    EXPECT_EQ(d.size(), n) << s2s::rt::splitName(split);
    std::vector<int64_t> all(size_t(d.size()));
    for (int64_t i = 0; i < d.size(); ++i)
      all[size_t(i)] = i;
    auto t = d.times(all);
    for (int64_t i = 0; i < d.size(); ++i) {
      EXPECT_GE(yearOf(t[i].item<int64_t>()), first);
      EXPECT_LE(yearOf(t[i].item<int64_t>()), last);
    }
  }
  // No train years: all of them. Normalisation off: raw values.
  cfg.train = {};
  Dataset all = Dataset::open(cfg, Split::Train, 1);
  EXPECT_EQ(all.size(), 32);
  const Raw y3 = readRaw(tmp / "2003.h5");
  EXPECT_FLOAT_EQ(all.batch({31})[0][0][2][4][7].item<float>(),
                  y3.at(7, 2, 4, 7));
  EXPECT_TRUE(torch::allclose(all.stddev(), torch::ones({3}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(all.latitude(),
                              torch::tensor(y3.lat, torch::kFloat64)));
  EXPECT_EQ(all.longitude().size(0), 16);
  EXPECT_DOUBLE_EQ(all.longitude()[1].item<double>(), 22.5);
  EXPECT_EQ(std::string(s2s::rt::splitName(Split::Valid)), "valid");
}

TEST(DataDataset, Float64FieldsFixedLengthNamesDefaultCoordinates) {
  // Another writer's layout: float64 fields, fixed-length channel names,
  // no /lat or /lon.
  TempDir tmp;
  const hsize_t d[4] = {3, 2, 3, 4};
  std::vector<double> v(3 * 2 * 3 * 4);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = 0.25 * double(i);
  const std::string path = tmp / "x.h5";
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t sp = H5Screate_simple(4, d, nullptr);
  hid_t ds = H5Dcreate2(f, "fields", H5T_IEEE_F64LE, sp, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  hid_t st = H5Tcopy(H5T_C_S1);
  H5Tset_size(st, 4);
  const hsize_t two = 2;
  hid_t asp = H5Screate_simple(1, &two, nullptr);
  hid_t at = H5Acreate2(ds, "channels", st, asp, H5P_DEFAULT, H5P_DEFAULT);
  const char names[8] = {'t', '2', 'm', '\0', 'm', 's', 'l', '\0'};
  H5Awrite(at, st, names);
  H5Aclose(at);
  H5Sclose(asp);
  H5Tclose(st);
  const hsize_t three = 3;
  hid_t tsp = H5Screate_simple(1, &three, nullptr);
  hid_t td = H5Dcreate2(f, "time", H5T_STD_I64LE, tsp, H5P_DEFAULT,
                        H5P_DEFAULT, H5P_DEFAULT);
  const int64_t times[3] = {946684800, 946684800 + 3600, 946684800 + 7200};
  H5Dwrite(td, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, times);
  H5Dclose(td);
  H5Sclose(tsp);
  H5Dclose(ds);
  H5Sclose(sp);
  H5Fclose(f);

  DataConfig cfg;
  cfg.pattern = tmp / "*.h5";
  cfg.channels = {"msl"};
  Dataset ds1 = Dataset::open(cfg, Split::Train, 2);
  EXPECT_EQ(ds1.size(), 2);
  auto b = ds1.batch({1});
  EXPECT_FLOAT_EQ(b[0][1][0][2][3].item<float>(), float(v[((2 * 2 + 1) * 3 + 2) * 4 + 3]));
  EXPECT_TRUE(torch::allclose(ds1.latitude(),
                              torch::tensor({90.0, 0.0, -90.0}, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(ds1.longitude(),
                              torch::tensor({0.0, 90.0, 180.0, 270.0},
                                            torch::kFloat64)));
  cfg.channels = {};  // all of the file's
  EXPECT_EQ(Dataset::open(cfg, Split::Train, 1).channelNames(),
            (std::vector<std::string>{"t2m", "msl"}));
}

//===----------------------------------------------------------------------===//
// stats
//===----------------------------------------------------------------------===//

TEST(DataStats, MatchDirectComputation) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "d"));
  s2s::rt::computeStats(tmp / "d/*.h5", "fields", {2000, 2001},
                        tmp / "s.h5");
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
  cfg.normalize = "minmax";
  cfg.stats = tmp / "s.h5";
  Dataset d = Dataset::open(cfg, Split::Train, 1);
  auto all = d.batch({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  EXPECT_NEAR(all.min().item<float>(), 0.0, 1e-6);
  EXPECT_NEAR(all.max().item<float>(), 1.0, 1e-6);
}

//===----------------------------------------------------------------------===//
// Bad inputs
//===----------------------------------------------------------------------===//

TEST(DataErrors, PatternMatchesNothing) {
  TempDir tmp;
  DataConfig cfg = config(tmp.str());
  cfg.pattern = tmp / "era5/*.h5";
  const std::string msg = expectError(
      [&] { Dataset::open(cfg, Split::Train, 1); },
      {"no files match the data section's source pattern '" + cfg.pattern +
       "'"});
  std::printf("  [message] %s\n", msg.c_str());
  expectError([&] { s2s::rt::computeStats(cfg.pattern, "fields", {}, tmp / "s.h5"); },
              {"no files match", cfg.pattern});
}

TEST(DataErrors, UnknownChannel) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  DataConfig cfg = config(tmp.str());
  cfg.channels = {"u", "tt"};
  const std::string msg = expectError(
      [&] { Dataset::open(cfg, Split::Train, 1); },
      {"channel 'tt' is not in file '" + (tmp / "2000.h5") + "'",
       "(its channels: u, v, t)", "did you mean 't'?"});
  std::printf("  [message] %s\n", msg.c_str());
  cfg.channels = {"u", "u"};
  expectError([&] { Dataset::open(cfg, Split::Train, 1); },
              {"channel 'u' twice"});
}

TEST(DataErrors, GridDiffersFromTheSpec) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  DataConfig cfg = config(tmp.str());
  cfg.grid = {64, 128};
  const std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 1); }, {});
  EXPECT_EQ(msg, "file '" + (tmp / "2000.h5") +
                     "' has grid 8x16 but the spec's data section says 64x128");
  std::printf("  [message] %s\n", msg.c_str());
}

TEST(DataErrors, FilesDisagreeInGridOrChannels) {
  TempDir tmp;
  SynthConfig a = small(tmp / "a");
  a.lastYear = 2001;
  s2s::rt::synthesize(a);
  SynthConfig b = small(tmp / "b");
  b.firstYear = b.lastYear = 2002;
  b.lat = 4;
  b.lon = 8;
  s2s::rt::synthesize(b);
  SynthConfig c = small(tmp / "c");
  c.firstYear = c.lastYear = 2002;
  c.channels = {"u", "v", "q"};
  s2s::rt::synthesize(c);

  fs::create_directories(tmp / "grid");
  fs::create_directories(tmp / "chan");
  for (const char *y : {"2000.h5", "2001.h5"}) {
    fs::copy_file(tmp / ("a/" + std::string(y)), tmp / ("grid/" + std::string(y)));
    fs::copy_file(tmp / ("a/" + std::string(y)), tmp / ("chan/" + std::string(y)));
  }
  fs::copy_file(tmp / "b/2002.h5", tmp / "grid/2002.h5");
  fs::copy_file(tmp / "c/2002.h5", tmp / "chan/2002.h5");

  std::string msg = expectError(
      [&] { Dataset::open(config(tmp / "grid"), Split::Train, 1); }, {});
  EXPECT_EQ(msg, "files '" + (tmp / "grid/2000.h5") + "' and '" +
                     (tmp / "grid/2002.h5") +
                     "' have different grids (8x16 vs 4x8); every file of a "
                     "data set needs the same grid");
  std::printf("  [message] %s\n", msg.c_str());
  msg = expectError(
      [&] { Dataset::open(config(tmp / "chan"), Split::Train, 1); },
      {"files '" + (tmp / "chan/2000.h5") + "' and '" + (tmp / "chan/2002.h5") +
           "' have different channels (u, v, t vs u, v, q)"});
  std::printf("  [message] %s\n", msg.c_str());

  // Overlapping times: the same year twice.
  fs::create_directories(tmp / "dup");
  fs::copy_file(tmp / "a/2000.h5", tmp / "dup/2000.h5");
  fs::copy_file(tmp / "a/2000.h5", tmp / "dup/2000-copy.h5");
  msg = expectError(
      [&] { Dataset::open(config(tmp / "dup"), Split::Train, 1); },
      {"overlap in time", "2000-copy.h5", "2000-01-02T18:00",
       "2000-01-01T00:00"});
  std::printf("  [message] %s\n", msg.c_str());
}

TEST(DataErrors, NaNAndInfInData) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  poke(tmp / "2001.h5", "fields", {5, 2, 3, 4}, std::nan(""));
  DataConfig cfg = config(tmp.str());
  const std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 1); }, {});
  EXPECT_EQ(msg, "file '" + (tmp / "2001.h5") +
                     "': channel 't' has NaN at time index 5 "
                     "(2001-01-02T06:00); fix or drop that sample");
  std::printf("  [message] %s\n", msg.c_str());
  // Not loaded (another split, another channel): no error.
  cfg.train = {2000, 2000};
  EXPECT_NO_THROW(Dataset::open(cfg, Split::Train, 1));
  cfg.train = {};
  cfg.channels = {"u", "v"};
  EXPECT_NO_THROW(Dataset::open(cfg, Split::Train, 1));
  // Stats see it too; and +Inf.
  expectError(
      [&] { s2s::rt::computeStats(tmp / "*.h5", "fields", {}, tmp / "s.h5"); },
      {"channel 't' has NaN at time index 5"});
  poke(tmp / "2000.h5", "fields", {2, 0, 0, 0}, HUGE_VAL);
  cfg.channels = {"u", "v"};
  expectError([&] { Dataset::open(cfg, Split::Train, 1); },
              {"file '" + (tmp / "2000.h5") +
               "': channel 'u' has +Inf at time index 2 (2000-01-01T12:00)"});
  // inspect counts them instead.
  const std::string info = s2s::rt::inspectFile(tmp / "2001.h5");
  EXPECT_NE(info.find("channel 't': first non-finite value at time index 5"),
            std::string::npos)
      << info;
}

TEST(DataErrors, TruncatedAndCorruptFiles) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "d"));
  fs::create_directories(tmp / "t");
  fs::copy_file(tmp / "d/2000.h5", tmp / "t/2000.h5");
  fs::copy_file(tmp / "d/2001.h5", tmp / "t/2001.h5");
  const auto size = fs::file_size(tmp / "t/2001.h5");
  ASSERT_EQ(::truncate((tmp / "t/2001.h5").c_str(), off_t(size / 2)), 0);
  std::string msg = expectError(
      [&] { Dataset::open(config(tmp / "t"), Split::Train, 1); },
      {"cannot open data file '" + (tmp / "t/2001.h5") + "'", "truncated"});
  std::printf("  [message] %s\n", msg.c_str());
  // Cut to a few bytes.
  ASSERT_EQ(::truncate((tmp / "t/2001.h5").c_str(), 10), 0);
  msg = expectError([&] { Dataset::open(config(tmp / "t"), Split::Train, 1); },
                    {"cannot open data file '" + (tmp / "t/2001.h5") + "'"});
  std::printf("  [message] %s\n", msg.c_str());
  // Not HDF5 at all.
  { std::ofstream(tmp / "t/2001.h5") << "year,u,v,t\n2001,1,2,3\n"; }
  msg = expectError([&] { Dataset::open(config(tmp / "t"), Split::Train, 1); },
                    {"cannot open data file '" + (tmp / "t/2001.h5") + "'"});
  std::printf("  [message] %s\n", msg.c_str());
  // The raw data overwritten in the middle of a file: values garbage but
  // the structure intact; a damaged header is an error naming the file.
  fs::remove(tmp / "t/2001.h5");
  {
    std::fstream f(tmp / "t/2000.h5", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(800);
    const std::string junk(600, '\xff');
    f.write(junk.data(), std::streamsize(junk.size()));
  }
  try {
    Dataset::open(config(tmp / "t"), Split::Train, 1);
  } catch (const s2s::rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(tmp / "t/2000.h5"), std::string::npos)
        << e.what();
    std::printf("  [message] %s\n", e.what());
  }
}

TEST(DataErrors, StatsFileProblems) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "d"));
  SynthConfig other = small(tmp / "uv");
  other.channels = {"u", "v"};
  s2s::rt::synthesize(other);
  DataConfig cfg = config(tmp / "d");
  cfg.normalize = "zscore";
  cfg.stats = tmp / "uv/stats.h5";
  std::string msg = expectError(
      [&] { Dataset::open(cfg, Split::Train, 1); }, {});
  EXPECT_EQ(msg, "stats file '" + cfg.stats +
                     "' has no channel 't' (its channels: u, v); recompute it "
                     "with s2s-data stats over data that has 't'");
  std::printf("  [message] %s\n", msg.c_str());

  cfg.stats = tmp / "nothere.h5";
  msg = expectError([&] { Dataset::open(cfg, Split::Train, 1); },
                    {"cannot open stats file '" + cfg.stats +
                     "': No such file or directory"});
  std::printf("  [message] %s\n", msg.c_str());

  fs::copy_file(tmp / "d/stats.h5", tmp / "zero.h5");
  poke(tmp / "zero.h5", "std", {1}, 0.0);
  cfg.stats = tmp / "zero.h5";
  msg = expectError([&] { Dataset::open(cfg, Split::Train, 1); },
                    {"stats file '" + cfg.stats + "': channel 'v'", "std 0",
                     "std > 0"});
  std::printf("  [message] %s\n", msg.c_str());

  cfg.stats = "";
  expectError([&] { Dataset::open(cfg, Split::Train, 1); },
              {"normalises with zscore but names no stats file"});
}

TEST(DataErrors, SplitsStepsAndWindows) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  DataConfig cfg = config(tmp.str());
  cfg.valid = {2010, 2011};
  std::string msg = expectError(
      [&] { Dataset::open(cfg, Split::Valid, 1); }, {});
  EXPECT_EQ(msg, "the valid split (years 2010..2011) of data set 'small' has "
                 "no samples: the files matching '" +
                     cfg.pattern +
                     "' cover 2000..2003; change the data section's split");
  std::printf("  [message] %s\n", msg.c_str());
  msg = expectError([&] { Dataset::open(cfg, Split::Test, 1); },
                    {"no test years", "2000..2003"});
  std::printf("  [message] %s\n", msg.c_str());

  cfg.stepSeconds = 5 * 3600;
  msg = expectError([&] { Dataset::open(cfg, Split::Train, 2); },
                    {"step 5h is not a multiple of the files' time spacing 6h"});
  std::printf("  [message] %s\n", msg.c_str());

  cfg.stepSeconds = 0;
  msg = expectError([&] { Dataset::open(cfg, Split::Train, 9); },
                    {"the train split (all years)", "32 samples",
                     "no run of 9 frames 6h apart"});
  std::printf("  [message] %s\n", msg.c_str());
}

TEST(DataErrors, MalformedLayout) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp / "d"));
  fs::create_directories(tmp / "x");
  fs::copy_file(tmp / "d/2000.h5", tmp / "x/2000.h5");
  hid_t f = H5Fopen((tmp / "x/2000.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t ds = H5Dopen2(f, "fields", H5P_DEFAULT);
  ASSERT_GE(H5Adelete(ds, "channels"), 0);
  H5Dclose(ds);
  H5Fclose(f);
  std::string msg = expectError(
      [&] { Dataset::open(config(tmp / "x"), Split::Train, 1); },
      {"file '" + (tmp / "x/2000.h5") + "', dataset 'fields' has no \"channels\" attribute"});
  std::printf("  [message] %s\n", msg.c_str());

  DataConfig cfg = config(tmp / "d");
  cfg.field = "field";
  msg = expectError([&] { Dataset::open(cfg, Split::Train, 1); },
                    {"has no dataset 'field'", "fields, lat, lon, time",
                     "did you mean 'fields'?"});
  std::printf("  [message] %s\n", msg.c_str());
}

//===----------------------------------------------------------------------===//
// The s2s-data tool
//===----------------------------------------------------------------------===//

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
  for (const char *s : {"float32 [4, 3, 4, 8]", "chunks: [1, 3, 4, 8]",
                        "channels: u, v, t", "2001-01-01T00:00 .. 2001-01-02T12:00",
                        "step 12h", "stats file", "years: 2000"})
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
