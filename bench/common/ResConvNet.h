//===- ResConvNet.h - The quickstart model, by hand in LibTorch -*- C++ -*-===//
//
// std/models/conv.s2s's ResConvNet(channels, width, depth = 2, kernel 3,
// groups 8) as torch::nn modules: what a user would write without s2s. The
// benchmarks' hand-written baselines (bench/quickstart, bench/rollout) run
// it next to the generated program.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_BENCH_RESCONVNET_H
#define S2S_BENCH_RESCONVNET_H

#include <torch/torch.h>

namespace s2s::bench {

/// Periodic in longitude; across a pole, the mirrored row half way round.
inline torch::Tensor padSphere(const torch::Tensor &x) {
  int64_t W = x.size(3);
  auto lon = torch::cat({x.narrow(3, W - 1, 1), x, x.narrow(3, 0, 1)}, 3);
  auto north = lon.narrow(2, 0, 1).roll(W / 2, 3);
  auto south = lon.narrow(2, lon.size(2) - 1, 1).roll(W / 2, 3);
  return torch::cat({north, lon, south}, 2);
}

struct SphereConvImpl : torch::nn::Module {
  torch::nn::Conv2d conv{nullptr};
  SphereConvImpl(int64_t in, int64_t out)
      : conv(register_module(
            "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3)))) {}
  torch::Tensor forward(const torch::Tensor &x) { return conv(padSphere(x)); }
};
TORCH_MODULE(SphereConv);

struct ResBlockImpl : torch::nn::Module {
  SphereConv c1, c2;
  torch::nn::GroupNorm n1, n2;
  ResBlockImpl(int64_t w)
      : c1(register_module("c1", SphereConv(w, w))),
        c2(register_module("c2", SphereConv(w, w))),
        n1(register_module("n1", torch::nn::GroupNorm(8, w))),
        n2(register_module("n2", torch::nn::GroupNorm(8, w))) {}
  torch::Tensor forward(const torch::Tensor &h) {
    auto r = torch::gelu(n1(c1(h)));
    r = n2(c2(r));
    return torch::gelu(h + r);
  }
};
TORCH_MODULE(ResBlock);

struct ResConvNetImpl : torch::nn::Module {
  SphereConv in, out;
  ResBlock b1, b2;
  ResConvNetImpl(int64_t c, int64_t w)
      : in(register_module("in", SphereConv(c, w))),
        out(register_module("out", SphereConv(w, c))),
        b1(register_module("b1", ResBlock(w))),
        b2(register_module("b2", ResBlock(w))) {}
  torch::Tensor forward(const torch::Tensor &x) {
    auto h = torch::gelu(in(x));
    h = b2(b1(h));
    return x + out(h);
  }
};
TORCH_MODULE(ResConvNet);

} // namespace s2s::bench

#endif // S2S_BENCH_RESCONVNET_H
