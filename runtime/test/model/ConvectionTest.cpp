//===- ConvectionTest.cpp - convective_adjust against plain float64 loops -===//
//
// The column integral is recomputed here from the de-normalised values,
// level by level, with the layer thicknesses written out by hand: nothing
// is shared with the kernel but the contract.

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

using namespace s2s::rt;

namespace {

// Levels top down (hPa) and, by hand, the layers they stand for:
// interfaces 375, 600, 812.5, 962.5; top 250 - 125 = 125, bottom
// 1000 + 37.5 = 1037.5.
const Ints kLevels = {250, 500, 700, 925, 1000};
const double kDp[5] = {25000, 22500, 21250, 15000, 7500}; // Pa
const int64_t K = 5;
// Channels as a data section lists them: t1000, t925, ..., t250, then
// q1000, ..., q250, then u (not part of any column).
const Ints kT = {4, 3, 2, 1, 0}, kQ = {9, 8, 7, 6, 5};
const int64_t C = 11, kU = 10;
const double kCp = 1004.64, kLv = 2.501e6, kG = 9.80665;
// The data's normalisation per channel: mean and std.
const double kMeanT = 255.0, kStdT = 18.0, kMeanQ = 4e-3, kStdQ = 5e-3;

double offsetOf(int64_t c) { return c < 5 ? kMeanT : c < 10 ? kMeanQ : 2.0; }
double scaleOf(int64_t c) { return c < 5 ? kStdT : c < 10 ? kStdQ : 7.0; }

void setUnits(Model &m) {
  std::vector<double> a, b;
  for (int64_t c = 0; c < C; ++c) {
    a.push_back(offsetOf(c));
    b.push_back(scaleOf(c));
  }
  m.context().channelOffset = torch::tensor(a, torch::kFloat64);
  m.context().channelScale = torch::tensor(b, torch::kFloat64);
}

/// A column in physical units, top down.
struct Column {
  double T[5], q[5];
};

/// Columns [1, C, 1, n] normalised, in `type`; u is column index * 0.1.
torch::Tensor normalisedField(const std::vector<Column> &cols,
                              torch::ScalarType type) {
  const int64_t n = int64_t(cols.size());
  torch::Tensor x = torch::zeros({1, C, 1, n}, torch::kFloat64);
  auto a = x.accessor<double, 4>();
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < K; ++k) {
      a[0][kT[k]][0][j] = (cols[j].T[k] - kMeanT) / kStdT;
      a[0][kQ[k]][0][j] = (cols[j].q[k] - kMeanQ) / kStdQ;
    }
    a[0][kU][0][j] = 0.1 * double(j);
  }
  return x.to(type);
}

/// Column j of a normalised field in physical units, from its values as
/// stored (float32 or float64).
Column physicalColumn(const torch::Tensor &y, int64_t j) {
  torch::Tensor d = y.detach().to(torch::kFloat64);
  auto a = d.accessor<double, 4>();
  Column c;
  for (int64_t k = 0; k < K; ++k) {
    c.T[k] = kMeanT + kStdT * a[0][kT[k]][0][j];
    c.q[k] = kMeanQ + kStdQ * a[0][kQ[k]][0][j];
  }
  return c;
}

double enthalpy(const Column &c) {
  double h = 0;
  for (int64_t k = 0; k < K; ++k)
    h += (kCp * c.T[k] + kLv * c.q[k]) * kDp[k] / kG;
  return h;
}

/// theta_e of level k, (T + L q / c_p) (1000 / p)^(R/c_p).
double thetaE(const Column &c, int64_t k) {
  return (c.T[k] + kLv / kCp * c.q[k]) *
         std::pow(1000.0 / double(kLevels[k]), 287.04 / kCp);
}

bool unstable(const Column &c) {
  for (int64_t k = 0; k + 1 < K; ++k)
    if (thetaE(c, k + 1) > thetaE(c, k))
      return true;
  return false;
}

