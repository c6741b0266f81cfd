//===- TensorParallelTest.cpp - Megatron layers on T processes vs float64 -===//
//
// Real processes over Gloo on loopback: this binary re-executed as each
// rank of a mesh [data: D, tensor: T] (TensorParallelChild.DISABLED_Main),
// each running the tensor-parallel layers (tp/TensorParallel.h) in fp32 on
// its slices of one set of full weights; the parent computes the same
// layers once, plainly, in float64 with the full weights (x @ W + b, an
// explicit softmax attention, an explicit layer norm) and compares each
// rank's output, input gradient and weight-shard gradients, the loss being
// sum(output * R) for a fixed random R. Bounds (Megatron's test_layers):
// max |difference| < 1e-6 for a linear layer, 5e-6 attention, 5e-5 a
// pre-norm transformer block. In a block the layer norms' gradients must
// be the same on every tensor rank (replicated parameters), and every
// parameter gathered from the ranks' slices must be the full one (also
// for a manifest created sliced, materializeShards).
//
//===----------------------------------------------------------------------===//

#include "Processes.h"

#include "comm/Mesh.h"
#include "dist/Launch.h"
#include "tp/TensorParallel.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace s2s_test;
namespace rt = s2s::rt;

namespace {

[[maybe_unused]] ::testing::Environment *const cleanupEnv =
    ::testing::AddGlobalTestEnvironment(new TempRootCleanup("S2S_TP_CASE"));

constexpr int64_t kBatch = 2, kTokens = 5, kEmbed = 16, kHeads = 4,
                  kHidden = 32;
constexpr double kEps = 1e-5;

using Tensors = std::map<std::string, torch::Tensor>;

/// The full weights and inputs, float64, the same in every process:
/// linear weights and biases at s2s's default (torch's) initialisation,
/// uniform(+-1/sqrt(fan-in)); inputs N(0, 1); the output's cotangent R
/// N(0, 1) / (batch * tokens), that of a loss averaged over the tokens.
Tensors fixture(int64_t dataIndex) {
  torch::manual_seed(1234);
  auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  Tensors t;
  auto fanIn = [&](std::vector<int64_t> shape, int64_t in) {
    return (torch::rand(shape, f64) * 2.0 - 1.0) / std::sqrt(double(in));
  };
  auto rnd = [&](std::vector<int64_t> shape, double s) {
    return torch::randn(shape, f64) * s;
  };
  t["fc1.weight"] = fanIn({kEmbed, kHidden}, kEmbed);
  t["fc1.bias"] = fanIn({kHidden}, kEmbed);
  t["fc2.weight"] = fanIn({kHidden, kEmbed}, kHidden);
  t["fc2.bias"] = fanIn({kEmbed}, kHidden);
  t["attn.qkv.weight"] = fanIn({kEmbed, 3 * kEmbed}, kEmbed);
  t["attn.qkv.bias"] = fanIn({3 * kEmbed}, kEmbed);
  t["attn.proj.weight"] = fanIn({kEmbed, kEmbed}, kEmbed);
  t["attn.proj.bias"] = fanIn({kEmbed}, kEmbed);
  t["norm1.weight"] = 1.0 + rnd({kEmbed}, 0.1);
  t["norm1.bias"] = rnd({kEmbed}, 0.1);
  t["norm2.weight"] = 1.0 + rnd({kEmbed}, 0.1);
  t["norm2.bias"] = rnd({kEmbed}, 0.1);
  t["R"] = rnd({kBatch, kTokens, kEmbed}, 1.0 / (kBatch * kTokens));
  t["Rhidden"] = rnd({kBatch, kTokens, kHidden}, 1.0 / (kBatch * kTokens));
  torch::manual_seed(100 + dataIndex); // each data index its own batch
  t["x"] = rnd({kBatch, kTokens, kEmbed}, 1.0);
  t["h"] = rnd({kBatch, kTokens, kHidden}, 1.0);
  return t;
}

/// Which op of the layer each parameter belongs to and its layout.
s2s::rt::TensorLayout layoutOf(const std::string &name) {
  if (name.rfind("fc1", 0) == 0 || name.rfind("attn", 0) == 0)
    return s2s::rt::TensorLayout::Column;
  if (name.rfind("fc2", 0) == 0)
    return s2s::rt::TensorLayout::Row;
  return s2s::rt::TensorLayout::Replicated;
}

const std::vector<std::string> kLayers = {"column", "row", "mlp", "attention",
                                          "block"};

//===----------------------------------------------------------------------===//
// The rank's side: the tensor-parallel layers in fp32
//===----------------------------------------------------------------------===//

torch::Tensor rankForward(const std::string &layer, rt::Model &m,
                          rt::Communicator &tp, const torch::Tensor &x) {
  using rt::Activation;
  if (layer == "column")
    return rt::columnLinear(m, tp, "fc1", x, kHidden, true, Activation::None);
  if (layer == "row")
    return rt::rowLinear(m, tp, "fc2", x, kEmbed, true, Activation::None);
  auto mlp = [&](const torch::Tensor &in) {
    return rt::rowLinear(
        m, tp, "fc2",
        rt::columnLinear(m, tp, "fc1", in, kHidden, true, Activation::Gelu),
        kEmbed, true, Activation::None);
  };
  if (layer == "mlp")
    return mlp(x);
  if (layer == "attention")
    return rt::parallelAttention(m, tp, "attn", x, kHeads, true, 0.0);
  torch::Tensor y = x + rt::parallelAttention(
                            m, tp, "attn", rt::layer_norm(m, "norm1", x, kEps),
                            kHeads, true, 0.0);
  return y + mlp(rt::layer_norm(m, "norm2", y, kEps));
}

/// Runs `layer` on this rank's slices; writes output, input gradient and
/// every parameter's gradient to `path`.
void runRank(const std::string &layer, rt::MeshGroups &g,
             const std::string &path) {
  const Tensors full = fixture(g.dataIndex);
  const int64_t t = g.tensorIndex, T = g.tensor->size();
  rt::Model m;
  for (const auto &[name, value] : full) {
    if (name.find('.') == std::string::npos)
      continue; // inputs
    torch::Tensor shard =
        rt::tensorShard(value, rt::shardSpec(name, layoutOf(name)), t, T);
    m.create(name, shard.sizes(), rt::Init{});
    m.load(name, shard.to(torch::kFloat32));
  }
  // The row layer alone takes the hidden activations split on their last
  // dim; the others the whole input.
  torch::Tensor x =
      layer == "row" ? full.at("h").chunk(T, -1)[size_t(t)] : full.at("x");
  x = x.to(torch::kFloat32).detach().requires_grad_(true);
  torch::Tensor y = rankForward(layer, m, *g.tensor, x);
  torch::Tensor r = layer == "column"
                        ? full.at("Rhidden").chunk(T, -1)[size_t(t)]
                        : full.at("R");
  (y * r.to(torch::kFloat32)).sum().backward();
  torch::serialize::OutputArchive a;
  a.write("out", y.detach());
  a.write("dx", x.grad());
  for (const auto &[name, p] : m.namedParameters())
    if (p.grad().defined())
      a.write("d." + name, p.grad());
  // Each parameter put back together from the ranks' slices (what a
  // checkpoint saves).
  for (const auto &[name, p] : m.namedParameters())
    a.write("full." + name,
            rt::gatherFull(*g.tensor, p.detach(),
                           rt::shardSpec(name, layoutOf(name))));
  // The fixture's layers as a manifest, created sliced on this rank: put
  // back together they must be the whole model materialize creates.
  rt::Manifest manifest;
  for (const auto &[name, value] : full)
    if (name.find('.') != std::string::npos) {
      rt::Sharding sharding;
      sharding.tensor = layoutOf(name);
      rt::declare(manifest, name, value.sizes().vec(),
                  rt::Init{rt::InitKind::FanIn, 16.0, 0.0}, sharding);
    }
  rt::Model sliced(7), whole(7);
  rt::materializeShards(sliced, manifest, t, T);
  whole.materialize(manifest);
  double initDiff = 0.0;
  for (size_t i = 0; i < manifest.size(); ++i) {
    const auto &[name, shard] = sliced.namedParameters()[i];
    torch::Tensor back = rt::gatherFull(*g.tensor, shard.detach(),
                                        rt::shardSpec(name, layoutOf(name)));
    initDiff = std::max(
        initDiff,
        (back - whole.namedParameters()[i].second).abs().max().item<double>());
  }
  a.write("initdiff", torch::full({1}, initDiff, torch::kFloat64));
  // The data group: the sum of the world ranks in it.
  std::vector<torch::Tensor> sum = {
      torch::full({1}, double(g.dataIndex * T + t))};
  g.data->allReduceSum(sum);
  a.write("datasum", sum[0]);
  a.save_to(path);
}

} // namespace

