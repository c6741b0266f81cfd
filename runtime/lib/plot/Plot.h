//===- Plot.h - Maps of one 2-d field as PNG images -------------*- C++ -*-===//
//
// A quick look at a field without Python: one [lat, lon] float field (row
// major, latitude rows in the order of `lat`, as the data files store them)
// drawn as a PNG map with a title, latitude and longitude tick labels, a
// colour bar with its range and a few ticks, and a line with the field's
// min, max and mean. Text uses a built-in 5x7 bitmap font (printable
// ASCII) and plot/Png.h writes the files, so nothing but zlib is needed.
//
//   * Colours: a viridis-like perceptual map for fields; a diverging
//     blue-white-red map, always centred on 0, for errors and anomalies.
//   * Scale: each grid cell becomes k x k pixels, k the smallest integer
//     with nlon * k >= minWidth (nearest neighbour, the grid cells stay
//     visible; or bilinear, periodic in longitude on a global grid).
//   * Non-finite values are drawn grey and left out of the range.
//   * Files are written atomically (a hidden temporary beside the target,
//     renamed over it), so a reader never sees half a PNG; every failure is
//     an s2s::rt::Error naming the path.
//
// plotTriptych draws truth | prediction | error (prediction - truth) side by
// side: truth and prediction share one colour range, the error panel has
// its own diverging range, symmetric about 0.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PLOT_PLOT_H
#define S2S_RUNTIME_PLOT_PLOT_H

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace s2s::rt {

/// One 2-d field to draw. Nothing is copied until drawing.
struct Field2D {
  const float *values = nullptr; ///< [nlat, nlon], row major
  int64_t nlat = 0, nlon = 0;
  /// Degrees, one per row / column; empty: the defaults of support/Grid.h
  /// (equally spaced from +90 to -90, poles included when nlat is odd, cell
  /// centres otherwise; longitudes 0, 360/nlon, ...).
  std::vector<double> lat, lon;
};

enum class ColorMap {
  Viridis,   ///< perceptual, dark blue-purple (low) to yellow (high)
  Diverging, ///< blue (negative) - white (0) - red (positive)
};

/// The colour of `t` in [0, 1] (clamped) on `map`: t = 0 is the low end,
/// t = 1 the high end.
std::array<uint8_t, 3> colorOf(ColorMap map, double t);

enum class Upscale { Nearest, Bilinear };

struct PlotOptions {
  std::string title; ///< the top line (plotTriptych: above all panels)
  std::string units; ///< written above the colour bar, e.g. "K"
  ColorMap colors = ColorMap::Viridis;
  /// Range [-m, m], m = max |value|. Always so for ColorMap::Diverging.
  bool symmetric = false;
  /// A fixed range (both or neither); otherwise the finite min and max.
  std::optional<double> vmin, vmax;
  int minWidth = 512; ///< the map is at least this many pixels wide
  Upscale upscale = Upscale::Nearest;
};

/// A rectangle of pixels, (x, y) its top-left corner.
struct PixelBox {
  int x = 0, y = 0, width = 0, height = 0;
};

/// Where things are in the image written (for callers and tests).
struct PanelInfo {
  PixelBox map; ///< the field itself (inside its 1-pixel frame)
  PixelBox bar; ///< the colour bar: top row = vmax, bottom row = vmin
  double vmin = 0, vmax = 0;
  ColorMap colors = ColorMap::Viridis;
  int scale = 1; ///< pixels per grid cell
};

struct PlotInfo {
  int width = 0, height = 0;
  std::vector<PanelInfo> panels; ///< left to right
};

/// Draws `field` to the PNG file `path`.
PlotInfo plotField(const Field2D &field, const std::string &path,
                   const PlotOptions &options = {});

/// Draws truth | prediction | prediction - truth to the PNG file `path`;
/// `prediction` must have truth's grid (its lat/lon are not used).
/// options.colors is the map of the first two panels (the error panel is
/// always diverging); options.vmin/vmax/symmetric apply to them.
PlotInfo plotTriptych(const Field2D &truth, const Field2D &prediction,
                      const std::string &path, const PlotOptions &options = {});

} // namespace s2s::rt

#endif // S2S_RUNTIME_PLOT_PLOT_H
