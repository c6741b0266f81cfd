//===- baseline.cpp - The quickstart model and loop, by hand in LibTorch
//----===//
//
// What a user would write without s2s: examples/quickstart.s2s's ResConvNet
// (channels 3, width 16, depth 2, kernel 3, groups 8) as torch::nn modules,
// the same order-2 tableau loss (order-1 predictions for both start times
// in one batched call, then order 2 from the first), latitude-weighted MSE,
// Adam(lr 1e-3), batches of windows drawn from the same in-memory data set.
// bench/quickstart/run compares its steps/s with the generated program's.
//
//   baseline --data 'DIR/*.h5' --stats DIR/stats.h5 --steps N --batch B
//
//===----------------------------------------------------------------------===//

#include "common/ResConvNet.h"
#include "data/Dataset.h"
#include "s2s/runtime/Error.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace s2s::bench;

int main(int argc, char **argv) {
  std::string data, stats;
  int64_t steps = 100, batch = 8, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--data")
      data = v;
    else if (k == "--stats")
      stats = v;
    else if (k == "--steps")
      steps = std::atoll(v.c_str());
    else if (k == "--batch")
      batch = std::atoll(v.c_str());
    else if (k == "--threads")
      threads = std::atoll(v.c_str());
    else {
      std::fprintf(stderr, "baseline: unknown option '%s'\n", k.c_str());
      return 2;
    }
  }
  if (threads > 0)
    torch::set_num_threads(threads);
  try {
    s2s::rt::DataConfig cfg;
    cfg.name = "quickstart";
    cfg.pattern = data;
    cfg.channels = {"u", "v", "t"};
    cfg.grid = {32, 64};
    cfg.stepSeconds = 6 * 3600;
    cfg.normalize =
        stats.empty() ? s2s::rt::Normalizer::None : s2s::rt::Normalizer::Zscore;
    cfg.stats = stats;
    cfg.train = {2000, 2007};
    cfg.valid = {2008, 2008};
    const int64_t order = 2;
    auto ds = s2s::rt::Dataset::open(cfg, s2s::rt::Split::Train, order + 1);

    torch::manual_seed(0);
    ResConvNet net(3, 16);
    torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
    // cos(latitude) weights over the rows, mean 1.
    auto w = torch::cos(ds.latitude() * (M_PI / 180.0)).to(torch::kFloat32);
    w = (w / w.mean()).view({1, 1, -1, 1});
    auto mse = [&](const torch::Tensor &p, const torch::Tensor &t) {
      return ((p - t).pow(2) * w).mean();
    };

    const int64_t n = ds.size(), perEpoch = n / batch;
    auto perm = torch::randperm(n, torch::kLong);
    auto step = [&](int64_t s) {
      std::vector<int64_t> idx;
      int64_t b = s % perEpoch;
      for (int64_t k = 0; k < batch; ++k)
        idx.push_back(perm[b * batch + k].item<int64_t>());
      auto win = ds.batch(idx); // [B, 3, C, H, W]
      auto x0 = win.select(1, 0), x1 = win.select(1, 1), x2 = win.select(1, 2);
      auto y1 = net(torch::cat({x0, x1}, 0)); // order 1, both start times
      auto loss = mse(y1, torch::cat({x1, x2}, 0));
      auto y2 = net(y1.narrow(0, 0, batch)); // order 2 from start 0
      loss = loss + mse(y2, x2);
      opt.zero_grad();
      loss.backward();
      opt.step();
      return loss.item<double>();
    };
    // Timed from the first step, as the generated program times its epoch.
    auto t0 = std::chrono::steady_clock::now();
    double last = 0;
    for (int64_t s = 0; s < steps; ++s)
      last = step(s);
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    std::printf(
        "baseline: %lld steps in %.2f s: %.2f steps/s (last loss %.4g)\n",
        (long long)steps, secs, steps / secs, last);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "baseline: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