TEST(TensorParallelChild, DISABLED_Main) {
  const char *spec = std::getenv("S2S_TP_CASE");
  ASSERT_NE(spec, nullptr) << "run through the TensorParallel tests";
  std::string layer;
  int64_t tensor = 1;
  std::istringstream(spec) >> layer >> tensor;
  torch::set_num_threads(1);
  const rt::LaunchEnv env = rt::launchEnv();
  int rc = 0;
  try {
    auto world = rt::Communicator::connect(
        env, rt::Backend::Gloo, std::chrono::seconds(60), torch::kCPU);
    rt::MeshGroups g = rt::splitMesh(*world, tensor);
    for (const std::string &l :
         layer == "all" ? kLayers : std::vector<std::string>{layer})
      runRank(l, g,
              std::string(std::getenv("S2S_TEST_OUT")) + "/" + l + "-rank" +
                  std::to_string(env.ranks.rank) + ".pt");
    world->barrier();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "rank %lld: %s\n", (long long)env.ranks.rank,
                 e.what());
    rc = 1;
  }
  std::fflush(nullptr);
  std::_Exit(rc);
}

namespace {

//===----------------------------------------------------------------------===//
// The reference: the same layers, plainly, in float64 with the full weights
//===----------------------------------------------------------------------===//

torch::Tensor exactGelu(const torch::Tensor &x) {
  return 0.5 * x * (1.0 + torch::erf(x / std::sqrt(2.0)));
}

torch::Tensor layerNorm(const torch::Tensor &x, const torch::Tensor &w,
                        const torch::Tensor &b) {
  torch::Tensor mean = x.mean(-1, true);
  torch::Tensor var = (x - mean).pow(2).mean(-1, true);
  return (x - mean) / torch::sqrt(var + kEps) * w + b;
}

torch::Tensor attention(const Tensors &p, const torch::Tensor &x) {
  const int64_t d = kEmbed / kHeads;
  torch::Tensor qkv = x.matmul(p.at("attn.qkv.weight")) + p.at("attn.qkv.bias");
  std::vector<torch::Tensor> heads;
  for (int64_t h = 0; h < kHeads; ++h) {
    torch::Tensor q = qkv.narrow(-1, h * d, d),
                  k = qkv.narrow(-1, kEmbed + h * d, d),
                  v = qkv.narrow(-1, 2 * kEmbed + h * d, d);
    torch::Tensor s = q.matmul(k.transpose(1, 2)) / std::sqrt(double(d));
    torch::Tensor e = torch::exp(s - std::get<0>(s.max(-1, true)));
    heads.push_back((e / e.sum(-1, true)).matmul(v));
  }
  return torch::cat(heads, -1).matmul(p.at("attn.proj.weight")) +
         p.at("attn.proj.bias");
}

torch::Tensor mlp(const Tensors &p, const torch::Tensor &x) {
  return exactGelu(x.matmul(p.at("fc1.weight")) + p.at("fc1.bias"))
             .matmul(p.at("fc2.weight")) +
         p.at("fc2.bias");
}

/// Output, input gradient and parameter gradients of `layer`, float64.
Tensors reference(const std::string &layer, int64_t dataIndex) {
  Tensors f = fixture(dataIndex), p;
  for (const auto &[name, v] : f)
    p[name] = v.clone().requires_grad_(name.find('.') != std::string::npos);
  torch::Tensor x = (layer == "row" ? f.at("h") : f.at("x")).clone();
  x.requires_grad_(true);
  torch::Tensor y;
  if (layer == "column")
    y = x.matmul(p.at("fc1.weight")) + p.at("fc1.bias");
  else if (layer == "row")
    y = x.matmul(p.at("fc2.weight")) + p.at("fc2.bias");
  else if (layer == "mlp")
    y = mlp(p, x);
  else if (layer == "attention")
    y = attention(p, x);
  else {
    torch::Tensor h = x + attention(p, layerNorm(x, p.at("norm1.weight"),
                                                 p.at("norm1.bias")));
    y = h + mlp(p, layerNorm(h, p.at("norm2.weight"), p.at("norm2.bias")));
  }
  (y * (layer == "column" ? f.at("Rhidden") : f.at("R"))).sum().backward();
  Tensors out = {{"out", y.detach()}, {"dx", x.grad()}};
  for (const auto &[name, v] : p)
    if (v.grad().defined())
      out["d." + name] = v.grad();
  return out;
}

/// Rank t of T's part of a full float64 tensor, by narrowing: column
/// weights split on their output dim (qkv: each of q, k, v), row weights
/// on their input dim, attention's proj as a row layer.
torch::Tensor expectedSlice(const std::string &key, const torch::Tensor &v,
                            int64_t t, int64_t T) {
  const std::string name = key.substr(2);
  auto narrow = [&](int64_t dim, int64_t blocks) {
    const int64_t n = v.size(dim) / blocks, k = n / T;
    std::vector<torch::Tensor> parts;
    for (int64_t b = 0; b < blocks; ++b)
      parts.push_back(v.narrow(dim, b * n + t * k, k));
    return torch::cat(parts, dim);
  };
  if (name == "attn.qkv.weight")
    return narrow(1, 3);
  if (name == "attn.qkv.bias")
    return narrow(0, 3);
  if (name == "attn.proj.weight" || name == "fc2.weight")
    return narrow(0, 1);
  if (name == "fc1.weight")
    return narrow(1, 1);
  if (name == "fc1.bias")
    return narrow(0, 1);
  return v;
}

double bound(const std::string &layer) {
  return layer == "block" ? 5e-5 : layer == "attention" ? 5e-6 : 1e-6;
}

/// This binary's command line for one rank of these tests.
std::vector<std::string> tpChildCommand() {
  return {fs::read_symlink("/proc/self/exe").string(),
          "--gtest_filter=TensorParallelChild.DISABLED_Main",
          "--gtest_also_run_disabled_tests"};
}

/// Starts `world` ranks with tensor size `tensor` running every layer.
std::string runMesh(int world, int tensor) {
  std::string out;
  const std::string base = freshRun(out);
  const int port = freePort();
  std::vector<pid_t> pids;
  for (int r = 0; r < world; ++r)
    pids.push_back(spawn(tpChildCommand(),
                         {{"S2S_TP_CASE", "all " + std::to_string(tensor)},
                          {"S2S_TEST_OUT", out},
                          {"OMP_NUM_THREADS", "1"},
                          {"RANK", std::to_string(r)},
                          {"LOCAL_RANK", std::to_string(r)},
                          {"WORLD_SIZE", std::to_string(world)},
                          {"LOCAL_WORLD_SIZE", std::to_string(world)},
                          {"MASTER_ADDR", "127.0.0.1"},
                          {"MASTER_PORT", std::to_string(port)}},
                         base + "/rank" + std::to_string(r)));
  for (int r = 0; r < world; ++r) {
    const std::string log = base + "/rank" + std::to_string(r);
    EXPECT_EQ(waitStatus(pids[size_t(r)]), 0)
        << "rank " << r << ":\n"
        << readFile(log + ".out") << readFile(log + ".err");
  }
  return out;
}

void expectEqualsFloat64(int world, int tensor) {
  const std::string out = runMesh(world, tensor);
  for (const std::string &layer : kLayers) {
    double worst = 0.0;
    for (int r = 0; r < world; ++r) {
      const int64_t d = r / tensor, t = r % tensor;
      const Tensors want = reference(layer, d);
      torch::serialize::InputArchive a;
      a.load_from(out + "/" + layer + "-rank" + std::to_string(r) + ".pt");
      std::vector<std::string> keys = {"out", "dx"};
      for (const auto &[k, v] : want)
        if (k.rfind("d.", 0) == 0)
          keys.push_back(k);
      for (const std::string &k : keys) {
        torch::Tensor got;
        ASSERT_TRUE(a.try_read(k, got)) << layer << " rank " << r << ": " << k;
        torch::Tensor w = want.at(k);
        if (k == "out" && layer == "column")
          w = w.chunk(tensor, -1)[size_t(t)];
        else if (k == "dx" && layer == "row")
          w = w.chunk(tensor, -1)[size_t(t)];
        else if (k.rfind("d.", 0) == 0)
          w = expectedSlice(k, w, t, tensor);
        ASSERT_EQ(got.sizes(), w.sizes()) << layer << " rank " << r << " " << k;
        const double diff =
            (got.to(torch::kFloat64) - w).abs().max().item<double>();
        EXPECT_LT(diff, bound(layer))
            << layer << " rank " << r << " " << k << " (T = " << tensor << ")";
        worst = std::max(worst, diff);
      }
      for (const auto &[name, v] : fixture(d)) {
        torch::Tensor whole;
        if (name.find('.') != std::string::npos &&
            a.try_read("full." + name, whole))
          EXPECT_TRUE(torch::equal(whole, v.to(torch::kFloat32)))
              << "gathered " << name << " on rank " << r;
        else if (name.find('.') != std::string::npos)
          ADD_FAILURE() << "rank " << r << " gathered no " << name;
      }
      torch::Tensor initDiff;
      a.read("initdiff", initDiff);
      EXPECT_EQ(initDiff.item<double>(), 0.0)
          << "materializeShards on rank " << r << " (T = " << tensor << ")";
      torch::Tensor datasum;
      a.read("datasum", datasum);
      double want_sum = 0;
      for (int64_t q = t; q < world; q += tensor)
        want_sum += double(q);
      EXPECT_EQ(datasum.item<double>(), want_sum) << "data group of rank " << r;
    }
    std::printf("[figures] tensor parallel %s, mesh [data: %d, tensor: %d]: "
                "max |difference| to float64 %.3g (bound %.0e)\n",
                layer.c_str(), world / tensor, tensor, worst, bound(layer));
  }
}

} // namespace

