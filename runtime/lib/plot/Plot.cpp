//===- Plot.cpp - Maps of one 2-d field as PNG images ---------------------===//
//
// Plain RGB buffers, a 5x7 bitmap font and plot/Png.h (zlib); no Torch. The
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

#include "plot/Png.h"
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

//===----------------------------------------------------------------------===//
// Colour maps
//===----------------------------------------------------------------------===//

using RGB = std::array<uint8_t, 3>;

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

constexpr RGB kWhite = {255, 255, 255};
constexpr RGB kInk = {20, 20, 20};
constexpr RGB kFrame = {0, 0, 0};
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
// A 5x7 bitmap font, printable ASCII (32..126)
//===----------------------------------------------------------------------===//

// Five columns per glyph, left to right; bit 0 is the top row.
constexpr uint8_t kFont[95][5] = {
    {0x00, 0x00, 0x00, 0x00, 0x00}, // ' '
    {0x00, 0x00, 0x5F, 0x00, 0x00}, // !
    {0x00, 0x07, 0x00, 0x07, 0x00}, // "
    {0x14, 0x7F, 0x14, 0x7F, 0x14}, // #
    {0x24, 0x2A, 0x7F, 0x2A, 0x12}, // $
    {0x23, 0x13, 0x08, 0x64, 0x62}, // %
    {0x36, 0x49, 0x55, 0x22, 0x50}, // &
    {0x00, 0x05, 0x03, 0x00, 0x00}, // '
    {0x00, 0x1C, 0x22, 0x41, 0x00}, // (
    {0x00, 0x41, 0x22, 0x1C, 0x00}, // )
    {0x14, 0x08, 0x3E, 0x08, 0x14}, // *
    {0x08, 0x08, 0x3E, 0x08, 0x08}, // +
    {0x00, 0x50, 0x30, 0x00, 0x00}, // ,
    {0x08, 0x08, 0x08, 0x08, 0x08}, // -
    {0x00, 0x60, 0x60, 0x00, 0x00}, // .
    {0x20, 0x10, 0x08, 0x04, 0x02}, // /
    {0x3E, 0x51, 0x49, 0x45, 0x3E}, // 0
    {0x00, 0x42, 0x7F, 0x40, 0x00}, // 1
    {0x42, 0x61, 0x51, 0x49, 0x46}, // 2
    {0x21, 0x41, 0x45, 0x4B, 0x31}, // 3
    {0x18, 0x14, 0x12, 0x7F, 0x10}, // 4
    {0x27, 0x45, 0x45, 0x45, 0x39}, // 5
    {0x3C, 0x4A, 0x49, 0x49, 0x30}, // 6
    {0x01, 0x71, 0x09, 0x05, 0x03}, // 7
    {0x36, 0x49, 0x49, 0x49, 0x36}, // 8
    {0x06, 0x49, 0x49, 0x29, 0x1E}, // 9
    {0x00, 0x36, 0x36, 0x00, 0x00}, // :
    {0x00, 0x56, 0x36, 0x00, 0x00}, // ;
    {0x08, 0x14, 0x22, 0x41, 0x00}, // <
    {0x14, 0x14, 0x14, 0x14, 0x14}, // =
    {0x00, 0x41, 0x22, 0x14, 0x08}, // >
    {0x02, 0x01, 0x51, 0x09, 0x06}, // ?
    {0x32, 0x49, 0x79, 0x41, 0x3E}, // @
    {0x7E, 0x11, 0x11, 0x11, 0x7E}, // A
    {0x7F, 0x49, 0x49, 0x49, 0x36}, // B
    {0x3E, 0x41, 0x41, 0x41, 0x22}, // C
    {0x7F, 0x41, 0x41, 0x22, 0x1C}, // D
    {0x7F, 0x49, 0x49, 0x49, 0x41}, // E
    {0x7F, 0x09, 0x09, 0x09, 0x01}, // F
    {0x3E, 0x41, 0x49, 0x49, 0x7A}, // G
    {0x7F, 0x08, 0x08, 0x08, 0x7F}, // H
    {0x00, 0x41, 0x7F, 0x41, 0x00}, // I
    {0x20, 0x40, 0x41, 0x3F, 0x01}, // J
    {0x7F, 0x08, 0x14, 0x22, 0x41}, // K
    {0x7F, 0x40, 0x40, 0x40, 0x40}, // L
    {0x7F, 0x02, 0x0C, 0x02, 0x7F}, // M
    {0x7F, 0x04, 0x08, 0x10, 0x7F}, // N
    {0x3E, 0x41, 0x41, 0x41, 0x3E}, // O
    {0x7F, 0x09, 0x09, 0x09, 0x06}, // P
    {0x3E, 0x41, 0x51, 0x21, 0x5E}, // Q
    {0x7F, 0x09, 0x19, 0x29, 0x46}, // R
    {0x46, 0x49, 0x49, 0x49, 0x31}, // S
    {0x01, 0x01, 0x7F, 0x01, 0x01}, // T
    {0x3F, 0x40, 0x40, 0x40, 0x3F}, // U
    {0x1F, 0x20, 0x40, 0x20, 0x1F}, // V
    {0x3F, 0x40, 0x38, 0x40, 0x3F}, // W
    {0x63, 0x14, 0x08, 0x14, 0x63}, // X
    {0x07, 0x08, 0x70, 0x08, 0x07}, // Y
    {0x61, 0x51, 0x49, 0x45, 0x43}, // Z
    {0x00, 0x7F, 0x41, 0x41, 0x00}, // [
    {0x02, 0x04, 0x08, 0x10, 0x20}, // backslash
    {0x00, 0x41, 0x41, 0x7F, 0x00}, // ]
    {0x04, 0x02, 0x01, 0x02, 0x04}, // ^
    {0x40, 0x40, 0x40, 0x40, 0x40}, // _
    {0x00, 0x01, 0x02, 0x04, 0x00}, // `
    {0x20, 0x54, 0x54, 0x54, 0x78}, // a
    {0x7F, 0x48, 0x44, 0x44, 0x38}, // b
    {0x38, 0x44, 0x44, 0x44, 0x20}, // c
    {0x38, 0x44, 0x44, 0x48, 0x7F}, // d
    {0x38, 0x54, 0x54, 0x54, 0x18}, // e
    {0x08, 0x7E, 0x09, 0x01, 0x02}, // f
    {0x0C, 0x52, 0x52, 0x52, 0x3E}, // g
    {0x7F, 0x08, 0x04, 0x04, 0x78}, // h
    {0x00, 0x44, 0x7D, 0x40, 0x00}, // i
    {0x20, 0x40, 0x44, 0x3D, 0x00}, // j
    {0x7F, 0x10, 0x28, 0x44, 0x00}, // k
    {0x00, 0x41, 0x7F, 0x40, 0x00}, // l
    {0x7C, 0x04, 0x18, 0x04, 0x78}, // m
    {0x7C, 0x08, 0x04, 0x04, 0x78}, // n
    {0x38, 0x44, 0x44, 0x44, 0x38}, // o
    {0x7C, 0x14, 0x14, 0x14, 0x08}, // p
    {0x08, 0x14, 0x14, 0x18, 0x7C}, // q
    {0x7C, 0x08, 0x04, 0x04, 0x08}, // r
    {0x48, 0x54, 0x54, 0x54, 0x20}, // s
    {0x04, 0x3F, 0x44, 0x40, 0x20}, // t
    {0x3C, 0x40, 0x40, 0x20, 0x7C}, // u
    {0x1C, 0x20, 0x40, 0x20, 0x1C}, // v
    {0x3C, 0x40, 0x30, 0x40, 0x3C}, // w
    {0x44, 0x28, 0x10, 0x28, 0x44}, // x
    {0x0C, 0x50, 0x50, 0x50, 0x3C}, // y
    {0x44, 0x64, 0x54, 0x4C, 0x44}, // z
    {0x00, 0x08, 0x36, 0x41, 0x00}, // {
    {0x00, 0x00, 0x7F, 0x00, 0x00}, // |
    {0x00, 0x41, 0x36, 0x08, 0x00}, // }
    {0x08, 0x04, 0x08, 0x10, 0x08}, // ~
};

