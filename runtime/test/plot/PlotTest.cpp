//===- PlotTest.cpp - PNG maps of fields: size, colours, panels, errors ---===//
//
// Every test writes a real PNG with plotField / plotTriptych (encoded by
// plot/Png.h on zlib) and reads it back with libpng's simplified API, an
// independent decoder; the pixel positions come from the PlotInfo the call
// returns.
//
//===----------------------------------------------------------------------===//

#include "plot/Plot.h"
#include "TestSupport.h"
#include "plot/Chart.h"
#include "plot/Png.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <png.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/resource.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace rt = s2s::rt;

namespace {

class PlotDir {
public:
  PlotDir() {
    path_ = fs::temp_directory_path() /
            ("s2s-plot-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~PlotDir() { fs::remove_all(path_); }
  std::string operator/(const std::string &name) const {
    return (path_ / name).string();
  }
  const fs::path &path() const { return path_; }

private:
  fs::path path_;
};

using RGB = std::array<uint8_t, 3>;

struct Png {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  RGB at(int x, int y) const {
    const uint8_t *p = &rgb[(size_t(y) * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

Png readPng(const std::string &path) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str()))
    throw std::runtime_error("cannot read PNG " + path + ": " + img.message);
  img.format = PNG_FORMAT_RGB;
  Png out;
  out.width = int(img.width);
  out.height = int(img.height);
  out.rgb.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.rgb.data(), 0, nullptr))
    throw std::runtime_error("cannot decode PNG " + path + ": " + img.message);
  return out;
}

std::string str(RGB c) {
  return std::to_string(c[0]) + "," + std::to_string(c[1]) + "," +
         std::to_string(c[2]);
}

/// The centre pixel of grid cell (i, j) of a panel's map.
RGB cellColour(const Png &png, const rt::PanelInfo &p, int i, int j) {
  return png.at(p.map.x + j * p.scale + p.scale / 2,
                p.map.y + i * p.scale + p.scale / 2);
}

/// A smooth 32 x 64 temperature-like field with one warmest and one
/// coldest cell.
std::vector<float> syntheticField(int nlat = 32, int nlon = 64) {
  std::vector<float> v(size_t(nlat) * nlon);
  for (int i = 0; i < nlat; ++i)
    for (int j = 0; j < nlon; ++j) {
      const double lat = 90.0 - 180.0 * (i + 0.5) / nlat;
      const double lon = 360.0 * j / nlon;
      v[size_t(i) * nlon + j] =
          float(250 + 40 * std::cos(lat * M_PI / 180) +
                5 * std::sin(2 * lon * M_PI / 180) + 0.01 * j);
    }
  return v;
}

std::pair<size_t, size_t> argMinMax(const std::vector<float> &v) {
  size_t lo = 0, hi = 0;
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] < v[lo])
      lo = k;
    if (v[k] > v[hi])
      hi = k;
  }
  return {lo, hi};
}

bool noTempFiles(const fs::path &dir) {
  for (const auto &e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind(".", 0) == 0)
      return false;
  return true;
}

} // namespace

