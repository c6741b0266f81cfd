//===- Scores.cpp - Latitude-weighted RMSE and ACC per channel ------------===//

#include "metrics/Scores.h"

#include "s2s/runtime/Error.h"

#include <cmath>

namespace s2s::rt {

torch::Tensor latitudeWeights(const torch::Tensor &latitudeDegrees) {
  torch::Tensor w = torch::cos(
      latitudeDegrees.to(torch::kCPU, torch::kFloat64) * (M_PI / 180.0));
  w = w.clamp_min(0.0); // the poles' cos may come out as -1e-17
  double m = w.mean().item<double>();
  if (!(m > 0.0))
    throw Error("latitude weights: the latitudes give no positive cos(lat)");
  return w / m;
}

ChannelMetrics::ChannelMetrics(const torch::Tensor &latitude,
                               const torch::Tensor &mean,
                               const torch::Tensor &stddev,
                               const torch::Tensor &climatology,
                               Weighting weighting) {
  weights_ = weighting == Weighting::Latitude
                 ? latitudeWeights(latitude)
                 : torch::ones({latitude.numel()}, torch::kFloat64);
  mean_ = mean.to(torch::kCPU, torch::kFloat64);
  std_ = stddev.to(torch::kCPU, torch::kFloat64);
  clim_ = climatology.defined() ? climatology.to(torch::kCPU, torch::kFloat64)
                                : mean_.clone();
  int64_t c = mean_.numel();
  for (torch::Tensor *t : {&rmseSum_, &sumWFA_, &sumFA_, &sumWA_, &sumA_,
                           &sumWFF_, &sumWAA_, &sumWFAA_, &sumW_})
    *t = torch::zeros({c}, torch::kFloat64);
}

void ChannelMetrics::add(const torch::Tensor &prediction,
                         const torch::Tensor &truth) {
  torch::NoGradGuard noGrad;
  if (prediction.sizes() != truth.sizes() || prediction.dim() != 4 ||
      prediction.size(1) != mean_.numel() ||
      prediction.size(2) != weights_.numel())
    throw Error("metrics: prediction " + c10::str(prediction.sizes()) +
                " and truth " + c10::str(truth.sizes()) +
                " must both be [batch, " + std::to_string(mean_.numel()) +
                ", " + std::to_string(weights_.numel()) + ", lon]");
  auto dev = prediction.device();
  auto chan = [&](const torch::Tensor &v) {
    return v.to(dev).view({1, -1, 1, 1});
  };
  torch::Tensor mean = chan(mean_), sd = chan(std_), clim = chan(clim_);
  torch::Tensor w = weights_.to(dev).view({1, 1, -1, 1});
  torch::Tensor f = prediction.detach().to(torch::kFloat64) * sd + mean;
  torch::Tensor t = truth.detach().to(torch::kFloat64) * sd + mean;

  torch::Tensor err2 = (f - t).pow(2) * w;            // [b, c, h, w]
  torch::Tensor perSample = err2.mean({2, 3}).sqrt(); // [b, c]
  auto acc = [&](torch::Tensor &dst, const torch::Tensor &v) {
    dst += v.to(torch::kCPU);
  };
  acc(rmseSum_, perSample.sum(0));

  torch::Tensor fa = f - clim, a = t - clim;
  torch::Tensor ww = w.expand_as(fa);
  std::vector<int64_t> dims = {0, 2, 3};
  acc(sumFA_, fa.sum(dims));
  acc(sumA_, a.sum(dims));
  acc(sumWFA_, (ww * fa).sum(dims));
  acc(sumWA_, (ww * a).sum(dims));
  acc(sumWFF_, (ww * fa * fa).sum(dims));
  acc(sumWAA_, (ww * a * a).sum(dims));
  acc(sumWFAA_, (ww * fa * a).sum(dims));
  acc(sumW_, ww.sum(dims));
  count_ +=
      double(prediction.size(0) * prediction.size(2) * prediction.size(3));
  samples_ += prediction.size(0);
}

std::vector<double> ChannelMetrics::rmse() const {
  std::vector<double> out(size_t(mean_.numel()), std::nan(""));
  if (samples_ == 0)
    return out;
  auto r = (rmseSum_ / double(samples_)).contiguous();
  for (size_t c = 0; c < out.size(); ++c)
    out[c] = r[int64_t(c)].item<double>();
  return out;
}

std::vector<double> ChannelMetrics::acc() const {
  std::vector<double> out(size_t(mean_.numel()), std::nan(""));
  if (samples_ == 0)
    return out;
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t c = int64_t(i);
    double n = count_;
    double mf = sumFA_[c].item<double>() / n, ma = sumA_[c].item<double>() / n;
    double swf = sumWFA_[c].item<double>(), swa = sumWA_[c].item<double>();
    double sw = sumW_[c].item<double>();
    double num =
        sumWFAA_[c].item<double>() - ma * swf - mf * swa + mf * ma * sw;
    double df = sumWFF_[c].item<double>() - 2 * mf * swf + mf * mf * sw;
    double da = sumWAA_[c].item<double>() - 2 * ma * swa + ma * ma * sw;
    double den = std::sqrt(std::max(df, 0.0) * std::max(da, 0.0));
    out[i] = den > 0.0 ? num / den : std::nan("");
  }
  return out;
}

torch::Tensor ChannelMetrics::sums() const {
  return torch::cat(
      {rmseSum_, sumWFA_, sumFA_, sumWA_, sumA_, sumWFF_, sumWAA_, sumWFAA_,
       sumW_, torch::tensor({count_, double(samples_)}, torch::kFloat64)});
}

void ChannelMetrics::setSums(const torch::Tensor &sums) {
  const int64_t c = mean_.numel();
  if (sums.numel() != 9 * c + 2)
    throw Error("metrics: " + std::to_string(sums.numel()) +
                " sums given for " + std::to_string(c) +
                " channels; expected " + std::to_string(9 * c + 2));
  torch::Tensor s = sums.to(torch::kCPU, torch::kFloat64).contiguous();
  int64_t at = 0;
  for (torch::Tensor *t : {&rmseSum_, &sumWFA_, &sumFA_, &sumWA_, &sumA_,
                           &sumWFF_, &sumWAA_, &sumWFAA_, &sumW_}) {
    *t = s.narrow(0, at, c).clone();
    at += c;
  }
  count_ = s[at].item<double>();
  samples_ = int64_t(s[at + 1].item<double>());
}

} // namespace s2s::rt
