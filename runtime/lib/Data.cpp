//===- Data.cpp - Gridded time series from HDF5 files -----------*- C++ -*-===//
//
// Dataset::open globs the files, checks their layout against each other and
// against the spec's data section, and loads one split eagerly into a single
// float32 tensor: only the selected channels and the split's time range,
// normalised, every value checked finite. Also the HDF5 helpers of DataIO.h.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Data.h"

#include "DataIO.h"
#include "FieldReader.h"
#include "s2s/runtime/Error.h"

#include <glob.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

namespace s2s::rt {

const char *splitName(Split s) {
  switch (s) {
  case Split::Train:
    return "train";
  case Split::Valid:
    return "valid";
  case Split::Test:
    return "test";
  }
  return "?";
}

namespace data_detail {

//===----------------------------------------------------------------------===//
// Messages, times
//===----------------------------------------------------------------------===//

void silenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

static herr_t walkError(unsigned, const H5E_error2_t *e, void *data) {
  auto *s = static_cast<std::string *>(data);
  if (e && e->desc && *e->desc)
    *s = e->desc;  // walking downward: the last one is the innermost
  return 0;
}

std::string h5Reason() {
  std::string s;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walkError, &s);
  H5Eclear2(H5E_DEFAULT);
  if (s.empty())
    s = "the HDF5 library gave no reason";
  return s;
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t yearStart(int year) { return daysFromCivil(year, 1, 1) * 86400; }

static bool utc(int64_t t, std::tm &tm) {
  const auto tt = static_cast<std::time_t>(t);
  return gmtime_r(&tt, &tm) != nullptr;
}

int yearOf(int64_t t) {
  std::tm tm{};
  if (!utc(t, tm))
    return std::numeric_limits<int>::min();
  return tm.tm_year + 1900;
}

std::string formatTime(int64_t t) {
  std::tm tm{};
  if (!utc(t, tm))
    return std::to_string(t) + " s";
  char buf[64];
  if (tm.tm_sec)
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min, tm.tm_sec);
  else
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                  tm.tm_min);
  return buf;
}

std::string formatDuration(int64_t s) {
  if (s != 0 && s % 86400 == 0)
    return std::to_string(s / 86400) + "d";
  if (s != 0 && s % 3600 == 0)
    return std::to_string(s / 3600) + "h";
  if (s != 0 && s % 60 == 0)
    return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

std::string formatYears(const YearRange &r) {
  if (r.empty())
    return "(none)";
  if (r.first == r.last)
    return std::to_string(r.first);
  return std::to_string(r.first) + ".." + std::to_string(r.last);
}

std::string join(const std::vector<std::string> &names, const char *sep) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i)
      s += sep;
    s += names[i];
  }
  return s;
}

static size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + !same});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates) {
  const std::string *best = nullptr;
  size_t bestD = std::numeric_limits<size_t>::max();
  for (const auto &c : candidates) {
    const size_t d = editDistance(name, c);
    if (d < bestD) {
      bestD = d;
      best = &c;
    }
  }
  const size_t limit = std::max<size_t>(1, std::min(name.size(), size_t(6)) / 2);
  if (!best || bestD > limit || bestD >= std::max(name.size(), best->size()))
    return "";
  return " (did you mean '" + *best + "'?)";
}

std::vector<double> defaultLatitudes(int64_t n) {
  std::vector<double> lat(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) {
    if (n == 1)
      lat[i] = 0.0;
    else if (n % 2 == 1)
      lat[i] = 90.0 - 180.0 * double(i) / double(n - 1);
    else
      lat[i] = 90.0 - 180.0 * (double(i) + 0.5) / double(n);
  }
  return lat;
}

std::vector<double> defaultLongitudes(int64_t n) {
  std::vector<double> lon(static_cast<size_t>(std::max<int64_t>(n, 0)));
  for (int64_t j = 0; j < n; ++j)
    lon[j] = 360.0 * double(j) / double(n);
  return lon;
}

//===----------------------------------------------------------------------===//
// HDF5 reading
//===----------------------------------------------------------------------===//

static std::string q(const std::string &s) { return "'" + s + "'"; }

Hid openFile(const std::string &path, const char *what) {
  silenceHdf5();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(std::string("cannot open ") + what + " file " + q(path) +
                ": " + std::strerror(errno) +
                (std::string(what) == "data"
                     ? "; check the data section's source pattern"
                     : "; check the path"));
  if (S_ISDIR(st.st_mode))
    throw Error(std::string("cannot open ") + what + " file " + q(path) +
                ": it is a directory" +
                (std::string(what) == "data"
                     ? "; check the data section's source pattern"
                     : "; check the path"));
  if (::access(path.c_str(), R_OK) != 0)
    throw Error(std::string("cannot open ") + what + " file " + q(path) +
                ": " + std::strerror(errno) + "; check its permissions");
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    throw Error(std::string("cannot open ") + what + " file " + q(path) +
                ": " + h5Reason() +
                " (not a complete HDF5 file: it may be truncated or corrupt; "
                "re-create or re-download it)");
  return Hid(f, H5Fclose);
}

static herr_t collectName(hid_t, const char *name, const H5L_info_t *,
                          void *data) {
  static_cast<std::vector<std::string> *>(data)->push_back(name);
  return 0;
}

/// Throws a uniform "cannot read" error for a failed HDF5 call.
[[noreturn]] static void readFailure(const std::string &path,
                                     const std::string &what) {
  throw Error("file " + q(path) + ": cannot read " + what + ": " + h5Reason() +
              " (the file may be truncated or corrupt; re-create it)");
}

