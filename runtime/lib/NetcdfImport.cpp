//===- NetcdfImport.cpp - ERA5 NetCDF into the runtime's HDF5 layout ------===//
//
// Three passes, the first two over metadata only:
//
//  1. Scan every input: dimensions, coordinates (time converted to seconds
//     since 1970), data variables with their packing and missing values.
//  2. Resolve the channels (ImportOptions::variables), check the grids
//     agree and sweep the inputs' time axes in time order: at every time
//     every channel must come from exactly one input.
//  3. Per calendar year, per time step: read each contributing variable's
//     levels (one nc_get_vara call), unpack into one float32 sample
//     [C, lat, lon] and write it with one H5Dwrite. Inputs are opened when
//     first needed and closed after their last time step.
//
// Chunking of /fields. The readers (Dataset::open, computeStats, inspect)
// read whole time steps, all or some channels, in one H5Dread; a chunk is
// the unit HDF5 reads, decompresses and caches. Two shapes make sense:
//
//   [1, C, lat, lon] (Chunking::Sample): one chunk per time step, so a
//   sample read is one index lookup, one contiguous read and one inflate,
//   and small grids (32 x 64 x 5 channels = 40 KiB) do not fragment into
//   thousands of tiny chunks that compress badly. The cost: reading a few
//   of many channels decompresses all of them, and the chunk must fit in
//   memory whole (and HDF5 limits a chunk to 4 GiB).
//
//   [1, 1, lat, lon] (Chunking::Channel): one chunk per time step and
//   channel, so a channel subset reads only what it needs; at ERA5's
//   0.25-degree grid a chunk is already 4 MiB (721 x 1440 x 4 bytes), big
//   enough that the per-chunk overhead does not matter.
//
//   Chunking::Auto takes Sample up to kSampleChunkLimit (64 MiB: e.g.
//   0.25-degree ERA5 with up to 16 channels, or any 1-degree set with up to
//   250 channels) and Channel beyond (e.g. 0.25-degree ERA5 with 6
//   variables on 13 levels = 330 MiB a sample, where a subset read would
//   otherwise inflate a third of a gigabyte for each time step).
//
// Deflate goes with the shuffle filter (bytes of equal significance
// together), which typically compresses float fields noticeably better.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Import.h"

#include "s2s/runtime/Error.h"

#include "Hdf5Common.h"

#include <hdf5.h>
#include <netcdf.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unistd.h>

