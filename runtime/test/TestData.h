//===- TestData.h - Small synthetic data sets and their raw contents -*- C++
//-*-===//
//
// What the data-reading tests share: a small synthetic data set
// (prep/Synth.h), a data section over it, and the files' contents read
// straight through HDF5 (to compare the runtime's reads against).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_TEST_TESTDATA_H
#define S2S_RUNTIME_TEST_TESTDATA_H

#include "prep/Synth.h"
#include "s2s/runtime/Config.h"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace s2s_test {

using s2s::rt::DataConfig;
using s2s::rt::SynthConfig;

/// 4 years of 8 samples on an 8x16 grid (u, v, t).
inline SynthConfig small(const std::string &dir, uint64_t seed = 0) {
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

inline std::string slurp(const std::string &path) {
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

inline Raw readRaw(const std::string &path) {
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

inline std::vector<double> readDoubles(const std::string &path,
                                       const char *name) {
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
inline void poke(const std::string &path, const char *name,
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

inline DataConfig config(const std::string &dir) {
  DataConfig c;
  c.name = "small";
  c.pattern = dir + "/*.h5";
  c.channels = {"u", "v", "t"};
  return c;
}

/// `dir`: u, v, t on a lat x lon grid, `years` years from 2000 of `steps`
/// samples each, synthesized unless its stats.h5 is there already.
inline std::string synthOnce(const std::string &dir, int64_t lat, int64_t lon,
                             int years, int64_t steps, uint64_t seed) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/stats.h5", ec)) {
    SynthConfig c;
    c.dir = dir;
    c.lat = lat;
    c.lon = lon;
    c.firstYear = 2000;
    c.lastYear = 2000 + years - 1;
    c.stepsPerYear = steps;
    c.seed = seed;
    s2s::rt::synthesize(c);
  }
  return dir;
}

/// The data section the loader and training tests read a synthesized
/// folder with: u, v, t, z-scored with its stats.h5.
inline DataConfig zscoreConfig(const std::string &dir) {
  DataConfig c;
  c.name = "synth";
  c.pattern = dir + "/*.h5";
  c.channels = {"u", "v", "t"};
  c.normalize = s2s::rt::Normalizer::Zscore;
  c.stats = dir + "/stats.h5";
  return c;
}

} // namespace s2s_test

#endif // S2S_RUNTIME_TEST_TESTDATA_H
