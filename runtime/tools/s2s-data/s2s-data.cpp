//===- s2s-data.cpp - Make, summarise and inspect s2s data sets -----------===//
//
//   s2s-data synth --out DIR [--channels u,v,t] [--grid 32x64]
//                  [--years 2000..2009] [--steps-per-year 64] [--step 6h]
//                  [--seed 0]
//   s2s-data stats --data 'DIR/*.h5' --years 2000..2007 --out stats.h5
//   s2s-data inspect FILE...
//   s2s-data import --out DIR [--variables t2m,u10,t850] FILE.nc...
//   s2s-data plot FILE --channel NAME [--time I] [--out MAP.png]
//   s2s-data serve [--dir DIR] [--bind HOST --port N] [--maxmemory SIZE]
//                  [--persist] [--password-file FILE]
//   s2s-data push --address ADDR --name NAME [--clear] [--ring N]
//                 [--follow DIR] FILE...
//
// Exit status: 0 on success, 1 on an s2s::rt::Error (printed as
// "s2s-data: error: ..."), 2 on a bad command line.
//
//===----------------------------------------------------------------------===//

#include "plot/Plot.h"
#include "prep/Import.h"
#include "prep/Push.h"
#include "prep/Slice.h"
#include "prep/Stats.h"
#include "prep/Synth.h"
#include "s2s/runtime/Error.h"
#include "store/Redis.h"
#include "store/RedisServer.h"
#include "store/ServerStore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace {

using s2s::rt::Error;

const char *kUsage =
    "usage: s2s-data <command> [options]\n"
    "\n"
    "commands:\n"
    "  synth    write a synthetic data set (one HDF5 file per year + "
    "stats.h5)\n"
    "  stats    compute per-channel mean/std/min/max over some years\n"
    "  inspect  summarise data or stats files\n"
    "  import   convert ERA5 NetCDF-4 files (Copernicus CDS) to the HDF5 "
    "layout\n"
    "  plot     draw one channel at one time of a data file as a PNG map\n"
    "  serve    run a data server (redis-server) for training jobs\n"
    "  push     load HDF5 data files into a data server\n"
    "\n"
    "'s2s-data <command> --help' describes a command.\n";

const char *kSynthUsage =
    "usage: s2s-data synth --out DIR [options]\n"
    "\n"
    "Writes DIR/<year>.h5 for each year (float32 fields [time, channel, lat,\n"
    "lon], /time, /lat, /lon) and DIR/stats.h5 over all years but the last\n"
    "two. Channels 'u' and 'v' are a smooth background wind plus an\n"
    "oscillating perturbation; other channels are tracers advected by it.\n"
    "The same seed gives the same bytes.\n"
    "\n"
    "options:\n"
    "  --out DIR             output folder (created if needed)\n"
    "  --channels LIST       comma-separated channel names (default u,v,t)\n"
    "  --grid LATxLON        grid size (default 32x64)\n"
    "  --years FIRST..LAST   calendar years, one file each (default "
    "2000..2009)\n"
    "  --steps-per-year N    samples per file, from Jan 1 00:00 UTC (default "
    "64)\n"
    "  --step DURATION       time between samples: 6h, 30m, 1d, 3600s or\n"
    "                        seconds (default 6h)\n"
    "  --levels LIST         the convective mode: columns of temperature and\n"
    "                        specific humidity at these pressure levels (hPa,\n"
    "                        e.g. 1000,850,700,500,300) as channels t<level>,\n"
    "                        q<level>, and a surface temperature ts moving "
    "one\n"
    "                        cell east per step; surface exchange, convection\n"
    "                        and condensation keep each column's moist\n"
    "                        enthalpy\n"
    "  --tau DURATION        the convective mode's convection time scale\n"
    "                        (default 12h)\n"
    "  --seed N              random seed (default 0)\n";