namespace s2s::rt {

namespace {

namespace fs = std::filesystem;

std::string q(const std::string &s) { return "'" + s + "'"; }

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string join(const std::vector<std::string> &v, const char *sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? sep : "") + v[i];
  return s;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min(
          {row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string didYouMean(const std::string &name,
                       const std::vector<std::string> &candidates) {
  const std::string *best = nullptr;
  size_t bestD = std::max<size_t>(2, name.size() / 3) + 1;
  for (const auto &c : candidates) {
    const size_t d = editDistance(lower(name), lower(c));
    if (d < bestD) {
      bestD = d;
      best = &c;
    }
  }
  return best ? " (did you mean " + q(*best) + "?)" : "";
}

//===----------------------------------------------------------------------===//
// Time
//===----------------------------------------------------------------------===//

using data_detail::daysFromCivil;
using data_detail::formatTime;
using data_detail::yearOf;

/// "<unit> since <date>[ |T<time>][ <zone>]" as seconds per unit and the
/// epoch in seconds since 1970 (integer part and fraction).
struct TimeUnits {
  double unit = 1;
  int64_t epoch = 0;
  double epochFraction = 0;
};

TimeUnits parseTimeUnits(const std::string &units, const std::string &where) {
  auto bad = [&](const std::string &why) {
    return Error(where + ": cannot read the time units " + q(units) + ": " +
                 why +
                 "; expected \"<seconds|minutes|hours|days> since "
                 "YYYY-MM-DD[ hh:mm:ss]\"");
  };
  const std::string s = lower(units);
  const size_t at = s.find(" since ");
  if (at == std::string::npos)
    throw bad("no 'since'");
  std::string word = s.substr(0, at);
  word.erase(0, word.find_first_not_of(' '));
  TimeUnits tu;
  if (word == "seconds" || word == "second" || word == "secs" ||
      word == "sec" || word == "s")
    tu.unit = 1;
  else if (word == "minutes" || word == "minute" || word == "mins" ||
           word == "min")
    tu.unit = 60;
  else if (word == "hours" || word == "hour" || word == "hrs" || word == "hr" ||
           word == "h")
    tu.unit = 3600;
  else if (word == "days" || word == "day" || word == "d")
    tu.unit = 86400;
  else
    throw bad("unknown unit " + q(word) +
              (word.rfind("month", 0) == 0 || word.rfind("year", 0) == 0
                   ? " (months and years have no fixed length)"
                   : ""));

  const std::string rest = s.substr(at + 7);
  size_t i = 0;
  auto skipSpaces = [&] {
    while (i < rest.size() && rest[i] == ' ')
      ++i;
  };
  auto integer = [&](int maxDigits, long &out) {
    size_t j = i;
    long v = 0;
    while (j < rest.size() && j - i < size_t(maxDigits) &&
           std::isdigit(static_cast<unsigned char>(rest[j])))
      v = v * 10 + (rest[j++] - '0');
    if (j == i)
      return false;
    i = j;
    out = v;
    return true;
  };
  auto accept = [&](char c) {
    if (i < rest.size() && rest[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  skipSpaces();
  long year, month, day, hour = 0, minute = 0, second = 0;
  double fraction = 0;
  if (!integer(4, year) || !accept('-') || !integer(2, month) || !accept('-') ||
      !integer(2, day))
    throw bad("no date YYYY-MM-DD");
  if (month < 1 || month > 12 || day < 1 || day > 31)
    throw bad("no such date");
  if (i < rest.size() && (rest[i] == 'T' || rest[i] == 't'))
    ++i;
  skipSpaces();
  if (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) {
    if (!integer(2, hour) || !accept(':') || !integer(2, minute))
      throw bad("the time of day is not hh:mm[:ss]");
    if (accept(':')) {
      if (!integer(2, second))
        throw bad("the seconds are not a number");
      if (accept('.')) {
        double scale = 0.1;
        while (i < rest.size() &&
               std::isdigit(static_cast<unsigned char>(rest[i]))) {
          fraction += scale * (rest[i++] - '0');
          scale /= 10;
        }
      }
    }
    if (hour > 23 || minute > 59 || second > 60)
      throw bad("no such time of day");
  }
  skipSpaces();
  long zone = 0; // seconds east of UTC
  if (rest.compare(i, 3, "utc") == 0 || rest.compare(i, 3, "gmt") == 0) {
    i += 3;
  } else if (accept('z')) {
  } else if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) {
    const int sign = rest[i++] == '-' ? -1 : 1;
    long zh = 0, zm = 0;
    if (!integer(2, zh))
      throw bad("the time zone is not +hh[:mm]");
    accept(':');
    integer(2, zm);
    zone = sign * (zh * 3600 + zm * 60);
  }
  skipSpaces();
  if (i != rest.size())
    throw bad("unexpected " + q(rest.substr(i)));
  tu.epoch = daysFromCivil(year, unsigned(month), unsigned(day)) * 86400 +
             hour * 3600 + minute * 60 + second - zone;
  tu.epochFraction = fraction;
  return tu;
}

//===----------------------------------------------------------------------===//
// NetCDF
//===----------------------------------------------------------------------===//

[[noreturn]] void ncFail(const std::string &path, const std::string &what,
                         int status) {
  throw Error("cannot read NetCDF file " + q(path) + ": " + what + ": " +
              nc_strerror(status) +
              " (the file may be truncated or corrupt; re-download it)");
}

class NcFile {
public:
  NcFile() = default;
  explicit NcFile(const std::string &path) : path_(path) {
    std::error_code ec;
    if (!fs::exists(path, ec))
      throw Error("cannot open NetCDF file " + q(path) +
                  ": no such file; check the input paths");
    if (fs::is_directory(path, ec))
      throw Error("cannot open NetCDF file " + q(path) + ": it is a folder");
    const int st = nc_open(path.c_str(), NC_NOWRITE, &id_);
    if (st != NC_NOERR)
      throw Error("cannot open NetCDF file " + q(path) + ": " +
                  nc_strerror(st) +
                  " (not a NetCDF-3/4 file, or truncated: re-download it)");
  }
  NcFile(NcFile &&o) noexcept : id_(o.id_), path_(std::move(o.path_)) {
    o.id_ = -1;
  }
  NcFile &operator=(NcFile &&o) noexcept {
    if (this != &o) {
      close();
      id_ = o.id_;
      path_ = std::move(o.path_);
      o.id_ = -1;
    }
    return *this;
  }
  ~NcFile() { close(); }
  void close() {
    if (id_ >= 0)
      nc_close(id_);
    id_ = -1;
  }
  int id() const { return id_; }
  bool open() const { return id_ >= 0; }

private:
  int id_ = -1;
  std::string path_;
};

std::optional<std::string> textAtt(int nc, int var, const char *name) {
  nc_type type;
  size_t len;
  if (nc_inq_att(nc, var, name, &type, &len) != NC_NOERR)
    return std::nullopt;
  if (type == NC_CHAR) {
    std::string s(len, '\0');
    if (len && nc_get_att_text(nc, var, name, s.data()) != NC_NOERR)
      return std::nullopt;
    while (!s.empty() && s.back() == '\0')
      s.pop_back();
    return s;
  }
  if (type == NC_STRING && len >= 1) {
    std::vector<char *> v(len, nullptr);
    if (nc_get_att_string(nc, var, name, v.data()) != NC_NOERR)
      return std::nullopt;
    std::string s = v[0] ? v[0] : "";
    nc_free_string(len, v.data());
    return s;
  }
  return std::nullopt;
}

std::vector<double> numAtt(int nc, int var, const char *name) {
  nc_type type;
  size_t len;
  if (nc_inq_att(nc, var, name, &type, &len) != NC_NOERR || len == 0 ||
      type == NC_CHAR || type == NC_STRING)
    return {};
  std::vector<double> v(len);
  if (nc_get_att_double(nc, var, name, v.data()) != NC_NOERR)
    return {};
  return v;
}

std::string varName(int nc, int var) {
  char name[NC_MAX_NAME + 1] = "";
  nc_inq_varname(nc, var, name);
  return name;
}

std::string dimName(int nc, int dim) {
  char name[NC_MAX_NAME + 1] = "";
  nc_inq_dimname(nc, dim, name);
  return name;
}

/// The 1-d coordinate variable of dimension `dim`, or -1.
int coordVar(int nc, int dim) {
  int var;
  if (nc_inq_varid(nc, dimName(nc, dim).c_str(), &var) != NC_NOERR)
    return -1;
  int nd = 0, d = -1;
  if (nc_inq_varndims(nc, var, &nd) != NC_NOERR || nd != 1 ||
      nc_inq_vardimid(nc, var, &d) != NC_NOERR || d != dim)
    return -1;
  return var;
}

std::vector<double> readCoord(int nc, int var, const std::string &path,
                              const std::string &what) {
  int dim;
  size_t len;
  nc_inq_vardimid(nc, var, &dim);
  nc_inq_dimlen(nc, dim, &len);
  std::vector<double> v(len);
  if (len) {
    const int st = nc_get_var_double(nc, var, v.data());
    if (st != NC_NOERR)
      ncFail(path, "reading the " + what + " coordinate " + q(varName(nc, var)),
             st);
  }
  return v;
}

/// One importable variable of one input.
struct Var {
  std::string name;
  int varid = -1;
  bool hasLevels = false;              ///< (time, level, lat, lon)
  size_t nlev = 1;                     ///< 1 for a surface variable
  std::vector<std::string> levelNames; ///< channel suffixes ("" surface)
  double scale = 1, offset = 0;
  std::vector<double> missing; ///< raw values meaning "missing"
  std::string missingText;     ///< for messages
  std::string units;
};

struct Input {
  std::string path;
  std::vector<int64_t> times;
  std::vector<double> lat, lon;
  std::vector<Var> vars;
  std::map<std::string, std::string> rejected; ///< variable -> why
};

std::string levelName(double v) {
  char buf[48];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%lld",
                  static_cast<long long>(std::llround(v)));
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Input scanInput(const std::string &path) {
  NcFile file(path);
  const int nc = file.id();
  Input in;
  in.path = path;
  int ndims = 0, nvars = 0;
  int st = nc_inq(nc, &ndims, &nvars, nullptr, nullptr);
  if (st != NC_NOERR)
    ncFail(path, "the list of dimensions and variables", st);

  // Classify the dimensions.
  int timeDim = -1, latDim = -1, lonDim = -1;
  int timeGuess = -1, latGuess = -1, lonGuess = -1;
  std::vector<int> dimIds(static_cast<size_t>(ndims));
  st = nc_inq_dimids(nc, &ndims, dimIds.data(), 1);
  if (st != NC_NOERR)
    ncFail(path, "the list of dimensions", st);
  for (int d : dimIds) {
    const std::string name = lower(dimName(nc, d));
    const int cv = coordVar(nc, d);
    const std::string units =
        cv >= 0 ? lower(textAtt(nc, cv, "units").value_or("")) : "";
    const std::string standard =
        cv >= 0 ? lower(textAtt(nc, cv, "standard_name").value_or("")) : "";
    if (name == "time" || name == "valid_time") {
      if (timeDim < 0)
        timeDim = d;
    } else if (units.find(" since ") != std::string::npos && timeGuess < 0)
      timeGuess = d;
    if (name == "latitude" || name == "lat")
      latDim = d;
    else if ((units == "degrees_north" || standard == "latitude") &&
             latGuess < 0)
      latGuess = d;
    if (name == "longitude" || name == "lon")
      lonDim = d;
    else if ((units == "degrees_east" || standard == "longitude") &&
             lonGuess < 0)
      lonGuess = d;
  }
  if (timeDim < 0)
    timeDim = timeGuess;
  if (latDim < 0)
    latDim = latGuess;
  if (lonDim < 0)
    lonDim = lonGuess;
  if (timeDim < 0)
    throw Error("NetCDF file " + q(path) +
                ": no time dimension (expected 'time' or 'valid_time', or a "
                "coordinate with units \"<unit> since <date>\")");
  if (latDim < 0 || lonDim < 0)
    throw Error("NetCDF file " + q(path) + ": no " +
                (latDim < 0 ? "latitude" : "longitude") +
                " dimension (expected 'latitude'/'lat' and "
                "'longitude'/'lon', or coordinates in degrees_north and "
                "degrees_east); import handles regular latitude-longitude "
                "grids only");

  // Coordinates.
  const int latVar = coordVar(nc, latDim), lonVar = coordVar(nc, lonDim),
            timeVar = coordVar(nc, timeDim);
  const std::string timeName = dimName(nc, timeDim);
  if (latVar < 0 || lonVar < 0 || timeVar < 0)
    throw Error("NetCDF file " + q(path) + ": dimension " +
                q(dimName(nc, latVar < 0   ? latDim
                              : lonVar < 0 ? lonDim
                                           : timeDim)) +
                " has no coordinate variable (its values); the file must "
                "say its times, latitudes and longitudes");
  in.lat = readCoord(nc, latVar, path, "latitude");
  in.lon = readCoord(nc, lonVar, path, "longitude");
  const std::string where =
      "NetCDF file " + q(path) + ", variable " + q(timeName);
  const auto units = textAtt(nc, timeVar, "units");
  if (!units)
    throw Error(where + ": no 'units' attribute; cannot tell what the times "
                        "mean (expected e.g. \"hours since 1900-01-01\")");
  const std::string calendar =
      lower(textAtt(nc, timeVar, "calendar").value_or("standard"));
  if (calendar != "standard" && calendar != "gregorian" &&
      calendar != "proleptic_gregorian")
    throw Error(where + ": calendar " + q(calendar) +
                " is not supported; only the standard (Gregorian) calendar "
                "is, as ERA5 uses");
  const TimeUnits tu = parseTimeUnits(*units, where);
  const std::vector<double> raw = readCoord(nc, timeVar, path, "time");
  if (raw.empty())
    throw Error(where + ": no time steps; leave this file out");
  in.times.resize(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const double s = raw[i] * tu.unit + tu.epochFraction;
    if (!std::isfinite(s) || std::fabs(s) > 1e17)
      throw Error(where + ": time " + num(raw[i]) + " at index " +
                  std::to_string(i) + " is out of range");
    in.times[i] = tu.epoch + std::llround(s);
    if (i && in.times[i] <= in.times[i - 1])
      throw Error(where + ": times do not increase at index " +
                  std::to_string(i) + " (" + formatTime(in.times[i - 1]) +
                  " then " + formatTime(in.times[i]) +
                  "); sort the file by time or remove duplicates");
  }

  // Data variables.
  for (int v = 0; v < nvars; ++v) {
    const std::string name = varName(nc, v);
    int nd = 0;
    nc_inq_varndims(nc, v, &nd);
    std::vector<int> dims(static_cast<size_t>(nd));
    nc_inq_vardimid(nc, v, dims.data());
    bool isCoord = false;
    for (int d : dims)
      isCoord |= dimName(nc, d) == name;
    if (isCoord || (nd == 0 && name == "crs"))
      continue;
    nc_type type;
    nc_inq_vartype(nc, v, &type);
    std::vector<std::string> dimNames;
    for (int d : dims)
      dimNames.push_back(dimName(nc, d));
    const std::string shape = "(" + join(dimNames) + ")";
    const bool gridded = (nd == 3 || nd == 4) && dims[0] == timeDim &&
                         dims[size_t(nd) - 2] == latDim &&
                         dims[size_t(nd) - 1] == lonDim;
    if (!gridded) {
      in.rejected[name] = "has dimensions " + shape + "; import handles (" +
                          timeName + ", [level,] " + dimName(nc, latDim) +
                          ", " + dimName(nc, lonDim) + ") only";
      continue;
    }
    if (type == NC_CHAR || type == NC_STRING) {
      in.rejected[name] = "holds text, not numbers";
      continue;
    }
    Var var;
    var.name = name;
    var.varid = v;
    if (nd == 4) {
      const int ld = dims[1];
      const std::string ln = dimName(nc, ld);
      if (lower(ln) == "expver") {
        in.rejected[name] =
            "has an 'expver' dimension (ERA5 and preliminary ERA5T data "
            "mixed); download ERA5 and ERA5T separately or merge the "
            "expver dimension away first";
        continue;
      }
      const int lv = coordVar(nc, ld);
      if (lv < 0) {
        in.rejected[name] = "has level dimension " + q(ln) +
                            " without a coordinate variable (level values "
                            "name the channels, e.g. t850)";
        continue;
      }
      std::vector<double> levels = readCoord(nc, lv, path, "level");
      const std::string lu = textAtt(nc, lv, "units").value_or("");
      for (double &l : levels)
        if (lu == "Pa" || lu == "pa")
          l /= 100; // name pressure levels in hPa, as ERA5 does
      var.hasLevels = true;
      var.nlev = levels.size();
      for (double l : levels)
        var.levelNames.push_back(levelName(l));
      if (var.nlev == 0) {
        in.rejected[name] = "has no levels (dimension " + q(ln) + " is empty)";
        continue;
      }
    } else {
      var.levelNames.push_back("");
    }
    if (auto s = numAtt(nc, v, "scale_factor"); !s.empty())
      var.scale = s[0];
    if (auto o = numAtt(nc, v, "add_offset"); !o.empty())
      var.offset = o[0];
    for (const char *att : {"_FillValue", "missing_value"})
      for (double m : numAtt(nc, v, att)) {
        var.missing.push_back(m);
        if (var.missingText.empty())
          var.missingText = std::string(att) + " " + num(m);
      }
    var.units = textAtt(nc, v, "units").value_or("");
    in.vars.push_back(std::move(var));
  }
  return in;
}

/// Larger per-variable chunk caches for NetCDF-4 inputs whose chunks span
/// several time steps, so that reading them one step at a time does not
/// inflate the same chunk again for every step (bounded at 256 MiB).
void tuneChunkCache(int nc, const Var &var) {
  int format = 0;
  if (nc_inq_format(nc, &format) != NC_NOERR ||
      (format != NC_FORMAT_NETCDF4 && format != NC_FORMAT_NETCDF4_CLASSIC))
    return;
  int nd = 0;
  nc_inq_varndims(nc, var.varid, &nd);
  std::vector<int> dims(static_cast<size_t>(nd));
  nc_inq_vardimid(nc, var.varid, dims.data());
  std::vector<size_t> chunk(static_cast<size_t>(nd));
  int storage = 0;
  if (nc_inq_var_chunking(nc, var.varid, &storage, chunk.data()) != NC_NOERR ||
      storage != NC_CHUNKED)
    return;
  nc_type type;
  size_t typeSize = 0;
  nc_inq_vartype(nc, var.varid, &type);
  nc_inq_type(nc, type, nullptr, &typeSize);
  double bytes = double(typeSize), count = 1;
  for (int i = 0; i < nd; ++i) {
    size_t len = 0;
    nc_inq_dimlen(nc, dims[size_t(i)], &len);
    bytes *= double(chunk[size_t(i)]);
    if (i > 0 && chunk[size_t(i)] > 0)
      count *= std::ceil(double(len) / double(chunk[size_t(i)]));
  }
  const double need = bytes * count * 1.1;
  size_t size = 0, nelems = 0;
  float preemption = 0;
  if (nc_get_var_chunk_cache(nc, var.varid, &size, &nelems, &preemption) !=
      NC_NOERR)
    return;
  if (need > double(size))
    nc_set_var_chunk_cache(
        nc, var.varid, size_t(std::min(need, double(256u << 20))),
        std::max<size_t>(nelems, size_t(count) * 2 + 1), preemption);
}

//===----------------------------------------------------------------------===//
// HDF5
//===----------------------------------------------------------------------===//

class H5 {
public:
  using Closer = herr_t (*)(hid_t);
  H5(hid_t id, Closer close) : id_(id), close_(close) {}
  H5(const H5 &) = delete;
  H5 &operator=(const H5 &) = delete;
  ~H5() { close(); }
  /// Closes now; false when HDF5 reports a failure (e.g. a full disk when
  /// the file's last blocks are flushed).
  bool close() {
    bool ok = true;
    if (id_ >= 0)
      ok = close_(id_) >= 0;
    id_ = -1;
    return ok;
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

private:
  hid_t id_;
  Closer close_;
};

/// data_detail::h5Reason, with a failed write's errno text kept as its gist.
std::string h5Reason() {
  std::string s = data_detail::h5Reason();
  // A failed write says "file write failed: time = ..., errno = 28, error
  // message = 'No space left on device', ..."; keep the gist.
  const size_t at = s.find("error message = '");
  if (at != std::string::npos) {
    const size_t from = at + 17, to = s.find('\'', from);
    s = s.substr(0, s.find(':')) + ": " + s.substr(from, to - from);
  }
  if (const size_t nl = s.find('\n'); nl != std::string::npos)
    s.erase(nl);
  return s;
}

/// HDF5 1.10 cannot recover from a failed close: once closing a dataset or
/// file fails (a flush on a full disk), the next close of that file, or the
/// library's shutdown at exit, crashes. So while an exception leaves a scope
/// that writes `file` (declared after that scope's handles, so it runs
/// before they close), the file's descriptor is pointed at /dev/null: the
/// flushes still due succeed there, every handle closes cleanly, and the
/// temporary file is removed as on any other error.
class DiscardOnError {
public:
  explicit DiscardOnError(hid_t file)
      : file_(file), uncaught_(std::uncaught_exceptions()) {}
  DiscardOnError(const DiscardOnError &) = delete;
  DiscardOnError &operator=(const DiscardOnError &) = delete;
  ~DiscardOnError() {
    if (std::uncaught_exceptions() <= uncaught_)
      return;
    H5 fapl(H5Fget_access_plist(file_), H5Pclose);
    void *handle = nullptr;
    if (!fapl.valid() || H5Pget_driver(fapl.get()) != H5FD_SEC2 ||
        H5Fget_vfd_handle(file_, H5P_DEFAULT, &handle) < 0 || !handle)
      return;
    const int nul = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (nul >= 0) {
      ::dup2(nul, *static_cast<int *>(handle));
      ::close(nul);
    }
    H5Eclear2(H5E_DEFAULT);
  }

private:
  hid_t file_;
  int uncaught_;
};

void writeStrings(hid_t obj, const char *name,
                  const std::vector<std::string> &values) {
  H5 type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const hsize_t n = values.size();
  H5 space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  H5 attr(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  std::vector<const char *> ptrs;
  for (const auto &v : values)
    ptrs.push_back(v.c_str());
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), ptrs.data()) < 0)
    throw Error(std::string("cannot write attribute '") + name +
                "': " + h5Reason());
}

void writeString(hid_t obj, const char *name, const std::string &value) {
  H5 type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), value.size() + 1);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5 space(H5Screate(H5S_SCALAR), H5Sclose);
  H5 attr(
      H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
      H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.c_str()) < 0)
    throw Error(std::string("cannot write attribute '") + name +
                "': " + h5Reason());
}

/// A 1-d dataset `name` of `n` values of `memType` stored as `fileType`.
void write1d(hid_t file, const char *name, hid_t fileType, hid_t memType,
             const void *data, size_t n, const char *units,
             const std::string &path) {
  const hsize_t dim = n;
  H5 space(H5Screate_simple(1, &dim, nullptr), H5Sclose);
  H5 dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  H5 ds(H5Dcreate2(file, name, fileType, space.get(), H5P_DEFAULT, dcpl.get(),
                   H5P_DEFAULT),
        H5Dclose);
  DiscardOnError discard(file);
  if (!ds.valid() ||
      H5Dwrite(ds.get(), memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw Error("cannot write " + q(path) + ": dataset '" + name +
                "': " + h5Reason() + " (is the disk full?)");
  writeString(ds.get(), "units", units);
}

/// Removes a temporary file unless released.
class TempFile {
public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty())
      std::remove(path_.c_str());
  }
  void release() { path_.clear(); }

private:
  std::string path_;
};

//===----------------------------------------------------------------------===//
// Channels and time coverage
//===----------------------------------------------------------------------===//

/// Where one channel comes from within one input variable.
struct Take {
  size_t level;
  size_t channel;
};

/// The selected channels of one variable of one input.
struct VarTakes {
  size_t var; ///< index into Input::vars
  std::vector<Take> takes;
  size_t lmin = 0, lmax = 0;
};

struct Event {
  int64_t time;
  size_t input;
  size_t index; ///< time index within the input
};

std::string spanOf(const Input &in) {
  return formatTime(in.times.front()) + ".." + formatTime(in.times.back());
}

} // namespace

ImportSummary importNetcdf(const std::vector<std::string> &inputs,
                           const std::string &outDir,
                           const ImportOptions &options) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (inputs.empty())
    throw Error("import: no input files; give one or more ERA5 NetCDF files");
  if (options.deflate < 0 || options.deflate > 9)
    throw Error("import: deflate level " + std::to_string(options.deflate) +
                " is out of range; use 0 (none) to 9");
  if (options.field.empty())
    throw Error("import: the output dataset name is empty");
  if (options.fill && !std::isfinite(*options.fill))
    throw Error("import: the fill value must be a finite number");
  {
    std::set<std::string> seen;
    for (const auto &p : inputs)
      if (!seen.insert(fs::absolute(p).lexically_normal().string()).second)
        throw Error("import: input file " + q(p) +
                    " is given twice; give each file once");
  }

