//===- Maps.cpp - Truth / prediction / error maps of a validation sample --===//
//
// What a forecaster looks at each epoch: for one validation window, the
// truth of the next frame, the model's one-step prediction and their
// difference, per channel, in physical units, as PNG triptychs in
// <out>/maps/epoch-<N>-<channel>.png.
//
//===----------------------------------------------------------------------===//

#include "metrics/Maps.h"

#include "plot/Plot.h"
#include "s2s/runtime/Error.h"

#include <filesystem>

namespace s2s::rt {

std::vector<std::string> writeValidationMaps(
    const std::string &dir, int64_t epoch, const torch::Tensor &truth,
    const torch::Tensor &prediction, const std::vector<std::string> &channels,
    const torch::Tensor &latitude, const torch::Tensor &longitude,
    const torch::Tensor &mean, const torch::Tensor &stddev) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error("cannot create the maps folder '" + dir + "': " + ec.message());
  // [channel, lat, lon] in physical units, float32 contiguous on the CPU.
  auto physical = [&](const torch::Tensor &x) {
    torch::Tensor v = x.detach().to(torch::kCPU, torch::kFloat64);
    v = v * stddev.to(torch::kFloat64).view({-1, 1, 1}) +
        mean.to(torch::kFloat64).view({-1, 1, 1});
    return v.to(torch::kFloat32).contiguous();
  };
  torch::Tensor t = physical(truth), p = physical(prediction);
  auto toVector = [](const torch::Tensor &x) {
    torch::Tensor d = x.to(torch::kCPU, torch::kFloat64).contiguous();
    return std::vector<double>(d.data_ptr<double>(),
                               d.data_ptr<double>() + d.numel());
  };
  std::vector<double> lat =
      latitude.defined() ? toVector(latitude) : std::vector<double>();
  std::vector<double> lon =
      longitude.defined() ? toVector(longitude) : std::vector<double>();
  std::vector<std::string> written;
  for (int64_t c = 0; c < t.size(0); ++c) {
    Field2D ft, fp;
    ft.nlat = fp.nlat = t.size(1);
    ft.nlon = fp.nlon = t.size(2);
    ft.values = t[c].data_ptr<float>();
    fp.values = p[c].data_ptr<float>();
    ft.lat = fp.lat = lat;
    ft.lon = fp.lon = lon;
    PlotOptions o;
    const std::string name =
        c < int64_t(channels.size()) ? channels[size_t(c)] : std::to_string(c);
    o.title = name + ", epoch " + std::to_string(epoch) +
              ": truth | prediction | prediction - truth";
    std::string path = (fs::path(dir) / ("epoch-" + std::to_string(epoch) +
                                         "-" + name + ".png"))
                           .string();
    plotTriptych(ft, fp, path, o);
    written.push_back(path);
  }
  return written;
}

} // namespace s2s::rt
