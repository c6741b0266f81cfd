//===- DataParallelTest.cpp - N processes over Gloo equal one on the batch ===//
//
// Real processes on loopback: this binary re-executed N times with
// torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...),
// each running s2s::rt::main on a hand-built program, against one process
// with mesh [data: 1] on the same global batch. Both write a checkpoint
// after every step; the parameters of each step's checkpoint must agree to
// rtol 1.3e-6 / atol 1e-5 (PyTorch's _test_DDP_niter), over two epochs
// (the second reshuffled), for SGD with momentum and AdamW. The model has
// 255 parameters (not divisible by 2 or 4) in three blocks (ZeRO-3 units,
// split unevenly over the ranks: at 4 ranks one rank holds a single value
// of the first unit and another none) and rolls out to order 3; a case
// with accumulate = 2 splits each process's batch into two micro-batches,
// one recomputes each step in the backward (checkpoint_activations). The
// optimizer state each rank reports holding (the banner's placement line,
// measured from the optimizer's tensors) must be ⌈P/N⌉ values per state
// tensor for ZeRO, P for ddp; ZeRO-3's ranks must never have held the
// whole model's values at once (the end-of-run report, counted where
// units are gathered and freed).
//
//===----------------------------------------------------------------------===//

#include "RankProcesses.h"

#include <gtest/gtest.h>

using namespace s2s_test;

namespace {

/// The optimizer-state bytes rank output `text` reports.
int64_t reportedStateBytes(const std::string &text) {
  const size_t at = text.find(" bytes");
  if (at == std::string::npos)
    return -1;
  size_t b = at;
  while (b > 0 && std::isdigit(static_cast<unsigned char>(text[b - 1])))
    --b;
  return std::stoll(text.substr(b, at - b));
}

/// The peak gathered and whole-model bytes of ZeRO-3's end-of-run report
/// ("at most X bytes of gathered parameters at once (the whole model: Y
/// bytes)"); {-1, -1} without one.
std::pair<int64_t, int64_t> gatheredPeak(const std::string &text) {
  const size_t at = text.find("at most ");
  const size_t whole = text.find("the whole model: ");
  if (at == std::string::npos || whole == std::string::npos)
    return {-1, -1};
  return {std::stoll(text.substr(at + 8)), std::stoll(text.substr(whole + 17))};
}

void expectEqualToOneProcess(const Case &c) {
  const auto &ref = reference(c);
  std::string out;
  std::vector<Rank> ranks = runCase(c, c.world, out);
  for (size_t r = 0; r < ranks.size(); ++r)
    ASSERT_EQ(ranks[r].status, 0) << "rank " << r << ":\n"
                                  << ranks[r].out << ranks[r].err;
  const double worst = expectSameModels(ref, stepModels(out), c.strategy);
  // The optimizer state each rank holds, measured from its tensors.
  const int64_t states = c.optimizer == "sgd" ? 1 : 2;
  const int64_t values =
      c.strategy == "ddp" ? kParameters : (kParameters + c.world - 1) / c.world;
  for (size_t r = 0; r < ranks.size(); ++r) {
    EXPECT_EQ(reportedStateBytes(ranks[r].out), values * states * 4)
        << ranks[r].out;
    if (c.strategy != "zero3" && c.strategy != "fsdp")
      continue;
    const auto [peak, whole] = gatheredPeak(ranks[r].out);
    EXPECT_EQ(whole, kParameters * 4) << ranks[r].out;
    EXPECT_GT(peak, 0) << ranks[r].out;
    EXPECT_LT(peak, whole) << ranks[r].out;
    std::printf("[figures] rank %zu: at most %lld of %lld parameter bytes "
                "gathered at once\n",
                r, (long long)peak, (long long)whole);
  }
  std::printf("[figures] %s %s, %d ranks, accumulate %d: %zu steps, max "
              "|difference| %.3g; optimizer state %lld bytes per rank\n",
              c.strategy.c_str(), c.optimizer.c_str(), c.world, c.accumulate,
              ref.size(), worst, (long long)reportedStateBytes(ranks[0].out));
}

} // namespace

/// Every strategy at 2 and 4 ranks against one process: SGD-momentum and
/// AdamW, clipping, accumulation (micro-batches), recomputation.
class EqualsOneProcess : public ::testing::TestWithParam<Case> {};

TEST_P(EqualsOneProcess, AfterEveryStep) {
  expectEqualToOneProcess(GetParam());
}