  // 1. Scan.
  std::vector<Input> in;
  in.reserve(inputs.size());
  for (const auto &p : inputs)
    in.push_back(scanInput(p));

  // 2a. The grid.
  const Input &first = in.front();
  for (size_t f = 1; f < in.size(); ++f) {
    const Input &o = in[f];
    auto describe = [](const Input &x) {
      return std::to_string(x.lat.size()) + " x " +
             std::to_string(x.lon.size()) + " (latitude " +
             (x.lat.empty() ? "-"
                            : num(x.lat.front()) + ".." + num(x.lat.back())) +
             ", longitude " +
             (x.lon.empty() ? "-"
                            : num(x.lon.front()) + ".." + num(x.lon.back())) +
             ")";
    };
    if (o.lat.size() != first.lat.size() || o.lon.size() != first.lon.size())
      throw Error("input files disagree on the grid: " + q(first.path) +
                  " has " + describe(first) + " but " + q(o.path) + " has " +
                  describe(o) +
                  "; download every file on the same grid (same area and "
                  "resolution)");
    for (int axis = 0; axis < 2; ++axis) {
      const auto &a = axis ? first.lon : first.lat;
      const auto &b = axis ? o.lon : o.lat;
      for (size_t i = 0; i < a.size(); ++i)
        if (std::fabs(a[i] - b[i]) > 1e-6)
          throw Error("input files disagree on the grid: " +
                      std::string(axis ? "longitude " : "latitude ") +
                      std::to_string(i) + " is " + num(a[i]) + " in " +
                      q(first.path) + " but " + num(b[i]) + " in " + q(o.path) +
                      "; download every file on the same grid");
    }
  }
  const auto nlat = int64_t(first.lat.size()), nlon = int64_t(first.lon.size());
  if (nlat == 0 || nlon == 0)
    throw Error("NetCDF file " + q(first.path) + ": the grid is empty (" +
                std::to_string(nlat) + " x " + std::to_string(nlon) + ")");