static std::vector<std::string> rootNames(hid_t file, const std::string &path) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  if (H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &idx, collectName,
                 &names) < 0)
    readFailure(path, "the list of its datasets");
  return names;
}

/// Whether link `name` exists in the file: false when it (or a group on
/// its path) is missing; an Error when the file's structure cannot be read.
static bool exists(hid_t loc, const std::string &name,
                   const std::string &path) {
  // H5Lexists fails (negative) when an intermediate group is missing, so
  // check the path one link at a time.
  std::string prefix;
  size_t at = 0;
  while (at <= name.size()) {
    size_t slash = name.find('/', at);
    if (slash == std::string::npos)
      slash = name.size();
    const std::string part = name.substr(at, slash - at);
    at = slash + 1;
    if (part.empty())
      continue;
    prefix += (prefix.empty() ? "" : "/") + part;
    const htri_t r = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
    if (r < 0)
      readFailure(path, "link '" + prefix + "'");
    if (r == 0)
      return false;
  }
  return !prefix.empty();
}

static std::string typeName(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  const std::string bits = std::to_string(size * 8);
  switch (cls) {
  case H5T_FLOAT:
    return "float" + bits;
  case H5T_INTEGER:
    return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + bits;
  case H5T_STRING:
    return "string";
  case H5T_COMPOUND:
    return "compound";
  case H5T_ENUM:
    return "enum";
  default:
    return "non-numeric";
  }
}

static std::vector<hsize_t> dims(hid_t dataset) {
  Hid space(H5Dget_space(dataset), H5Sclose);
  if (!space.valid())
    return {};
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0)
    return {};
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), d.data(), nullptr);
  return d;
}

std::optional<std::vector<std::string>>
readStringsAttr(hid_t obj, const char *name, const std::string &where) {
  auto fail = [&]() -> Error {
    return Error(where + ": cannot read attribute '" + name + "': " +
                 h5Reason() + " (the file may be truncated or corrupt)");
  };
  const htri_t ex = H5Aexists(obj, name);
  if (ex < 0)
    throw fail();
  if (ex == 0)
    return std::nullopt;
  Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid())
    throw fail();
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  Hid space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.valid() || !space.valid())
    throw fail();
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw Error(where + ": attribute '" + name + "' holds " +
                typeName(type.get()) +
                " values; expected strings (one name per channel)");
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0)
    throw fail();
  std::vector<std::string> out;
  if (H5Tis_variable_str(type.get()) > 0) {
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    std::vector<char *> buf(static_cast<size_t>(n), nullptr);
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
      throw fail();
    for (char *s : buf)
      out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, buf.data());
  } else {
    const size_t size = H5Tget_size(type.get());
    Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), size);
    H5Tset_strpad(mem.get(), H5T_STR_NULLPAD);
    std::vector<char> buf(static_cast<size_t>(n) * size + 1, '\0');
    if (H5Aread(attr.get(), mem.get(), buf.data()) < 0)
      throw fail();
    for (hssize_t i = 0; i < n; ++i) {
      const char *s = buf.data() + size_t(i) * size;
      std::string v(s, strnlen(s, size));
      while (!v.empty() && v.back() == ' ')
        v.pop_back();
      out.push_back(v);
    }
  }
  return out;
}

void writeStringsAttr(hid_t obj, const char *name,
                      const std::vector<std::string> &values) {
  Hid type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const hsize_t n = values.size();
  Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Hid attr(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT,
                      H5P_DEFAULT),
           H5Aclose);
  std::vector<const char *> ptrs;
  for (const auto &v : values)
    ptrs.push_back(v.c_str());
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), ptrs.data()) < 0)
    throw Error(std::string("cannot write attribute '") + name +
                "': " + h5Reason());
}

std::optional<std::vector<double>> readDoubles(hid_t file, const char *name,
                                               const std::string &path) {
  if (!exists(file, name, path))
    return std::nullopt;
  Hid ds(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    readFailure(path, std::string("dataset '") + name + "'");
  const auto d = dims(ds.get());
  if (d.size() != 1)
    throw Error("file " + q(path) + ": dataset '" + name + "' has rank " +
                std::to_string(d.size()) + "; expected one value per entry");
  Hid type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error("file " + q(path) + ": dataset '" + name + "' holds " +
                typeName(type.get()) + " values; expected numbers");
  std::vector<double> v(d[0]);
  if (!v.empty() && H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL,
                            H5P_DEFAULT, v.data()) < 0)
    readFailure(path, std::string("dataset '") + name + "'");
  return v;
}

void writeDoubles(hid_t loc, const char *name, const std::vector<double> &v) {
  const hsize_t n = v.size();
  Hid space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Hid ds(H5Dcreate2(loc, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                    dcpl.get(), H5P_DEFAULT),
         H5Dclose);
  if (!ds.valid() || (n && H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL,
                                    H5S_ALL, H5P_DEFAULT, v.data()) < 0))
    throw Error(std::string("cannot write dataset '") + name +
                "': " + h5Reason());
}

