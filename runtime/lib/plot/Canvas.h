//===- Canvas.h - Pixels, text and PNG files for the plots ------*- C++ -*-===//
//
// The plot room's drawing surface (internal): an RGB image, a 5x7 bitmap
// font (printable ASCII), number formats for tick labels and the atomic
// PNG write that plot/Plot.h's maps and plot/Chart.h's line charts share.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PLOT_CANVAS_H
#define S2S_RUNTIME_PLOT_CANVAS_H

#include "plot/Plot.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace s2s::rt::canvas {

using RGB = std::array<uint8_t, 3>;

constexpr RGB kWhite = {255, 255, 255};
constexpr RGB kInk = {20, 20, 20};
constexpr RGB kFrame = {0, 0, 0};

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

/// The width in pixels of `s` at text scale `scale` (a character cell is
/// 6 x 7 scale pixels).
int textWidth(const std::string &s, int scale);

/// Draws `s` with its top-left corner at (x, y); pixels outside the image
/// are dropped.
void drawText(Image &img, int x, int y, const std::string &s, int scale,
              RGB c = kInk);

/// "%.4g" without "-0".
std::string fmtG(double v);
/// A tick label with as many decimals as the tick step needs.
std::string fmtTick(double v, double step);
/// A round step (1, 2 or 5 times a power of 10) giving about `ticks` ticks.
double niceStep(double range, int ticks);

/// Writes `img` to `path` atomically; Error naming the path.
void writePng(const Image &img, const std::string &path);

} // namespace s2s::rt::canvas

#endif // S2S_RUNTIME_PLOT_CANVAS_H