  // 2b. The catalogue: variables in order of first appearance, their
  // levels (union, in order of first appearance).
  struct CatVar {
    std::string name;
    bool levels;
    std::vector<std::string> suffixes;
    std::string firstPath;
  };
  std::vector<CatVar> cat;
  std::map<std::string, size_t> catIndex;
  for (const Input &x : in)
    for (const Var &v : x.vars) {
      const bool levels = v.hasLevels;
      auto it = catIndex.find(v.name);
      if (it == catIndex.end()) {
        it = catIndex.emplace(v.name, cat.size()).first;
        cat.push_back({v.name, levels, {}, x.path});
      }
      CatVar &c = cat[it->second];
      if (c.levels != levels)
        throw Error("input files disagree on variable " + q(v.name) + ": " +
                    q(c.firstPath) + " has it " +
                    (c.levels ? "on levels" : "without levels") + " but " +
                    q(x.path) + (levels ? " on levels" : " without levels"));
      for (const auto &s : v.levelNames)
        if (std::find(c.suffixes.begin(), c.suffixes.end(), s) ==
            c.suffixes.end())
          c.suffixes.push_back(s);
    }
  std::vector<std::string> allChannels, allVariables;
  std::map<std::string, std::string> channelVar; // channel -> variable
  for (const CatVar &c : cat) {
    allVariables.push_back(c.name);
    for (const auto &s : c.suffixes) {
      const std::string ch = c.name + s;
      if (auto it = channelVar.find(ch); it != channelVar.end())
        throw Error("channel name " + q(ch) + " is ambiguous: variable " +
                    q(c.name) + " and variable " + q(it->second) +
                    " both give it; select one of them with the variables "
                    "option");
      channelVar[ch] = c.name;
      allChannels.push_back(ch);
    }
  }