FileMeta readMeta(const std::string &path, const std::string &field) {
  FileMeta m;
  m.path = path;
  Hid file = openFile(path, "data");
  const hid_t f = file.get();

  if (!exists(f, field, path)) {
    if (exists(f, "mean", path) && exists(f, "std", path)) {
      m.isStats = true;
      return m;
    }
    const auto names = rootNames(f, path);
    throw Error("file " + q(path) + " has no dataset '" + field + "'" +
                (names.empty() ? std::string(" (it is empty)")
                               : " (it holds: " + join(names) + ")") +
                didYouMean(field, names) +
                "; name the right one in the data section: hdf5(\"...\", "
                "field = \"...\")");
  }
  const std::string fieldWhere =
      "file " + q(path) + ", dataset '" + field + "'";
  Hid ds(H5Dopen2(f, field.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    readFailure(path, "dataset '" + field + "'");
  Hid type(H5Dget_type(ds.get()), H5Tclose);
  if (!type.valid())
    readFailure(path, "the type of dataset '" + field + "'");
  m.typeName = typeName(type.get());
  if (H5Tget_class(type.get()) != H5T_FLOAT)
    throw Error(fieldWhere + " holds " + m.typeName +
                " values; expected floating point (float32 or float64)");
  const auto d = dims(ds.get());
  if (d.size() != 4)
    throw Error(fieldWhere + " has rank " + std::to_string(d.size()) +
                "; expected 4 dimensions [time, channel, lat, lon]");
  m.nt = int64_t(d[0]);
  m.nc = int64_t(d[1]);
  m.nlat = int64_t(d[2]);
  m.nlon = int64_t(d[3]);
  if (m.nt == 0)
    throw Error(fieldWhere + " has no samples (0 time steps); drop the file "
                "or fill it");
  if (m.nc == 0 || m.nlat == 0 || m.nlon == 0)
    throw Error(fieldWhere + " has an empty shape [" + std::to_string(m.nt) +
                ", " + std::to_string(m.nc) + ", " + std::to_string(m.nlat) +
                ", " + std::to_string(m.nlon) + "]");

  Hid dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  const H5D_layout_t layout =
      dcpl.valid() ? H5Pget_layout(dcpl.get()) : H5D_LAYOUT_ERROR;
  if (layout == H5D_CHUNKED) {
    hsize_t c[4] = {0, 0, 0, 0};
    if (H5Pget_chunk(dcpl.get(), 4, c) == 4)
      m.chunk = {int64_t(c[0]), int64_t(c[1]), int64_t(c[2]), int64_t(c[3])};
  }
  // How FieldReader reads this file itself (FileMeta::rawFloat32, deflate)
  // or why it leaves it to HDF5 (hdf5Why): one look at the type, layout,
  // filters and user block.
  {
    hsize_t userblock = 0;
    Hid fcpl(H5Fget_create_plist(f), H5Pclose);
    const bool described = dcpl.valid() && fcpl.valid() &&
                           H5Pget_userblock(fcpl.get(), &userblock) >= 0;
    m.userblock = int64_t(userblock);
    std::vector<H5Z_filter_t> filters;
    for (int i = 0, n = described ? H5Pget_nfilters(dcpl.get()) : 0; i < n;
         ++i) {
      unsigned flags = 0, config = 0;
      size_t nelem = 0;
      char name[64];
      filters.push_back(H5Pget_filter2(dcpl.get(), unsigned(i), &flags,
                                       &nelem, nullptr, sizeof name, name,
                                       &config));
    }
    const std::vector<H5Z_filter_t> deflate = {H5Z_FILTER_DEFLATE},
                                    shuffleDeflate = {H5Z_FILTER_SHUFFLE,
                                                      H5Z_FILTER_DEFLATE};
    if (m.typeName != "float32") {
      m.hdf5Why = m.typeName + " values";
    } else if (H5Tequal(type.get(), H5T_NATIVE_FLOAT) <= 0) {
      m.hdf5Why = "float32 values in the other byte order";
    } else if (!described) {
      m.hdf5Why = "a layout HDF5 does not describe";
    } else if (H5Pget_external_count(dcpl.get()) > 0) {
      m.hdf5Why = "values in external files";
    } else if (layout == H5D_CONTIGUOUS) {
      // H5Dget_offset counts a user block: no special case here.
      const haddr_t a = H5Dget_offset(ds.get());
      if (a == HADDR_UNDEF) {
        m.hdf5Why = "no values written";
      } else {
        m.address = int64_t(a);
        m.rawFloat32 = true;
      }
    } else if (layout != H5D_CHUNKED) {
      m.hdf5Why = "a compact or virtual layout";
    } else if (m.chunk.size() != 4) {
      m.hdf5Why = "chunk dimensions HDF5 does not describe";
    } else if (m.chunk[2] != m.nlat || m.chunk[3] != m.nlon) {
      m.hdf5Why = "chunks [" + std::to_string(m.chunk[0]) + ", " +
                  std::to_string(m.chunk[1]) + ", " +
                  std::to_string(m.chunk[2]) + ", " +
                  std::to_string(m.chunk[3]) +
                  "] that cut the lat-lon planes";
    } else if (userblock > 0) {
      // HDF5 1.10's chunk addresses do not count a user block (later
      // releases changed that): rather than trust either, HDF5 reads.
      m.hdf5Why = "a user block before chunked values";
    } else if (filters.empty()) {
      m.rawFloat32 = true;
    } else if (filters != deflate && filters != shuffleDeflate) {
      m.hdf5Why = "filters other than deflate and shuffle";
    } else if (const int64_t bytes = m.chunk[0] * m.chunk[1] * m.chunk[2] *
                                     m.chunk[3] * int64_t(sizeof(float));
               bytes > FileMeta::kMaxInflatedChunk) {
      // Each reader thread keeps the chunk it inflated.
      m.hdf5Why = "deflated chunks of " + std::to_string(bytes >> 20) +
                  " MiB (over " +
                  std::to_string(FileMeta::kMaxInflatedChunk >> 20) +
                  " MiB, which the loader's threads would each keep)";
    } else {
      m.deflate = true;
      m.shuffleFilter = filters == shuffleDeflate ? 0 : -1;
      m.deflateFilter = filters == shuffleDeflate ? 1 : 0;
    }
  }
  H5Eclear2(H5E_DEFAULT);

  auto chans = readStringsAttr(ds.get(), "channels", fieldWhere);
  if (!chans)
    throw Error(fieldWhere +
                " has no \"channels\" attribute; it must list the channel "
                "names as strings, one per channel (s2s-data synth and "
                "import write it)");
  if (int64_t(chans->size()) != m.nc)
    throw Error(fieldWhere + " has " + std::to_string(m.nc) +
                " channels but its \"channels\" attribute names " +
                std::to_string(chans->size()) + " (" + join(*chans) + ")");
  m.channels = std::move(*chans);
  for (size_t i = 0; i < m.channels.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (m.channels[i] == m.channels[j])
        throw Error(fieldWhere + " names channel '" + m.channels[i] +
                    "' twice in its \"channels\" attribute");

  // /time
  if (!exists(f, "time", path))
    throw Error("file " + q(path) +
                " has no dataset 'time'; it must hold int64 seconds since "
                "1970-01-01 UTC, one per sample");
  {
    Hid t(H5Dopen2(f, "time", H5P_DEFAULT), H5Dclose);
    if (!t.valid())
      readFailure(path, "dataset 'time'");
    Hid tt(H5Dget_type(t.get()), H5Tclose);
    if (H5Tget_class(tt.get()) != H5T_INTEGER)
      throw Error("file " + q(path) + ": dataset 'time' holds " +
                  typeName(tt.get()) +
                  " values; expected int64 seconds since 1970-01-01 UTC");
    const auto td = dims(t.get());
    if (td.size() != 1 || int64_t(td[0]) != m.nt)
      throw Error("file " + q(path) + ": dataset 'time' has " +
                  (td.size() == 1 ? std::to_string(td[0]) + " entries"
                                  : "rank " + std::to_string(td.size())) +
                  " but '" + field + "' has " + std::to_string(m.nt) +
                  " samples; it needs one time per sample");
    m.times.resize(size_t(m.nt));
    if (H5Dread(t.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                m.times.data()) < 0)
      readFailure(path, "dataset 'time'");
    for (size_t i = 1; i < m.times.size(); ++i)
      if (m.times[i] <= m.times[i - 1])
        throw Error("file " + q(path) + ": /time is not increasing at index " +
                    std::to_string(i) + " (" + formatTime(m.times[i]) +
                    " after " + formatTime(m.times[i - 1]) +
                    "); samples must be in time order without repeats");
  }

  // /lat, /lon (optional)
  auto coord = [&](const char *name, int64_t n, std::vector<double> &out) {
    auto v = readDoubles(f, name, path);
    if (!v)
      return;
    if (int64_t(v->size()) != n)
      throw Error("file " + q(path) + ": dataset '" + name + "' has " +
                  std::to_string(v->size()) + " entries but '" + field +
                  "' has " + std::to_string(n) + " " +
                  (std::string(name) == "lat" ? "latitudes" : "longitudes"));
    out = std::move(*v);
  };
  coord("lat", m.nlat, m.lat);
  coord("lon", m.nlon, m.lon);
  return m;
}

static std::string gridText(const FileMeta &m) {
  return std::to_string(m.nlat) + "x" + std::to_string(m.nlon);
}

static bool sameCoords(const std::vector<double> &a,
                       const std::vector<double> &b) {
  if (a.empty() || b.empty())
    return true;
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(a[i] - b[i]) > 1e-6)
      return false;
  return true;
}

std::vector<FileMeta> scanFiles(const std::string &pattern,
                                const std::string &field) {
  silenceHdf5();
  if (pattern.empty())
    throw Error("the data section's source pattern is empty; give the files, "
                "e.g. hdf5(\"data/*.h5\")");
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> paths;
  if (rc == 0)
    for (size_t i = 0; i < g.gl_pathc; ++i)
      paths.emplace_back(g.gl_pathv[i]);
  globfree(&g);
  if (rc == GLOB_NOMATCH || (rc == 0 && paths.empty())) {
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    throw Error("no files match the data section's source pattern " +
                q(pattern) + " (relative to the working directory " +
                q(ec ? std::string("?") : cwd.string()) +
                "); check the path, or make data with s2s-data synth");
  }
  if (rc != 0)
    throw Error("cannot list the files of the data section's source pattern " +
                q(pattern) + ": " +
                (rc == GLOB_ABORTED ? "a directory could not be read"
                                    : "out of memory"));

  std::vector<FileMeta> files;
  size_t skipped = 0;
  for (const auto &p : paths) {
    FileMeta m = readMeta(p, field);
    if (m.isStats) {
      ++skipped;
      continue;
    }
    files.push_back(std::move(m));
  }
  if (files.empty())
    throw Error("the " + std::to_string(skipped) +
                " file(s) matching " + q(pattern) +
                " are stats files (/mean, /std) without a '" + field +
                "' dataset; point the source pattern at the data files");

  std::stable_sort(files.begin(), files.end(),
                   [](const FileMeta &a, const FileMeta &b) {
                     return a.times.front() < b.times.front();
                   });
  const FileMeta &first = files.front();
  for (size_t i = 1; i < files.size(); ++i) {
    const FileMeta &a = files[i - 1], &b = files[i];
    if (b.nlat != first.nlat || b.nlon != first.nlon)
      throw Error("files " + q(first.path) + " and " + q(b.path) +
                  " have different grids (" + gridText(first) + " vs " +
                  gridText(b) +
                  "); every file of a data set needs the same grid");
    if (b.channels != first.channels)
      throw Error("files " + q(first.path) + " and " + q(b.path) +
                  " have different channels (" + join(first.channels) +
                  " vs " + join(b.channels) +
                  "); every file of a data set needs the same channels in "
                  "the same order");
    if (!sameCoords(first.lat, b.lat))
      throw Error("files " + q(first.path) + " and " + q(b.path) +
                  " have different latitudes (/lat); every file of a data "
                  "set needs the same grid");
    if (!sameCoords(first.lon, b.lon))
      throw Error("files " + q(first.path) + " and " + q(b.path) +
                  " have different longitudes (/lon); every file of a data "
                  "set needs the same grid");
    if (b.times.front() <= a.times.back())
      throw Error("files " + q(a.path) + " and " + q(b.path) +
                  " overlap in time: " + q(a.path) + " ends at " +
                  formatTime(a.times.back()) + " but " + q(b.path) +
                  " starts at " + formatTime(b.times.front()) +
                  "; times must increase across files");
  }
  return files;
}

void readSamples(const FileMeta &meta, hid_t dataset, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, float *out,
                 bool checkFinite) {
  if (n <= 0 || chans.empty())
    return;
  const int64_t plane = meta.nlat * meta.nlon;
  const auto k = int64_t(chans.size());

  // The file selection returns channels in increasing file order; map them
  // back to the order wanted.
  std::vector<int64_t> sorted(chans);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  const auto ks = int64_t(sorted.size());
  std::vector<int64_t> slot(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j)
    slot[size_t(j)] = std::lower_bound(sorted.begin(), sorted.end(),
                                       chans[size_t(j)]) -
                      sorted.begin();
  const bool direct = ks == k && std::is_sorted(chans.begin(), chans.end());

  Hid fspace(H5Dget_space(dataset), H5Sclose);
  if (!fspace.valid())
    readFailure(meta.path, "dataset space");

  // Blocks of whole time slices, about 32 MiB each.
  const int64_t sliceBytes = ks * plane * int64_t(sizeof(float));
  const int64_t block =
      std::max<int64_t>(1, std::min<int64_t>(n, (32 << 20) / sliceBytes));
  std::vector<float> tmp;
  if (!direct)
    tmp.resize(size_t(block * ks * plane));

  for (int64_t b0 = 0; b0 < n; b0 += block) {
    const int64_t nb = std::min(block, n - b0);
    H5Sselect_none(fspace.get());
    // Runs of consecutive channels make one hyperslab each.
    for (int64_t s = 0; s < ks;) {
      int64_t e = s + 1;
      while (e < ks && sorted[size_t(e)] == sorted[size_t(e - 1)] + 1)
        ++e;
      const hsize_t start[4] = {hsize_t(t0 + b0), hsize_t(sorted[size_t(s)]),
                                0, 0};
      const hsize_t count[4] = {hsize_t(nb), hsize_t(e - s),
                                hsize_t(meta.nlat), hsize_t(meta.nlon)};
      if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_OR, start, nullptr,
                              count, nullptr) < 0)
        readFailure(meta.path, "a selection of dataset samples");
      s = e;
    }
    const hsize_t mdims[4] = {hsize_t(nb), hsize_t(ks), hsize_t(meta.nlat),
                              hsize_t(meta.nlon)};
    Hid mspace(H5Screate_simple(4, mdims, nullptr), H5Sclose);
    float *dst = direct ? out + b0 * k * plane : tmp.data();
    if (H5Dread(dataset, H5T_NATIVE_FLOAT, mspace.get(), fspace.get(),
                H5P_DEFAULT, dst) < 0)
      readFailure(meta.path, "samples " + std::to_string(t0 + b0) + ".." +
                                 std::to_string(t0 + b0 + nb - 1));
    if (!direct)
      for (int64_t t = 0; t < nb; ++t)
        for (int64_t j = 0; j < k; ++j)
          std::memcpy(out + ((b0 + t) * k + j) * plane,
                      tmp.data() + (t * ks + slot[size_t(j)]) * plane,
                      size_t(plane) * sizeof(float));
    if (checkFinite)
      data_detail::checkFinite(meta, t0 + b0, nb, chans, out + b0 * k * plane);
  }
}

