//===- Chart.cpp - Line charts as PNG images ------------------------------===//

#include "plot/Chart.h"

#include "plot/Canvas.h"
#include "s2s/runtime/Error.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace s2s::rt {

namespace {

using namespace canvas;

// Tableau's first colours: distinct, and readable on white.
constexpr RGB kLineColors[] = {{0x1F, 0x77, 0xB4}, {0xFF, 0x7F, 0x0E},
                               {0x2C, 0xA0, 0x2C}, {0xD6, 0x27, 0x28},
                               {0x94, 0x67, 0xBD}, {0x8C, 0x56, 0x4B}};
constexpr RGB kGridLine = {225, 225, 225};

constexpr int kPanelW = 400, kPanelH = 260, kLeft = 64, kRight = 12, kTop = 22,
              kBottom = 34;

/// A 2-pixel line from (x0, y0) to (x1, y1) (Bresenham).
void drawLine(Image &img, int x0, int y0, int x1, int y1, RGB c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int err = dx + dy;;) {
    img.fill(x0, y0, 2, 2, c);
    if (x0 == x1 && y0 == y1)
      return;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

struct Axis {
  double lo = 0, hi = 1;
  int pixel0 = 0, pixels = 1; ///< lo at pixel0, hi at pixel0 + pixels
  int at(double v) const {
    return pixel0 + int(std::lround((v - lo) / (hi - lo) * pixels));
  }
};

/// The finite range of the panel's values, widened when flat.
Axis valueAxis(const ChartPanel &p) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series &s : p.series)
    for (double v : s.y)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  if (!(lo <= hi))
    return {0, 1};
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {
    lo -= 0.5 * std::max(1e-6, std::fabs(lo));
    hi += 0.5 * std::max(1e-6, std::fabs(hi));
  }
  const double pad = 0.05 * (hi - lo);
  return {lo - pad, hi + pad};
}

void drawPanel(Image &img, int x0, int y0, const std::vector<double> &x,
               const std::string &xlabel, const ChartPanel &p) {
  const PixelBox box{x0 + kLeft, y0 + kTop, kPanelW - kLeft - kRight,
                     kPanelH - kTop - kBottom};
  drawText(img, x0 + kLeft, y0 + 6, p.title, 1);
  Axis ya = valueAxis(p);
  ya.pixel0 = box.y + box.height - 1;
  ya.pixels = -(box.height - 1);
  Axis xa{x.front(), x.back() > x.front() ? x.back() : x.front() + 1, box.x + 4,
          box.width - 9};
  const double ystep = niceStep(ya.hi - ya.lo, 5);
  for (double v = std::ceil(ya.lo / ystep) * ystep; v <= ya.hi; v += ystep) {
    const int y = ya.at(v);
    img.fill(box.x, y, box.width, 1, kGridLine);
    const std::string t = fmtTick(v, ystep);
    drawText(img, box.x - 4 - textWidth(t, 1), y - 3, t, 1);
  }
  const double xstep = niceStep(xa.hi - xa.lo, 6);
  for (double v = std::ceil(xa.lo / xstep) * xstep; v <= xa.hi + 1e-9;
       v += xstep) {
    const int xp = xa.at(v);
    img.fill(xp, box.y + box.height, 1, 4, kFrame);
    const std::string t = fmtTick(v, xstep);
    drawText(img, xp - textWidth(t, 1) / 2, box.y + box.height + 6, t, 1);
  }
  drawText(img, box.x + box.width - textWidth(xlabel, 1),
           box.y + box.height + 18, xlabel, 1);
  img.frame(box, kFrame);
  for (size_t s = 0; s < p.series.size(); ++s) {
    const RGB c = kLineColors[s % (sizeof kLineColors / sizeof *kLineColors)];
    const std::vector<double> &y = p.series[s].y;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(y[i]))
        continue;
      const int px = xa.at(x[i]), py = ya.at(y[i]);
      img.fill(px - 2, py - 2, 5, 5, c);
      if (i > 0 && std::isfinite(y[i - 1]))
        drawLine(img, xa.at(x[i - 1]), ya.at(y[i - 1]), px, py, c);
    }
    // Legend, top right, one line per series.
    const std::string &label = p.series[s].label;
    const int lx = box.x + box.width - textWidth(label, 1) - 22,
              ly = box.y + 6 + int(s) * 10;
    img.fill(lx, ly + 2, 12, 3, c);
    drawText(img, lx + 16, ly, label, 1);
  }
}

} // namespace

ChartInfo plotLines(const std::vector<double> &x, const std::string &xlabel,
                    const std::vector<ChartPanel> &panels, int columns,
                    const std::string &title, const std::string &path) {
  if (x.empty() || panels.empty() || columns < 1)
    throw Error("cannot draw '" + path + "': no values (" +
                std::to_string(x.size()) + " x values, " +
                std::to_string(panels.size()) + " panels)");
  for (const ChartPanel &p : panels)
    for (const Series &s : p.series)
      if (s.y.size() != x.size())
        throw Error("cannot draw '" + path + "': series '" + s.label +
                    "' of panel '" + p.title + "' has " +
                    std::to_string(s.y.size()) + " values for " +
                    std::to_string(x.size()) + " x values");
  const int cols = std::min<int>(columns, int(panels.size()));
  const int rows = (int(panels.size()) + cols - 1) / cols;
  ChartInfo info{cols * kPanelW, 24 + rows * kPanelH, kPanelW, kPanelH};
  Image img(info.width, info.height);
  drawText(img, 8, 6, title, 2);
  for (size_t i = 0; i < panels.size(); ++i)
    drawPanel(img, int(i % cols) * kPanelW, 24 + int(i / cols) * kPanelH, x,
              xlabel, panels[i]);
  writePng(img, path);
  return info;
}

} // namespace s2s::rt