// Stable: theta_e grows with height. Unstable: a warm, moist bottom or a
// cold layer aloft.
const std::vector<Column> kColumns = {
    {{232.1, 263.6, 279.3, 289.8, 287.5}, {1e-5, 2e-4, 1e-3, 3e-3, 5e-3}},
    {{228.8, 260.1, 275.4, 287.9, 289.0}, {2e-5, 3e-4, 1.5e-3, 3e-3, 4e-3}},
    {{222, 246, 268, 293, 303}, {1e-5, 4e-4, 3e-3, 1.4e-2, 2.0e-2}}, // bottom
    {{210, 258, 262, 286, 292}, {1e-5, 2e-4, 2e-3, 9e-3, 1.2e-2}},   // aloft
    {{230, 240, 250, 299, 312}, {3e-4, 6e-4, 2e-3, 1.6e-2, 2.4e-2}},
};

TEST(ConvectionTest, ColumnsAreStableAndUnstableAsIntended) {
  EXPECT_FALSE(unstable(kColumns[0]));
  EXPECT_FALSE(unstable(kColumns[1]));
  EXPECT_TRUE(unstable(kColumns[2]));
  EXPECT_TRUE(unstable(kColumns[3]));
  EXPECT_TRUE(unstable(kColumns[4]));
}

TEST(ConvectionTest, ConservesMoistEnthalpyPerColumnInFloat32) {
  Model m(0);
  setUnits(m);
  torch::Tensor x = normalisedField(kColumns, torch::kFloat32);
  // dt = 1 h, tau = 3 h: a third of the way to neutral.
  torch::Tensor y =
      convective_adjust(m, x, x, kT, kQ, kLevels, 3600, 3 * 3600, 0.0);
  ASSERT_EQ(y.scalar_type(), torch::kFloat32);
  double worst = 0;
  for (int64_t j = 0; j < int64_t(kColumns.size()); ++j) {
    const Column in = physicalColumn(x, j), out = physicalColumn(y, j);
    const double rel = std::abs(enthalpy(out) - enthalpy(in)) / enthalpy(in);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-6) << "column " << j;
    double moved = 0;
    for (int64_t k = 0; k < K; ++k)
      moved = std::max(moved, std::abs(out.T[k] - in.T[k]));
    if (unstable(kColumns[j]))
      EXPECT_GT(moved, 0.1) << "unstable column " << j << " barely moved";
    else
      EXPECT_LT(moved, 1e-4) << "stable column " << j << " moved";
  }
  std::printf("largest relative change of a column's moist enthalpy: %.3g\n",
              worst);
  // The wind is not part of a column: bitwise x's.
  EXPECT_TRUE(torch::equal(y.select(1, kU), x.select(1, kU)));
}

TEST(ConvectionTest, RateOneGivesTheNeutralColumnWithTheSameWater) {
  Model m(0, torch::kCPU, torch::kFloat64);
  setUnits(m);
  torch::Tensor x = normalisedField(kColumns, torch::kFloat64);
  // The call's lead time (6 h) is dt when the context has one: rate 1.
  m.context().leadSeconds = 6 * 3600;
  torch::Tensor y =
      convective_adjust(m, x, x, kT, kQ, kLevels, 3600, 6 * 3600, 0.0);
  for (int64_t j = 2; j < int64_t(kColumns.size()); ++j) {
    const Column in = physicalColumn(x, j), out = physicalColumn(y, j);
    double waterIn = 0, waterOut = 0, mass = 0;
    for (int64_t k = 0; k < K; ++k) {
      waterIn += in.q[k] * kDp[k];
      waterOut += out.q[k] * kDp[k];
      mass += kDp[k];
    }
    EXPECT_NEAR(waterOut, waterIn, 1e-12 * waterIn) << j;
    for (int64_t k = 0; k < K; ++k) {
      EXPECT_NEAR(out.q[k], waterIn / mass, 1e-12) << j;
      EXPECT_NEAR(thetaE(out, k), thetaE(out, 0), 1e-9) << j;
    }
    EXPECT_NEAR(enthalpy(out), enthalpy(in), 1e-12 * enthalpy(in));
  }
  // A threshold above every column's fall of theta_e leaves all alone.
  torch::Tensor z =
      convective_adjust(m, x, x, kT, kQ, kLevels, 3600, 6 * 3600, 100.0);
  EXPECT_LT((z - x).abs().max().item<double>(), 1e-12);
}