static void checkFiniteExact(const FileMeta &meta, int64_t t0,
                             const std::vector<int64_t> &chans,
                             const float *data, int64_t from, int64_t to,
                             int64_t plane, int64_t k);

/// Whether any of n floats is NaN or infinite (all exponent bits set).
/// Built for AVX2 too where the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static bool anyNonFinite(const float *data, int64_t n) {
  uint32_t bad = 0;
  for (int64_t e = 0; e < n; ++e) {
    uint32_t bits;
    std::memcpy(&bits, data + e, sizeof bits);
    bad |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
  }
  return bad != 0;
}

void checkFinite(const FileMeta &meta, int64_t t0, int64_t n,
                 const std::vector<int64_t> &chans, const float *data) {
  const int64_t plane = meta.nlat * meta.nlon;
  const auto k = int64_t(chans.size());
  const int64_t count = n * k * plane;
  // A branch-free pass first (a float is not finite exactly when its
  // exponent bits are all set; an integer OR the compiler vectorises); the
  // exact place only where it finds one.
  constexpr int64_t kBlock = 1 << 16;
  for (int64_t b = 0; b < count; b += kBlock) {
    const int64_t end = std::min(count, b + kBlock);
    if (anyNonFinite(data + b, end - b))
      checkFiniteExact(meta, t0, chans, data, b, end, plane, k);
  }
}

