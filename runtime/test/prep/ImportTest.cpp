//===- ImportTest.cpp - ERA5 NetCDF import into the HDF5 layout -----------===//
//
// The inputs are real NetCDF-4 files written here with libnetcdf, shaped
// like the Climate Data Store's ERA5 downloads:
//
//  * older CDS: int32 time "hours since 1900-01-01 00:00:00.0", an int32
//    "level" in millibars, float32 latitude 90..-90 and longitude 0..,
//    int16 fields packed with scale_factor/add_offset, _FillValue and
//    missing_value -32767; split by month across a year boundary;
//  * newer CDS: int64 "valid_time" in seconds since 1970, a float64
//    "pressure_level" in hPa, float32 fields with a NaN _FillValue, the
//    scalar "number" and string "expver" beside them; split by variable
//    (single levels and pressure levels in two files).
//
// The output is read back with the HDF5 C API.
//
//===----------------------------------------------------------------------===//

#include "prep/Import.h"
#include "s2s/runtime/Error.h"

#include "TestSupport.h"

#include <gtest/gtest.h>

#include <hdf5.h>
#include <netcdf.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <functional>
#include <sys/resource.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace rt = s2s::rt;

namespace {

#define NC_OK(call)                                                            \
  do {                                                                         \
    const int st_ = (call);                                                    \
    if (st_ != NC_NOERR)                                                       \
      throw std::runtime_error(std::string(#call) + ": " + nc_strerror(st_));  \
  } while (0)

class ImportDir {
public:
  ImportDir() {
    path_ = fs::temp_directory_path() /
            ("s2s-import-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ImportDir() { fs::remove_all(path_); }
  std::string operator/(const std::string &name) const {
    return (path_ / name).string();
  }

private:
  fs::path path_;
};

constexpr int64_t k1900 = -2208988800; // 1900-01-01T00:00Z, Unix seconds
constexpr int kHours2001 = 885360;     // 2001-01-01T00:00Z, hours since 1900

// True values of the test fields (before packing), by hours since 1900,
// level, latitude and longitude index.
double trueT2m(int h, int i, int j) {
  return 250.0 + 8.0 * i + 0.37 * j + 0.011 * (h % 97);
}
double trueT(int h, int level, int i, int j) {
  return 200.0 + level / 10.0 + 1.3 * i + 0.5 * j + 0.007 * (h % 89);
}

constexpr double kScaleT2m = 0.0015, kOffsetT2m = 265.0;
constexpr double kScaleT = 0.002, kOffsetT = 250.0;
constexpr short kFill = -32767;

short pack(double v, double scale, double offset) {
  return short(std::lround((v - offset) / scale));
}

/// An ERA5 file as the older CDS wrote it.
struct OldCds {
  std::vector<int> hours;
  std::vector<float> lat = {90, 45, 0, -45, -90};
  std::vector<float> lon = {0, 45, 90, 135, 180, 225, 270, 315};
  std::vector<int> levels = {500, 850};
  bool t2m = true, t = true;
  /// t2m cells (time index, lat index, lon index) set to the fill value.
  std::vector<std::array<size_t, 3>> holes;
  std::string timeUnits = "hours since 1900-01-01 00:00:00.0";
};

void writeOldCds(const std::string &path, const OldCds &s) {
  int nc;
  NC_OK(nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &nc));
  int dLon, dLat, dLev, dTime;
  NC_OK(nc_def_dim(nc, "longitude", s.lon.size(), &dLon));
  NC_OK(nc_def_dim(nc, "latitude", s.lat.size(), &dLat));
  NC_OK(nc_def_dim(nc, "level", s.levels.size(), &dLev));
  NC_OK(nc_def_dim(nc, "time", NC_UNLIMITED, &dTime));
  auto text = [&](int var, const char *name, const std::string &v) {
    NC_OK(nc_put_att_text(nc, var, name, v.size(), v.c_str()));
  };
  int vLon, vLat, vLev, vTime, vT2m = -1, vT = -1;
  NC_OK(nc_def_var(nc, "longitude", NC_FLOAT, 1, &dLon, &vLon));
  text(vLon, "units", "degrees_east");
  text(vLon, "long_name", "longitude");
  NC_OK(nc_def_var(nc, "latitude", NC_FLOAT, 1, &dLat, &vLat));
  text(vLat, "units", "degrees_north");
  text(vLat, "long_name", "latitude");
  NC_OK(nc_def_var(nc, "level", NC_INT, 1, &dLev, &vLev));
  text(vLev, "units", "millibars");
  text(vLev, "long_name", "pressure_level");
  NC_OK(nc_def_var(nc, "time", NC_INT, 1, &dTime, &vTime));
  text(vTime, "units", s.timeUnits);
  text(vTime, "long_name", "time");
  text(vTime, "calendar", "gregorian");
  auto packed = [&](const char *name, std::vector<int> dims, double scale,
                    double offset, const char *units) {
    int v;
    NC_OK(nc_def_var(nc, name, NC_SHORT, int(dims.size()), dims.data(), &v));
    NC_OK(nc_put_att_double(nc, v, "scale_factor", NC_DOUBLE, 1, &scale));
    NC_OK(nc_put_att_double(nc, v, "add_offset", NC_DOUBLE, 1, &offset));
    NC_OK(nc_put_att_short(nc, v, "_FillValue", NC_SHORT, 1, &kFill));
    NC_OK(nc_put_att_short(nc, v, "missing_value", NC_SHORT, 1, &kFill));
    text(v, "units", units);
    return v;
  };
  if (s.t2m)
    vT2m = packed("t2m", {dTime, dLat, dLon}, kScaleT2m, kOffsetT2m, "K");
  if (s.t)
    vT = packed("t", {dTime, dLev, dLat, dLon}, kScaleT, kOffsetT, "K");
  text(NC_GLOBAL, "Conventions", "CF-1.6");
  NC_OK(nc_enddef(nc));

  NC_OK(nc_put_var_float(nc, vLon, s.lon.data()));
  NC_OK(nc_put_var_float(nc, vLat, s.lat.data()));
  NC_OK(nc_put_var_int(nc, vLev, s.levels.data()));
  const size_t nt = s.hours.size(), nlat = s.lat.size(), nlon = s.lon.size(),
               nlev = s.levels.size();
  size_t start1 = 0, count1 = nt;
  NC_OK(nc_put_vara_int(nc, vTime, &start1, &count1, s.hours.data()));
  if (s.t2m) {
    std::vector<short> v(nt * nlat * nlon);
    for (size_t t = 0; t < nt; ++t)
      for (size_t i = 0; i < nlat; ++i)
        for (size_t j = 0; j < nlon; ++j)
          v[(t * nlat + i) * nlon + j] =
              pack(trueT2m(s.hours[t], int(i), int(j)), kScaleT2m, kOffsetT2m);
    for (const auto &h : s.holes)
      v[(h[0] * nlat + h[1]) * nlon + h[2]] = kFill;
    const size_t start[3] = {0, 0, 0}, count[3] = {nt, nlat, nlon};
    NC_OK(nc_put_vara_short(nc, vT2m, start, count, v.data()));
  }
  if (s.t) {
    std::vector<short> v(nt * nlev * nlat * nlon);
    for (size_t t = 0; t < nt; ++t)
      for (size_t l = 0; l < nlev; ++l)
        for (size_t i = 0; i < nlat; ++i)
          for (size_t j = 0; j < nlon; ++j)
            v[((t * nlev + l) * nlat + i) * nlon + j] =
                pack(trueT(s.hours[t], s.levels[l], int(i), int(j)), kScaleT,
                     kOffsetT);
    const size_t start[4] = {0, 0, 0, 0}, count[4] = {nt, nlev, nlat, nlon};
    NC_OK(nc_put_vara_short(nc, vT, start, count, v.data()));
  }
  NC_OK(nc_close(nc));
}

// December 31, 2000 (06, 12, 18 UTC) and January 1, 2001 (00, 06 UTC).
std::vector<int> decemberHours() {
  return {kHours2001 - 18, kHours2001 - 12, kHours2001 - 6};
}
std::vector<int> januaryHours() { return {kHours2001, kHours2001 + 6}; }

//===----------------------------------------------------------------------===//
// Reading the HDF5 output
//===----------------------------------------------------------------------===//

struct H5File {
  hid_t id;
  explicit H5File(const std::string &path)
      : id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {
    if (id < 0)
      throw std::runtime_error("cannot open " + path);
  }
  ~H5File() { H5Fclose(id); }
};

std::vector<hsize_t> dimsOf(hid_t file, const char *name) {
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t sp = H5Dget_space(ds);
  std::vector<hsize_t> d(size_t(H5Sget_simple_extent_ndims(sp)));
  H5Sget_simple_extent_dims(sp, d.data(), nullptr);
  H5Sclose(sp);
  H5Dclose(ds);
  return d;
}

template <class T>
std::vector<T> readAll(hid_t file, const char *name, hid_t memType) {
  size_t n = 1;
  for (hsize_t d : dimsOf(file, name))
    n *= d;
  std::vector<T> v(n);
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  EXPECT_GE(H5Dread(ds, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  H5Dclose(ds);
  return v;
}

std::vector<std::string> stringsAttr(hid_t file, const char *ds,
                                     const char *name) {
  const hid_t d = H5Dopen2(file, ds, H5P_DEFAULT);
  const hid_t a = H5Aopen(d, name, H5P_DEFAULT);
  const hid_t sp = H5Aget_space(a);
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  std::vector<char *> buf(size_t(n), nullptr);
  H5Aread(a, t, buf.data());
  std::vector<std::string> out(buf.begin(), buf.end());
  H5Dvlen_reclaim(t, sp, H5P_DEFAULT, buf.data());
  H5Tclose(t);
  H5Sclose(sp);
  H5Aclose(a);
  H5Dclose(d);
  return out;
}

struct Layout {
  std::vector<hsize_t> chunk;
  std::vector<H5Z_filter_t> filters;
};

Layout layoutOf(hid_t file, const char *name) {
  const hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  const hid_t pl = H5Dget_create_plist(ds);
  Layout l;
  if (H5Pget_layout(pl) == H5D_CHUNKED) {
    l.chunk.resize(4);
    H5Pget_chunk(pl, 4, l.chunk.data());
  }
  const int nf = H5Pget_nfilters(pl);
  for (int k = 0; k < nf; ++k) {
    unsigned flags;
    size_t nelem = 0;
    l.filters.push_back(H5Pget_filter2(pl, unsigned(k), &flags, &nelem, nullptr,
                                       0, nullptr, nullptr));
  }
  H5Pclose(pl);
  H5Dclose(ds);
  return l;
}

using s2s_test::errorOf;

bool has(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

size_t filesIn(const std::string &dir) {
  if (!fs::exists(dir))
    return 0;
  size_t n = 0;
  for (const auto &e : fs::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

} // namespace

TEST(Import, Era5MonthsAcrossAYearBoundary) {
  ImportDir dir;
  OldCds dec, jan;
  dec.hours = decemberHours();
  jan.hours = januaryHours();
  writeOldCds(dir / "era5_200012.nc", dec);
  writeOldCds(dir / "era5_200101.nc", jan);

  rt::ImportOptions opt;
  opt.variables = {"t2m", "t850", "t500"}; // levels in the file: 500, 850
  std::vector<std::string> log;
  opt.log = [&](const std::string &s) { log.push_back(s); };
  const std::string out = dir / "out";
  // Inputs in any order.
  const rt::ImportSummary sum = rt::importNetcdf(
      {dir / "era5_200101.nc", dir / "era5_200012.nc"}, out, opt);
  EXPECT_EQ(sum.files,
            (std::vector<std::string>{out + "/2000.h5", out + "/2001.h5"}));
  EXPECT_EQ(sum.channels, (std::vector<std::string>{"t2m", "t850", "t500"}));
  EXPECT_EQ(sum.steps, 5);
  EXPECT_EQ(sum.filled, 0);
  EXPECT_EQ(sum.chunk, (std::vector<int64_t>{1, 3, 5, 8}));
  EXPECT_EQ(log.size(), 2u);
  EXPECT_EQ(filesIn(out), 2u); // no temporaries left

  const int levelOf[3] = {0, 850, 500};
  for (int year : {2000, 2001}) {
    SCOPED_TRACE(year);
    H5File f(out + "/" + std::to_string(year) + ".h5");
    const std::vector<int> &hours = year == 2000 ? dec.hours : jan.hours;
    const size_t nt = hours.size();
    EXPECT_EQ(dimsOf(f.id, "fields"), (std::vector<hsize_t>{nt, 3, 5, 8}));
    EXPECT_EQ(stringsAttr(f.id, "fields", "channels"),
              (std::vector<std::string>{"t2m", "t850", "t500"}));
    EXPECT_EQ(stringsAttr(f.id, "fields", "units"),
              (std::vector<std::string>{"K", "K", "K"}));
    const Layout l = layoutOf(f.id, "fields");
    EXPECT_EQ(l.chunk, (std::vector<hsize_t>{1, 3, 5, 8}));
    EXPECT_TRUE(l.filters.empty());

    const auto time = readAll<int64_t>(f.id, "time", H5T_NATIVE_INT64);
    ASSERT_EQ(time.size(), nt);
    for (size_t t = 0; t < nt; ++t)
      EXPECT_EQ(time[t], k1900 + int64_t(hours[t]) * 3600);
    if (year == 2001) {
      EXPECT_EQ(time[0], 978307200); // 2001-01-01T00:00Z
    }
    EXPECT_EQ(readAll<double>(f.id, "lat", H5T_NATIVE_DOUBLE),
              (std::vector<double>{90, 45, 0, -45, -90}));
    EXPECT_EQ(readAll<double>(f.id, "lon", H5T_NATIVE_DOUBLE),
              (std::vector<double>{0, 45, 90, 135, 180, 225, 270, 315}));

    const auto v = readAll<float>(f.id, "fields", H5T_NATIVE_FLOAT);
    double worst[3] = {0, 0, 0};
    for (size_t t = 0; t < nt; ++t)
      for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 5; ++i)
          for (int j = 0; j < 8; ++j) {
            const float got =
                v[((t * 3 + size_t(c)) * 5 + size_t(i)) * 8 + size_t(j)];
            const double truth = c == 0 ? trueT2m(hours[t], i, j)
                                        : trueT(hours[t], levelOf[c], i, j);
            const double scale = c == 0 ? kScaleT2m : kScaleT;
            const double offset = c == 0 ? kOffsetT2m : kOffsetT;
            // Exactly the unpacked value (to float precision) ...
            const double unpacked = pack(truth, scale, offset) * scale + offset;
            EXPECT_NEAR(got, unpacked, 3e-5)
                << "t " << t << " c " << c << " i " << i << " j " << j;
            // ... which is the truth within half a packing step.
            worst[c] = std::max(worst[c], std::fabs(got - truth));
          }
    EXPECT_LE(worst[0], kScaleT2m / 2 + 3e-5);
    EXPECT_LE(worst[1], kScaleT / 2 + 3e-5);
    EXPECT_LE(worst[2], kScaleT / 2 + 3e-5);
    EXPECT_GT(worst[0], 0.0); // it really was packed
  }
}

TEST(Import, DefaultChannelsPerChannelChunksAndDeflate) {
  ImportDir dir;
  OldCds jan;
  jan.hours = januaryHours();
  writeOldCds(dir / "jan.nc", jan);
  rt::ImportOptions opt;
  opt.chunking = rt::Chunking::Channel;
  opt.deflate = 4;
  const rt::ImportSummary sum =
      rt::importNetcdf({dir / "jan.nc"}, dir / "out", opt);
  EXPECT_EQ(sum.channels, (std::vector<std::string>{"t2m", "t500", "t850"}));
  H5File f(dir / "out/2001.h5");
  const Layout l = layoutOf(f.id, "fields");
  EXPECT_EQ(l.chunk, (std::vector<hsize_t>{1, 1, 5, 8}));
  EXPECT_EQ(l.filters, (std::vector<H5Z_filter_t>{H5Z_FILTER_SHUFFLE,
                                                  H5Z_FILTER_DEFLATE}));
  const auto v = readAll<float>(f.id, "fields", H5T_NATIVE_FLOAT);
  // Channel t500 (index 1) at time 1, lat 2, lon 3.
  const double truth = trueT(jan.hours[1], 500, 2, 3);
  EXPECT_NEAR(v[((1 * 3 + 1) * 5 + 2) * 8 + 3], truth, kScaleT / 2 + 3e-5);

  // A whole variable by name, and Auto chunking of a small sample.
  opt = {};
  opt.variables = {"t"};
  const rt::ImportSummary t =
      rt::importNetcdf({dir / "jan.nc"}, dir / "out2", opt);
  EXPECT_EQ(t.channels, (std::vector<std::string>{"t500", "t850"}));
  EXPECT_EQ(t.chunk, (std::vector<int64_t>{1, 2, 5, 8}));
}

TEST(Import, NewCdsValidTimeSplitByVariable) {
  ImportDir dir;
  const std::vector<long long> times = {978307200, 978328800,
                                        978350400}; // 2001-01-01 00, 06, 12
  const std::vector<double> lat = {90, 60, 30, 0, -30, -60, -90};
  const std::vector<double> lon = {0, 90, 180, 270};
  const std::vector<double> plev = {1000, 850};
  const size_t nt = times.size(), nlat = lat.size(), nlon = lon.size();
  auto value = [&](int var, size_t t, size_t l, size_t i, size_t j) {
    return float(var * 100 + int(t) * 10 + int(l) * 3 + int(i) * 0.5 +
                 0.25 * double(j));
  };
  auto write = [&](const std::string &path, bool levels,
                   std::vector<std::string> names) {
    int nc;
    NC_OK(nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &nc));
    int dT, dP = -1, dLat, dLon;
    NC_OK(nc_def_dim(nc, "valid_time", nt, &dT));
    if (levels)
      NC_OK(nc_def_dim(nc, "pressure_level", plev.size(), &dP));
    NC_OK(nc_def_dim(nc, "latitude", nlat, &dLat));
    NC_OK(nc_def_dim(nc, "longitude", nlon, &dLon));
    int vT, vP = -1, vLat, vLon, vNum, vExp;
    NC_OK(nc_def_var(nc, "number", NC_INT64, 0, nullptr, &vNum));
    NC_OK(nc_def_var(nc, "valid_time", NC_INT64, 1, &dT, &vT));
    const std::string tu = "seconds since 1970-01-01",
                      cal = "proleptic_gregorian";
    NC_OK(nc_put_att_text(nc, vT, "units", tu.size(), tu.c_str()));
    NC_OK(nc_put_att_text(nc, vT, "calendar", cal.size(), cal.c_str()));
    if (levels) {
      NC_OK(nc_def_var(nc, "pressure_level", NC_DOUBLE, 1, &dP, &vP));
      NC_OK(nc_put_att_text(nc, vP, "units", 3, "hPa"));
    }
    NC_OK(nc_def_var(nc, "latitude", NC_DOUBLE, 1, &dLat, &vLat));
    NC_OK(nc_put_att_text(nc, vLat, "units", 13, "degrees_north"));
    NC_OK(nc_def_var(nc, "longitude", NC_DOUBLE, 1, &dLon, &vLon));
    NC_OK(nc_put_att_text(nc, vLon, "units", 12, "degrees_east"));
    NC_OK(nc_def_var(nc, "expver", NC_STRING, 1, &dT, &vExp));
    std::vector<int> vars;
    for (const auto &n : names) {
      int v;
      std::vector<int> dims = {dT};
      if (levels)
        dims.push_back(dP);
      dims.push_back(dLat);
      dims.push_back(dLon);
      NC_OK(nc_def_var(nc, n.c_str(), NC_FLOAT, int(dims.size()), dims.data(),
                       &v));
      const float fill = NAN;
      NC_OK(nc_def_var_fill(nc, v, 0, &fill));
      NC_OK(nc_def_var_deflate(nc, v, 1, 1, 1));
      vars.push_back(v);
    }
    NC_OK(nc_enddef(nc));
    NC_OK(nc_put_var_longlong(nc, vT, times.data()));
    if (levels)
      NC_OK(nc_put_var_double(nc, vP, plev.data()));
    NC_OK(nc_put_var_double(nc, vLat, lat.data()));
    NC_OK(nc_put_var_double(nc, vLon, lon.data()));
    const char *ex[3] = {"0001", "0001", "0001"};
    NC_OK(nc_put_var_string(nc, vExp, ex));
    const size_t nl = levels ? plev.size() : 1;
    for (size_t k = 0; k < vars.size(); ++k) {
      std::vector<float> data(nt * nl * nlat * nlon);
      for (size_t t = 0; t < nt; ++t)
        for (size_t l = 0; l < nl; ++l)
          for (size_t i = 0; i < nlat; ++i)
            for (size_t j = 0; j < nlon; ++j)
              data[((t * nl + l) * nlat + i) * nlon + j] =
                  value(int(k) + (levels ? 10 : 0), t, l, i, j);
      NC_OK(nc_put_var_float(nc, vars[k], data.data()));
    }
    NC_OK(nc_close(nc));
  };
  write(dir / "single.nc", false, {"u10", "v10"});
  write(dir / "pressure.nc", true, {"t", "z"});

  const rt::ImportSummary sum =
      rt::importNetcdf({dir / "single.nc", dir / "pressure.nc"}, dir / "out");
  EXPECT_EQ(sum.channels, (std::vector<std::string>{"u10", "v10", "t1000",
                                                    "t850", "z1000", "z850"}));
  ASSERT_EQ(sum.files.size(), 1u);
  H5File f(dir / "out/2001.h5");
  EXPECT_EQ(dimsOf(f.id, "fields"), (std::vector<hsize_t>{3, 6, 7, 4}));
  const auto time = readAll<int64_t>(f.id, "time", H5T_NATIVE_INT64);
  EXPECT_EQ(time, (std::vector<int64_t>{978307200, 978328800, 978350400}));
  const auto v = readAll<float>(f.id, "fields", H5T_NATIVE_FLOAT);
  // (var, level) of each channel.
  const int src[6][2] = {{0, 0}, {1, 0}, {10, 0}, {10, 1}, {11, 0}, {11, 1}};
  for (size_t t = 0; t < nt; ++t)
    for (size_t c = 0; c < 6; ++c)
      for (size_t i = 0; i < nlat; ++i)
        for (size_t j = 0; j < nlon; ++j)
          ASSERT_EQ(v[((t * 6 + c) * nlat + i) * nlon + j],
                    value(src[c][0], t, size_t(src[c][1]), i, j))
              << t << " " << c << " " << i << " " << j;

  // The string and scalar variables cannot be asked for.
  rt::ImportOptions opt;
  opt.variables = {"expver"};
  const std::string m = errorOf(
      [&] { rt::importNetcdf({dir / "single.nc"}, dir / "out3", opt); });
  EXPECT_TRUE(has(m, "'expver'") && has(m, "dimensions (valid_time)")) << m;
}

TEST(Import, GridsMustAgreeNamingBothFiles) {
  ImportDir dir;
  OldCds dec, jan;
  dec.hours = decemberHours();
  jan.hours = januaryHours();
  jan.lon = {0.5f, 45, 90, 135, 180, 225, 270, 315};
  writeOldCds(dir / "dec.nc", dec);
  writeOldCds(dir / "jan.nc", jan);
  std::string m = errorOf([&] {
    rt::importNetcdf({dir / "dec.nc", dir / "jan.nc"}, dir / "out");
  });
  EXPECT_TRUE(has(m, dir / "dec.nc") && has(m, dir / "jan.nc") &&
              has(m, "longitude 0"))
      << m;

  OldCds coarse = jan;
  coarse.lat = {90, 0, -90};
  writeOldCds(dir / "coarse.nc", coarse);
  m = errorOf([&] {
    rt::importNetcdf({dir / "dec.nc", dir / "coarse.nc"}, dir / "out");
  });
  EXPECT_TRUE(has(m, dir / "dec.nc") && has(m, dir / "coarse.nc") &&
              has(m, "5 x 8") && has(m, "3 x 8"))
      << m;
  EXPECT_EQ(filesIn(dir / "out"), 0u); // nothing written
}

TEST(Import, TimeAxesMustAgreeNamingBothFiles) {
  ImportDir dir;
  // Split by variable: t2m has three times, t only two.
  OldCds a, b;
  a.hours = decemberHours();
  a.t = false;
  b.hours = {decemberHours()[0], decemberHours()[1]};
  b.t2m = false;
  writeOldCds(dir / "t2m.nc", a);
  writeOldCds(dir / "t.nc", b);
  std::string m = errorOf([&] {
    rt::importNetcdf({dir / "t2m.nc", dir / "t.nc"}, dir / "out");
  });
  EXPECT_TRUE(has(m, dir / "t2m.nc") && has(m, dir / "t.nc") &&
              has(m, "2000-12-31T18:00") && has(m, "time axis"))
      << m;

  // Split by variable with the same times: fine.
  b.hours = a.hours;
  writeOldCds(dir / "t.nc", b);
  const rt::ImportSummary ok =
      rt::importNetcdf({dir / "t2m.nc", dir / "t.nc"}, dir / "out");
  EXPECT_EQ(ok.channels, (std::vector<std::string>{"t2m", "t500", "t850"}));
  EXPECT_EQ(ok.steps, 3);

  // The same data twice under two names: an overlap.
  fs::copy_file(dir / "t2m.nc", dir / "t2m-copy.nc");
  m = errorOf([&] {
    rt::importNetcdf({dir / "t2m.nc", dir / "t2m-copy.nc"}, dir / "out2");
  });
  EXPECT_TRUE(has(m, dir / "t2m.nc") && has(m, dir / "t2m-copy.nc") &&
              has(m, "'t2m'"))
      << m;
}

TEST(Import, MissingVariablesAreErrors) {
  ImportDir dir;
  OldCds jan;
  jan.hours = januaryHours();
  writeOldCds(dir / "jan.nc", jan);
  rt::ImportOptions opt;
  opt.variables = {"t2m", "q"};
  std::string m =
      errorOf([&] { rt::importNetcdf({dir / "jan.nc"}, dir / "out", opt); });
  EXPECT_TRUE(has(m, "'q'") && has(m, "t2m") && has(m, "t850")) << m;
  opt.variables = {"t700"};
  m = errorOf([&] { rt::importNetcdf({dir / "jan.nc"}, dir / "out", opt); });
  EXPECT_TRUE(has(m, "'t700'") && has(m, "did you mean")) << m;
  opt.variables = {"t", "t850"};
  m = errorOf([&] { rt::importNetcdf({dir / "jan.nc"}, dir / "out", opt); });
  EXPECT_TRUE(has(m, "'t850'") && has(m, "twice")) << m;
  m = errorOf([&] { rt::importNetcdf({dir / "nope.nc"}, dir / "out"); });
  EXPECT_TRUE(has(m, dir / "nope.nc")) << m;
  EXPECT_EQ(filesIn(dir / "out"), 0u);

  // Time units must be understood.
  OldCds months = jan;
  months.timeUnits = "months since 1900-01-01";
  writeOldCds(dir / "months.nc", months);
  m = errorOf([&] { rt::importNetcdf({dir / "months.nc"}, dir / "out"); });
  EXPECT_TRUE(has(m, dir / "months.nc") && has(m, "months")) << m;
  // ... in any unit, zone and precision.
  OldCds days = jan;
  days.hours = {0, 1};
  days.timeUnits = "days since 2001-01-01T06:00:00Z";
  writeOldCds(dir / "days.nc", days);
  const rt::ImportSummary s = rt::importNetcdf({dir / "days.nc"}, dir / "days");
  H5File f(dir / "days/2001.h5");
  EXPECT_EQ(
      readAll<int64_t>(f.id, "time", H5T_NATIVE_INT64),
      (std::vector<int64_t>{978307200 + 6 * 3600, 978307200 + 30 * 3600}));
  EXPECT_EQ(s.steps, 2);
}

TEST(Import, FillValuesAreErrorsUnlessFilled) {
  ImportDir dir;
  OldCds jan;
  jan.hours = januaryHours();
  jan.holes = {{1, 2, 3}};
  writeOldCds(dir / "jan.nc", jan);
  std::string m =
      errorOf([&] { rt::importNetcdf({dir / "jan.nc"}, dir / "out"); });
  EXPECT_TRUE(has(m, dir / "jan.nc") && has(m, "'t2m'") &&
              has(m, "time index 1") && has(m, "latitude index 2") &&
              has(m, "longitude index 3") && has(m, "-32767"))
      << m;
  // The failed year leaves no file, not even a temporary.
  EXPECT_EQ(filesIn(dir / "out"), 0u);

  rt::ImportOptions opt;
  opt.fill = 0.0f;
  const rt::ImportSummary s =
      rt::importNetcdf({dir / "jan.nc"}, dir / "out", opt);
  EXPECT_EQ(s.filled, 1);
  H5File f(dir / "out/2001.h5");
  const auto v = readAll<float>(f.id, "fields", H5T_NATIVE_FLOAT);
  EXPECT_EQ(v[((1 * 3 + 0) * 5 + 2) * 8 + 3], 0.0f);
  EXPECT_NEAR(v[((1 * 3 + 0) * 5 + 2) * 8 + 4], trueT2m(jan.hours[1], 2, 4),
              kScaleT2m);
}

TEST(Import, AFullDiskIsAnErrorAndLeavesNoFile) {
  ImportDir dir;
  OldCds year;
  for (int k = 0; k < 1000; ++k) // 250 days, 6-hourly
    year.hours.push_back(kHours2001 + 6 * k);
  writeOldCds(dir / "2001.nc", year);
  // 1000 steps x 3 channels x 5 x 8 floats = 480 kB; allow 100 kB (a file
  // size limit stands in for a full disk).
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 100000;
  const auto prev = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string m =
      errorOf([&] { rt::importNetcdf({dir / "2001.nc"}, dir / "out"); });
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  EXPECT_TRUE(has(m, dir / "out/2001.h5") && has(m, "disk full")) << m;
  EXPECT_EQ(filesIn(dir / "out"), 0u);
  const rt::ImportSummary s = rt::importNetcdf({dir / "2001.nc"}, dir / "out");
  EXPECT_EQ(s.steps, 1000);
}