  // 2c. The channels asked for.
  std::vector<std::string> channels;
  std::map<std::string, std::string> selectedBy;
  auto add = [&](const std::string &ch, const std::string &by) {
    if (auto it = selectedBy.find(ch); it != selectedBy.end())
      throw Error("import: channel " + q(ch) + " is selected twice (by " +
                  q(it->second) + " and " + q(by) +
                  "); list each variable or level once");
    selectedBy[ch] = by;
    channels.push_back(ch);
  };
  if (options.variables.empty()) {
    if (allChannels.empty()) {
      std::string why;
      for (const Input &x : in)
        for (const auto &[name, reason] : x.rejected)
          if (why.empty())
            why = "; e.g. variable " + q(name) + " in " + q(x.path) + " " +
                  reason;
      throw Error("import: the input files have no importable variables" + why);
    }
    channels = allChannels;
  } else {
    for (const auto &want : options.variables) {
      if (auto it = catIndex.find(want); it != catIndex.end()) {
        for (const auto &s : cat[it->second].suffixes)
          add(want + s, want);
        continue;
      }
      if (channelVar.count(want)) {
        add(want, want);
        continue;
      }
      for (const Input &x : in)
        if (auto r = x.rejected.find(want); r != x.rejected.end())
          throw Error("import: variable " + q(want) + " in " + q(x.path) +
                      " cannot be imported: it " + r->second);
      std::vector<std::string> names = allVariables;
      names.insert(names.end(), allChannels.begin(), allChannels.end());
      throw Error(
          "import: no input file has a variable or channel " + q(want) +
          didYouMean(want, names) + "; variables: " + join(allVariables) +
          (allChannels != allVariables ? "; channels: " + join(allChannels)
                                       : std::string()));
    }
  }
  const size_t C = channels.size();
  std::map<std::string, size_t> channelIndex;
  for (size_t c = 0; c < C; ++c)
    channelIndex[channels[c]] = c;