static void checkFiniteExact(const FileMeta &meta, int64_t t0,
                             const std::vector<int64_t> &chans,
                             const float *data, int64_t from, int64_t to,
                             int64_t plane, int64_t k) {
  for (int64_t e = from; e < to; ++e) {
    if (std::isfinite(data[e]))
      continue;
    const int64_t t = t0 + e / (k * plane);
    const int64_t c = chans[size_t((e / plane) % k)];
    const char *what =
        std::isnan(data[e]) ? "NaN" : data[e] > 0 ? "+Inf" : "-Inf";
    throw Error("file " + q(meta.path) + ": channel '" +
                meta.channels[size_t(c)] + "' has " + what +
                " at time index " + std::to_string(t) + " (" +
                formatTime(meta.times[size_t(t)]) +
                "); fix or drop that sample");
  }
}

std::recursive_mutex &hdf5Mutex() {
  static std::recursive_mutex m;
  return m;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  const std::filesystem::path p(path_);
  temp_ = (p.parent_path() /
           ("." + p.filename().string() + ".tmp" + std::to_string(::getpid())))
              .string();
}

AtomicFile::~AtomicFile() {
  if (!done_)
    std::remove(temp_.c_str());
}

void AtomicFile::commit() {
  if (std::rename(temp_.c_str(), path_.c_str()) != 0)
    throw Error("cannot write " + q(path_) + ": renaming " + q(temp_) +
                " failed: " + std::strerror(errno));
  done_ = true;
}

} // namespace data_detail