TEST(Plot, FieldMapSizeColourBarAndRangeEnds) {
  PlotDir dir;
  const std::vector<float> v = syntheticField();
  rt::Field2D f;
  f.values = v.data();
  f.nlat = 32;
  f.nlon = 64;
  rt::PlotOptions opt;
  opt.title = "t2m 2000-01-01T00:00 (epoch 3)";
  opt.units = "K";
  const std::string path = dir / "t2m.png";
  const rt::PlotInfo info = rt::plotField(f, path, opt);

  const Png png = readPng(path);
  EXPECT_EQ(png.width, info.width);
  EXPECT_EQ(png.height, info.height);
  ASSERT_EQ(info.panels.size(), 1u);
  const rt::PanelInfo &p = info.panels[0];
  // 64 columns, at least 512 pixels: 8 x 8 pixels a cell.
  EXPECT_EQ(p.scale, 8);
  EXPECT_EQ(p.map.width, 512);
  EXPECT_EQ(p.map.height, 256);
  EXPECT_GE(png.width, p.bar.x + p.bar.width);
  EXPECT_GT(p.bar.x, p.map.x + p.map.width);

  // The range is the field's min and max.
  const auto [lo, hi] = argMinMax(v);
  EXPECT_EQ(p.vmin, double(v[lo]));
  EXPECT_EQ(p.vmax, double(v[hi]));

  // Colour bar: the high end on top, the low end at the bottom, lightness
  // (viridis: monotone) decreasing downwards.
  const int bx = p.bar.x + p.bar.width / 2;
  EXPECT_EQ(str(png.at(bx, p.bar.y)),
            str(rt::colorOf(rt::ColorMap::Viridis, 1)));
  EXPECT_EQ(str(png.at(bx, p.bar.y + p.bar.height - 1)),
            str(rt::colorOf(rt::ColorMap::Viridis, 0)));
  EXPECT_EQ(str(rt::colorOf(rt::ColorMap::Viridis, 0)), "68,1,84");
  EXPECT_EQ(str(rt::colorOf(rt::ColorMap::Viridis, 1)), "253,231,37");
  auto luma = [](RGB c) { return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]; };
  for (int y = p.bar.y; y + 8 < p.bar.y + p.bar.height; y += 8)
    EXPECT_GT(luma(png.at(bx, y)), luma(png.at(bx, y + 8))) << "row " << y;
  // The bar is framed.
  EXPECT_EQ(str(png.at(bx, p.bar.y - 1)), "0,0,0");

  // The field's min and max cells are the colour map's ends.
  EXPECT_EQ(str(cellColour(png, p, int(lo / 64), int(lo % 64))),
            str(rt::colorOf(rt::ColorMap::Viridis, 0)));
  EXPECT_EQ(str(cellColour(png, p, int(hi / 64), int(hi % 64))),
            str(rt::colorOf(rt::ColorMap::Viridis, 1)));
  // Every pixel of a cell has the cell's colour (nearest neighbour).
  EXPECT_EQ(str(png.at(p.map.x + 8 * 5, p.map.y + 8 * 7)),
            str(png.at(p.map.x + 8 * 5 + 7, p.map.y + 8 * 7 + 7)));

  // Text: ink in the title band, left of the map (latitude labels), below
  // it (longitude labels, summary) and right of the bar (tick labels).
  auto inkIn = [&](int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x)
        n += str(png.at(x, y)) == "20,20,20";
    return n;
  };
  EXPECT_GT(inkIn(0, 0, png.width, p.map.y - 1), 50);
  EXPECT_GT(inkIn(0, p.map.y, p.map.x - 1, p.map.y + p.map.height), 50);
  EXPECT_GT(inkIn(0, p.map.y + p.map.height + 1, png.width, png.height), 100);
  EXPECT_GT(inkIn(p.bar.x + p.bar.width + 1, p.bar.y - 8, png.width,
                  p.bar.y + p.bar.height + 8),
            50);
  EXPECT_TRUE(noTempFiles(dir.path()));
}

TEST(Plot, DivergingRangeIsSymmetricAboutZero) {
  PlotDir dir;
  // Values in [-1, 3]; 0 at cell (2, 5).
  const int nlat = 8, nlon = 16;
  std::vector<float> v(nlat * nlon);
  for (int k = 0; k < nlat * nlon; ++k)
    v[size_t(k)] = -1.0f + 4.0f * float(k) / float(nlat * nlon - 1);
  v[2 * nlon + 5] = 0.0f;
  rt::Field2D f{v.data(), nlat, nlon, {}, {}};
  rt::PlotOptions opt;
  opt.colors = rt::ColorMap::Diverging;
  opt.title = "error";
  const rt::PlotInfo info = rt::plotField(f, dir / "err.png", opt);
  const rt::PanelInfo &p = info.panels[0];
  EXPECT_EQ(p.vmin, -3.0);
  EXPECT_EQ(p.vmax, 3.0);
  EXPECT_EQ(p.scale, 32);
  const Png png = readPng(dir / "err.png");
  EXPECT_EQ(str(cellColour(png, p, 2, 5)),
            str(rt::colorOf(rt::ColorMap::Diverging, 0.5)));
  EXPECT_EQ(str(rt::colorOf(rt::ColorMap::Diverging, 0.5)), "247,247,247");
  EXPECT_EQ(str(cellColour(png, p, nlat - 1, nlon - 1)),
            str(rt::colorOf(rt::ColorMap::Diverging, 1)));
  // -1 is a sixth of the way up from the blue end: bluish.
  const RGB low = cellColour(png, p, 0, 0);
  EXPECT_GT(low[2], low[0]);
  const int bx = p.bar.x + p.bar.width / 2;
  EXPECT_EQ(str(png.at(bx, p.bar.y + p.bar.height - 1)),
            str(rt::colorOf(rt::ColorMap::Diverging, 0)));
  EXPECT_EQ(str(png.at(bx, p.bar.y)),
            str(rt::colorOf(rt::ColorMap::Diverging, 1)));

  // symmetric also works for viridis, and a fixed range wins.
  rt::PlotOptions sym;
  sym.symmetric = true;
  EXPECT_EQ(rt::plotField(f, dir / "sym.png", sym).panels[0].vmin, -3.0);
  rt::PlotOptions fixed;
  fixed.vmin = -10;
  fixed.vmax = 10;
  const rt::PlotInfo fi = rt::plotField(f, dir / "fixed.png", fixed);
  EXPECT_EQ(fi.panels[0].vmin, -10.0);
  EXPECT_EQ(fi.panels[0].vmax, 10.0);
}