//===----------------------------------------------------------------------===//
// An RGB image and drawing
//===----------------------------------------------------------------------===//

struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb; // row major, 3 bytes a pixel

  Image(int w, int h) : width(w), height(h), rgb(size_t(w) * h * 3, 255) {}

  void set(int x, int y, RGB c) {
    if (x < 0 || y < 0 || x >= width || y >= height)
      return;
    uint8_t *p = &rgb[(size_t(y) * width + x) * 3];
    p[0] = c[0];
    p[1] = c[1];
    p[2] = c[2];
  }
  void fill(int x, int y, int w, int h, RGB c) {
    for (int j = y; j < y + h; ++j)
      for (int i = x; i < x + w; ++i)
        set(i, j, c);
  }
  /// A 1-pixel frame just outside the box.
  void frame(const PixelBox &b, RGB c) {
    fill(b.x - 1, b.y - 1, b.width + 2, 1, c);
    fill(b.x - 1, b.y + b.height, b.width + 2, 1, c);
    fill(b.x - 1, b.y, 1, b.height, c);
    fill(b.x + b.width, b.y, 1, b.height, c);
  }
  void blit(const Image &src, int x0, int y0) {
    for (int y = 0; y < src.height; ++y)
      for (int x = 0; x < src.width; ++x) {
        const uint8_t *p = &src.rgb[(size_t(y) * src.width + x) * 3];
        set(x0 + x, y0 + y, {p[0], p[1], p[2]});
      }
  }
};