//===----------------------------------------------------------------------===//
// Dataset
//===----------------------------------------------------------------------===//

namespace data_detail {

static std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Normalization loadNormalization(const DataConfig &cfg,
                                const std::vector<std::string> &names) {
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  Normalization n;
  std::vector<double> &a = n.a, &b = n.b;
  const size_t C = names.size();
  a.assign(C, 0.0);
  b.assign(C, 1.0);
  if (cfg.normalize.empty() || cfg.normalize == "none")
    return n;
  n.apply = true;
  const bool zscore = cfg.normalize == "zscore";
  if (!zscore && cfg.normalize != "minmax")
    throw Error("unknown normalisation '" + cfg.normalize +
                "' in the data section; use zscore(stats = ...) or "
                "minmax(stats = ...)");
  if (cfg.stats.empty())
    throw Error("the data section normalises with " + cfg.normalize +
                " but names no stats file; write normalize = " +
                cfg.normalize + "(stats = \"stats.h5\") (make one with "
                "s2s-data stats)");
  Hid file = openFile(cfg.stats, "stats");
  const char *lo = zscore ? "mean" : "min";
  const char *hi = zscore ? "std" : "max";
  auto va = readDoubles(file.get(), lo, cfg.stats);
  auto vb = readDoubles(file.get(), hi, cfg.stats);
  if (!va || !vb)
    throw Error("stats file '" + cfg.stats + "' has no /" +
                (va ? hi : lo) + " dataset, which " + cfg.normalize +
                " needs; recompute it with s2s-data stats");
  // The channels attribute of /mean (or /min), else of /std (or /max).
  std::optional<std::vector<std::string>> chans;
  for (const char *ds : {lo, hi}) {
    Hid d(H5Dopen2(file.get(), ds, H5P_DEFAULT), H5Dclose);
    if (!d.valid())
      continue;
    chans = readStringsAttr(d.get(), "channels",
                            "stats file '" + cfg.stats + "', dataset '" +
                                std::string(ds) + "'");
    if (chans)
      break;
  }
  H5Eclear2(H5E_DEFAULT);
  if (!chans)
    throw Error("stats file '" + cfg.stats + "': /" + lo +
                " has no \"channels\" attribute naming its entries; "
                "recompute it with s2s-data stats");
  if (chans->size() != va->size() || chans->size() != vb->size())
    throw Error("stats file '" + cfg.stats + "': /" + lo + " and /" + hi +
                " have " + std::to_string(va->size()) + " and " +
                std::to_string(vb->size()) + " entries but " +
                std::to_string(chans->size()) +
                " channel names; recompute it with s2s-data stats");
  for (size_t c = 0; c < C; ++c) {
    auto it = std::find(chans->begin(), chans->end(), names[c]);
    if (it == chans->end())
      throw Error("stats file '" + cfg.stats + "' has no channel '" +
                  names[c] + "' (its channels: " + join(*chans) + ")" +
                  didYouMean(names[c], *chans) +
                  "; recompute it with s2s-data stats over data that has '" +
                  names[c] + "'");
    const size_t i = size_t(it - chans->begin());
    const double x = (*va)[i], y = (*vb)[i];
    if (zscore) {
      if (!std::isfinite(x) || !std::isfinite(y) || !(y > 0))
        throw Error("stats file '" + cfg.stats + "': channel '" + names[c] +
                    "' has mean " + num(x) + " and std " + num(y) +
                    "; z-scoring needs a finite mean and a std > 0 (a "
                    "constant channel cannot be normalised)");
      a[c] = x;
      b[c] = y;
    } else {
      if (!std::isfinite(x) || !std::isfinite(y) || !(y > x))
        throw Error("stats file '" + cfg.stats + "': channel '" + names[c] +
                    "' has min " + num(x) + " and max " + num(y) +
                    "; min-max scaling needs finite values with max > min");
      a[c] = x;
      b[c] = y - x;
    }
  }
  return n;
}

const SplitPlan::Part &SplitPlan::partOf(int64_t g) const {
  auto it = std::upper_bound(parts.begin(), parts.end(), g,
                             [](int64_t v, const Part &p) { return v < p.at; });
  return *(it - 1);
}

SplitPlan planSplit(const DataConfig &cfg, Split split, int64_t window) {
  std::lock_guard<std::recursive_mutex> lock(hdf5Mutex());
  silenceHdf5();
  const std::string setName =
      cfg.name.empty() ? std::string("the data set") : "data set '" + cfg.name + "'";
  if (window < 1)
    throw Error("a window of " + std::to_string(window) +
                " frames was asked of " + setName + "; it must be at least 1");
  if (!cfg.grid.empty() && cfg.grid.size() != 2)
    throw Error("the data section's grid has " +
                std::to_string(cfg.grid.size()) +
                " sizes; it must be [lat, lon]");
  if (cfg.stepSeconds < 0)
    throw Error("the data section's step is negative (" +
                std::to_string(cfg.stepSeconds) + " s)");

  std::vector<FileMeta> files = scanFiles(cfg.pattern, cfg.field);
  const FileMeta &f0 = files.front();

  // Channels, by name.
  std::vector<std::string> names =
      cfg.channels.empty() ? f0.channels : cfg.channels;
  std::vector<int64_t> chans;
  for (size_t i = 0; i < names.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (names[i] == names[j])
        throw Error("the data section lists channel '" + names[i] +
                    "' twice; each channel once");
    auto it = std::find(f0.channels.begin(), f0.channels.end(), names[i]);
    if (it == f0.channels.end())
      throw Error("channel '" + names[i] + "' is not in file '" + f0.path +
                  "' (its channels: " + join(f0.channels) + ")" +
                  didYouMean(names[i], f0.channels) +
                  "; fix the data section's channels");
    chans.push_back(it - f0.channels.begin());
  }
  // Grid.
  if (cfg.grid.size() == 2 &&
      (cfg.grid[0] != f0.nlat || cfg.grid[1] != f0.nlon))
    throw Error("file '" + f0.path + "' has grid " + std::to_string(f0.nlat) +
                "x" + std::to_string(f0.nlon) +
                " but the spec's data section says " +
                std::to_string(cfg.grid[0]) + "x" +
                std::to_string(cfg.grid[1]));

  // Time spacing and step.
  std::vector<int64_t> all;
  for (const auto &f : files)
    all.insert(all.end(), f.times.begin(), f.times.end());
  int64_t spacing = 0;
  for (size_t i = 1; i < all.size(); ++i) {
    const int64_t d = all[i] - all[i - 1];
    if (spacing == 0 || d < spacing)
      spacing = d;
  }
  if (spacing == 0)  // a single sample
    spacing = cfg.stepSeconds > 0 ? cfg.stepSeconds : 1;
  const int64_t step = cfg.stepSeconds > 0 ? cfg.stepSeconds : spacing;
  if (step % spacing != 0)
    throw Error("the data section's step " + formatDuration(step) +
                " is not a multiple of the files' time spacing " +
                formatDuration(spacing) + " (files matching '" + cfg.pattern +
                "'); use a multiple of " + formatDuration(spacing));
  const int64_t stride = step / spacing;

  // The split's years.
  YearRange years;
  switch (split) {
  case Split::Train:
    years = cfg.train.empty() ? YearRange{std::numeric_limits<int>::min(),
                                          std::numeric_limits<int>::max()}
                              : cfg.train;
    break;
  case Split::Valid:
    years = cfg.valid;
    break;
  case Split::Test:
    years = cfg.test;
    break;
  }
  const YearRange avail{yearOf(all.front()), yearOf(all.back())};
  if (years.empty())
    throw Error(std::string("the data section gives no ") + splitName(split) +
                " years; add them to its split, e.g. split = { ..., " +
                splitName(split) + ": " + std::to_string(avail.last) +
                " } (the data covers " + formatYears(avail) + ")");

  // Which samples of which file (times increase across files, so the split
  // is one contiguous run).
  struct Part {
    size_t file;
    int64_t t0, n;
  };
  std::vector<Part> parts;
  int64_t total = 0;
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const auto &t = files[fi].times;
    int64_t b = -1, e = -1;
    for (int64_t i = 0; i < int64_t(t.size()); ++i)
      if (years.contains(yearOf(t[size_t(i)]))) {
        if (b < 0)
          b = i;
        e = i + 1;
      }
    if (b >= 0) {
      parts.push_back({fi, b, e - b});
      total += e - b;
    }
  }
  const std::string splitText =
      std::string("the ") + splitName(split) + " split" +
      (split == Split::Train && cfg.train.empty()
           ? std::string(" (all years)")
           : " (years " + formatYears(years) + ")");
  if (total == 0)
    throw Error(splitText + " of " + setName + " has no samples: the files matching '" +
                cfg.pattern + "' cover " + formatYears(avail) +
                "; change the data section's split");
  // A year missing inside the split (a lost year file) is a hole the
  // windows would silently skip: say which.
  {
    std::set<int> present;
    for (const auto &p : parts)
      for (int64_t i = p.t0; i < p.t0 + p.n; ++i)
        present.insert(yearOf(files[p.file].times[size_t(i)]));
    for (int y = *present.begin(); y <= *present.rbegin(); ++y)
      if (!present.count(y))
        throw Error(splitText + " of " + setName + " has no samples in " +
                    std::to_string(y) + ", between " +
                    std::to_string(*present.begin()) + " and " +
                    std::to_string(*present.rbegin()) +
                    ": is the file for " + std::to_string(y) +
                    " missing from '" + cfg.pattern +
                    "'? Add it, or change the data section's split");
  }

