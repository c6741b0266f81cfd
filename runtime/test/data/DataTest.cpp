//===- DataTest.cpp - Dataset: windows, splits, normalisation, bad inputs -===//
//
// Every test makes its own small data set with synthesize() in a folder
// under the build dir (build/test-tmp/...), removed at the end.
//
//===----------------------------------------------------------------------===//

#include "TestData.h"
#include "TestSupport.h"
#include "data/Dataset.h"
#include "prep/Stats.h"
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

//===----------------------------------------------------------------------===//
// Dataset
//===----------------------------------------------------------------------===//

TEST(DataDataset, WindowsCountAndContents) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str())); // 4 years x 8 samples, 6h
  DataConfig cfg = config(tmp.str());
  cfg.channels = {"t", "u"}; // a subset, in another order
  cfg.grid = {8, 16};
  cfg.normalize = s2s::rt::Normalizer::Zscore;
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
            const double want = (raw.at(t0 + k * stride, fileCh[c], i, j) -
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
  EXPECT_TRUE(torch::allclose(
      d.mean(), torch::tensor({mean[2], mean[0]}, torch::kFloat64)));

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
  for (auto [split, first, last, n] : {std::tuple{Split::Train, 2000, 2001, 14},
                                       {Split::Valid, 2002, 2002, 7},
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
  EXPECT_TRUE(
      torch::allclose(all.latitude(), torch::tensor(y3.lat, torch::kFloat64)));
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
  hid_t td = H5Dcreate2(f, "time", H5T_STD_I64LE, tsp, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT);
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
  EXPECT_FLOAT_EQ(b[0][1][0][2][3].item<float>(),
                  float(v[((2 * 2 + 1) * 3 + 2) * 4 + 3]));
  EXPECT_TRUE(torch::allclose(
      ds1.latitude(), torch::tensor({90.0, 0.0, -90.0}, torch::kFloat64)));
  EXPECT_TRUE(
      torch::allclose(ds1.longitude(), torch::tensor({0.0, 90.0, 180.0, 270.0},
                                                     torch::kFloat64)));
  cfg.channels = {}; // all of the file's
  EXPECT_EQ(Dataset::open(cfg, Split::Train, 1).channelNames(),
            (std::vector<std::string>{"t2m", "msl"}));
}

//===----------------------------------------------------------------------===//
// Bad inputs
//===----------------------------------------------------------------------===//

TEST(DataErrors, PatternMatchesNothing) {
  TempDir tmp;
  DataConfig cfg = config(tmp.str());
  cfg.pattern = tmp / "era5/*.h5";
  const std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 1); },
                  {"no files match the data section's source pattern '" +
                   cfg.pattern + "'"});
  std::printf("  [message] %s\n", msg.c_str());
  expectError(
      [&] { s2s::rt::computeStats(cfg.pattern, "fields", {}, tmp / "s.h5"); },
      {"no files match", cfg.pattern});
}

TEST(DataErrors, UnknownChannel) {
  TempDir tmp;
  s2s::rt::synthesize(small(tmp.str()));
  DataConfig cfg = config(tmp.str());
  cfg.channels = {"u", "tt"};
  const std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 1); },
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
    fs::copy_file(tmp / ("a/" + std::string(y)),
                  tmp / ("grid/" + std::string(y)));
    fs::copy_file(tmp / ("a/" + std::string(y)),
                  tmp / ("chan/" + std::string(y)));
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
  msg =
      expectError([&] { Dataset::open(config(tmp / "dup"), Split::Train, 1); },
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
    std::fstream f(tmp / "t/2000.h5",
                   std::ios::in | std::ios::out | std::ios::binary);
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
  cfg.normalize = s2s::rt::Normalizer::Zscore;
  cfg.stats = tmp / "uv/stats.h5";
  std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 1); }, {});
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
  msg = expectError(
      [&] { Dataset::open(cfg, Split::Train, 1); },
      {"stats file '" + cfg.stats + "': channel 'v'", "std 0", "std > 0"});
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
  std::string msg =
      expectError([&] { Dataset::open(cfg, Split::Valid, 1); }, {});
  EXPECT_EQ(msg, "the valid split (years 2010..2011) of data set 'small' has "
                 "no samples: the files matching '" +
                     cfg.pattern +
                     "' cover 2000..2003; change the data section's split");
  std::printf("  [message] %s\n", msg.c_str());
  msg = expectError([&] { Dataset::open(cfg, Split::Test, 1); },
                    {"no test years", "2000..2003"});
  std::printf("  [message] %s\n", msg.c_str());

  cfg.stepSeconds = 5 * 3600;
  msg =
      expectError([&] { Dataset::open(cfg, Split::Train, 2); },
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
  std::string msg =
      expectError([&] { Dataset::open(config(tmp / "x"), Split::Train, 1); },
                  {"file '" + (tmp / "x/2000.h5") +
                   "', dataset 'fields' has no \"channels\" attribute"});
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