TEST(Plot, NonFiniteCellsAreGreyAndOutOfTheRange) {
  PlotDir dir;
  std::vector<float> v = syntheticField();
  v[3 * 64 + 9] = NAN;
  v[10 * 64 + 20] = INFINITY;
  rt::Field2D f{v.data(), 32, 64, {}, {}};
  const rt::PlotInfo info = rt::plotField(f, dir / "nan.png");
  const rt::PanelInfo &p = info.panels[0];
  EXPECT_TRUE(std::isfinite(p.vmax));
  EXPECT_LT(p.vmax, 300.0);
  const Png png = readPng(dir / "nan.png");
  EXPECT_EQ(str(cellColour(png, p, 3, 9)), "150,150,150");
  EXPECT_EQ(str(cellColour(png, p, 10, 20)), "150,150,150");

  // All NaN still draws (range 0..1).
  std::vector<float> nan(32 * 64, NAN);
  rt::Field2D g{nan.data(), 32, 64, {}, {}};
  EXPECT_NO_THROW(rt::plotField(g, dir / "allnan.png"));
}

TEST(Plot, TriptychIsThreePanelsWideWithASharedRange) {
  PlotDir dir;
  const int nlat = 32, nlon = 64;
  const std::vector<float> truth = syntheticField(nlat, nlon);
  std::vector<float> pred = truth;
  // A warm bump in the prediction (its max exceeds the truth's), a cold
  // error elsewhere, zero error in between.
  for (int i = 10; i < 14; ++i)
    for (int j = 20; j < 26; ++j)
      pred[size_t(i) * nlon + j] += 40.0f;
  pred[size_t(25) * nlon + 3] -= 10.0f;
  std::vector<double> lat(nlat), lon(nlon);
  for (int i = 0; i < nlat; ++i)
    lat[size_t(i)] = 90.0 - 180.0 * (i + 0.5) / nlat;
  for (int j = 0; j < nlon; ++j)
    lon[size_t(j)] = 360.0 * j / nlon;
  rt::Field2D t{truth.data(), nlat, nlon, lat, lon};
  rt::Field2D p{pred.data(), nlat, nlon, {}, {}};
  rt::PlotOptions opt;
  opt.title = "t2m valid 2008-03-01T00:00 epoch 7";
  opt.units = "K";
  const rt::PlotInfo single = rt::plotField(t, dir / "single.png", opt);
  const rt::PlotInfo info = rt::plotTriptych(t, p, dir / "triptych.png", opt);
  const Png png = readPng(dir / "triptych.png");
  EXPECT_EQ(png.width, info.width);
  EXPECT_EQ(png.height, info.height);
  EXPECT_EQ(info.width, 3 * single.width);
  ASSERT_EQ(info.panels.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(info.panels[size_t(k)].map.x,
              single.panels[0].map.x + k * single.width);
    EXPECT_EQ(info.panels[size_t(k)].map.width, 512);
  }

  // Truth and prediction share one range: min over both, max over both.
  const auto [tlo, thi] = argMinMax(truth);
  const auto [plo, phi] = argMinMax(pred);
  (void)thi;
  const rt::PanelInfo &a = info.panels[0], &b = info.panels[1],
                      &e = info.panels[2];
  EXPECT_EQ(a.vmin, b.vmin);
  EXPECT_EQ(a.vmax, b.vmax);
  EXPECT_EQ(a.vmin, double(std::min(truth[tlo], pred[plo])));
  EXPECT_EQ(a.vmax, double(pred[phi]));
  EXPECT_EQ(str(cellColour(png, b, int(phi / nlon), int(phi % nlon))),
            str(rt::colorOf(rt::ColorMap::Viridis, 1)));
  EXPECT_EQ(str(cellColour(png, a, int(tlo / nlon), int(tlo % nlon))),
            str(rt::colorOf(rt::ColorMap::Viridis, 0)));
  // The truth panel is not at the top of the range where the bump is.
  EXPECT_NE(str(cellColour(png, a, int(phi / nlon), int(phi % nlon))),
            str(rt::colorOf(rt::ColorMap::Viridis, 1)));

  // The error panel: diverging, symmetric, white where the error is 0,
  // red at the bump, blue at the cold spot.
  EXPECT_EQ(e.colors, rt::ColorMap::Diverging);
  EXPECT_NEAR(e.vmax, 40.0, 1e-3);
  EXPECT_EQ(e.vmin, -e.vmax);
  EXPECT_EQ(str(cellColour(png, e, 0, 0)), "247,247,247");
  EXPECT_EQ(str(cellColour(png, e, 11, 22)),
            str(rt::colorOf(rt::ColorMap::Diverging, 1)));
  const RGB cold = cellColour(png, e, 25, 3);
  EXPECT_GT(cold[2], cold[0]);
  // Each panel has its own bar; the error bar runs blue to red.
  EXPECT_EQ(str(png.at(e.bar.x + 4, e.bar.y)),
            str(rt::colorOf(rt::ColorMap::Diverging, 1)));
  EXPECT_EQ(str(png.at(a.bar.x + 4, a.bar.y)),
            str(rt::colorOf(rt::ColorMap::Viridis, 1)));

  // Grids must match.
  rt::Field2D small{pred.data(), 16, 64, {}, {}};
  EXPECT_THROW(rt::plotTriptych(t, small, dir / "x.png", opt), rt::Error);
  EXPECT_TRUE(noTempFiles(dir.path()));
}

