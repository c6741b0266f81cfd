//===- NetcdfInput.cpp - What one NetCDF input holds ----------------------===//

#include "prep/NetcdfInput.h"

#include "s2s/runtime/Error.h"
#include "support/Calendar.h"
#include "support/Text.h"

#include <netcdf.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>

namespace s2s::rt::netcdf {

namespace fs = std::filesystem;

[[noreturn]] void ncFail(const std::string &path, const std::string &what,
                         int status) {
  throw Error("cannot read NetCDF file " + inQuotes(path) + ": " + what + ": " +
              nc_strerror(status) +
              " (the file may be truncated or corrupt; re-download it)");
}

NcFile::NcFile(const std::string &path) : path_(path) {
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw Error("cannot open NetCDF file " + inQuotes(path) +
                ": no such file; check the input paths");
  if (fs::is_directory(path, ec))
    throw Error("cannot open NetCDF file " + inQuotes(path) +
                ": it is a folder");
  const int st = nc_open(path.c_str(), NC_NOWRITE, &id_);
  if (st != NC_NOERR)
    throw Error("cannot open NetCDF file " + inQuotes(path) + ": " +
                nc_strerror(st) +
                " (not a NetCDF-3/4 file, or truncated: re-download it)");
}

namespace {

//===----------------------------------------------------------------------===//
// Time
//===----------------------------------------------------------------------===//

/// "<unit> since <date>[ |T<time>][ <zone>]" as seconds per unit and the
/// epoch in seconds since 1970 (integer part and fraction).
struct TimeUnits {
  double unit = 1;
  int64_t epoch = 0;
  double epochFraction = 0;
};

TimeUnits parseTimeUnits(const std::string &units, const std::string &where) {
  auto bad = [&](const std::string &why) {
    return Error(where + ": cannot read the time units " + inQuotes(units) +
                 ": " + why +
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
    throw bad("unknown unit " + inQuotes(word) +
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
    throw bad("unexpected " + inQuotes(rest.substr(i)));
  tu.epoch = daysFromCivil(year, unsigned(month), unsigned(day)) * 86400 +
             hour * 3600 + minute * 60 + second - zone;
  tu.epochFraction = fraction;
  return tu;
}

//===----------------------------------------------------------------------===//
// Attributes, names, coordinates
//===----------------------------------------------------------------------===//

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
      ncFail(path,
             "reading the " + what + " coordinate " +
                 inQuotes(varName(nc, var)),
             st);
  }
  return v;
}

std::string levelName(double v) {
  char buf[48];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%lld",
                  static_cast<long long>(std::llround(v)));
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// The time, latitude and longitude dimensions of a file: by name, else by
/// their coordinates' units.
struct GridDims {
  int time = -1, lat = -1, lon = -1;
};

GridDims classifyDims(int nc, const std::string &path) {
  int ndims = 0;
  int st = nc_inq_ndims(nc, &ndims);
  if (st != NC_NOERR)
    ncFail(path, "the list of dimensions and variables", st);
  GridDims d, guess;
  std::vector<int> dimIds(static_cast<size_t>(ndims));
  st = nc_inq_dimids(nc, &ndims, dimIds.data(), 1);
  if (st != NC_NOERR)
    ncFail(path, "the list of dimensions", st);
  for (int id : dimIds) {
    const std::string name = lower(dimName(nc, id));
    const int cv = coordVar(nc, id);
    const std::string units =
        cv >= 0 ? lower(textAtt(nc, cv, "units").value_or("")) : "";
    const std::string standard =
        cv >= 0 ? lower(textAtt(nc, cv, "standard_name").value_or("")) : "";
    if (name == "time" || name == "valid_time") {
      if (d.time < 0)
        d.time = id;
    } else if (units.find(" since ") != std::string::npos && guess.time < 0)
      guess.time = id;
    if (name == "latitude" || name == "lat")
      d.lat = id;
    else if ((units == "degrees_north" || standard == "latitude") &&
             guess.lat < 0)
      guess.lat = id;
    if (name == "longitude" || name == "lon")
      d.lon = id;
    else if ((units == "degrees_east" || standard == "longitude") &&
             guess.lon < 0)
      guess.lon = id;
  }
  if (d.time < 0)
    d.time = guess.time;
  if (d.lat < 0)
    d.lat = guess.lat;
  if (d.lon < 0)
    d.lon = guess.lon;
  if (d.time < 0)
    throw Error("NetCDF file " + inQuotes(path) +
                ": no time dimension (expected 'time' or 'valid_time', or a "
                "coordinate with units \"<unit> since <date>\")");
  if (d.lat < 0 || d.lon < 0)
    throw Error("NetCDF file " + inQuotes(path) + ": no " +
                (d.lat < 0 ? "latitude" : "longitude") +
                " dimension (expected 'latitude'/'lat' and "
                "'longitude'/'lon', or coordinates in degrees_north and "
                "degrees_east); import handles regular latitude-longitude "
                "grids only");
  return d;
}

/// The time coordinate `timeVar` as seconds since 1970, checked increasing.
std::vector<int64_t> readTimes(int nc, int timeVar, const std::string &path,
                               const std::string &where) {
  const auto units = textAtt(nc, timeVar, "units");
  if (!units)
    throw Error(where + ": no 'units' attribute; cannot tell what the times "
                        "mean (expected e.g. \"hours since 1900-01-01\")");
  const std::string calendar =
      lower(textAtt(nc, timeVar, "calendar").value_or("standard"));
  if (calendar != "standard" && calendar != "gregorian" &&
      calendar != "proleptic_gregorian")
    throw Error(where + ": calendar " + inQuotes(calendar) +
                " is not supported; only the standard (Gregorian) calendar "
                "is, as ERA5 uses");
  const TimeUnits tu = parseTimeUnits(*units, where);
  const std::vector<double> raw = readCoord(nc, timeVar, path, "time");
  if (raw.empty())
    throw Error(where + ": no time steps; leave this file out");
  std::vector<int64_t> times(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const double s = raw[i] * tu.unit + tu.epochFraction;
    if (!std::isfinite(s) || std::fabs(s) > 1e17)
      throw Error(where + ": time " + formatNumber(raw[i]) + " at index " +
                  std::to_string(i) + " is out of range");
    times[i] = tu.epoch + std::llround(s);
    if (i && times[i] <= times[i - 1])
      throw Error(where + ": times do not increase at index " +
                  std::to_string(i) + " (" + formatTime(times[i - 1]) +
                  " then " + formatTime(times[i]) +
                  "); sort the file by time or remove duplicates");
  }
  return times;
}

/// The levels of a (time, level, lat, lon) variable as channel suffixes
/// (pressure levels named in hPa); false, with `why` set, when they cannot
/// name channels.
bool readLevels(int nc, int levelDim, const std::string &path, Var &var,
                std::string &why) {
  const std::string ln = dimName(nc, levelDim);
  if (lower(ln) == "expver") {
    why = "has an 'expver' dimension (ERA5 and preliminary ERA5T data "
          "mixed); download ERA5 and ERA5T separately or merge the "
          "expver dimension away first";
    return false;
  }
  const int lv = coordVar(nc, levelDim);
  if (lv < 0) {
    why = "has level dimension " + inQuotes(ln) +
          " without a coordinate variable (level values name the channels, "
          "e.g. t850)";
    return false;
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
    why = "has no levels (dimension " + inQuotes(ln) + " is empty)";
    return false;
  }
  return true;
}

/// Variable `v` as an importable Var, or its entry in in.rejected.
void scanVariable(int nc, int v, const GridDims &g, Input &in) {
  const std::string name = varName(nc, v);
  int nd = 0;
  nc_inq_varndims(nc, v, &nd);
  std::vector<int> dims(static_cast<size_t>(nd));
  nc_inq_vardimid(nc, v, dims.data());
  bool isCoord = false;
  for (int d : dims)
    isCoord |= dimName(nc, d) == name;
  if (isCoord || (nd == 0 && name == "crs"))
    return;
  nc_type type;
  nc_inq_vartype(nc, v, &type);
  std::vector<std::string> dimNames;
  for (int d : dims)
    dimNames.push_back(dimName(nc, d));
  const bool gridded = (nd == 3 || nd == 4) && dims[0] == g.time &&
                       dims[size_t(nd) - 2] == g.lat &&
                       dims[size_t(nd) - 1] == g.lon;
  if (!gridded) {
    in.rejected[name] = "has dimensions (" + join(dimNames) +
                        "); import handles (" + dimName(nc, g.time) +
                        ", [level,] " + dimName(nc, g.lat) + ", " +
                        dimName(nc, g.lon) + ") only";
    return;
  }
  if (type == NC_CHAR || type == NC_STRING) {
    in.rejected[name] = "holds text, not numbers";
    return;
  }
  Var var;
  var.name = name;
  var.varid = v;
  if (nd == 4) {
    std::string why;
    if (!readLevels(nc, dims[1], in.path, var, why)) {
      in.rejected[name] = why;
      return;
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
        var.missingText = std::string(att) + " " + formatNumber(m);
    }
  var.units = textAtt(nc, v, "units").value_or("");
  in.vars.push_back(std::move(var));
}

} // namespace

Input scanInput(const std::string &path) {
  NcFile file(path);
  const int nc = file.id();
  Input in;
  in.path = path;
  int nvars = 0;
  const int st = nc_inq_nvars(nc, &nvars);
  if (st != NC_NOERR)
    ncFail(path, "the list of dimensions and variables", st);
  const GridDims g = classifyDims(nc, path);

  // Coordinates.
  const int latVar = coordVar(nc, g.lat), lonVar = coordVar(nc, g.lon),
            timeVar = coordVar(nc, g.time);
  const std::string timeName = dimName(nc, g.time);
  if (latVar < 0 || lonVar < 0 || timeVar < 0)
    throw Error("NetCDF file " + inQuotes(path) + ": dimension " +
                inQuotes(dimName(nc, latVar < 0   ? g.lat
                                     : lonVar < 0 ? g.lon
                                                  : g.time)) +
                " has no coordinate variable (its values); the file must "
                "say its times, latitudes and longitudes");
  in.lat = readCoord(nc, latVar, path, "latitude");
  in.lon = readCoord(nc, lonVar, path, "longitude");
  in.times = readTimes(nc, timeVar, path,
                       "NetCDF file " + inQuotes(path) + ", variable " +
                           inQuotes(timeName));
  for (int v = 0; v < nvars; ++v)
    scanVariable(nc, v, g, in);
  return in;
}

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

} // namespace s2s::rt::netcdf