int textWidth(const std::string &s, int scale) {
  return s.empty() ? 0 : int(s.size()) * 6 * scale - scale;
}

/// Draws `s` with its top-left corner at (x, y); pixels outside the image
/// are dropped.
void drawText(Image &img, int x, int y, const std::string &s, int scale,
              RGB c = kInk) {
  for (char ch : s) {
    int code = static_cast<unsigned char>(ch);
    if (code < 32 || code > 126)
      code = '?';
    const uint8_t *g = kFont[code - 32];
    for (int col = 0; col < 5; ++col)
      for (int row = 0; row < 7; ++row)
        if (g[col] >> row & 1)
          img.fill(x + col * scale, y + row * scale, scale, scale, c);
    x += 6 * scale;
  }
}

//===----------------------------------------------------------------------===//
// Numbers, coordinates, ticks
//===----------------------------------------------------------------------===//

std::string fmtG(double v) {
  char buf[48];
  if (v == 0)
    v = 0; // no "-0"
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

/// A tick label with as many decimals as the tick step needs.
std::string fmtTick(double v, double step) {
  char buf[48];
  if (std::fabs(v) < step * 1e-9)
    v = 0;
  const int decimals = std::max(0, int(-std::floor(std::log10(step) + 1e-9)));
  if (decimals > 6 || std::fabs(v) >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3g", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

double niceStep(double range, int ticks) {
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

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

//===----------------------------------------------------------------------===//
// PNG output
//===----------------------------------------------------------------------===//

/// Writes `img` to `path` atomically.
void writePng(const Image &img, const std::string &path) {
  const std::filesystem::path p(path);
  if (p.filename().empty())
    throw Error("cannot write plot '" + path + "': not a file name");
  const std::string temp =
      (p.parent_path() /
       ("." + p.filename().string() + ".tmp" + std::to_string(::getpid())))
          .string();
  const std::string where = p.parent_path().empty()
                                ? std::string("the current folder")
                                : "folder '" + p.parent_path().string() + "'";
  const std::string bytes = encodePng(img.rgb.data(), img.width, img.height);
  FILE *fp = std::fopen(temp.c_str(), "wb");
  if (!fp)
    throw Error("cannot write plot '" + path + "': " + std::strerror(errno) +
                " (creating a file in " + where +
                "; check that it exists and is writable)");
  errno = 0;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size() &&
            std::fflush(fp) == 0 && ::fsync(::fileno(fp)) == 0;
  std::string reason = ok ? "" : std::strerror(errno ? errno : EIO);
  if (std::fclose(fp) != 0 && ok) {
    ok = false;
    reason = std::strerror(errno);
  }
  if (ok && std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(temp.c_str());
    throw Error("cannot write plot '" + path + "': renaming " + inQuotes(temp) +
                " over it failed: " + why);
  }
  if (!ok) {
    std::remove(temp.c_str());
    throw Error("cannot write plot '" + path + "': " + reason +
                " (is the disk full, or " + where + " not writable?)");
  }
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
