//===- LossScalerTest.cpp - fp16's dynamic loss scaling -------------------===//
//
// The scaler's rules written out as GradScaler states them: a step with an
// infinite or NaN gradient is skipped and halves the scale, growthInterval
// finite steps in a row double it; unscaling divides by the scale exactly
// (a power of two); the state goes through a checkpoint and continues as
// the uninterrupted scaler. fp32 tensors: the logic is what is tested.
//
//===----------------------------------------------------------------------===//

#include "optim/LossScaler.h"
#include "io/Checkpoint.h"
#include "s2s/runtime/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <unistd.h>

namespace fs = std::filesystem;
namespace rt = s2s::rt;

TEST(LossScaler, StartsAtGradScalersDefaults) {
  rt::LossScaler s;
  EXPECT_EQ(s.scale(), 65536.0);
  EXPECT_EQ(s.goodSteps(), 0);
  EXPECT_EQ(rt::kLossScaleGrowthInterval, 2000);
  torch::Tensor loss = torch::tensor(0.25f);
  EXPECT_EQ(s.scale(loss).item<float>(), 0.25f * 65536.0f);
}

TEST(LossScaler, UnscaleDividesTheGradientsInPlace) {
  rt::LossScaler s(1024.0);
  torch::Tensor g1 = torch::tensor({3.0f, -5.0f}) * 1024.0f;
  torch::Tensor g2 = torch::tensor({{0.5f}}) * 1024.0f;
  torch::Tensor g1Handle = g1; // the same storage: a parameter's .grad()
  EXPECT_TRUE(s.unscale({g1, torch::Tensor(), g2}));
  EXPECT_EQ(g1Handle[0].item<float>(), 3.0f);
  EXPECT_EQ(g1Handle[1].item<float>(), -5.0f);
  EXPECT_EQ(g2[0][0].item<float>(), 0.5f);
}

TEST(LossScaler, InfiniteOrNanGradientSkipsTheStepAndHalvesTheScale) {
  rt::LossScaler s(1024.0, 0, 3);
  s.update(true);
  s.update(true);
  EXPECT_EQ(s.goodSteps(), 2);
  for (float bad : {std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    torch::Tensor ok = torch::ones({4});
    torch::Tensor g = torch::ones({3});
    g[1] = bad;
    const double before = s.scale();
    const bool finite = s.unscale({ok, g});
    EXPECT_FALSE(finite) << bad;
    s.update(finite);
    EXPECT_EQ(s.scale(), before / 2) << bad;
    EXPECT_EQ(s.goodSteps(), 0) << bad; // the run of good steps restarts
  }
  EXPECT_EQ(s.scale(), 128.0);
}

TEST(LossScaler, GrowsAfterGrowthIntervalGoodStepsInARow) {
  rt::LossScaler s(8.0, 0, 3);
  s.update(true);
  s.update(true);
  EXPECT_EQ(s.scale(), 8.0);
  s.update(true); // the third in a row
  EXPECT_EQ(s.scale(), 16.0);
  EXPECT_EQ(s.goodSteps(), 0);
  s.update(true);
  s.update(false); // a skipped step breaks the run
  s.update(true);
  s.update(true);
  EXPECT_EQ(s.scale(), 8.0);
  s.update(true);
  EXPECT_EQ(s.scale(), 16.0);
}

TEST(LossScaler, ScaleBelowTwoToTheMinus24IsDivergence) {
  rt::LossScaler s(1.0);
  for (int i = 0; i < 24; ++i)
    s.update(false);
  EXPECT_EQ(s.scale(), std::ldexp(1.0, -24));
  try {
    s.update(false);
    FAIL() << "no error below 2^-24";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("bf16"), std::string::npos);
  }
}

TEST(LossScaler, StateRoundTripsThroughACheckpoint) {
  const fs::path dir = fs::temp_directory_path() /
                       ("s2s-loss-scaler-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  // A scaler part way: grown once, halved once, 1 good step since.
  rt::LossScaler run(1024.0, 0, 3);
  for (bool finite : {true, true, true, false, true})
    run.update(finite);
  ASSERT_EQ(run.scale(), 1024.0);
  ASSERT_EQ(run.goodSteps(), 1);

  rt::TrainState st;
  st.program = "p";
  st.globalStep = 5;
  st.precision = "fp16";
  st.lossScale = run.scale();
  st.lossScaleGoodSteps = run.goodSteps();
  rt::Checkpointer ckpt(dir.string(), 2);
  const std::string folder = ckpt.save({{"w", torch::zeros({2})}}, {}, st);
  const rt::Checkpoint c = rt::loadCheckpoint(folder);
  EXPECT_EQ(c.state.precision, "fp16");
  EXPECT_EQ(c.state.lossScale, 1024.0);
  EXPECT_EQ(c.state.lossScaleGoodSteps, 1);

  // The resumed scaler continues as the uninterrupted one.
  rt::LossScaler resumed(c.state.lossScale, c.state.lossScaleGoodSteps, 3);
  for (bool finite : {true, true, false, true, true, true}) {
    run.update(finite);
    resumed.update(finite);
    EXPECT_EQ(resumed.scale(), run.scale());
    EXPECT_EQ(resumed.goodSteps(), run.goodSteps());
  }
  fs::remove_all(dir);
}