const char *kStatsUsage =
    "usage: s2s-data stats --data PATTERN --out FILE [--years FIRST..LAST]\n"
    "                      [--field NAME]\n"
    "\n"
    "Streams over the files matching PATTERN (a glob; quote it) and writes\n"
    "per-channel /mean, /std, /min and /max (float64, with a \"channels\"\n"
    "attribute) to FILE, over the samples whose year is in FIRST..LAST\n"
    "(default: all). Stats files matched by the pattern are skipped.\n"
    "\n"
    "options:\n"
    "  --data PATTERN        data files, e.g. 'data/*.h5'\n"
    "  --years FIRST..LAST   years to include (or one year: 2005)\n"
    "  --out FILE            the stats file to write\n"
    "  --field NAME          dataset holding the fields (default fields)\n";

const char *kInspectUsage =
    "usage: s2s-data inspect [--field NAME] FILE...\n"
    "\n"
    "Prints each file's layout, channels, time range and step, chunking and\n"
    "per-channel min/mean/max/std (non-finite values counted); for a stats\n"
    "file, its per-channel entries.\n"
    "\n"
    "options:\n"
    "  --field NAME          dataset holding the fields (default fields)\n";

const char *kImportUsage =
    "usage: s2s-data import --out DIR [options] FILE.nc...\n"
    "\n"
    "Converts NetCDF-4 files as the Copernicus climate data store gives ERA5\n"
    "(single levels and pressure levels; packed int16 or float; 'time' in\n"
    "hours since 1900 or 'valid_time' in seconds since 1970; descending\n"
    "latitude) into DIR/<year>.h5 in the s2s layout, chunked for sample\n"
    "reads. Files may split variables or months; they must share the grid.\n"
    "Run 's2s-data stats' on the result for a stats file.\n"
    "\n"
    "options:\n"
    "  --out DIR             output folder (created if needed)\n"
    "  --variables LIST      channels in order: variables (t: all its levels)\n"
    "                        or single levels (t850); default all variables\n"
    "  --deflate N           gzip level 1-9 with shuffle (default 0: none;\n"
    "                        training inflates chunks in its reader threads)\n"
    "  --chunking MODE       auto, sample or channel (default auto: a whole\n"
    "                        sample per chunk up to 64 MiB, else a channel)\n"
    "  --fill X              replace missing values by X (default: an error)\n";

const char *kPlotUsage =
    "usage: s2s-data plot FILE --channel NAME [--time I] [--out MAP.png]\n"
    "\n"
    "Draws channel NAME at time index I (default 0) of a data file as a\n"
    "latitude-longitude map with a colour bar.\n"
    "\n"
    "options:\n"
    "  --channel NAME        the channel to draw\n"
    "  --time I              time index in the file (default 0)\n"
    "  --out FILE            the PNG to write (default <channel>-<time>.png)\n"
    "  --field NAME          dataset holding the fields (default fields)\n";

const char *kServeUsage =
    "usage: s2s-data serve [options]\n"
    "\n"
    "Starts a redis-server (Debian's redis-server package) that holds data\n"
    "sets for training jobs, owns it and stops it on Ctrl-C or SIGTERM. It\n"
    "always wants a password: $S2S_REDIS_PASSWORD, else the first line of\n"
    "--password-file, else a random one written to DIR/password (mode\n"
    "0600). Clients read it from S2S_REDIS_PASSWORD or the file named by\n"
    "S2S_REDIS_PASSWORD_FILE; it never goes on a command line. Prints the\n"
    "address and how to connect; on exit, the bytes moved and the rate.\n"
    "\n"
    "options:\n"
    "  --dir DIR             its folder: config, socket, log, password\n"
    "                        (default s2s-server)\n"
    "  --bind HOST           listen on this interface (TCP) instead of a\n"
    "                        Unix socket in DIR; needs --port\n"
    "  --port N              the TCP port (with --bind)\n"
    "  --maxmemory SIZE      memory limit, e.g. 64G, 512M (default none);\n"
    "                        a full server refuses pushes, never evicts\n"
    "  --persist             keep RDB snapshots in DIR (default: none)\n"
    "  --password-file FILE  the password's file (created, 0600, if absent)\n";