  // What each input contributes.
  std::vector<std::vector<VarTakes>> takes(in.size());
  std::vector<std::vector<size_t>> inputChannels(in.size());
  for (size_t f = 0; f < in.size(); ++f)
    for (size_t v = 0; v < in[f].vars.size(); ++v) {
      const Var &var = in[f].vars[v];
      VarTakes vt;
      vt.var = v;
      for (size_t l = 0; l < var.levelNames.size(); ++l)
        if (auto it = channelIndex.find(var.name + var.levelNames[l]);
            it != channelIndex.end()) {
          vt.takes.push_back({l, it->second});
          inputChannels[f].push_back(it->second);
        }
      if (vt.takes.empty())
        continue;
      vt.lmin = vt.lmax = vt.takes[0].level;
      for (const Take &t : vt.takes) {
        vt.lmin = std::min(vt.lmin, t.level);
        vt.lmax = std::max(vt.lmax, t.level);
      }
      takes[f].push_back(std::move(vt));
    }

  // 2d. Sweep the time axes: every channel exactly once at every time.
  std::vector<Event> events;
  for (size_t f = 0; f < in.size(); ++f)
    if (!takes[f].empty())
      for (size_t i = 0; i < in[f].times.size(); ++i)
        events.push_back({in[f].times[i], f, i});
  std::sort(events.begin(), events.end(), [](const Event &a, const Event &b) {
    return a.time != b.time ? a.time < b.time : a.input < b.input;
  });
  std::vector<size_t> groupStart; // events[groupStart[g]..) share a time
  {
    std::vector<int64_t> owner(C, -1);
    for (size_t e = 0; e < events.size();) {
      size_t end = e;
      while (end < events.size() && events[end].time == events[e].time)
        ++end;
      groupStart.push_back(e);
      std::fill(owner.begin(), owner.end(), -1);
      for (size_t k = e; k < end; ++k)
        for (size_t c : inputChannels[events[k].input]) {
          if (owner[c] >= 0)
            throw Error("input files overlap: " + q(in[size_t(owner[c])].path) +
                        " and " + q(in[events[k].input].path) +
                        " both have channel " + q(channels[c]) + " at " +
                        formatTime(events[e].time) +
                        "; give each variable and time in one file only");
          owner[c] = int64_t(events[k].input);
        }
      for (size_t c = 0; c < C; ++c) {
        if (owner[c] >= 0)
          continue;
        // Name the input that has this time and one that has the channel
        // (the one nearest in time).
        const Input &here = in[events[e].input];
        const Input *other = nullptr;
        int64_t best = std::numeric_limits<int64_t>::max();
        for (size_t f = 0; f < in.size(); ++f)
          if (std::find(inputChannels[f].begin(), inputChannels[f].end(), c) !=
              inputChannels[f].end()) {
            const int64_t t = events[e].time;
            const int64_t d = t < in[f].times.front()  ? in[f].times.front() - t
                              : t > in[f].times.back() ? t - in[f].times.back()
                                                       : 0;
            if (d < best) {
              best = d;
              other = &in[f];
            }
          }
        throw Error(
            "input files disagree on the time axis: " + q(here.path) + " has " +
            formatTime(events[e].time) + " but no input has channel " +
            q(channels[c]) + " at that time" +
            (other
                 ? " (" + q(other->path) + " has it for " + spanOf(*other) + ")"
                 : std::string()) +
            "; every channel needs every time step: split inputs by "
            "variable over the same times, or by time with the same "
            "variables");
      }
      e = end;
    }
  }
  const size_t T = groupStart.size();
  groupStart.push_back(events.size());

