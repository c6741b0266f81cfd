//===- LeadTimeKernelsTest.cpp - sample_leads, select_lead, context_lead --===//
//
// Against counts (every lead drawn, each about as often as the others over
// 10 000 draws; leads that differ within one batch), a plain loop over the
// samples (select_lead's frame is window[n, l_n], element by element) and
// the context's seconds.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

using namespace s2s::rt;

namespace {

torch::Tensor window(int64_t batch, int64_t frames) {
  // Frame k of sample n holds 1000 n + 100 k + (position), so a frame is
  // recognised by its values.
  return torch::arange(batch * frames * 2 * 3 * 4, torch::kFloat64)
             .reshape({batch, frames, 2, 3, 4})
             .remainder(24) +
         torch::arange(batch, torch::kFloat64).reshape({batch, 1, 1, 1, 1}) *
             1000 +
         torch::arange(frames, torch::kFloat64).reshape({1, frames, 1, 1, 1}) *
             100;
}

TEST(LeadTimeKernels, SampleLeadsDrawsEverySpecdLeadUniformly) {
  Model m(5);
  const Ints leads = {1, 2, 4};
  torch::Tensor w = torch::zeros({10000, 5, 1, 1, 1});
  torch::Tensor l = sample_leads(m, w, leads);
  ASSERT_EQ(l.sizes(), torch::IntArrayRef({10000}));
  EXPECT_EQ(l.scalar_type(), torch::kFloat32);
  std::map<int64_t, int64_t> count;
  auto a = l.accessor<float, 1>();
  for (int64_t i = 0; i < 10000; ++i) {
    float v = a[i];
    ASSERT_EQ(v, std::round(v)) << "a lead is a whole number of steps";
    count[int64_t(v)]++;
  }
  ASSERT_EQ(count.size(), 3u) << "only the spec'd leads, each of them";
  // Binomial(10000, 1/3): standard deviation 47; 5 of them either side.
  for (int64_t lead : leads) {
    ASSERT_TRUE(count.count(lead)) << "lead " << lead << " never drawn";
    EXPECT_NEAR(double(count[lead]), 10000.0 / 3, 5 * 47.1) << lead;
  }
}

TEST(LeadTimeKernels, SampleLeadsDifferAcrossABatchAndFollowTheGenerator) {
  Model m(5);
  torch::Tensor w = torch::zeros({16, 4, 2, 3, 4});
  torch::Tensor l = sample_leads(m, w, {1, 3});
  EXPECT_GT(l.max().item<double>(), l.min().item<double>())
      << "16 samples all drew the same lead: " << l;
  // The draw comes from the model's generator: the same seed, the same
  // leads; the next draw, others.
  Model again(5);
  EXPECT_TRUE(torch::equal(sample_leads(again, w, {1, 3}), l));
  EXPECT_FALSE(torch::equal(sample_leads(again, w, {1, 3}), l));
}

TEST(LeadTimeKernels, SampleLeadsRefusesLeadsTheWindowLacks) {
  Model m;
  torch::Tensor w = torch::zeros({2, 3, 1, 1, 1});
  EXPECT_THROW(sample_leads(m, w, {1, 3}), Error); // frames 0..2
  EXPECT_THROW(sample_leads(m, w, {0, 1}), Error);
  EXPECT_THROW(sample_leads(m, w, {}), Error);
}

TEST(LeadTimeKernels, SelectLeadPicksWindowAtEachSamplesLead) {
  const int64_t B = 6, T = 5;
  torch::Tensor w = window(B, T);
  torch::Tensor leads =
      torch::tensor({4.0, 1.0, 2.0, 4.0, 3.0, 1.0}, torch::kFloat64);
  torch::Tensor got = select_lead(w, leads);
  ASSERT_EQ(got.sizes(), torch::IntArrayRef({B, 2, 3, 4}));
  auto wa = w.accessor<double, 5>();
  auto ga = got.accessor<double, 4>();
  const int64_t l[B] = {4, 1, 2, 4, 3, 1};
  for (int64_t n = 0; n < B; ++n)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j)
          ASSERT_EQ(ga[n][c][i][j], wa[n][l[n]][c][i][j])
              << "sample " << n << " at lead " << l[n];
  EXPECT_THROW(select_lead(w, torch::tensor({5.0, 1.0, 1.0, 1.0, 1.0, 1.0})),
               Error);
  EXPECT_THROW(select_lead(w, torch::tensor({1.0, 1.0})), Error);
}

TEST(LeadTimeKernels, SelectLeadPassesGradientToTheChosenFramesOnly) {
  torch::Tensor w = window(3, 4).requires_grad_(true);
  torch::Tensor got =
      select_lead(w, torch::tensor({2.0, 3.0, 1.0}, torch::kFloat64));
  got.sum().backward();
  torch::Tensor expect = torch::zeros({3, 4, 2, 3, 4}, torch::kFloat64);
  expect[0][2].fill_(1);
  expect[1][3].fill_(1);
  expect[2][1].fill_(1);
  EXPECT_TRUE(torch::equal(w.grad(), expect));
}

TEST(LeadTimeKernels, ContextLeadIsTheCallersLeadInHoursOrTheDefault) {
  Model m;
  torch::Tensor x = torch::zeros({3, 2, 4, 8});
  torch::Tensor h = context_lead(m, x, 6 * 3600);
  EXPECT_TRUE(torch::equal(h, torch::full({3}, 6.0f)));
  m.context().leadSeconds = 30 * 3600 + 1800;
  h = context_lead(m, x, 6 * 3600);
  EXPECT_TRUE(torch::allclose(h, torch::full({3}, 30.5f)));
}

} // namespace