const char *kPushUsage =
    "usage: s2s-data push --address ADDR --name NAME [options] FILE...\n"
    "\n"
    "Loads every sample of the HDF5 data files ([time, channel, lat, lon]\n"
    "float32, all channels) into data set NAME on the data server at ADDR\n"
    "(what s2s-data serve printed: unix:///path/redis.sock or host:port).\n"
    "A time already there is replaced; a training job reading the set sees\n"
    "the old sample or the new one, whole. The password comes from\n"
    "S2S_REDIS_PASSWORD or S2S_REDIS_PASSWORD_FILE. Prints the rate.\n"
    "\n"
    "options:\n"
    "  --address ADDR        the data server\n"
    "  --name NAME           the data set (server(..., name = NAME) in a "
    "spec)\n"
    "  --clear               remove the set's samples first\n"
    "  --follow DIR          then push the .h5 files that appear or change in\n"
    "                        DIR (checked every second; a file is pushed once\n"
    "                        untouched for a second: write it elsewhere and\n"
    "                        move it in) until Ctrl-C\n"
    "  --ring N              append to the set's ring of the newest N samples\n"
    "                        (an unbounded stream in bounded memory) instead\n"
    "                        of its index\n"
    "  --field NAME          dataset holding the fields (default fields)\n";

/// A bad command line: message printed with the command's usage hint,
/// exit status 2.
struct UsageError {
  std::string message;
};

struct Args {
  std::map<std::string, std::string> opts;
  std::vector<std::string> positional;
  bool help = false;
};

/// Parses `--name value`, `--name=value` and `-h/--help` against `known`;
/// the `flags` take no value (present: "1").
Args parse(const std::string &cmd, int argc, char **argv, int first,
           const std::vector<std::string> &known,
           const std::vector<std::string> &flags = {}) {
  Args a;
  for (int i = first; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-h" || s == "--help") {
      a.help = true;
      continue;
    }
    if (s.rfind("--", 0) != 0 || s == "--") {
      if (s == "--") {
        for (++i; i < argc; ++i)
          a.positional.push_back(argv[i]);
        break;
      }
      if (s.size() > 1 && s[0] == '-')
        throw UsageError{"unknown option '" + s + "'"};
      a.positional.push_back(s);
      continue;
    }
    std::string name = s.substr(2), value;
    bool hasValue = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      hasValue = true;
    }
    bool ok = false, flag = false;
    for (const auto &k : known)
      ok |= k == name;
    for (const auto &k : flags)
      flag |= k == name;
    if (!ok && !flag)
      throw UsageError{"unknown option '--" + name + "'"};
    if (flag && hasValue)
      throw UsageError{"option '--" + name + "' takes no value"};
    if (flag)
      value = "1";
    else if (!hasValue) {
      if (i + 1 >= argc)
        throw UsageError{"option '--" + name + "' needs a value"};
      value = argv[++i];
    }
    if (a.opts.count(name))
      throw UsageError{"option '--" + name + "' given twice"};
    a.opts[name] = value;
  }
  (void)cmd;
  return a;
}

int64_t parseInt(const std::string &flag, const std::string &v, int64_t lo,
                 int64_t hi) {
  errno = 0;
  char *end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || x < lo || x > hi)
    throw UsageError{"invalid " + flag + " '" + v +
                     "': expected an integer in " + std::to_string(lo) + ".." +
                     std::to_string(hi)};
  return x;
}

uint64_t parseSeed(const std::string &v) {
  errno = 0;
  char *end = nullptr;
  if (v.empty() || v[0] == '-')
    throw UsageError{"invalid --seed '" + v +
                     "': expected a non-negative integer"};
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (*end || errno)
    throw UsageError{"invalid --seed '" + v +
                     "': expected a non-negative integer"};
  return x;
}

s2s::rt::YearRange parseYears(const std::string &v) {
  const auto dots = v.find("..");
  try {
    if (dots == std::string::npos) {
      const int y = int(parseInt("--years", v, 1, 9999));
      return {y, y};
    }
    const int a = int(parseInt("--years", v.substr(0, dots), 1, 9999));
    const int b = int(parseInt("--years", v.substr(dots + 2), 1, 9999));
    if (b < a)
      throw UsageError{""};
    return {a, b};
  } catch (const UsageError &) {
    throw UsageError{"invalid --years '" + v +
                     "': expected FIRST..LAST (e.g. 2000..2009) or one year"};
  }
}

