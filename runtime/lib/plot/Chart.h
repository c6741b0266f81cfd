//===- Chart.h - Line charts as PNG images ----------------------*- C++ -*-===//
//
// Skill against lead time (the scorecard of `EXE evaluate`): panels of
// lines sharing one x axis, laid out in rows, each with its title, y-axis
// ticks, a legend and a line with markers per series. Non-finite values
// break a line. Same font, PNG writer and atomic write as the maps
// (plot/Canvas.h).
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PLOT_CHART_H
#define S2S_RUNTIME_PLOT_CHART_H

#include <string>
#include <vector>

namespace s2s::rt {

struct Series {
  std::string label;
  std::vector<double> y; ///< one value per x
};

struct ChartPanel {
  std::string title;
  std::vector<Series> series; ///< coloured in order: blue, orange, green, ...
};

struct ChartInfo {
  int width = 0, height = 0, panelWidth = 0, panelHeight = 0;
};

/// Draws `panels` (`columns` per row) against `x` to the PNG file `path`
/// under `title`. Throws Error naming the path when it cannot be written,
/// or when a series' length is not x's.
ChartInfo plotLines(const std::vector<double> &x, const std::string &xlabel,
                    const std::vector<ChartPanel> &panels, int columns,
                    const std::string &title, const std::string &path);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PLOT_CHART_H
