//===- ScoresTest.cpp - Latitude-weighted RMSE and ACC --------------------===//

#include "metrics/Scores.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <cmath>

namespace rt = s2s::rt;

TEST(Metrics, LatitudeWeightedRmse) {
  // Rows at 60N, 0, 60S: cos = .5, 1, .5, weights .75, 1.5, .75.
  torch::Tensor lat = torch::tensor({60.0, 0.0, -60.0}, torch::kFloat64);
  torch::Tensor w = rt::latitudeWeights(lat);
  EXPECT_NEAR(w[0].item<double>(), 0.75, 1e-12);
  EXPECT_NEAR(w[1].item<double>(), 1.5, 1e-12);
  // One channel, mean 10, std 2: a normalised error of 1 is 2 physical.
  rt::ChannelMetrics m(lat, torch::tensor({10.0}, torch::kFloat64),
                       torch::tensor({2.0}, torch::kFloat64));
  torch::Tensor truth = torch::randn({2, 1, 3, 4}, torch::kFloat64);
  torch::Tensor err = torch::zeros({2, 1, 3, 4}, torch::kFloat64);
  err[0][0][0] = 1.0; // sample 0: physical error 2 in the outer rows
  err[0][0][2] = 1.0; //   weighted mean square (.75*4 + .75*4)/3 = 2
  err[1][0][1] = 2.0; // sample 1: physical error 4 on the equator
                      //   weighted mean square 1.5*16/3 = 8
  m.add(truth + err, truth);
  EXPECT_EQ(m.samples(), 2);
  // Mean over samples of the per-sample RMSE, not the root of the mean.
  EXPECT_NEAR(m.rmse()[0], (std::sqrt(2.0) + std::sqrt(8.0)) / 2, 1e-12);
}

TEST(Metrics, UniformlyWeightedRmse) {
  // rmse(weight = uniform): every grid point counts alike. The errors of
  // LatitudeWeightedRmse, unweighted: sample 0 mean square (4 + 4 + 4 +
  // 4 + 4 + 4 + 4 + 4) / 12 = 32 / 12 (two rows of four points at 2),
  // sample 1 (4 points at 4) 64 / 12.
  torch::Tensor lat = torch::tensor({60.0, 0.0, -60.0}, torch::kFloat64);
  rt::ChannelMetrics m(lat, torch::tensor({10.0}, torch::kFloat64),
                       torch::tensor({2.0}, torch::kFloat64), {},
                       rt::Weighting::Uniform);
  torch::Tensor truth = torch::randn({2, 1, 3, 4}, torch::kFloat64);
  torch::Tensor err = torch::zeros({2, 1, 3, 4}, torch::kFloat64);
  err[0][0][0] = 1.0;
  err[0][0][2] = 1.0;
  err[1][0][1] = 2.0;
  m.add(truth + err, truth);
  EXPECT_NEAR(m.rmse()[0],
              (std::sqrt(32.0 / 12.0) + std::sqrt(64.0 / 12.0)) / 2, 1e-12);
  // The latitude-weighted score of the same errors differs.
  rt::ChannelMetrics w(lat, torch::tensor({10.0}, torch::kFloat64),
                       torch::tensor({2.0}, torch::kFloat64));
  w.add(truth + err, truth);
  EXPECT_GT(std::fabs(w.rmse()[0] - m.rmse()[0]), 0.1);
}

TEST(Metrics, AccPerfectNoiseAndSign) {
  torch::manual_seed(1);
  torch::Tensor lat = torch::linspace(-87.5, 87.5, 36, torch::kFloat64);
  torch::Tensor mean = torch::tensor({5.0, -1.0}, torch::kFloat64);
  torch::Tensor sd = torch::tensor({3.0, 0.5}, torch::kFloat64);
  torch::Tensor truth = torch::randn({8, 2, 36, 72}, torch::kFloat64);
  rt::ChannelMetrics perfect(lat, mean, sd), noise(lat, mean, sd),
      flipped(lat, mean, sd), scaled(lat, mean, sd);
  perfect.add(truth, truth);
  noise.add(torch::randn_like(truth), truth);
  flipped.add(-truth, truth);
  scaled.add(2.0 * truth, truth);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(perfect.acc()[size_t(c)], 1.0, 1e-12);
    EXPECT_NEAR(perfect.rmse()[size_t(c)], 0.0, 1e-12);
    EXPECT_LT(std::fabs(noise.acc()[size_t(c)]), 0.05);
    EXPECT_NEAR(flipped.acc()[size_t(c)], -1.0, 1e-12);
    EXPECT_NEAR(scaled.acc()[size_t(c)], 1.0, 1e-12);
  }
  // RMSE of noise against truth in physical units: ~ std * sqrt(2).
  EXPECT_NEAR(noise.rmse()[0], 3.0 * std::sqrt(2.0), 0.15);
  EXPECT_NEAR(noise.rmse()[1], 0.5 * std::sqrt(2.0), 0.03);
}

TEST(Metrics, SumsOfTwoHalvesGiveTheScoresOfTheWhole) {
  // What a parallel strategy's reduceValidation does: each process scores
  // its samples, the sums are added element by element.
  torch::manual_seed(2);
  torch::Tensor lat = torch::linspace(-80, 80, 9, torch::kFloat64);
  torch::Tensor mean = torch::tensor({1.0, 2.0}, torch::kFloat64);
  torch::Tensor sd = torch::tensor({0.5, 3.0}, torch::kFloat64);
  torch::Tensor clim = torch::tensor({1.5, 1.0}, torch::kFloat64);
  torch::Tensor truth = torch::randn({6, 2, 9, 12}, torch::kFloat64);
  torch::Tensor pred = truth + 0.3 * torch::randn_like(truth);
  rt::ChannelMetrics whole(lat, mean, sd, clim), a(lat, mean, sd, clim),
      b(lat, mean, sd, clim);
  whole.add(pred, truth);
  a.add(pred.slice(0, 0, 4), truth.slice(0, 0, 4));
  b.add(pred.slice(0, 4, 6), truth.slice(0, 4, 6));
  EXPECT_EQ(a.sums().numel(), 9 * 2 + 2);
  a.setSums(a.sums() + b.sums());
  EXPECT_EQ(a.samples(), 6);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(a.rmse()[c], whole.rmse()[c], 1e-12);
    EXPECT_NEAR(a.acc()[c], whole.acc()[c], 1e-12);
  }
  EXPECT_THROW(a.setSums(torch::zeros({3}, torch::kFloat64)), s2s::rt::Error);
}