int64_t parseDuration(const std::string &v) {
  std::string num = v;
  int64_t unit = 1;
  if (!v.empty()) {
    switch (v.back()) {
    case 's':
      unit = 1;
      num.pop_back();
      break;
    case 'm':
      unit = 60;
      num.pop_back();
      break;
    case 'h':
      unit = 3600;
      num.pop_back();
      break;
    case 'd':
      unit = 86400;
      num.pop_back();
      break;
    default:
      break;
    }
  }
  try {
    return parseInt("--step", num, 1, 366LL * 86400) * unit;
  } catch (const UsageError &) {
    throw UsageError{"invalid --step '" + v +
                     "': expected a positive duration such as 6h, 30m, 1d or "
                     "3600s"};
  }
}

std::vector<std::string> splitList(const std::string &v) {
  std::vector<std::string> out;
  size_t s = 0;
  while (true) {
    const size_t e = v.find(',', s);
    std::string item = v.substr(s, e == std::string::npos ? e : e - s);
    if (item.empty())
      throw UsageError{"invalid --channels '" + v +
                       "': expected comma-separated names such as u,v,t"};
    out.push_back(item);
    if (e == std::string::npos)
      break;
    s = e + 1;
  }
  return out;
}

std::string humanBytes(double b) {
  const char *units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g %s", b, units[u]);
  return buf;
}

int synth(int argc, char **argv) {
  Args a = parse("synth", argc, argv, 2,
                 {"out", "channels", "grid", "years", "steps-per-year", "step",
                  "seed", "levels", "tau"});
  if (a.help) {
    std::cout << kSynthUsage;
    return 0;
  }
  if (!a.positional.empty())
    throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  if (!a.opts.count("out"))
    throw UsageError{"missing --out DIR (the folder to write)"};
  s2s::rt::SynthConfig c;
  c.dir = a.opts["out"];
  if (a.opts.count("channels"))
    c.channels = splitList(a.opts["channels"]);
  if (a.opts.count("grid")) {
    const std::string &g = a.opts["grid"];
    const auto x = g.find('x');
    try {
      if (x == std::string::npos)
        throw UsageError{""};
      c.lat = parseInt("--grid", g.substr(0, x), 2, 100000);
      c.lon = parseInt("--grid", g.substr(x + 1), 2, 100000);
    } catch (const UsageError &) {
      throw UsageError{"invalid --grid '" + g +
                       "': expected LATxLON with sizes of at least 2, e.g. "
                       "32x64"};
    }
  }
  if (a.opts.count("years")) {
    const auto y = parseYears(a.opts["years"]);
    c.firstYear = y.first;
    c.lastYear = y.last;
  }
  if (a.opts.count("steps-per-year"))
    c.stepsPerYear =
        parseInt("--steps-per-year", a.opts["steps-per-year"], 1, 1 << 24);
  if (a.opts.count("step"))
    c.stepSeconds = parseDuration(a.opts["step"]);
  if (a.opts.count("seed"))
    c.seed = parseSeed(a.opts["seed"]);
  if (a.opts.count("levels")) {
    if (a.opts.count("channels"))
      throw UsageError{"--levels writes its own channels (t<level>, "
                       "q<level>, ts); leave --channels out"};
    for (const std::string &l : splitList(a.opts["levels"]))
      c.levels.push_back(parseInt("--levels", l, 1, 1100));
    c.channels = s2s::rt::convectiveChannels(c.levels);
  }
  if (a.opts.count("tau")) {
    if (!a.opts.count("levels"))
      throw UsageError{"--tau is the convective mode's; give --levels too"};
    c.tauSeconds = parseDuration(a.opts["tau"]);
  }

  const auto t0 = std::chrono::steady_clock::now();
  s2s::rt::synthesize(c);
  const double sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  const int years = c.lastYear - c.firstYear + 1;
  const double bytes = double(years) * double(c.stepsPerYear) *
                       double(c.channels.size()) * double(c.lat) *
                       double(c.lon) * 4.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%.2f s, %s/s", sec,
                humanBytes(sec > 0 ? bytes / sec : 0).c_str());
  std::cout << "s2s-data: wrote " << years << " files of " << c.stepsPerYear
            << " samples (" << c.lat << "x" << c.lon << ", "
            << c.channels.size() << " channels, " << humanBytes(bytes)
            << " of fields) and stats.h5 to '" << c.dir << "' in " << buf
            << "\n";
  return 0;
}