  SplitPlan plan;
  plan.setName = setName;
  plan.splitText = splitText;
  plan.names = std::move(names);
  plan.chans = std::move(chans);
  plan.total = total;
  plan.step = step;
  plan.stride = stride;
  plan.times.reserve(size_t(total));
  int64_t at = 0;
  for (const auto &p : parts) {
    plan.parts.push_back({p.file, p.t0, p.n, at});
    const FileMeta &m = files[p.file];
    plan.times.insert(plan.times.end(), m.times.begin() + p.t0,
                      m.times.begin() + p.t0 + p.n);
    at += p.n;
  }
  plan.files = std::move(files);
  return plan;
}

torch::Tensor emptySplitTensor(torch::IntArrayRef sizes) {
  int64_t n = 1;
  for (int64_t d : sizes)
    n *= d;
  const size_t bytes = size_t(n) * sizeof(float);
  if (bytes < (64u << 20))
    return torch::empty(sizes, torch::kFloat32);
  void *p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error("cannot allocate " + std::to_string(bytes >> 20) +
                " MiB for the data set in memory: " + std::strerror(errno) +
                "; use memory = in_memory(lazy = true) or stream(...)");
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint; ignored where THP is off
  return torch::from_blob(
      p, sizes, [bytes](void *q) { munmap(q, bytes); },
      torch::TensorOptions().dtype(torch::kFloat32));
}

