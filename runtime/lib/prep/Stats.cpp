//===- Stats.cpp - Per-channel statistics, streamed; file summaries -------===//
//
// computeStats reads one time slice at a time and combines per-slice means
// and sums of squared deviations (Chan et al.'s parallel update, in double),
// so memory stays one sample whatever the size of the data set.
//
//===----------------------------------------------------------------------===//

#include "prep/Stats.h"

#include "hdf5/Hdf5.h"
#include "hdf5/Samples.h"
#include "s2s/runtime/Error.h"
#include "support/AtomicFile.h"
#include "support/Calendar.h"
#include "support/Grid.h"
#include "support/Text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

namespace s2s::rt {

using namespace hdf5;

namespace {

/// Running per-channel moments.
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  int64_t nonFinite = 0;
  int64_t firstBadT = -1;

  /// Adds `count` values (non-finite ones are counted apart).
  void add(const float *v, int64_t count, int64_t t) {
    double s = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < count; ++i)
      if (std::isfinite(v[i])) {
        s += v[i];
        ++k;
      } else {
        if (firstBadT < 0)
          firstBadT = t;
        ++nonFinite;
      }
    if (k == 0)
      return;
    const double bm = s / double(k);
    double bm2 = 0, lo = min, hi = max;
    for (int64_t i = 0; i < count; ++i)
      if (std::isfinite(v[i])) {
        const double d = double(v[i]) - bm;
        bm2 += d * d;
        lo = std::min(lo, double(v[i]));
        hi = std::max(hi, double(v[i]));
      }
    min = lo;
    max = hi;
    const double nb = double(k), nt = n + nb, delta = bm - mean;
    mean += delta * nb / nt;
    m2 += bm2 + delta * delta * n * nb / nt;
    n = nt;
  }
  double std() const { return n > 0 ? std::sqrt(m2 / n) : 0.0; }
};

} // namespace

void computeStatsFiles(const std::vector<FileMeta> &files,
                       const std::string &field, const YearRange &years,
                       const std::string &out, const std::string &source) {
  silenceHdf5();
  if (files.empty())
    throw Error("no data files to compute statistics over (" + source + ")");
  const FileMeta &f0 = files.front();
  const int64_t C = f0.nc, plane = f0.nlat * f0.nlon;
  std::vector<int64_t> chans(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c)
    chans[size_t(c)] = c;
  std::vector<Moments> mom(static_cast<size_t>(C));
  std::vector<float> slice(static_cast<size_t>(C * plane));
  int64_t samples = 0;
  for (const auto &m : files) {
    Hid file;
    Hid ds;
    for (int64_t t = 0; t < m.nt; ++t) {
      if (!years.empty() && !years.contains(yearOf(m.times[size_t(t)])))
        continue;
      if (!ds.valid()) {
        file = openFile(m.path, "data");
        ds = Hid(H5Dopen2(file.get(), field.c_str(), H5P_DEFAULT), H5Dclose);
        if (!ds.valid())
          throw Error("file '" + m.path + "': cannot read dataset '" + field +
                      "': " + h5Reason());
      }
      readSamples(m, ds.get(), t, 1, chans, slice.data());
      for (int64_t c = 0; c < C; ++c)
        mom[size_t(c)].add(slice.data() + c * plane, plane, t);
      ++samples;
    }
  }
  if (samples == 0)
    throw Error("no samples of " + source + " fall in the years " +
                formatYears(years.first, years.last) + " (the files cover " +
                formatYears(yearOf(f0.times.front()),
                            yearOf(files.back().times.back())) +
                "); choose years the data covers");

  std::vector<double> mean, sd, lo, hi;
  for (const auto &m : mom) {
    mean.push_back(m.mean);
    sd.push_back(m.std());
    lo.push_back(m.min);
    hi.push_back(m.max);
  }
  AtomicFile af(out);
  {
    Hid f(H5Fcreate(af.tempPath().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT,
                    H5P_DEFAULT),
          H5Fclose);
    if (!f.valid())
      throw Error("cannot create stats file '" + out + "': " + h5Reason() +
                  "; check that its folder exists and is writable");
    const std::pair<const char *, const std::vector<double> *> sets[] = {
        {"mean", &mean}, {"std", &sd}, {"min", &lo}, {"max", &hi}};
    for (const auto &[name, v] : sets) {
      writeDoubles(f.get(), name, *v);
      Hid d(H5Dopen2(f.get(), name, H5P_DEFAULT), H5Dclose);
      writeStringsAttr(d.get(), "channels", f0.channels);
    }
    writeStringsAttr(f.get(), "source", {source});
    writeStringsAttr(f.get(), "years",
                     {years.empty() ? std::string("all")
                                    : formatYears(years.first, years.last)});
    writeDoubles(f.get(), "samples", {double(samples)});
    if (H5Fflush(f.get(), H5F_SCOPE_GLOBAL) < 0)
      throw Error("cannot write stats file '" + out + "': " + h5Reason());
  }
  af.commit();
}