int stats(int argc, char **argv) {
  Args a = parse("stats", argc, argv, 2, {"data", "years", "out", "field"});
  if (a.help) {
    std::cout << kStatsUsage;
    return 0;
  }
  if (!a.positional.empty())
    throw UsageError{"unexpected argument '" + a.positional[0] +
                     "' (quote the --data pattern so the shell does not "
                     "expand it)"};
  if (!a.opts.count("data"))
    throw UsageError{
        "missing --data PATTERN (the data files, e.g. 'data/*.h5')"};
  if (!a.opts.count("out"))
    throw UsageError{"missing --out FILE (the stats file to write)"};
  s2s::rt::YearRange years; // empty: all
  if (a.opts.count("years"))
    years = parseYears(a.opts["years"]);
  const std::string field = a.opts.count("field") ? a.opts["field"] : "fields";
  s2s::rt::computeStats(a.opts["data"], field, years, a.opts["out"]);
  std::cout << "s2s-data: wrote '" << a.opts["out"] << "'\n";
  return 0;
}

int inspect(int argc, char **argv) {
  Args a = parse("inspect", argc, argv, 2, {"field"});
  if (a.help) {
    std::cout << kInspectUsage;
    return 0;
  }
  if (a.positional.empty())
    throw UsageError{"no files given; usage: s2s-data inspect FILE..."};
  const std::string field = a.opts.count("field") ? a.opts["field"] : "fields";
  for (size_t i = 0; i < a.positional.size(); ++i) {
    if (i)
      std::cout << "\n";
    std::cout << s2s::rt::inspectFile(a.positional[i], field) << std::flush;
  }
  return 0;
}

int import(int argc, char **argv) {
  Args a = parse("import", argc, argv, 2,
                 {"out", "variables", "deflate", "chunking", "fill"});
  if (a.help) {
    std::cout << kImportUsage;
    return 0;
  }
  if (!a.opts.count("out"))
    throw UsageError{"missing --out DIR (the folder for <year>.h5)"};
  if (a.positional.empty())
    throw UsageError{
        "no input files; usage: s2s-data import --out DIR FILE.nc..."};
  s2s::rt::ImportOptions o;
  if (a.opts.count("variables"))
    o.variables = splitList(a.opts["variables"]);
  if (a.opts.count("deflate"))
    o.deflate =
        static_cast<int>(parseInt("--deflate", a.opts["deflate"], 0, 9));
  if (a.opts.count("chunking")) {
    const std::string &c = a.opts["chunking"];
    if (c == "auto")
      o.chunking = s2s::rt::Chunking::Auto;
    else if (c == "sample")
      o.chunking = s2s::rt::Chunking::Sample;
    else if (c == "channel")
      o.chunking = s2s::rt::Chunking::Channel;
    else
      throw UsageError{"invalid --chunking '" + c +
                       "': expected auto, sample or channel"};
  }
  if (a.opts.count("fill")) {
    char *end = nullptr;
    float f = std::strtof(a.opts["fill"].c_str(), &end);
    if (a.opts["fill"].empty() || *end)
      throw UsageError{"invalid --fill '" + a.opts["fill"] +
                       "': expected a number"};
    o.fill = f;
  }
  o.log = [](const std::string &line) {
    std::cout << line << "\n" << std::flush;
  };
  s2s::rt::ImportSummary sum =
      s2s::rt::importNetcdf(a.positional, a.opts["out"], o);
  std::cout << "s2s-data: wrote " << sum.files.size() << " file(s), "
            << sum.steps << " time steps, " << sum.channels.size()
            << " channels to '" << a.opts["out"] << "'\n";
  return 0;
}

