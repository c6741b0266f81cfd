//===- bench_rollout.cpp - The rollout's cost, with and without each plugin
//===//
//
// For the quickstart model (ResConvNet, channels 3, width 16, depth 2) on a
// 32x64 grid, batch 8, orders K = 1..4: one training step's loss and
// backward (no optimizer step) of
//  - the generated rollouts (s2sc --emit=cpp of the specs bench/CMakeLists.txt
//    writes): plain, align (mlse, n = K), hutchinson (s = 1, at the first
//    step), patches (16x32 every 8x16, halo 2x4), recompute;
//  - a hand-written LibTorch tableau computing the same loss (plain, align,
//    hutchinson) with the same model as torch::nn modules.
// Prints steps/s and the peak growth of live CPU tensor bytes during the
// step (train/StorageCounter.h), one line per case, from one run.
//
//   s2s-bench-rollout [--iters N] [--threads T]
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

#include "common/ResConvNet.h"
#include "train/StorageCounter.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "rollouts.inc"

namespace {

using torch::Tensor;
using namespace s2s::bench;

struct Generated {
  const char *variant;
  int64_t order;
  Tensor (*rollout)(s2s::rt::Model &, Tensor);
  void (*parameters)(s2s::rt::Manifest &);
};

const Generated kGenerated[] = {
#include "rollout_table.inc"
};

const int64_t kBatch = 8, kC = 3, kH = 32, kW = 64;
const double kPi = 3.14159265358979323846;

Tensor latitudes() {
  return 90.0 - (torch::arange(kH, torch::kFloat64) + 0.5) * (180.0 / kH);
}

/// steps/s and peak tensor-byte growth of `step` (loss + backward).
std::pair<double, int64_t> measure(const std::function<void()> &step,
                                   int iters) {
  step(); // warm-up
  int64_t base = s2s::rt::resetStoragePeak();
  step();
  int64_t peak = s2s::rt::storagePeak() - base;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i)
    step();
  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return {iters / s, peak};
}

/// The hand-written tableau: order j of all its start times in one call.
Tensor handLoss(ResConvNet &net, const Tensor &w, int64_t K,
                const std::string &variant, const Tensor &latW) {
  const int64_t B = w.size(0);
  auto mse = [&](const Tensor &p, const Tensor &t) {
    return ((p - t).pow(2) * latW).mean();
  };
  std::vector<Tensor> x;
  for (int64_t k = 0; k <= K; ++k)
    x.push_back(w.select(1, k));
  auto cols = [&](int64_t from, int64_t to) {
    return torch::cat(std::vector<Tensor>(x.begin() + from, x.begin() + to), 0);
  };
  Tensor in = cols(0, K);
  if (variant == "hutchinson")
    in = in.detach().requires_grad_(true);
  std::vector<Tensor> level(size_t(K + 1));
  level[1] = net->forward(in);
  Tensor loss = mse(level[1], cols(1, K + 1));
  if (variant == "hutchinson") {
    Tensor v = torch::randint(0, 2, level[1].sizes(), in.options()) * 2 - 1;
    Tensor g = torch::autograd::grad({level[1]}, {in}, {v}, true, true)[0];
    loss = loss + 1e-3 * (g.pow(2).reshape({g.size(0), -1}).sum(1) /
                          double(kC * kH * kW))
                             .mean();
  }
  for (int64_t j = 2; j <= K; ++j) {
    level[size_t(j)] =
        net->forward(level[size_t(j - 1)].narrow(0, 0, (K - j + 1) * B));
    loss = loss + mse(level[size_t(j)], cols(j, K + 1));
  }
  if (variant == "align")
    for (int64_t j = 2; j <= K; ++j) {
      Tensor target =
          level[size_t(j - 1)].narrow(0, B, (K - j + 1) * B).detach();
      loss = loss + 0.5 * double(K - j + 1) *
                        (level[size_t(j)] - target).pow(2).mean();
    }
  return loss;
}

} // namespace

int main(int argc, char **argv) {
  int iters = 5, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--iters")
      iters = std::atoi(argv[i + 1]);
    else if (k == "--threads")
      threads = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "s2s-bench-rollout: unknown option '%s'\n", argv[i]);
      return 2;
    }
  }
  torch::set_num_threads(threads);
  s2s::rt::installStorageCounter();
  Tensor lat = latitudes();
  Tensor latW = torch::cos(lat * (kPi / 180.0));
  latW = (latW / latW.mean()).to(torch::kFloat32).view({1, 1, -1, 1});

  std::printf("quickstart model, batch %lld, %dx%d grid, %d threads, %d "
              "steps (loss + backward) per case\n",
              (long long)kBatch, int(kH), int(kW), threads, iters);
  std::printf("%-3s %-11s %14s %14s %16s %16s\n", "K", "variant",
              "generated st/s", "by hand st/s", "generated MiB", "by hand MiB");
  for (const Generated &g : kGenerated) {
    torch::manual_seed(0);
    Tensor w = torch::randn({kBatch, g.order + 1, kC, kH, kW});
    s2s::rt::Manifest manifest;
    g.parameters(manifest);
    s2s::rt::Model m(0);
    m.materialize(manifest);
    m.context().latitude = lat;
    auto [genRate, genPeak] = measure(
        [&] {
          for (Tensor &p : m.parameters())
            p.mutable_grad() = Tensor();
          g.rollout(m, w).backward();
        },
        iters);
    std::string variant = g.variant;
    double handRate = 0;
    int64_t handPeak = -1;
    if (variant == "plain" || variant == "align" || variant == "hutchinson") {
      ResConvNet net(3, 16);
      auto r = measure(
          [&] {
            net->zero_grad();
            handLoss(net, w, g.order, variant, latW).backward();
          },
          iters);
      handRate = r.first;
      handPeak = r.second;
    }
    auto mib = [](int64_t b) { return double(b) / (1024.0 * 1024.0); };
    if (handPeak >= 0)
      std::printf("%-3lld %-11s %14.2f %14.2f %16.1f %16.1f\n",
                  (long long)g.order, g.variant, genRate, handRate,
                  mib(genPeak), mib(handPeak));
    else
      std::printf("%-3lld %-11s %14.2f %14s %16.1f %16s\n", (long long)g.order,
                  g.variant, genRate, "-", mib(genPeak), "-");
    std::fflush(stdout);
  }
  return 0;
}