TEST(Plot, SmallGridsScaleUpAndBilinearSmooths) {
  PlotDir dir;
  const int nlat = 4, nlon = 8;
  std::vector<float> v(nlat * nlon);
  for (int k = 0; k < nlat * nlon; ++k)
    v[size_t(k)] = float(k % nlon);
  rt::Field2D f{v.data(), nlat, nlon, {}, {}};
  rt::PlotOptions nearest;
  const rt::PlotInfo a = rt::plotField(f, dir / "n.png", nearest);
  EXPECT_EQ(a.panels[0].scale, 64);
  EXPECT_EQ(a.panels[0].map.width, 512);
  rt::PlotOptions smooth;
  smooth.upscale = rt::Upscale::Bilinear;
  const rt::PlotInfo b = rt::plotField(f, dir / "b.png", smooth);
  EXPECT_EQ(a.width, b.width);
  EXPECT_EQ(a.height, b.height);
  auto colours = [](const Png &png, const rt::PanelInfo &p) {
    std::set<std::string> s;
    for (int x = 0; x < p.map.width; ++x)
      s.insert(str(png.at(p.map.x + x, p.map.y + p.map.height / 2)));
    return s.size();
  };
  const size_t n = colours(readPng(dir / "n.png"), a.panels[0]);
  const size_t m = colours(readPng(dir / "b.png"), b.panels[0]);
  EXPECT_EQ(n, size_t(nlon));
  EXPECT_GT(m, 4 * n);
}