int plot(int argc, char **argv) {
  Args a = parse("plot", argc, argv, 2, {"channel", "time", "out", "field"});
  if (a.help) {
    std::cout << kPlotUsage;
    return 0;
  }
  if (a.positional.size() != 1)
    throw UsageError{
        "give one data file; usage: s2s-data plot FILE --channel NAME"};
  if (!a.opts.count("channel"))
    throw UsageError{"missing --channel NAME (the channel to draw)"};
  const int64_t t = a.opts.count("time")
                        ? parseInt("--time", a.opts["time"], 0, INT64_MAX)
                        : 0;
  const std::string field = a.opts.count("field") ? a.opts["field"] : "fields";
  const std::string out = a.opts.count("out") ? a.opts["out"]
                                              : a.opts["channel"] + "-" +
                                                    std::to_string(t) + ".png";
  const s2s::rt::FieldSlice s =
      s2s::rt::readFieldSlice(a.positional[0], field, a.opts["channel"], t);
  s2s::rt::Field2D f;
  f.values = s.values.data();
  f.nlat = s.nlat;
  f.nlon = s.nlon;
  f.lat = s.lat;
  f.lon = s.lon;
  s2s::rt::PlotOptions o;
  o.title = a.opts["channel"] + " at time index " + std::to_string(t) + " of " +
            a.positional[0];
  s2s::rt::PlotInfo info = s2s::rt::plotField(f, out, o);
  std::cout << "s2s-data: wrote '" << out << "' (" << info.width << "x"
            << info.height << ")\n";
  return 0;
}

volatile sig_atomic_t gInterrupted = 0;
void onSignal(int) { gInterrupted = 1; }

int64_t parseSize(const std::string &v) {
  std::string num = v;
  int64_t unit = 1;
  if (!v.empty()) {
    const char u = char(std::toupper(v.back()));
    const int64_t units[] = {int64_t(1) << 10, int64_t(1) << 20,
                             int64_t(1) << 30, int64_t(1) << 40};
    const char *names = "KMGT";
    if (const char *at = std::strchr(names, u); at && *at) {
      unit = units[at - names];
      num.pop_back();
    }
  }
  try {
    return parseInt("--maxmemory", num, 1, int64_t(1) << 50) * unit;
  } catch (const UsageError &) {
    throw UsageError{"invalid --maxmemory '" + v +
                     "': expected a size such as 64G, 512M or bytes"};
  }
}

/// The server's password: $S2S_REDIS_PASSWORD, else the file's first line,
/// else a new random one written to the file (0600).
std::string servePassword(const std::string &file) {
  if (const char *p = std::getenv("S2S_REDIS_PASSWORD"); p && *p)
    return p;
  std::string line;
  if (std::ifstream in(file); in && std::getline(in, line) && !line.empty())
    return line;
  unsigned char raw[16];
  std::ifstream rnd("/dev/urandom", std::ios::binary);
  if (!rnd.read(reinterpret_cast<char *>(raw), sizeof raw))
    throw Error("cannot read /dev/urandom for a password");
  std::string pw;
  for (unsigned char c : raw) {
    char h[3];
    std::snprintf(h, sizeof h, "%02x", c);
    pw += h;
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    throw Error("cannot write the password file '" + file +
                "': " + std::strerror(errno));
  const std::string text = pw + "\n";
  const bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size());
  ::close(fd);
  if (!ok)
    throw Error("cannot write the password file '" + file + "'");
  return pw;
}

/// Bytes in and out of a server and its uptime (INFO).
struct ServerTraffic {
  double in = 0, out = 0, seconds = 0;
};
ServerTraffic traffic(s2s::rt::RedisClient &c) {
  ServerTraffic t;
  const std::string info(c.command({"INFO", "all"}).text());
  auto field = [&](const std::string &name) {
    const size_t at = info.find(name + ":");
    return at == std::string::npos
               ? 0.0
               : std::strtod(info.c_str() + at + name.size() + 1, nullptr);
  };
  t.in = field("total_net_input_bytes");
  t.out = field("total_net_output_bytes");
  t.seconds = field("uptime_in_seconds");
  return t;
}

std::string rate(double bytes, double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f GB/s",
                seconds > 0 ? bytes / seconds / 1e9 : 0.0);
  return buf;
}