Case recomputed(Case c) {
  c.recompute = 1;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Strategies, EqualsOneProcess,
    ::testing::Values(
        Case{"ddp", "sgd", 2, 1}, Case{"ddp", "adamw", 2, 1},
        Case{"ddp", "adamw", 2, 2}, Case{"ddp", "sgd", 2, 1, 0.05},
        Case{"ddp", "sgd", 4, 1}, Case{"zero1", "sgd", 2, 1},
        Case{"zero1", "adamw", 2, 1}, Case{"zero2", "sgd", 2, 1},
        Case{"zero2", "adamw", 2, 1}, Case{"zero2", "adamw", 2, 2, 0.05},
        Case{"zero2", "adamw", 4, 1}, Case{"zero3", "sgd", 2, 1},
        Case{"zero3", "adamw", 2, 1}, Case{"fsdp", "adamw", 4, 2, 0.05},
        Case{"zero3", "sgd", 4, 1}, recomputed(Case{"zero3", "adamw", 2, 1})),
    [](const ::testing::TestParamInfo<Case> &info) {
      const Case &c = info.param;
      return c.strategy + "_" + c.optimizer + "_x" + std::to_string(c.world) +
             "_acc" + std::to_string(c.accumulate) +
             (c.clip > 0 ? "_clip" : "") + (c.recompute ? "_recompute" : "");
    });

namespace {

/// The numbers of `"key":{...}` in the first record of metrics.jsonl text
/// that has it.
std::vector<double> jsonNumbers(const std::string &text,
                                const std::string &key) {
  std::vector<double> out;
  const size_t at = text.find("\"" + key + "\":{");
  if (at == std::string::npos)
    return out;
  const size_t end = text.find('}', at);
  for (size_t c = text.find(':', at + key.size() + 3); c < end;
       c = text.find(':', c + 1))
    out.push_back(std::stod(text.substr(c + 1)));
  return out;
}

/// The validation tables a rank printed.
std::string validationTables(const std::string &out) {
  std::string tables;
  std::istringstream in(out);
  bool inTable = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("  valid", 0) == 0)
      inTable = true;
    else if (line.rfind("  ", 0) != 0)
      inTable = false;
    if (inTable)
      tables += line + "\n";
  }
  return tables;
}

} // namespace

// Each rank scores its share of the validation split (batch b on rank
// b mod N) and the sums are added: every rank prints the one-process
// figures. Four ranks over 3 validation batches: rank 3 scores none but
// runs ZeRO-3's gathers with the others. Persistence does not depend on
// the model, so its scores must agree to rounding; the model's to the
// parameters' agreement.
TEST(Zero, ValidationScoresAreTheOneProcessOnesOnEveryRank) {
  Case one{"ddp", "sgd", 1, 1};
  std::string outOne, outFour;
  std::vector<Rank> r1 = runCase(one, 1, outOne);
  ASSERT_EQ(r1[0].status, 0) << r1[0].err;
  Case four{"zero3", "sgd", 4, 1};
  std::vector<Rank> r4 = runCase(four, 4, outFour);
  for (size_t r = 0; r < r4.size(); ++r)
    ASSERT_EQ(r4[r].status, 0) << "rank " << r << ":\n" << r4[r].err;
  const std::string want = readFile(outOne + "/metrics.jsonl"),
                    got = readFile(outFour + "/metrics.jsonl");
  const std::vector<double> pw = jsonNumbers(want, "rmse_persistence"),
                            pg = jsonNumbers(got, "rmse_persistence"),
                            mw = jsonNumbers(want, "rmse"),
                            mg = jsonNumbers(got, "rmse");
  ASSERT_EQ(pw.size(), 3u) << want;
  ASSERT_EQ(pg.size(), 3u) << got;
  ASSERT_EQ(mg.size(), 3u) << got;
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_NEAR(pg[c], pw[c], 1e-12 * pw[c]) << "channel " << c;
    EXPECT_NEAR(mg[c], mw[c], 1e-5 * mw[c]) << "channel " << c;
  }
  EXPECT_NE(got.find("\"valid_windows\":23"), std::string::npos) << got;
  const std::string tables = validationTables(r4[0].out);
  EXPECT_NE(tables.find("(23 windows)"), std::string::npos) << r4[0].out;
  for (size_t r = 1; r < r4.size(); ++r)
    EXPECT_EQ(validationTables(r4[r].out), tables) << "rank " << r;
}