void computeStats(const std::string &pattern, const std::string &field,
                  const YearRange &years, const std::string &out) {
  silenceHdf5();
  if (out.empty())
    throw Error("no output file given for the statistics");
  auto files = scanFiles(pattern, field);
  computeStatsFiles(files, field, years, out, "'" + pattern + "'");
}

//===----------------------------------------------------------------------===//
// inspect
//===----------------------------------------------------------------------===//

namespace {

std::string shapeText(const std::vector<int64_t> &d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i)
    s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

std::string table(const std::vector<std::string> &names,
                  const std::vector<std::string> &heads,
                  const std::vector<std::vector<std::string>> &cols) {
  size_t w0 = 7;
  for (const auto &n : names)
    w0 = std::max(w0, n.size());
  std::ostringstream os;
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-*s", int(w0), "channel");
  os << buf;
  for (const auto &h : heads) {
    std::snprintf(buf, sizeof buf, " %13s", h.c_str());
    os << buf;
  }
  os << "\n";
  for (size_t c = 0; c < names.size(); ++c) {
    std::snprintf(buf, sizeof buf, "  %-*s", int(w0), names[c].c_str());
    os << buf;
    for (const auto &col : cols) {
      std::snprintf(buf, sizeof buf, " %13s", col[c].c_str());
      os << buf;
    }
    os << "\n";
  }
  return os.str();
}

} // namespace