int serve(int argc, char **argv) {
  Args a =
      parse("serve", argc, argv, 2,
            {"dir", "bind", "port", "maxmemory", "password-file"}, {"persist"});
  if (a.help) {
    std::cout << kServeUsage;
    return 0;
  }
  if (!a.positional.empty())
    throw UsageError{"unexpected argument '" + a.positional[0] + "'"};
  s2s::rt::RedisServerConfig c;
  // Absolute and normal ("./a/../srv" is "$PWD/srv"), its parents made:
  // the config, socket and password file all name it, whatever the cwd.
  c.dir = std::filesystem::absolute(a.opts.count("dir") ? a.opts["dir"]
                                                        : "s2s-server")
              .lexically_normal()
              .string();
  if (c.dir.size() > 1 && c.dir.back() == '/')
    c.dir.pop_back();
  if (a.opts.count("bind") != a.opts.count("port"))
    throw UsageError{"--bind HOST and --port N go together (a TCP server); "
                     "without both it listens on a Unix socket in --dir"};
  if (a.opts.count("bind")) {
    c.bind = a.opts["bind"];
    c.port = int(parseInt("--port", a.opts["port"], 1, 65535));
  }
  if (a.opts.count("maxmemory"))
    c.maxmemoryBytes = parseSize(a.opts["maxmemory"]);
  c.persist = a.opts.count("persist") > 0;
  std::error_code made;
  std::filesystem::create_directories(c.dir, made);
  if (made)
    throw Error("cannot create the data server's folder '" + c.dir +
                "': " + made.message());
  ::chmod(c.dir.c_str(), 0700);
  const std::string pwFile =
      std::filesystem::absolute(a.opts.count("password-file")
                                    ? a.opts["password-file"]
                                    : c.dir + "/password")
          .string();
  c.password = servePassword(pwFile);

  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  s2s::rt::RedisServer server(c);
  const bool pwFromEnv =
      std::getenv("S2S_REDIS_PASSWORD") && *std::getenv("S2S_REDIS_PASSWORD");
  std::cout << "s2s-data: serving at " << server.address()
            << " (redis-server pid " << server.pid() << ", maxmemory "
            << (c.maxmemoryBytes ? humanBytes(double(c.maxmemoryBytes))
                                 : std::string("none"))
            << ", " << (c.persist ? "snapshots in " + c.dir : "no persistence")
            << ")\n"
            << "  password: "
            << (pwFromEnv ? std::string("$S2S_REDIS_PASSWORD")
                          : "in '" + pwFile + "'")
            << "\n  connect:  export S2S_REDIS_PASSWORD_FILE="
            << (pwFromEnv ? std::string("<a file holding it>") : pwFile)
            << "\n            s2s-data push --address " << server.address()
            << " --name NAME FILE.h5...\n"
            << "            spec: source = server(\"" << server.address()
            << "\", name = \"NAME\")\n"
            << "  stop:     Ctrl-C (or SIGTERM)\n"
            << std::flush;
  const bool died = server.waitUntil(gInterrupted);
  if (died)
    throw Error("redis-server at '" + server.address() +
                "' exited by itself: " + server.logTail());
  ServerTraffic t;
  try {
    s2s::rt::RedisClient::Options o;
    o.password = c.password;
    s2s::rt::RedisClient client(server.address(), o);
    t = traffic(client);
  } catch (const Error &) {
  }
  server.stop();
  std::cout << "s2s-data: stopped the server at " << server.address()
            << " after " << t.seconds << " s: received " << humanBytes(t.in)
            << " (" << rate(t.in, t.seconds) << " averaged), sent "
            << humanBytes(t.out) << " (" << rate(t.out, t.seconds) << ")\n";
  return 0;
}

/// One push of `files`, its line printed.
void pushAndReport(const std::vector<std::string> &files,
                   const std::string &field, s2s::rt::ServerStore &store,
                   int64_t ring) {
  const auto t0 = std::chrono::steady_clock::now();
  s2s::rt::PushSummary s = s2s::rt::pushFiles(files, field, store, ring);
  const double sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::cout << "s2s-data: pushed " << s.samples << " samples ("
            << humanBytes(double(s.bytes)) << ") of " << s.files
            << " file(s) to " << store.describe() << " in " << sec
            << " s: " << rate(double(s.bytes), sec) << " overall, "
            << rate(double(s.bytes), s.writeSeconds) << " to the server, "
            << rate(double(s.bytes), s.readSeconds) << " from the files; "
            << s.replaced
            << (ring
                    ? " dropped out of the ring of " + std::to_string(ring) +
                          " (it holds " + std::to_string(store.ringSize()) + ")"
                    : std::string(" replaced"))
            << "\n"
            << std::flush;
}