void readSplit(const SplitPlan &plan, const std::string &field, float *out,
               const Normalization *norm, std::atomic<int64_t> *bytes) {
  FieldReader reader(plan, field, norm, bytes);
  reader.readAll(out, FieldReader::loadThreads());
}

std::vector<int64_t> windowStarts(const SplitPlan &plan, int64_t window) {
  // Windows: `window` frames exactly `step` apart, inside the split.
  const std::vector<int64_t> &times = plan.times;
  const int64_t stride = plan.stride, step = plan.step, total = plan.total;
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + (window - 1) * stride < total; ++s) {
    bool ok = true;
    for (int64_t k = 1; k < window && ok; ++k)
      ok = times[size_t(s + k * stride)] == times[size_t(s)] + k * step;
    if (ok)
      starts.push_back(s);
  }
  if (starts.empty())
    throw Error(plan.splitText + " of " + plan.setName + " has " +
                std::to_string(total) + " samples but no run of " +
                std::to_string(window) + " frames " + formatDuration(step) +
                " apart without a gap in time; shorten the rollout or give "
                "the split more years");
  return starts;
}

std::vector<double> latitudes(const SplitPlan &plan) {
  const FileMeta &f0 = plan.files.front();
  return f0.lat.empty() ? defaultLatitudes(f0.nlat) : f0.lat;
}

std::vector<double> longitudes(const SplitPlan &plan) {
  const FileMeta &f0 = plan.files.front();
  return f0.lon.empty() ? defaultLongitudes(f0.nlon) : f0.lon;
}

} // namespace data_detail

using namespace data_detail;

Dataset Dataset::open(const DataConfig &cfg, Split split, int64_t window) {
  // Each step takes hdf5Mutex() itself; readSplit's threads need it free.
  const SplitPlan plan = planSplit(cfg, split, window);
  const int64_t C = plan.channels(), total = plan.total;

  Dataset d;
  d.window_ = window;
  d.stride_ = plan.stride;
  d.names_ = plan.names;
  for (const auto &f : plan.files)
    d.files_.push_back(f.path);
  d.samples_ = emptySplitTensor({total, C, plan.lat(), plan.lon()});
  readSplit(plan, cfg.field, d.samples_.data_ptr<float>());
  d.sampleTimes_ = torch::tensor(plan.times, torch::kInt64);

  // Normalise.
  const Normalization norm = loadNormalization(cfg, plan.names);
  d.mean_ = torch::tensor(norm.a, torch::kFloat64);
  d.std_ = torch::tensor(norm.b, torch::kFloat64);
  if (norm.apply) {
    auto shape = std::vector<int64_t>{1, C, 1, 1};
    d.samples_.sub_(d.mean_.to(torch::kFloat32).view(shape))
        .div_(d.std_.to(torch::kFloat32).view(shape));
  }

  d.starts_ = windowStarts(plan, window);
  d.lat_ = torch::tensor(latitudes(plan), torch::kFloat64);
  d.lon_ = torch::tensor(longitudes(plan), torch::kFloat64);
  return d;
}

int64_t Dataset::size() const { return int64_t(starts_.size()); }
int64_t Dataset::channels() const { return int64_t(names_.size()); }
int64_t Dataset::lat() const {
  return samples_.defined() ? samples_.size(2) : 0;
}
int64_t Dataset::lon() const {
  return samples_.defined() ? samples_.size(3) : 0;
}

static void checkIndices(const std::vector<int64_t> &indices, int64_t size) {
  for (int64_t i : indices)
    if (i < 0 || i >= size)
      throw Error("window index " + std::to_string(i) +
                  " is out of range: the split has " + std::to_string(size) +
                  " windows (0.." + std::to_string(size - 1) + ")");
}

torch::Tensor Dataset::batch(const std::vector<int64_t> &indices) const {
  checkIndices(indices, size());
  std::vector<int64_t> idx;
  idx.reserve(indices.size() * size_t(window_));
  for (int64_t i : indices)
    for (int64_t k = 0; k < window_; ++k)
      idx.push_back(starts_[size_t(i)] + k * stride_);
  auto t = samples_.index_select(0, torch::tensor(idx, torch::kInt64));
  return t.view({int64_t(indices.size()), window_, samples_.size(1),
                 samples_.size(2), samples_.size(3)});
}

torch::Tensor Dataset::times(const std::vector<int64_t> &indices) const {
  checkIndices(indices, size());
  std::vector<int64_t> idx;
  for (int64_t i : indices)
    idx.push_back(starts_[size_t(i)]);
  return sampleTimes_.index_select(0, torch::tensor(idx, torch::kInt64));
}

} // namespace s2s::rt
