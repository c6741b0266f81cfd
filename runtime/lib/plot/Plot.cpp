//===- Plot.cpp - Maps of one 2-d field as PNG images ---------------------===//
//
// Drawn on plot/Canvas.h (RGB buffers, a bitmap font, PNG); no Torch. The
// layout of one panel (every size in pixels, s = the text scale, 2 for maps at
// least 384 pixels wide, else 1; a character cell is 6s x 7s):
//
//   pad | title                                                   | pad
//   lat labels, ticks | map (nlon*k x nlat*k, framed) | gap | colour bar,
//                       ticks, 10 characters of tick labels | pad
//   lon ticks and labels                              units (below the bar)
//   min ... max ... mean ...
//
// The layout depends on the grid and the text scale only, never on the
// values, so all panels of a triptych have the same size and the same map
// and bar positions.
//
//===----------------------------------------------------------------------===//

#include "plot/Plot.h"

#include "plot/Canvas.h"
#include "s2s/runtime/Error.h"
#include "support/Grid.h"
#include "support/Text.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <unistd.h>

namespace s2s::rt {

namespace {

using namespace canvas;

//===----------------------------------------------------------------------===//
// Colour maps
//===----------------------------------------------------------------------===//

// Viridis at 9 equally spaced points (the published hex values of
// viridis(9)); linear interpolation in between stays close to the original
// 256-entry table and keeps its monotone lightness.
constexpr RGB kViridis[] = {
    {0x44, 0x01, 0x54}, {0x47, 0x2D, 0x7B}, {0x3B, 0x52, 0x8B},
    {0x2C, 0x72, 0x8E}, {0x21, 0x90, 0x8C}, {0x27, 0xAD, 0x81},
    {0x5D, 0xC8, 0x63}, {0xAA, 0xDC, 0x32}, {0xFD, 0xE7, 0x25}};

// ColorBrewer RdBu (11 classes), reversed: blue for negative, red for
// positive, near-white in the middle.
constexpr RGB kDiverging[] = {
    {0x05, 0x30, 0x61}, {0x21, 0x66, 0xAC}, {0x43, 0x93, 0xC3},
    {0x92, 0xC5, 0xDE}, {0xD1, 0xE5, 0xF0}, {0xF7, 0xF7, 0xF7},
    {0xFD, 0xDB, 0xC7}, {0xF4, 0xA5, 0x82}, {0xD6, 0x60, 0x4D},
    {0xB2, 0x18, 0x2B}, {0x67, 0x00, 0x1F}};

constexpr RGB kNoData = {150, 150, 150};

template <size_t N> RGB interpolate(const RGB (&table)[N], double t) {
  if (!(t > 0)) // also NaN
    return table[0];
  if (t >= 1)
    return table[N - 1];
  const double pos = t * double(N - 1);
  const auto i = static_cast<size_t>(pos);
  if (i >= N - 1)
    return table[N - 1];
  const double f = pos - double(i);
  RGB c{};
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<uint8_t>(
        std::lround(table[i][k] + f * (double(table[i + 1][k]) - table[i][k])));
  return c;
}

//===----------------------------------------------------------------------===//
// Numbers, coordinates, ticks
//===----------------------------------------------------------------------===//

/// The fractional index at which the monotone `coords` reach `v`
/// (extrapolated at most half a cell beyond the ends), or NaN.
double fractionalIndex(const std::vector<double> &coords, double v) {
  const size_t n = coords.size();
  if (n < 2)
    return std::numeric_limits<double>::quiet_NaN();
  const bool up = coords[n - 1] > coords[0];
  for (size_t i = 0; i + 1 < n; ++i)
    if ((coords[i + 1] > coords[i]) != up || coords[i + 1] == coords[i])
      return std::numeric_limits<double>::quiet_NaN(); // not monotone
  auto seg = [&](size_t i) {
    return double(i) + (v - coords[i]) / (coords[i + 1] - coords[i]);
  };
  double idx;
  if (up ? v <= coords[0] : v >= coords[0])
    idx = seg(0);
  else if (up ? v >= coords[n - 1] : v <= coords[n - 1])
    idx = seg(n - 2);
  else {
    size_t i = 0;
    while (i + 2 < n && (up ? v > coords[i + 1] : v < coords[i + 1]))
      ++i;
    idx = seg(i);
  }
  if (idx < -0.5 || idx > double(n) - 0.5)
    return std::numeric_limits<double>::quiet_NaN();
  return idx;
}

std::string latLabel(double v) {
  const long d = std::lround(v);
  if (d == 0)
    return "0";
  return std::to_string(std::labs(d)) + (d > 0 ? "N" : "S");
}

std::string lonLabel(double v) {
  double x = std::fmod(v, 360.0);
  if (x > 180)
    x -= 360;
  if (x <= -180)
    x += 360;
  const long d = std::lround(x);
  if (d == 0)
    return "0";
  if (d == 180 || d == -180)
    return "180";
  return std::to_string(std::labs(d)) + (d > 0 ? "E" : "W");
}

/// Axis ticks: coordinate values (multiples of a step) and their pixel
/// offsets along a map side of `cells` cells of `k` pixels; the smallest
/// step whose ticks are at least `minSpacing` pixels apart.
std::vector<std::pair<double, int>> axisTicks(const std::vector<double> &coords,
                                              int k, int minSpacing) {
  static constexpr double kSteps[] = {1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 180};
  std::vector<std::pair<double, int>> out;
  if (coords.size() < 2)
    return out;
  const double lo = std::min(coords.front(), coords.back());
  const double hi = std::max(coords.front(), coords.back());
  const double pixelsPerDegree =
      double(k) * double(coords.size() - 1) / std::max(hi - lo, 1e-9);
  for (double step : kSteps) {
    if (step * pixelsPerDegree < minSpacing && step != 180)
      continue;
    for (double v = std::ceil((lo - 1e-9) / step) * step; v <= hi + 1e-9;
         v += step) {
      const double idx = fractionalIndex(coords, v);
      if (std::isnan(idx))
        continue;
      out.push_back({v, int(std::lround((idx + 0.5) * k - 0.5))});
    }
    break;
  }
  return out;
}

//===----------------------------------------------------------------------===//
// One panel
//===----------------------------------------------------------------------===//

struct Layout {
  int scale = 1; // pixels per grid cell
  int text = 1;  // text scale
  int width = 0, height = 0;
  PixelBox map, bar;
};

constexpr int kPad = 10;
constexpr int kTick = 4;
constexpr int kBarLabelChars = 10;

Layout layoutFor(int64_t nlat, int64_t nlon, int minWidth) {
  Layout l;
  l.scale =
      int(std::max<int64_t>(1, (std::max(minWidth, 1) + nlon - 1) / nlon));
  const int W = int(nlon) * l.scale, H = int(nlat) * l.scale;
  l.text = W >= 384 ? 2 : 1;
  const int cw = 6 * l.text, ch = 7 * l.text;
  const int top = kPad + ch + kPad;
  const int left = kPad + 3 * cw + kTick + 4;
  l.map = {left, top, W, H};
  const int barH = std::max(H, 8 * ch);
  l.bar = {left + W + 1 + 14, top, 16, barH};
  l.width = l.bar.x + l.bar.width + 1 + kTick + 4 + kBarLabelChars * cw + kPad;
  const int body = std::max(H, barH);
  l.height = top + body + 1 + kTick + 4 + ch + kPad + ch + kPad;
  return l;
}

struct Range {
  double lo, hi;
};

/// The colour range of `values` under `opt` (finite values only).
Range rangeOf(const std::vector<const float *> &fields, size_t n,
              ColorMap colors, const PlotOptions &opt) {
  if (opt.vmin.has_value() != opt.vmax.has_value())
    throw Error("plot: give both ends of the colour range (vmin and vmax) or "
                "neither");
  if (opt.vmin) {
    if (!(std::isfinite(*opt.vmin) && std::isfinite(*opt.vmax) &&
          *opt.vmin < *opt.vmax))
      throw Error("plot: the colour range " + fmtG(*opt.vmin) + ".." +
                  fmtG(*opt.vmax) +
                  " is empty or not finite; give vmin < vmax");
    return {*opt.vmin, *opt.vmax};
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const float *f : fields)
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(f[i])) {
        lo = std::min(lo, double(f[i]));
        hi = std::max(hi, double(f[i]));
      }
  if (lo > hi) // nothing finite
    return {0, 1};
  if (opt.symmetric || colors == ColorMap::Diverging) {
    const double m = std::max(std::fabs(lo), std::fabs(hi));
    return m > 0 ? Range{-m, m} : Range{-1, 1};
  }
  if (lo == hi) {
    const double d = lo == 0 ? 1.0 : std::fabs(lo) * 0.01;
    return {lo - d, hi + d};
  }
  return {lo, hi};
}

struct PanelSpec {
  const float *values;
  int64_t nlat, nlon;
  const std::vector<double> *lat, *lon;
  std::string title, units;
  ColorMap colors;
  Range range;
  Upscale upscale;
};

Image drawPanel(const PanelSpec &p, const Layout &l) {
  Image img(l.width, l.height);
  const int k = l.scale, ts = l.text, ch = 7 * ts, cw = 6 * ts;
  const int64_t nlat = p.nlat, nlon = p.nlon;
  const double lo = p.range.lo, hi = p.range.hi;
  auto colour = [&](double v) {
    return std::isfinite(v) ? colorOf(p.colors, (v - lo) / (hi - lo)) : kNoData;
  };

  // Title.
  drawText(img, kPad, kPad, p.title, ts);

  // The map.
  const std::vector<double> &lon = *p.lon;
  const bool periodic =
      nlon > 1 && std::fabs(lon[nlon - 1] - lon[0] + (lon[1] - lon[0]) -
                            360.0) < 1e-6 + 0.01 * std::fabs(lon[1] - lon[0]);
  const float *v = p.values;
  for (int y = 0; y < l.map.height; ++y)
    for (int x = 0; x < l.map.width; ++x) {
      double val;
      if (p.upscale == Upscale::Nearest || k == 1) {
        val = v[(y / k) * nlon + x / k];
      } else {
        const double fy =
            std::clamp((y + 0.5) / k - 0.5, 0.0, double(nlat - 1));
        double fx = (x + 0.5) / k - 0.5;
        if (!periodic)
          fx = std::clamp(fx, 0.0, double(nlon - 1));
        const int64_t y0 = std::min<int64_t>(int64_t(fy), nlat - 1);
        const int64_t y1 = std::min<int64_t>(y0 + 1, nlat - 1);
        const int64_t xf = int64_t(std::floor(fx));
        const int64_t x0 = ((xf % nlon) + nlon) % nlon;
        const int64_t x1 =
            periodic ? (x0 + 1) % nlon : std::min<int64_t>(x0 + 1, nlon - 1);
        const double wy = fy - double(y0), wx = fx - double(xf);
        const double a = v[y0 * nlon + x0], b = v[y0 * nlon + x1],
                     c = v[y1 * nlon + x0], d = v[y1 * nlon + x1];
        val = (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * c + wx * d);
        if (!std::isfinite(val)) // a non-finite neighbour: the nearest cell
          val = v[(y / k) * nlon + x / k];
      }
      img.set(l.map.x + x, l.map.y + y, colour(val));
    }
  img.frame(l.map, kFrame);

  // Latitude ticks (left) and longitude ticks (below).
  for (const auto &[deg, off] : axisTicks(*p.lat, k, 3 * ch)) {
    const int y = l.map.y + off;
    img.fill(l.map.x - 1 - kTick, y, kTick, 1, kFrame);
    const std::string s = latLabel(deg);
    drawText(img, l.map.x - 1 - kTick - 3 - textWidth(s, ts), y - ch / 2, s,
             ts);
  }
  const int below = l.map.y + l.map.height + 1;
  for (const auto &[deg, off] : axisTicks(lon, k, 6 * cw)) {
    const int x = l.map.x + off;
    img.fill(x, below, 1, kTick, kFrame);
    const std::string s = lonLabel(deg);
    drawText(img, x - textWidth(s, ts) / 2, below + kTick + 3, s, ts);
  }

  // The colour bar: top row = hi, bottom row = lo.
  const PixelBox &bar = l.bar;
  for (int y = 0; y < bar.height; ++y) {
    const double t = bar.height > 1 ? 1.0 - double(y) / (bar.height - 1) : 1.0;
    img.fill(bar.x, bar.y + y, bar.width, 1, colorOf(p.colors, t));
  }
  img.frame(bar, kFrame);
  const int labelX = bar.x + bar.width + 1 + kTick + 3;
  auto barY = [&](double value) {
    return bar.y +
           int(std::lround((hi - value) / (hi - lo) * (bar.height - 1)));
  };
  auto barLabel = [&](int y, const std::string &s) {
    img.fill(bar.x + bar.width + 1, y, kTick, 1, kFrame);
    const int top = std::clamp(y - ch / 2, bar.y - ch / 2, img.height - ch);
    drawText(img, labelX, top, s, ts);
  };
  barLabel(bar.y, fmtG(hi));
  barLabel(bar.y + bar.height - 1, fmtG(lo));
  const double step = niceStep(hi - lo, 4);
  for (double t = std::ceil(lo / step) * step; t < hi; t += step) {
    const int y = barY(t);
    if (y - bar.y < ch + 3 || bar.y + bar.height - 1 - y < ch + 3)
      continue; // would overlap an end label
    barLabel(y, fmtTick(t, step));
  }
  drawText(img, bar.x, below + kTick + 3, p.units, ts);

  // Summary line.
  double mn = std::numeric_limits<double>::infinity(), mx = -mn, sum = 0;
  int64_t finite = 0;
  const int64_t n = nlat * nlon;
  for (int64_t i = 0; i < n; ++i)
    if (std::isfinite(v[i])) {
      mn = std::min(mn, double(v[i]));
      mx = std::max(mx, double(v[i]));
      sum += v[i];
      ++finite;
    }
  std::string summary = finite ? "min " + fmtG(mn) + "  max " + fmtG(mx) +
                                     "  mean " + fmtG(sum / double(finite))
                               : std::string("no finite values");
  if (finite < n)
    summary += "  (" + std::to_string(n - finite) + " not finite)";
  drawText(img, kPad, below + kTick + 3 + ch + kPad, summary, ts);
  return img;
}

void checkField(const Field2D &f, const char *what) {
  if (!f.values || f.nlat <= 0 || f.nlon <= 0)
    throw Error(std::string("plot: the ") + what +
                " field is empty (no values or a zero-sized grid)");
  if (!f.lat.empty() && int64_t(f.lat.size()) != f.nlat)
    throw Error(std::string("plot: the ") + what + " field has " +
                std::to_string(f.nlat) + " latitude rows but " +
                std::to_string(f.lat.size()) + " latitudes");
  if (!f.lon.empty() && int64_t(f.lon.size()) != f.nlon)
    throw Error(std::string("plot: the ") + what + " field has " +
                std::to_string(f.nlon) + " longitude columns but " +
                std::to_string(f.lon.size()) + " longitudes");
}

PanelInfo infoOf(const Layout &l, int x0, int y0, const Range &r,
                 ColorMap colors) {
  PanelInfo p;
  p.map = {l.map.x + x0, l.map.y + y0, l.map.width, l.map.height};
  p.bar = {l.bar.x + x0, l.bar.y + y0, l.bar.width, l.bar.height};
  p.vmin = r.lo;
  p.vmax = r.hi;
  p.colors = colors;
  p.scale = l.scale;
  return p;
}

} // namespace