  // 2e. Chunking.
  const int64_t plane = nlat * nlon;
  const int64_t sampleBytes = int64_t(C) * plane * int64_t(sizeof(float));
  const bool sampleChunk =
      options.chunking == Chunking::Sample ||
      (options.chunking == Chunking::Auto && sampleBytes <= kSampleChunkLimit);
  const int64_t chunkBytes =
      sampleChunk ? sampleBytes : plane * int64_t(sizeof(float));
  if (chunkBytes >= (int64_t(4) << 30))
    throw Error("import: a chunk of " + std::to_string(chunkBytes >> 20) +
                " MiB exceeds HDF5's 4 GiB limit; " +
                (sampleChunk ? "use per-channel chunking"
                             : "the grid is too large for one chunk"));
  const hsize_t chunk[4] = {1, sampleChunk ? hsize_t(C) : 1, hsize_t(nlat),
                            hsize_t(nlon)};
  if (options.deflate > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
    throw Error("import: this HDF5 library has no deflate filter; import "
                "with deflate level 0");

  // Units per channel (from the first input that has the variable).
  std::vector<std::string> units(C);
  for (size_t f = 0; f < in.size(); ++f)
    for (const VarTakes &vt : takes[f])
      for (const Take &t : vt.takes)
        if (units[t.channel].empty())
          units[t.channel] = in[f].vars[vt.var].units;

  // 3. Write, one year at a time.
  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec || !fs::is_directory(outDir))
    throw Error("cannot create output folder " + q(outDir) + ": " +
                (ec ? ec.message() : "a file of that name exists") +
                "; choose a writable folder");

  ImportSummary summary;
  summary.channels = channels;
  summary.chunk.assign(chunk, chunk + 4);
  summary.steps = int64_t(T);

  std::vector<size_t> lastGroup(in.size(), 0);
  for (size_t g = 0; g < T; ++g)
    for (size_t e = groupStart[g]; e < groupStart[g + 1]; ++e)
      lastGroup[events[e].input] = g;
  std::vector<NcFile> open(in.size());

  std::vector<float> sample(size_t(C) * size_t(plane));
  std::vector<double> buf;

