//===- LeadTimeTest.cpp - The lead values a generated program's model sees ===//
//
// test/rollout/leads_k1.s2s (LeadTimeNet, leads = [1, 2, 4], step 6h) is
// compiled by s2sc and included here with its calls of the lead_embed
// kernel routed through a spy that records the lead tensor it is given.
// The recorded leads must differ across a batch, be l * 6 hours for l in
// the spec's set, all of the set must appear, and the generated loss must
// equal the loss computed by hand from the recorded leads: the model's
// forward called directly on (x_0, hours) against window[n, hours_n / 6],
// picked sample by sample. The one-step function must pass the context's
// lead (one data step when none is set).
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace s2s::rt {
/// Every lead tensor the generated code hands lead_embed, in call order.
std::vector<torch::Tensor> seenLeads;
Tensor lead_embed_spy(const Tensor &lead, int64_t dim) {
  seenLeads.push_back(lead.detach().clone());
  return lead_embed(lead, dim);
}
} // namespace s2s::rt

#define lead_embed lead_embed_spy
#define s2s_generated g_leads_k1
#define main main_leads_k1
#include "leads_k1.cpp"
#undef main
#undef s2s_generated
#undef lead_embed

using namespace s2s::rt;
using torch::Tensor;

namespace {

Model makeModel() {
  Manifest manifest;
  g_leads_k1::net_parameters(manifest);
  Model m(7, torch::kCPU, torch::kFloat64);
  m.materialize(manifest);
  m.context().latitude = torch::linspace(-80.0, 80.0, 8, torch::kFloat64);
  return m;
}

Tensor window() {
  auto g = at::make_generator<at::CPUGeneratorImpl>(uint64_t(11));
  return torch::randn({16, 5, 2, 8, 16}, g,
                      torch::TensorOptions().dtype(torch::kFloat64));
}

TEST(LeadTime, TheModelSeesEachSamplesDrawnLeadInHours) {
  Model m = makeModel();
  const Tensor w = window();
  std::set<double> everySeen;
  for (int call = 0; call < 5; ++call) {
    seenLeads.clear();
    Tensor loss = g_leads_k1::net_rollout(m, w);
    ASSERT_EQ(seenLeads.size(), 1u) << "one model call per window";
    const Tensor hours = seenLeads[0];
    ASSERT_EQ(hours.sizes(), torch::IntArrayRef({16})) << "one lead per sample";
    std::set<double> inBatch;
    for (int64_t n = 0; n < 16; ++n) {
      const double h = hours[n].item<double>();
      ASSERT_TRUE(h == 6.0 || h == 12.0 || h == 24.0)
          << "sample " << n << " saw " << h << " h, not l * 6 h for l in "
          << "{1, 2, 4}";
      inBatch.insert(h);
      everySeen.insert(h);
    }
    EXPECT_GE(inBatch.size(), 2u)
        << "every sample of the batch saw the same lead: " << hours;

    // The loss by hand from the recorded leads: the model called directly,
    // each sample's target the frame at its own lead.
    Tensor x0 = w.select(1, 0);
    std::vector<Tensor> targets;
    for (int64_t n = 0; n < 16; ++n)
      targets.push_back(w[n][int64_t(hours[n].item<double>() / 6.0)]);
    seenLeads.clear();
    Tensor pred = g_leads_k1::net(m, x0, hours);
    Tensor expect = (pred - torch::stack(targets)).pow(2).mean();
    EXPECT_NEAR(loss.item<double>(), expect.item<double>(),
                1e-12 * expect.item<double>())
        << "the generated loss is not the loss at the leads the model saw";
  }
  EXPECT_EQ(everySeen, (std::set<double>{6.0, 12.0, 24.0}))
      << "over 5 batches of 16 some lead of the set was never drawn";
}

TEST(LeadTime, TheStepTakesTheContextsLeadOrOneDataStep) {
  Model m = makeModel();
  const Tensor x = window().select(1, 0);
  seenLeads.clear();
  m.context().leadSeconds = 0;
  Tensor y6 = g_leads_k1::net_step(m, x);
  ASSERT_EQ(seenLeads.size(), 1u);
  EXPECT_TRUE(
      torch::equal(seenLeads[0], torch::full({16}, 6.0, torch::kFloat64)));
  m.context().leadSeconds = 24 * 3600;
  Tensor y24 = g_leads_k1::net_step(m, x);
  EXPECT_TRUE(
      torch::equal(seenLeads[1], torch::full({16}, 24.0, torch::kFloat64)));
  EXPECT_TRUE(torch::allclose(
      y24, g_leads_k1::net(m, x, torch::full({16}, 24.0, torch::kFloat64))));
  EXPECT_FALSE(torch::allclose(y6, y24)) << "the lead changes the forecast";
}

} // namespace