std::array<uint8_t, 3> colorOf(ColorMap map, double t) {
  return map == ColorMap::Diverging ? interpolate(kDiverging, t)
                                    : interpolate(kViridis, t);
}

PlotInfo plotField(const Field2D &field, const std::string &path,
                   const PlotOptions &options) {
  checkField(field, "plotted");
  const std::vector<double> lat =
      field.lat.empty() ? defaultLatitudes(field.nlat) : field.lat;
  const std::vector<double> lon =
      field.lon.empty() ? defaultLongitudes(field.nlon) : field.lon;
  const Layout l = layoutFor(field.nlat, field.nlon, options.minWidth);
  const Range r = rangeOf({field.values}, size_t(field.nlat * field.nlon),
                          options.colors, options);
  const PanelSpec spec{
      field.values,  field.nlat,    field.nlon,     &lat, &lon,
      options.title, options.units, options.colors, r,    options.upscale};
  const Image img = drawPanel(spec, l);
  writePng(img, path);
  PlotInfo info;
  info.width = img.width;
  info.height = img.height;
  info.panels.push_back(infoOf(l, 0, 0, r, options.colors));
  return info;
}

PlotInfo plotTriptych(const Field2D &truth, const Field2D &prediction,
                      const std::string &path, const PlotOptions &options) {
  checkField(truth, "truth");
  checkField(prediction, "prediction");
  if (prediction.nlat != truth.nlat || prediction.nlon != truth.nlon)
    throw Error(
        "plot: the prediction's grid (" + std::to_string(prediction.nlat) +
        "x" + std::to_string(prediction.nlon) + ") differs from the truth's (" +
        std::to_string(truth.nlat) + "x" + std::to_string(truth.nlon) + ")");
  const std::vector<double> lat =
      truth.lat.empty() ? defaultLatitudes(truth.nlat) : truth.lat;
  const std::vector<double> lon =
      truth.lon.empty() ? defaultLongitudes(truth.nlon) : truth.lon;
  const size_t n = size_t(truth.nlat * truth.nlon);
  std::vector<float> error(n);
  for (size_t i = 0; i < n; ++i)
    error[i] = prediction.values[i] - truth.values[i];

  const Layout l = layoutFor(truth.nlat, truth.nlon, options.minWidth);
  const Range shared =
      rangeOf({truth.values, prediction.values}, n, options.colors, options);
  PlotOptions errOpt;
  errOpt.colors = ColorMap::Diverging;
  const Range errRange =
      rangeOf({error.data()}, n, ColorMap::Diverging, errOpt);

  const int ch = 7 * l.text;
  const int header = options.title.empty() ? 0 : kPad + ch + 4;
  Image img(3 * l.width, header + l.height);
  drawText(img, kPad, kPad, options.title, l.text);
  const PanelSpec specs[3] = {
      {truth.values, truth.nlat, truth.nlon, &lat, &lon, "truth", options.units,
       options.colors, shared, options.upscale},
      {prediction.values, truth.nlat, truth.nlon, &lat, &lon, "prediction",
       options.units, options.colors, shared, options.upscale},
      {error.data(), truth.nlat, truth.nlon, &lat, &lon,
       "error (prediction - truth)", options.units, ColorMap::Diverging,
       errRange, options.upscale}};
  PlotInfo info;
  for (int i = 0; i < 3; ++i) {
    img.blit(drawPanel(specs[i], l), i * l.width, header);
    info.panels.push_back(
        infoOf(l, i * l.width, header, specs[i].range, specs[i].colors));
  }
  writePng(img, path);
  info.width = img.width;
  info.height = img.height;
  return info;
}

} // namespace s2s::rt