TEST(ConvectionTest, TakesTheEnthalpyOfBeforeAndItsGradient) {
  Model m(0, torch::kCPU, torch::kFloat64);
  setUnits(m);
  torch::Tensor x =
      normalisedField(kColumns, torch::kFloat64).requires_grad_(true);
  std::vector<Column> other = kColumns;
  for (Column &c : other)
    for (int64_t k = 0; k < K; ++k) {
      c.T[k] += 1.5 - 0.4 * double(k);
      c.q[k] *= 0.9;
    }
  torch::Tensor before =
      normalisedField(other, torch::kFloat64).requires_grad_(true);
  torch::Tensor y =
      convective_adjust(m, x, before, kT, kQ, kLevels, 3600, 2 * 3600, 0.0);
  for (int64_t j = 0; j < int64_t(kColumns.size()); ++j) {
    const double want = enthalpy(physicalColumn(before, j));
    EXPECT_NEAR(enthalpy(physicalColumn(y, j)), want, 1e-12 * want) << j;
  }
  // The sum of the columns' enthalpies, from y by the same plain sum as a
  // differentiable expression: it is before's, so its gradient is zero
  // with respect to x and (c_p std_T, L_v std_q) dp / g with respect to
  // before.
  torch::Tensor h = torch::zeros({}, torch::kFloat64);
  for (int64_t k = 0; k < K; ++k)
    h = h + ((kCp * (kMeanT + kStdT * y.select(1, kT[k])) +
              kLv * (kMeanQ + kStdQ * y.select(1, kQ[k]))) *
             kDp[k] / kG)
                .sum();
  h.backward();
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(before.grad().defined());
  const double scale = kCp * kStdT * kDp[0] / kG;
  EXPECT_LT(x.grad().abs().max().item<double>(), 1e-9 * scale);
  for (int64_t k = 0; k < K; ++k) {
    torch::Tensor gT = before.grad().select(1, kT[k]);
    torch::Tensor gQ = before.grad().select(1, kQ[k]);
    EXPECT_NEAR(gT.min().item<double>(), kCp * kStdT * kDp[k] / kG,
                1e-9 * scale);
    EXPECT_NEAR(gT.max().item<double>(), kCp * kStdT * kDp[k] / kG,
                1e-9 * scale);
    EXPECT_NEAR(gQ.max().item<double>(), kLv * kStdQ * kDp[k] / kG,
                1e-9 * scale);
  }
  // Another weighting reaches x through the relaxation.
  x.grad().zero_();
  torch::Tensor y2 =
      convective_adjust(m, x, before, kT, kQ, kLevels, 3600, 2 * 3600, 0.0);
  y2.select(1, kT[0]).sum().backward();
  EXPECT_GT(x.grad().abs().sum().item<double>(), 0.0);
}

TEST(ConvectionTest, RejectsChannelsShapesAndUnitsThatDoNotFit) {
  Model m(0, torch::kCPU, torch::kFloat64);
  setUnits(m);
  torch::Tensor x = normalisedField(kColumns, torch::kFloat64);
  EXPECT_THROW(convective_adjust(m, x, x, {0, 1, 2, 3, 11}, kQ, kLevels, 3600,
                                 3600, 0.0),
               Error);
  EXPECT_THROW(convective_adjust(m, x, x.narrow(3, 0, 2), kT, kQ, kLevels, 3600,
                                 3600, 0.0),
               Error);
  EXPECT_THROW(convective_adjust(m, x, x, kT, kQ, {1000, 925, 700, 500, 250},
                                 3600, 3600, 0.0),
               Error);
  m.context().channelOffset = torch::zeros({3}, torch::kFloat64);
  EXPECT_THROW(convective_adjust(m, x, x, kT, kQ, kLevels, 3600, 3600, 0.0),
               Error);
}

} // namespace