namespace {

/// Trains epoch 1 with `first` (sharded checkpoints for ZeRO, one file per
/// rank plus a manifest), then epoch 2 resumed from its last checkpoint
/// with `second` on another number of processes or another strategy: the
/// parameters after every step must be the uninterrupted one-process
/// run's; with `exact`, bit for bit those of `second` run uninterrupted.
/// A resume on the layout of the save reads each rank's own shard only.
void expectResharded(Case first, Case second, bool exact = false) {
  const Models &ref = reference(first); // two epochs, uninterrupted
  first.epochs = 1;
  std::string out1, out2;
  std::vector<Rank> r1 = runCase(first, first.world, out1);
  for (size_t r = 0; r < r1.size(); ++r)
    ASSERT_EQ(r1[r].status, 0) << "rank " << r << ":\n" << r1[r].err;
  const std::string ckpt = out1 + "/checkpoints/ckpt-3";
  if (first.strategy != "ddp") {
    EXPECT_TRUE(fs::exists(ckpt + "/manifest.json"));
    EXPECT_FALSE(fs::exists(ckpt + "/model.safetensors"));
    for (int r = 0; r < first.world; ++r) {
      char name[64];
      std::snprintf(name, sizeof name, "/shard-%05d-of-%05d.safetensors", r,
                    first.world);
      EXPECT_TRUE(fs::exists(ckpt + name)) << ckpt + name;
    }
  }
  // The sharded checkpoint as one file of the model's parameters.
  Case exporter = first;
  exporter.resumeFrom = ckpt;
  exporter.exportTo = out1 + "/weights.safetensors";
  std::string outExport;
  std::vector<Rank> re = runCase(exporter, 1, outExport);
  ASSERT_EQ(re[0].status, 0) << re[0].out << re[0].err;
  const auto exported = rt::readSafetensors(exporter.exportTo).byName();
  const auto saved = rt::loadCheckpoint(ckpt).model;
  EXPECT_EQ(exported.size(), saved.size());
  for (const auto &[name, t] : saved)
    EXPECT_TRUE(exported.count(name) && torch::equal(exported.at(name), t))
        << "exported " << name;

  Case resumed = second;
  resumed.resumeFrom = ckpt;
  std::vector<Rank> r2 = runCase(resumed, resumed.world, out2);
  for (size_t r = 0; r < r2.size(); ++r) {
    ASSERT_EQ(r2[r].status, 0) << "rank " << r << ":\n" << r2[r].err;
    // On the layout it was saved with, each rank reads its own shard only.
    const bool sameLayout = first.strategy == second.strategy &&
                            first.world == second.world &&
                            first.strategy != "ddp";
    EXPECT_EQ(r2[r].out.find("resumed from its own shard") != std::string::npos,
              sameLayout)
        << r2[r].out;
  }
  Models got = stepModels(out1);
  for (const auto &m : stepModels(out2))
    got.push_back(m);
  const std::string label =
      first.strategy + " x" + std::to_string(first.world) + " -> " +
      second.strategy + " x" + std::to_string(second.world);
  const double worst = expectSameModels(ref, got, label);
  if (exact) {
    std::string outWhole;
    std::vector<Rank> rw = runCase(second, second.world, outWhole);
    ASSERT_EQ(rw[0].status, 0) << rw[0].err;
    const Models whole = stepModels(outWhole);
    ASSERT_EQ(whole.size(), got.size());
    for (size_t s = 0; s < got.size(); ++s)
      for (const auto &[name, w] : whole[s])
        EXPECT_TRUE(torch::equal(got[s].at(name), w))
            << label << " step " << s + 1 << " " << name << " differs by "
            << (got[s].at(name) - w).abs().max().item<double>();
  }
  std::printf("[figures] %s: %zu steps equal to one process, max "
              "|difference| %.3g\n",
              label.c_str(), got.size(), worst);
}

} // namespace

TEST(Checkpoints, Zero3OnFourRanksResumesAsDdpOnTwo) {
  expectResharded({"zero3", "adamw", 4, 1}, {"ddp", "adamw", 2, 1});
}

TEST(Checkpoints, Zero2OnFourRanksResumesAsZero3OnTwo) {
  expectResharded({"zero2", "sgd", 4, 1}, {"zero3", "sgd", 2, 1});
}

TEST(Checkpoints, Zero3ResumesOnTheSameRanksExactly) {
  expectResharded({"zero3", "adamw", 2, 1}, {"zero3", "adamw", 2, 1}, true);
}

TEST(Checkpoints, DdpOnTwoResumesAsZero1OnFour) {
  expectResharded({"ddp", "adamw", 2, 1}, {"zero1", "adamw", 4, 1});
}
