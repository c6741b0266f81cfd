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

#include "prep/Import.h"

#include "hdf5/Hdf5.h"
#include "prep/NetcdfInput.h"
#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"
#include "support/Calendar.h"
#include "support/Text.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
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
using hdf5::Hid;
using netcdf::Input;
using netcdf::NcFile;
using netcdf::Var;

//===----------------------------------------------------------------------===//
// HDF5 output
//===----------------------------------------------------------------------===//

/// hdf5::h5Reason, with a failed write's errno text kept as its gist.
std::string h5Reason() {
  std::string s = hdf5::h5Reason();
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
    Hid fapl(H5Fget_access_plist(file_), H5Pclose);
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

/// A 1-d dataset `name` of `n` values of `memType` stored as `fileType`.
void write1d(hid_t file, const char *name, hid_t fileType, hid_t memType,
             const void *data, size_t n, const char *units,
             const std::string &path) {
  const hsize_t dim = n;
  Hid space(H5Screate_simple(1, &dim, nullptr), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  Hid ds(H5Dcreate2(file, name, fileType, space.get(), H5P_DEFAULT, dcpl.get(),
                    H5P_DEFAULT),
         H5Dclose);
  DiscardOnError discard(file);
  if (!ds.valid() ||
      H5Dwrite(ds.get(), memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw Error("cannot write " + inQuotes(path) + ": dataset '" + name +
                "': " + h5Reason() + " (is the disk full?)");
  hdf5::writeStringAttr(ds.get(), "units", units);
}

//===----------------------------------------------------------------------===//
// Pass 2: grid, channels and time coverage
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

/// Everything pass 3 needs: the inputs, the channels and, per output time
/// step g, the events events[groupStart[g]..groupStart[g + 1]) (one per
/// input that has that time).
struct Plan {
  std::vector<Input> in;
  std::vector<std::string> channels, units;
  std::vector<std::vector<VarTakes>> takes;       ///< per input
  std::vector<std::vector<size_t>> inputChannels; ///< per input
  std::vector<Event> events;
  std::vector<size_t> groupStart;
  size_t steps = 0;
  int64_t nlat = 0, nlon = 0;
  hsize_t chunk[4] = {1, 1, 1, 1};
};

std::string spanOf(const Input &in) {
  return formatTime(in.times.front()) + ".." + formatTime(in.times.back());
}

void checkOptions(const std::vector<std::string> &inputs,
                  const ImportOptions &options) {
  if (inputs.empty())
    throw Error("import: no input files; give one or more ERA5 NetCDF files");
  if (options.deflate < 0 || options.deflate > 9)
    throw Error("import: deflate level " + std::to_string(options.deflate) +
                " is out of range; use 0 (none) to 9");
  if (options.field.empty())
    throw Error("import: the output dataset name is empty");
  if (options.fill && !std::isfinite(*options.fill))
    throw Error("import: the fill value must be a finite number");
  std::set<std::string> seen;
  for (const auto &p : inputs)
    if (!seen.insert(fs::absolute(p).lexically_normal().string()).second)
      throw Error("import: input file " + inQuotes(p) +
                  " is given twice; give each file once");
}

/// Every input on the first one's grid.
void checkGrids(const std::vector<Input> &in) {
  const Input &first = in.front();
  auto describe = [](const Input &x) {
    return std::to_string(x.lat.size()) + " x " + std::to_string(x.lon.size()) +
           " (latitude " +
           (x.lat.empty() ? "-"
                          : formatNumber(x.lat.front()) + ".." +
                                formatNumber(x.lat.back())) +
           ", longitude " +
           (x.lon.empty() ? "-"
                          : formatNumber(x.lon.front()) + ".." +
                                formatNumber(x.lon.back())) +
           ")";
  };
  for (size_t f = 1; f < in.size(); ++f) {
    const Input &o = in[f];
    if (o.lat.size() != first.lat.size() || o.lon.size() != first.lon.size())
      throw Error("input files disagree on the grid: " + inQuotes(first.path) +
                  " has " + describe(first) + " but " + inQuotes(o.path) +
                  " has " + describe(o) +
                  "; download every file on the same grid (same area and "
                  "resolution)");
    for (int axis = 0; axis < 2; ++axis) {
      const auto &a = axis ? first.lon : first.lat;
      const auto &b = axis ? o.lon : o.lat;
      for (size_t i = 0; i < a.size(); ++i)
        if (std::fabs(a[i] - b[i]) > 1e-6)
          throw Error("input files disagree on the grid: " +
                      std::string(axis ? "longitude " : "latitude ") +
                      std::to_string(i) + " is " + formatNumber(a[i]) + " in " +
                      inQuotes(first.path) + " but " + formatNumber(b[i]) +
                      " in " + inQuotes(o.path) +
                      "; download every file on the same grid");
    }
  }
  if (first.lat.empty() || first.lon.empty())
    throw Error("NetCDF file " + inQuotes(first.path) +
                ": the grid is empty (" + std::to_string(first.lat.size()) +
                " x " + std::to_string(first.lon.size()) + ")");
}

/// The variables of all inputs in order of first appearance, their levels
/// (union, in order of first appearance) and the channels they give.
struct Catalogue {
  struct Entry {
    std::string name;
    bool levels;
    std::vector<std::string> suffixes;
    std::string firstPath;
  };
  std::vector<Entry> vars;
  std::map<std::string, size_t> index;
  std::vector<std::string> allChannels, allVariables;
  std::map<std::string, std::string> channelVar; ///< channel -> variable
};

Catalogue catalogue(const std::vector<Input> &in) {
  Catalogue cat;
  for (const Input &x : in)
    for (const Var &v : x.vars) {
      const bool levels = v.hasLevels;
      auto it = cat.index.find(v.name);
      if (it == cat.index.end()) {
        it = cat.index.emplace(v.name, cat.vars.size()).first;
        cat.vars.push_back({v.name, levels, {}, x.path});
      }
      Catalogue::Entry &c = cat.vars[it->second];
      if (c.levels != levels)
        throw Error("input files disagree on variable " + inQuotes(v.name) +
                    ": " + inQuotes(c.firstPath) + " has it " +
                    (c.levels ? "on levels" : "without levels") + " but " +
                    inQuotes(x.path) +
                    (levels ? " on levels" : " without levels"));
      for (const auto &s : v.levelNames)
        if (std::find(c.suffixes.begin(), c.suffixes.end(), s) ==
            c.suffixes.end())
          c.suffixes.push_back(s);
    }
  for (const Catalogue::Entry &c : cat.vars) {
    cat.allVariables.push_back(c.name);
    for (const auto &s : c.suffixes) {
      const std::string ch = c.name + s;
      if (auto it = cat.channelVar.find(ch); it != cat.channelVar.end())
        throw Error("channel name " + inQuotes(ch) +
                    " is ambiguous: variable " + inQuotes(c.name) +
                    " and variable " + inQuotes(it->second) +
                    " both give it; select one of them with the variables "
                    "option");
      cat.channelVar[ch] = c.name;
      cat.allChannels.push_back(ch);
    }
  }
  return cat;
}

/// The channels ImportOptions::variables asks for (all without it).
std::vector<std::string> selectChannels(const std::vector<Input> &in,
                                        const Catalogue &cat,
                                        const ImportOptions &options) {
  std::vector<std::string> channels;
  std::map<std::string, std::string> selectedBy;
  auto add = [&](const std::string &ch, const std::string &by) {
    if (auto it = selectedBy.find(ch); it != selectedBy.end())
      throw Error("import: channel " + inQuotes(ch) +
                  " is selected twice (by " + inQuotes(it->second) + " and " +
                  inQuotes(by) + "); list each variable or level once");
    selectedBy[ch] = by;
    channels.push_back(ch);
  };
  if (options.variables.empty()) {
    if (cat.allChannels.empty()) {
      std::string why;
      for (const Input &x : in)
        for (const auto &[name, reason] : x.rejected)
          if (why.empty())
            why = "; e.g. variable " + inQuotes(name) + " in " +
                  inQuotes(x.path) + " " + reason;
      throw Error("import: the input files have no importable variables" + why);
    }
    return cat.allChannels;
  }
  for (const auto &want : options.variables) {
    if (auto it = cat.index.find(want); it != cat.index.end()) {
      for (const auto &s : cat.vars[it->second].suffixes)
        add(want + s, want);
      continue;
    }
    if (cat.channelVar.count(want)) {
      add(want, want);
      continue;
    }
    for (const Input &x : in)
      if (auto r = x.rejected.find(want); r != x.rejected.end())
        throw Error("import: variable " + inQuotes(want) + " in " +
                    inQuotes(x.path) + " cannot be imported: it " + r->second);
    std::vector<std::string> names = cat.allVariables;
    names.insert(names.end(), cat.allChannels.begin(), cat.allChannels.end());
    throw Error("import: no input file has a variable or channel " +
                inQuotes(want) +
                didYouMean(want, names, std::max<size_t>(2, want.size() / 3)) +
                "; variables: " + join(cat.allVariables) +
                (cat.allChannels != cat.allVariables
                     ? "; channels: " + join(cat.allChannels)
                     : std::string()));
  }
  return channels;
}

/// What each input contributes: per variable, the levels that are
/// selected channels; and the units of each channel (from the first input
/// that has it).
void planTakes(Plan &p) {
  std::map<std::string, size_t> channelIndex;
  for (size_t c = 0; c < p.channels.size(); ++c)
    channelIndex[p.channels[c]] = c;
  p.takes.assign(p.in.size(), {});
  p.inputChannels.assign(p.in.size(), {});
  for (size_t f = 0; f < p.in.size(); ++f)
    for (size_t v = 0; v < p.in[f].vars.size(); ++v) {
      const Var &var = p.in[f].vars[v];
      VarTakes vt;
      vt.var = v;
      for (size_t l = 0; l < var.levelNames.size(); ++l)
        if (auto it = channelIndex.find(var.name + var.levelNames[l]);
            it != channelIndex.end()) {
          vt.takes.push_back({l, it->second});
          p.inputChannels[f].push_back(it->second);
        }
      if (vt.takes.empty())
        continue;
      vt.lmin = vt.lmax = vt.takes[0].level;
      for (const Take &t : vt.takes) {
        vt.lmin = std::min(vt.lmin, t.level);
        vt.lmax = std::max(vt.lmax, t.level);
      }
      p.takes[f].push_back(std::move(vt));
    }
  p.units.assign(p.channels.size(), "");
  for (size_t f = 0; f < p.in.size(); ++f)
    for (const VarTakes &vt : p.takes[f])
      for (const Take &t : vt.takes)
        if (p.units[t.channel].empty())
          p.units[t.channel] = p.in[f].vars[vt.var].units;
}

/// The Error for channel `c` missing at the time of events[e]: names the
/// input that has this time and the one nearest in time that has `c`.
Error missingChannel(const Plan &p, size_t e, size_t c) {
  const Input &here = p.in[p.events[e].input];
  const Input *other = nullptr;
  int64_t best = std::numeric_limits<int64_t>::max();
  const int64_t t = p.events[e].time;
  for (size_t f = 0; f < p.in.size(); ++f) {
    const auto &chans = p.inputChannels[f];
    if (std::find(chans.begin(), chans.end(), c) == chans.end())
      continue;
    const auto &times = p.in[f].times;
    const int64_t d = t < times.front()  ? times.front() - t
                      : t > times.back() ? t - times.back()
                                         : 0;
    if (d < best) {
      best = d;
      other = &p.in[f];
    }
  }
  return Error(
      "input files disagree on the time axis: " + inQuotes(here.path) +
      " has " + formatTime(t) + " but no input has channel " +
      inQuotes(p.channels[c]) + " at that time" +
      (other ? " (" + inQuotes(other->path) + " has it for " + spanOf(*other) +
                   ")"
             : std::string()) +
      "; every channel needs every time step: split inputs by variable over "
      "the same times, or by time with the same variables");
}

/// Sweeps the time axes in time order: every channel exactly once at
/// every time.
void sweepTimes(Plan &p) {
  for (size_t f = 0; f < p.in.size(); ++f)
    if (!p.takes[f].empty())
      for (size_t i = 0; i < p.in[f].times.size(); ++i)
        p.events.push_back({p.in[f].times[i], f, i});
  std::sort(p.events.begin(), p.events.end(),
            [](const Event &a, const Event &b) {
              return a.time != b.time ? a.time < b.time : a.input < b.input;
            });
  std::vector<int64_t> owner(p.channels.size(), -1);
  for (size_t e = 0; e < p.events.size();) {
    size_t end = e;
    while (end < p.events.size() && p.events[end].time == p.events[e].time)
      ++end;
    p.groupStart.push_back(e);
    std::fill(owner.begin(), owner.end(), -1);
    for (size_t k = e; k < end; ++k)
      for (size_t c : p.inputChannels[p.events[k].input]) {
        if (owner[c] >= 0)
          throw Error(
              "input files overlap: " + inQuotes(p.in[size_t(owner[c])].path) +
              " and " + inQuotes(p.in[p.events[k].input].path) +
              " both have channel " + inQuotes(p.channels[c]) + " at " +
              formatTime(p.events[e].time) +
              "; give each variable and time in one file only");
        owner[c] = int64_t(p.events[k].input);
      }
    for (size_t c = 0; c < p.channels.size(); ++c)
      if (owner[c] < 0)
        throw missingChannel(p, e, c);
    e = end;
  }
  p.steps = p.groupStart.size();
  p.groupStart.push_back(p.events.size());
}

/// /fields' chunks: a whole sample or one channel of it (see the top).
void planChunks(Plan &p, const ImportOptions &options) {
  const int64_t C = int64_t(p.channels.size()), plane = p.nlat * p.nlon;
  const int64_t sampleBytes = C * plane * int64_t(sizeof(float));
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
  p.chunk[0] = 1;
  p.chunk[1] = sampleChunk ? hsize_t(C) : 1;
  p.chunk[2] = hsize_t(p.nlat);
  p.chunk[3] = hsize_t(p.nlon);
  if (options.deflate > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
    throw Error("import: this HDF5 library has no deflate filter; import "
                "with deflate level 0");
}

/// Passes 1 and 2: everything checked before anything is written.
Plan plan(const std::vector<std::string> &inputs,
          const ImportOptions &options) {
  Plan p;
  p.in.reserve(inputs.size());
  for (const auto &path : inputs)
    p.in.push_back(netcdf::scanInput(path));
  checkGrids(p.in);
  p.nlat = int64_t(p.in.front().lat.size());
  p.nlon = int64_t(p.in.front().lon.size());
  const Catalogue cat = catalogue(p.in);
  p.channels = selectChannels(p.in, cat, options);
  planTakes(p);
  sweepTimes(p);
  planChunks(p, options);
  return p;
}

//===----------------------------------------------------------------------===//
// Pass 3: the year files
//===----------------------------------------------------------------------===//

/// Writes the year files, one time step at a time; inputs are opened when
/// first needed and closed after their last time step.
class YearWriter {
public:
  YearWriter(const Plan &p, const ImportOptions &options, ImportSummary &sum)
      : p_(p), options_(options), summary_(sum), open_(p.in.size()),
        lastGroup_(p.in.size(), 0),
        sample_(p.channels.size() * size_t(p.nlat * p.nlon)) {
    for (size_t g = 0; g < p.steps; ++g)
      for (size_t e = p.groupStart[g]; e < p.groupStart[g + 1]; ++e)
        lastGroup_[p.events[e].input] = g;
  }

  /// Time steps [g0, g1) (one calendar year) into `path`.
  void write(size_t g0, size_t g1, const std::string &path);

private:
  void writeFields(hid_t file, size_t g0, size_t g1,
                   std::vector<int64_t> &times, const std::string &path);
  /// Time step g, unpacked from its inputs, into sample_.
  void fillSample(size_t g);
  void unpack(const Input &x, const VarTakes &vt, size_t ti, int64_t t);

  const Plan &p_;
  const ImportOptions &options_;
  ImportSummary &summary_;
  std::vector<NcFile> open_;
  std::vector<size_t> lastGroup_;
  std::vector<float> sample_;
  std::vector<double> buf_;
};

void YearWriter::unpack(const Input &x, const VarTakes &vt, size_t ti,
                        int64_t t) {
  const Var &var = x.vars[vt.var];
  const int64_t plane = p_.nlat * p_.nlon, nlon = p_.nlon;
  for (const Take &tk : vt.takes) {
    const double *src = buf_.data() + (tk.level - vt.lmin) * size_t(plane);
    float *dst = sample_.data() + tk.channel * size_t(plane);
    for (int64_t i = 0; i < plane; ++i) {
      const double raw = src[i];
      bool missing = std::isnan(raw);
      for (double m : var.missing)
        missing |= raw == m;
      double value = raw * var.scale + var.offset;
      if (!missing && !std::isfinite(float(value)))
        missing = true;
      if (missing) {
        if (!options_.fill) {
          const int64_t r = i / nlon, c = i % nlon;
          const Input &first = p_.in.front();
          throw Error(
              "NetCDF file " + inQuotes(x.path) + ": variable " +
              inQuotes(var.name) +
              (var.hasLevels ? " level " + var.levelNames[tk.level] : "") +
              " has a missing value (" +
              (std::isnan(raw)           ? std::string("NaN")
               : var.missingText.empty() ? "not finite after unpacking"
                                         : var.missingText) +
              ") at time index " + std::to_string(ti) + " (" + formatTime(t) +
              "), latitude index " + std::to_string(r) + " (" +
              formatNumber(first.lat[size_t(r)]) + "), longitude index " +
              std::to_string(c) + " (" + formatNumber(first.lon[size_t(c)]) +
              "); ERA5 fields have no gaps, so the file may be incomplete: "
              "re-download it, or set a fill value to replace missing "
              "values");
        }
        value = *options_.fill;
        ++summary_.filled;
      }
      dst[i] = float(value);
    }
  }
}

void YearWriter::fillSample(size_t g) {
  const int64_t plane = p_.nlat * p_.nlon;
  for (size_t e = p_.groupStart[g]; e < p_.groupStart[g + 1]; ++e) {
    const size_t f = p_.events[e].input, ti = p_.events[e].index;
    const Input &x = p_.in[f];
    if (!open_[f].open()) {
      open_[f] = NcFile(x.path);
      for (const VarTakes &vt : p_.takes[f])
        netcdf::tuneChunkCache(open_[f].id(), x.vars[vt.var]);
    }
    for (const VarTakes &vt : p_.takes[f]) {
      const Var &var = x.vars[vt.var];
      const size_t nl = vt.lmax - vt.lmin + 1;
      buf_.resize(nl * size_t(plane));
      const bool levels = var.hasLevels;
      // (time, level, lat, lon) or (time, lat, lon).
      const size_t start[4] = {ti, levels ? vt.lmin : 0, 0, 0};
      const size_t count[4] = {1, levels ? nl : size_t(p_.nlat),
                               levels ? size_t(p_.nlat) : size_t(p_.nlon),
                               size_t(p_.nlon)};
      const int st = nc_get_vara_double(open_[f].id(), var.varid, start, count,
                                        buf_.data());
      if (st != NC_NOERR)
        netcdf::ncFail(x.path,
                       "reading variable " + inQuotes(var.name) +
                           " at time index " + std::to_string(ti),
                       st);
      unpack(x, vt, ti, p_.events[e].time);
    }
    if (lastGroup_[f] == g)
      open_[f].close();
  }
}

void YearWriter::writeFields(hid_t file, size_t g0, size_t g1,
                             std::vector<int64_t> &times,
                             const std::string &path) {
  auto writeFail = [&](const std::string &what) {
    return Error("cannot write " + inQuotes(path) + ": " + what + ": " +
                 h5Reason() +
                 " (is the disk full, or the folder not writable?)");
  };
  const hsize_t C = p_.channels.size(), nlat = hsize_t(p_.nlat),
                nlon = hsize_t(p_.nlon);
  const hsize_t dims[4] = {g1 - g0, C, nlat, nlon};
  Hid space(H5Screate_simple(4, dims, nullptr), H5Sclose);
  Hid dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_obj_track_times(dcpl.get(), false);
  H5Pset_chunk(dcpl.get(), 4, p_.chunk);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  if (options_.deflate > 0) {
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), unsigned(options_.deflate));
  }
  Hid lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Hid ds(H5Dcreate2(file, options_.field.c_str(), H5T_IEEE_F32LE, space.get(),
                    lcpl.get(), dcpl.get(), H5P_DEFAULT),
         H5Dclose);
  if (!ds.valid())
    throw writeFail("creating dataset " + inQuotes(options_.field));
  hdf5::writeStringsAttr(ds.get(), "channels", p_.channels);
  hdf5::writeStringsAttr(ds.get(), "units", p_.units);
  const hsize_t mdims[4] = {1, C, nlat, nlon};
  Hid mspace(H5Screate_simple(4, mdims, nullptr), H5Sclose);
  DiscardOnError discard(file);
  for (size_t g = g0; g < g1; ++g) {
    const int64_t t = p_.events[p_.groupStart[g]].time;
    times.push_back(t);
    fillSample(g);
    const hsize_t at[4] = {hsize_t(g - g0), 0, 0, 0};
    Hid fspace(H5Dget_space(ds.get()), H5Sclose);
    if (H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, at, nullptr, mdims,
                            nullptr) < 0 ||
        H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, mspace.get(), fspace.get(),
                 H5P_DEFAULT, sample_.data()) < 0)
      throw writeFail("time step " + formatTime(t));
  }
}

void YearWriter::write(size_t g0, size_t g1, const std::string &path) {
  AtomicFile out(path);
  const std::string &temp = out.tempPath();
  auto writeFail = [&](const std::string &what) {
    return Error("cannot write " + inQuotes(path) + ": " + what + ": " +
                 h5Reason() +
                 " (is the disk full, or the folder not writable?)");
  };
  std::vector<int64_t> times;
  times.reserve(g1 - g0);
  {
    Hid file(H5Fcreate(temp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
             H5Fclose);
    if (!file.valid())
      throw writeFail("creating " + inQuotes(temp));
    { // every object closed before the file, so its close reports errors
      DiscardOnError discard(file.get());
      writeFields(file.get(), g0, g1, times, path);
      const Input &first = p_.in.front();
      write1d(file.get(), "time", H5T_STD_I64LE, H5T_NATIVE_INT64, times.data(),
              times.size(), "seconds since 1970-01-01 00:00:00 UTC", path);
      write1d(file.get(), "lat", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
              first.lat.data(), first.lat.size(), "degrees_north", path);
      write1d(file.get(), "lon", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
              first.lon.data(), first.lon.size(), "degrees_east", path);
      if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0)
        throw writeFail("flushing " + inQuotes(temp));
    }
    if (!file.close())
      throw writeFail("closing " + inQuotes(temp));
  }
  out.commit();
  summary_.files.push_back(path);
  if (options_.log)
    options_.log("wrote " + path + ": " + std::to_string(times.size()) +
                 " steps " + formatTime(times.front()) + ".." +
                 formatTime(times.back()) + ", " +
                 std::to_string(p_.channels.size()) + " channels");
}

} // namespace

ImportSummary importNetcdf(const std::vector<std::string> &inputs,
                           const std::string &outDir,
                           const ImportOptions &options) {
  hdf5::silenceHdf5();
  checkOptions(inputs, options);
  const Plan p = plan(inputs, options);

  std::error_code ec;
  fs::create_directories(outDir, ec);
  if (ec || !fs::is_directory(outDir))
    throw Error("cannot create output folder " + inQuotes(outDir) + ": " +
                (ec ? ec.message() : "a file of that name exists") +
                "; choose a writable folder");

  ImportSummary summary;
  summary.channels = p.channels;
  summary.chunk.assign(p.chunk, p.chunk + 4);
  summary.steps = int64_t(p.steps);
  YearWriter writer(p, options, summary);
  for (size_t y0 = 0; y0 < p.steps;) {
    const int year = yearOf(p.events[p.groupStart[y0]].time);
    size_t y1 = y0;
    while (y1 < p.steps && yearOf(p.events[p.groupStart[y1]].time) == year)
      ++y1;
    writer.write(y0, y1,
                 (fs::path(outDir) / (std::to_string(year) + ".h5")).string());
    y0 = y1;
  }
  return summary;
}

} // namespace s2s::rt