TEST(Plot, UnwritablePathsAndBadInputsAreErrors) {
  PlotDir dir;
  const std::vector<float> v = syntheticField();
  rt::Field2D f{v.data(), 32, 64, {}, {}};
  auto message = [&](const std::string &path) {
    try {
      rt::plotField(f, path);
    } catch (const rt::Error &e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string missing = dir / "no-such-folder/t2m.png";
  std::string m = message(missing);
  EXPECT_NE(m.find(missing), std::string::npos) << m;
  EXPECT_NE(m.find("No such file or directory"), std::string::npos) << m;

  std::ofstream(dir / "file") << "x";
  const std::string underFile = dir / "file/t2m.png";
  m = message(underFile);
  EXPECT_NE(m.find(underFile), std::string::npos) << m;

  // A folder where the file should go: the rename fails, the temporary is
  // removed.
  fs::create_directories(dir / "taken.png/inner");
  m = message(dir / "taken.png");
  EXPECT_NE(m.find("taken.png"), std::string::npos) << m;
  EXPECT_TRUE(noTempFiles(dir.path()));

  rt::PlotOptions bad;
  bad.vmin = 1;
  EXPECT_THROW(rt::plotField(f, dir / "a.png", bad), rt::Error);
  bad.vmax = 1;
  EXPECT_THROW(rt::plotField(f, dir / "a.png", bad), rt::Error);
  rt::Field2D wrongLat{v.data(), 32, 64, std::vector<double>(31, 0.0), {}};
  EXPECT_THROW(rt::plotField(wrongLat, dir / "a.png"), rt::Error);
  rt::Field2D empty;
  EXPECT_THROW(rt::plotField(empty, dir / "a.png"), rt::Error);
}

TEST(Plot, AFullDiskIsAnErrorAndLeavesNoFile) {
  PlotDir dir;
  const std::vector<float> v = syntheticField();
  rt::Field2D f{v.data(), 32, 64, {}, {}};
  const std::string path = dir / "t2m.png";
  // A file size limit stands in for a full disk (EFBIG instead of ENOSPC).
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  rlimit small = old;
  small.rlim_cur = 2000;
  const auto prev = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string m = "no error";
  try {
    rt::plotField(f, path);
  } catch (const rt::Error &e) {
    m = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, prev);
  EXPECT_NE(m.find(path), std::string::npos) << m;
  EXPECT_NE(m.find("disk full"), std::string::npos) << m;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(noTempFiles(dir.path()));
  EXPECT_NO_THROW(rt::plotField(f, path));
}

TEST(Png, LibpngDecodesExactlyWhatWasEncoded) {
  // Noise, flat areas, gradients and edges, so that every row filter is
  // chosen somewhere; sizes from one pixel up, odd widths included.
  PlotDir dir;
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return uint8_t(state >> 24);
  };
  for (auto [w, h] : {std::pair<int, int>{1, 1}, {3, 2}, {17, 9}, {300, 41}}) {
    std::vector<uint8_t> rgb(size_t(w) * h * 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          const size_t i = (size_t(y) * w + x) * 3 + c;
          rgb[i] = y % 4 == 0   ? next()
                   : y % 4 == 1 ? uint8_t(x * 3 + c)
                   : y % 4 == 2 ? uint8_t(x < w / 2 ? 20 : 230)
                                : uint8_t(y * 7 + c * 50);
        }
    const std::string path = dir / ("img-" + std::to_string(w) + ".png");
    std::ofstream(path, std::ios::binary)
        << s2s::rt::encodePng(rgb.data(), w, h);
    const Png back = readPng(path);
    ASSERT_EQ(back.width, w);
    ASSERT_EQ(back.height, h);
    EXPECT_EQ(back.rgb, rgb) << w << "x" << h;
  }
  EXPECT_THROW(s2s::rt::encodePng(nullptr, 0, 5), rt::Error);
}

TEST(Chart, PanelsLinesAndErrors) {
  PlotDir dir;
  const std::string path = dir / "skill.png";
  // A falling first series: drawn from the upper left to the lower right.
  const rt::ChartInfo info = rt::plotLines(
      {6, 12, 18}, "lead (h)",
      {{"RMSE u", {{"model", {2, 1, 0}}, {"persistence", {1, NAN, 1}}}},
       {"ACC u", {{"model", {1, 0.9, 0.8}}}},
       {"RMSE v", {{"model", {3, 3, 3}}}}},
      2, "title", path);
  const Png png = readPng(path);
  EXPECT_EQ(png.width, info.width);
  EXPECT_EQ(png.height, info.height);
  EXPECT_EQ(info.width, 2 * info.panelWidth);   // 2 columns
  EXPECT_GE(info.height, 2 * info.panelHeight); // 2 rows
  const RGB blue = {0x1F, 0x77, 0xB4};
  // Blue pixels of the first panel in its left and right fifths (the
  // legend, top right, excluded by looking below its first rows).
  int leftTop = png.height, rightBottom = -1;
  for (int y = 0; y < info.panelHeight + 24; ++y)
    for (int x = 0; x < info.panelWidth; ++x) {
      if (png.at(x, y) != blue)
        continue;
      if (x < info.panelWidth * 3 / 10)
        leftTop = std::min(leftTop, y);
      if (x > info.panelWidth * 7 / 10 && y > info.panelHeight / 2)
        rightBottom = std::max(rightBottom, y);
    }
  EXPECT_LT(leftTop, info.panelHeight / 2) << "the line starts high";
  EXPECT_GT(rightBottom, info.panelHeight / 2) << "and ends low";
  EXPECT_TRUE(noTempFiles(dir.path()));
  s2s_test::expectError(
      [&] {
        rt::plotLines({1, 2}, "x", {{"p", {{"s", {1.0}}}}}, 1, "t",
                      dir / "bad.png");
      },
      {"bad.png", "series 's' of panel 'p' has 1 values for 2 x values"});
}