/// --follow DIR: every second, the .h5 files of DIR that are new or
/// changed (size or modification time) and untouched for a second are
/// pushed, until SIGINT or SIGTERM.
void follow(const std::string &dir, const std::string &field,
            s2s::rt::ServerStore &store, int64_t ring) {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  namespace fs = std::filesystem;
  std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> seen;
  std::cout << "s2s-data: following '" << dir << "' (Ctrl-C stops)\n"
            << std::flush;
  while (!gInterrupted) {
    std::vector<std::string> fresh;
    std::error_code ec;
    for (const auto &e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() != ".h5" || !e.is_regular_file())
        continue;
      const auto stamp = std::make_pair(e.file_size(), e.last_write_time());
      const bool settled = fs::file_time_type::clock::now() - stamp.second >
                           std::chrono::seconds(1);
      auto it = seen.find(e.path().string());
      if (settled && (it == seen.end() || it->second != stamp)) {
        fresh.push_back(e.path().string());
        seen[e.path().string()] = stamp;
      }
    }
    if (ec)
      throw Error("cannot list '" + dir + "' (--follow): " + ec.message());
    std::sort(fresh.begin(), fresh.end());
    if (!fresh.empty())
      pushAndReport(fresh, field, store, ring);
    for (int i = 0; i < 10 && !gInterrupted; ++i)
      ::usleep(100000);
  }
  std::cout << "s2s-data: stopped following '" << dir << "'\n";
}

int push(int argc, char **argv) {
  Args a = parse("push", argc, argv, 2,
                 {"address", "name", "field", "ring", "follow"}, {"clear"});
  if (a.help) {
    std::cout << kPushUsage;
    return 0;
  }
  if (!a.opts.count("address"))
    throw UsageError{"missing --address ADDR (what s2s-data serve printed)"};
  if (!a.opts.count("name"))
    throw UsageError{"missing --name NAME (the data set's name)"};
  if (a.positional.empty() && !a.opts.count("clear") && !a.opts.count("follow"))
    throw UsageError{"no files given; usage: s2s-data push --address ADDR "
                     "--name NAME FILE.h5..."};
  const std::string field = a.opts.count("field") ? a.opts["field"] : "fields";
  const int64_t ring = a.opts.count("ring")
                           ? parseInt("--ring", a.opts["ring"], 1, INT64_MAX)
                           : 0;
  s2s::rt::RedisClient::Options o;
  o.password = s2s::rt::passwordFromEnvironment();
  o.timeoutSeconds = s2s::rt::timeoutFromEnvironment();
  s2s::rt::RedisClient client(a.opts["address"], o);
  s2s::rt::ServerStore store(client, a.opts["name"]);
  if (a.opts.count("clear"))
    std::cout << "s2s-data: cleared " << store.describe() << " ("
              << store.clear() << " keys)\n";
  if (!a.positional.empty())
    pushAndReport(a.positional, field, store, ring);
  if (a.opts.count("follow"))
    follow(a.opts["follow"], field, store, ring);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd.empty()) {
      std::cerr << kUsage;
      return 2;
    }
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
      std::cout << kUsage;
      return 0;
    }
    if (cmd == "synth")
      return synth(argc, argv);
    if (cmd == "stats")
      return stats(argc, argv);
    if (cmd == "inspect")
      return inspect(argc, argv);
    if (cmd == "import")
      return import(argc, argv);
    if (cmd == "plot")
      return plot(argc, argv);
    if (cmd == "serve")
      return serve(argc, argv);
    if (cmd == "push")
      return push(argc, argv);
    std::cerr
        << "s2s-data: unknown command '" << cmd
        << "'; the commands are synth, stats, inspect, import, plot, serve "
           "and push (see "
           "s2s-data --help)\n";
    return 2;
  } catch (const UsageError &e) {
    std::cerr << "s2s-data " << cmd << ": " << e.message << " (see s2s-data "
              << cmd << " --help)\n";
    return 2;
  } catch (const s2s::rt::Error &e) {
    std::cerr << "s2s-data: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "s2s-data: internal error: " << e.what() << "\n";
    return 1;
  }
}