  for (size_t y0 = 0; y0 < T;) {
    const int year = yearOf(events[groupStart[y0]].time);
    size_t y1 = y0;
    while (y1 < T && yearOf(events[groupStart[y1]].time) == year)
      ++y1;
    const hsize_t nt = y1 - y0;
    const std::string yearName = std::to_string(year) + ".h5";
    const std::string path = (fs::path(outDir) / yearName).string();
    const std::string temp = (fs::path(outDir) / ("." + yearName + ".tmp" +
                                                  std::to_string(::getpid())))
                                 .string();
    TempFile guard(temp);
    auto writeFail = [&](const std::string &what) {
      return Error("cannot write " + q(path) + ": " + what + ": " + h5Reason() +
                   " (is the disk full, or the folder not "
                   "writable?)");
    };
    std::vector<int64_t> times;
    times.reserve(nt);
    {
      H5 file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
              H5Fclose);
      if (!file.valid())
        throw writeFail("creating " + q(temp));
      { // every object closed before the file, so its close reports errors
        const hsize_t dims[4] = {nt, hsize_t(C), hsize_t(nlat), hsize_t(nlon)};
        H5 space(H5Screate_simple(4, dims, nullptr), H5Sclose);
        H5 dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        H5Pset_obj_track_times(dcpl.get(), false);
        H5Pset_chunk(dcpl.get(), 4, chunk);
        H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
        if (options.deflate > 0) {
          H5Pset_shuffle(dcpl.get());
          H5Pset_deflate(dcpl.get(), unsigned(options.deflate));
        }
        H5 lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
        H5Pset_create_intermediate_group(lcpl.get(), 1);
        H5 ds(H5Dcreate2(file.get(), options.field.c_str(), H5T_IEEE_F32LE,
                         space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
              H5Dclose);
        if (!ds.valid())
          throw writeFail("creating dataset " + q(options.field));
        writeStrings(ds.get(), "channels", channels);
        writeStrings(ds.get(), "units", units);
        const hsize_t mdims[4] = {1, hsize_t(C), hsize_t(nlat), hsize_t(nlon)};
        H5 mspace(H5Screate_simple(4, mdims, nullptr), H5Sclose);
        DiscardOnError discard(file.get());

        for (size_t g = y0; g < y1; ++g) {
          const int64_t t = events[groupStart[g]].time;
          times.push_back(t);
          for (size_t e = groupStart[g]; e < groupStart[g + 1]; ++e) {
            const size_t f = events[e].input, ti = events[e].index;
            const Input &x = in[f];
            if (!open[f].open()) {
              open[f] = NcFile(x.path);
              for (const VarTakes &vt : takes[f])
                tuneChunkCache(open[f].id(), x.vars[vt.var]);
            }
            for (const VarTakes &vt : takes[f]) {
              const Var &var = x.vars[vt.var];
              const size_t nl = vt.lmax - vt.lmin + 1;
              buf.resize(nl * size_t(plane));
              const bool levels = var.hasLevels;
              // (time, level, lat, lon) or (time, lat, lon).
              const size_t start[4] = {ti, levels ? vt.lmin : 0, 0, 0};
              const size_t count[4] = {1, levels ? nl : size_t(nlat),
                                       levels ? size_t(nlat) : size_t(nlon),
                                       size_t(nlon)};
              const int st = nc_get_vara_double(open[f].id(), var.varid, start,
                                                count, buf.data());
              if (st != NC_NOERR)
                ncFail(x.path,
                       "reading variable " + q(var.name) + " at time index " +
                           std::to_string(ti),
                       st);
              for (const Take &tk : vt.takes) {
                const double *src =
                    buf.data() + (tk.level - vt.lmin) * size_t(plane);
                float *dst = sample.data() + tk.channel * size_t(plane);
                for (int64_t i = 0; i < plane; ++i) {
                  const double raw = src[i];
                  bool missing = std::isnan(raw);
                  for (double m : var.missing)
                    missing |= raw == m;
                  double value = raw * var.scale + var.offset;
                  if (!missing && !std::isfinite(float(value)))
                    missing = true;
                  if (missing) {
                    if (!options.fill) {
                      const int64_t r = i / nlon, c = i % nlon;
                      throw Error(
                          "NetCDF file " + q(x.path) + ": variable " +
                          q(var.name) +
                          (levels ? " level " + var.levelNames[tk.level] : "") +
                          " has a missing value (" +
                          (std::isnan(raw) ? std::string("NaN")
                           : var.missingText.empty()
                               ? "not finite after unpacking"
                               : var.missingText) +
                          ") at time index " + std::to_string(ti) + " (" +
                          formatTime(t) + "), latitude index " +
                          std::to_string(r) + " (" + num(first.lat[size_t(r)]) +
                          "), longitude index " + std::to_string(c) + " (" +
                          num(first.lon[size_t(c)]) +
                          "); ERA5 fields have no gaps, so the file may be "
                          "incomplete: re-download it, or set a fill value to "
                          "replace missing values");
                    }
                    value = *options.fill;
                    ++summary.filled;
                  }
                  dst[i] = float(value);
                }
              }
            }
            if (lastGroup[f] == g)
              open[f].close();
          }
          const hsize_t at[4] = {hsize_t(g - y0), 0, 0, 0};
          H5 fspace(H5Dget_space(ds.get()), H5Sclose);
          if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, at, nullptr,
                                  mdims, nullptr) < 0 ||
              H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(),
                       H5P_DEFAULT, sample.data()) < 0)
            throw writeFail("time step " + formatTime(t));
        }
        write1d(file.get(), "time", H5T_STD_I64LE, H5T_NATIVE_INT64,
                times.data(), times.size(),
                "seconds since 1970-01-01 00:00:00 UTC", path);
        write1d(file.get(), "lat", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                first.lat.data(), first.lat.size(), "degrees_north", path);
        write1d(file.get(), "lon", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                first.lon.data(), first.lon.size(), "degrees_east", path);
        if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0)
          throw writeFail("flushing " + q(temp));
      }
      if (!file.close())
        throw writeFail("closing " + q(temp));
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0)
      throw Error("cannot write " + q(path) + ": renaming " + q(temp) +
                  " failed: " + std::strerror(errno));
    guard.release();
    summary.files.push_back(path);
    if (options.log)
      options.log("wrote " + path + ": " + std::to_string(nt) + " steps " +
                  formatTime(times.front()) + ".." + formatTime(times.back()) +
                  ", " + std::to_string(C) + " channels");
    y0 = y1;
  }
  return summary;
}

} // namespace s2s::rt