// Column, row, MLP pair, attention and a pre-norm block at T = 2 and 4.
TEST(TensorParallel, TwoRanksEqualFloat64) { expectEqualsFloat64(2, 2); }
TEST(TensorParallel, FourRanksEqualFloat64) { expectEqualsFloat64(4, 4); }
// A 2D mesh [data: 2, tensor: 2]: the tensor groups {0,1}, {2,3} each on
// their own batch, the data groups {0,2}, {1,3}.
TEST(TensorParallel, TwoByTwoMeshGroups) { expectEqualsFloat64(4, 2); }

// The replicated layer norms of a block get the same gradient on every
// tensor rank (compared bit for bit across ranks).
TEST(TensorParallel, LayerNormGradientsSameOnEveryTensorRank) {
  const std::string out = runMesh(4, 4);
  torch::serialize::InputArchive a0;
  a0.load_from(out + "/block-rank0.pt");
  for (int r = 1; r < 4; ++r) {
    torch::serialize::InputArchive a;
    a.load_from(out + "/block-rank" + std::to_string(r) + ".pt");
    for (const char *k : {"d.norm1.weight", "d.norm1.bias", "d.norm2.weight",
                          "d.norm2.bias", "d.attn.proj.bias", "d.fc2.bias"}) {
      torch::Tensor g0, g;
      a0.read(k, g0);
      a.read(k, g);
      EXPECT_TRUE(torch::equal(g0, g)) << k << " rank " << r;
    }
  }
}