std::string inspectFile(const std::string &path, const std::string &field) {
  silenceHdf5();
  FileMeta m = readMeta(path, field);
  std::ostringstream os;
  os << "file '" << path << "'\n";
  if (m.isStats) {
    Hid file = openFile(path, "stats");
    os << "  stats file (no '" << field << "' dataset)\n";
    std::optional<std::vector<std::string>> chans;
    {
      Hid d(H5Dopen2(file.get(), "mean", H5P_DEFAULT), H5Dclose);
      if (d.valid())
        chans = readStringsAttr(d.get(), "channels",
                                "stats file '" + path + "', dataset 'mean'");
    }
    std::vector<std::string> heads;
    std::vector<std::vector<std::string>> cols;
    size_t n = 0;
    for (const char *ds : {"mean", "std", "min", "max"}) {
      auto v = readDoubles(file.get(), ds, path);
      if (!v)
        continue;
      heads.push_back(ds);
      std::vector<std::string> col;
      for (double x : *v)
        col.push_back(formatNumber(x));
      n = std::max(n, col.size());
      cols.push_back(std::move(col));
    }
    for (auto &col : cols)
      col.resize(n, "-");
    std::vector<std::string> names =
        chans ? *chans : std::vector<std::string>();
    names.resize(n, "?");
    if (auto y =
            readStringsAttr(file.get(), "years", "stats file '" + path + "'"))
      if (!y->empty())
        os << "  years: " << y->front() << "\n";
    if (auto s =
            readStringsAttr(file.get(), "source", "stats file '" + path + "'"))
      if (!s->empty())
        os << "  source: " << s->front() << "\n";
    os << table(names, heads, cols);
    return os.str();
  }

  os << "  /" << field << "  " << m.typeName << " "
     << shapeText({m.nt, m.nc, m.nlat, m.nlon})
     << "  [time, channel, lat, lon]\n";
  os << "    chunks: "
     << (m.chunk.empty() ? std::string("none (contiguous)")
                         : shapeText(m.chunk))
     << "\n";
  os << "    channels: " << join(m.channels) << "\n";
  os << "  /time  " << m.nt << " samples, " << formatTime(m.times.front())
     << " .. " << formatTime(m.times.back());
  if (m.nt > 1) {
    std::map<int64_t, int64_t> gaps;
    for (size_t i = 1; i < m.times.size(); ++i)
      ++gaps[m.times[i] - m.times[i - 1]];
    const int64_t spacing = gaps.begin()->first;
    os << ", step " << formatDuration(spacing);
    int64_t other = 0;
    for (const auto &[d, k] : gaps)
      if (d != spacing)
        other += k;
    if (other)
      os << " (" << other << " longer gaps)";
  }
  os << "\n";
  auto coordLine = [&](const char *name, const std::vector<double> &v,
                       int64_t n) {
    os << "  /" << name << "   ";
    if (v.empty())
      os << "absent (default "
         << formatNumber(name[1] == 'a' ? defaultLatitudes(n).front()
                                        : defaultLongitudes(n).front())
         << " .. "
         << formatNumber(name[1] == 'a' ? defaultLatitudes(n).back()
                                        : defaultLongitudes(n).back())
         << ")\n";
    else
      os << n << " values, " << formatNumber(v.front()) << " .. "
         << formatNumber(v.back()) << "\n";
  };
  coordLine("lat", m.lat, m.nlat);
  coordLine("lon", m.lon, m.nlon);

  Hid file = openFile(path, "data");
  Hid ds(H5Dopen2(file.get(), field.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid())
    throw Error("file '" + path + "': cannot read dataset '" + field +
                "': " + h5Reason());
  const int64_t C = m.nc, plane = m.nlat * m.nlon;
  std::vector<int64_t> chans(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c)
    chans[size_t(c)] = c;
  std::vector<float> slice(static_cast<size_t>(C * plane));
  std::vector<Moments> mom(static_cast<size_t>(C));
  for (int64_t t = 0; t < m.nt; ++t) {
    readSamples(m, ds.get(), t, 1, chans, slice.data(), false);
    for (int64_t c = 0; c < C; ++c)
      mom[size_t(c)].add(slice.data() + c * plane, plane, t);
  }
  std::vector<std::vector<std::string>> cols(5);
  bool bad = false;
  for (const auto &mm : mom) {
    const bool any = mm.n > 0;
    cols[0].push_back(any ? formatNumber(mm.min) : "-");
    cols[1].push_back(any ? formatNumber(mm.mean) : "-");
    cols[2].push_back(any ? formatNumber(mm.max) : "-");
    cols[3].push_back(any ? formatNumber(mm.std()) : "-");
    cols[4].push_back(std::to_string(mm.nonFinite));
    bad |= mm.nonFinite > 0;
  }
  os << table(m.channels, {"min", "mean", "max", "std", "non-finite"}, cols);
  if (bad)
    for (int64_t c = 0; c < C; ++c)
      if (mom[size_t(c)].nonFinite)
        os << "  channel '" << m.channels[size_t(c)]
           << "': first non-finite value at time index "
           << mom[size_t(c)].firstBadT << " ("
           << formatTime(m.times[size_t(mom[size_t(c)].firstBadT)]) << ")\n";
  return os.str();
}

} // namespace s2s::rt
