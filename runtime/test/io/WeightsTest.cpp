//===- WeightsTest.cpp - torch.save files, name maps, import and export ---===//

#include "io/Weights.h"
#include "io/NameMap.h"
#include "io/TorchFile.h"
#include "s2s/runtime/Error.h"

#include "TestSupport.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <fstream>

namespace rt = s2s::rt;
using namespace std::string_literals; // pickles hold NUL bytes
using s2s_test::expectError;
using s2s_test::TempDir;

namespace {

/// Writes a zip archive as torch.save lays it out: <name>/data.pkl and
/// <name>/data/<key> records.
void writeArchive(
    const std::string &path, const std::string &pickle,
    const std::vector<std::pair<std::string, std::string>> &data) {
  caffe2::serialize::PyTorchStreamWriter w(path);
  w.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto &[key, bytes] : data)
    w.writeRecord("data/" + key, bytes.data(), bytes.size());
  w.writeEndOfFile();
}

std::string u32(uint32_t n) {
  return std::string(reinterpret_cast<const char *>(&n), 4); // little endian
}
std::string str(const std::string &s) { return "X" + u32(s.size()) + s; }

/// A pickle, opcode by opcode, of what torch.save writes for
/// OrderedDict([("module.w", t)]), t a [2, 2] view at offset 1 with strides
/// (1, 2) of float storage "0" of 6 elements (a transposed slice).
std::string stateDictPickle() {
  std::string p = "\x80\x02"s;                      // PROTO 2
  p += "ccollections\nOrderedDict\nq\x00)Rq\x01("s; // {} , MARK
  p += str("module.w"s);
  p += "ctorch._utils\n_rebuild_tensor_v2\nq\x02("s; // fn, MARK args
  p += "("s + str("storage"s) + "ctorch\nFloatStorage\n"s + str("0"s) +
       str("cpu"s) + "K\x06tQ"s;         // persistent id
  p += "K\x01"s;                         // offset 1
  p += "K\x02K\x02\x86"s;                // size (2, 2)
  p += "K\x01K\x02\x86"s;                // stride (1, 2)
  p += "\x89"s;                          // requires_grad
  p += "ccollections\nOrderedDict\n)R"s; // hooks
  p += "tR"s;                            // the tensor
  p += "u."s;                            // SETITEMS, STOP
  return p;
}

std::string floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char *>(v.data()),
                     v.size() * sizeof(float));
}

} // namespace

TEST(TorchFile, ReadsAStateDictAsTorchSaveLaysItOut) {
  TempDir tmp;
  const std::string path = tmp / "sd.pt";
  writeArchive(path, stateDictPickle(), {{"0", floats({0, 1, 2, 3, 4, 5})}});
  const rt::NamedTensors t = rt::readTorchStateDict(path);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].first, "module.w");
  // element [i][j] = storage[1 + i + 2 j]
  EXPECT_TRUE(
      torch::equal(t[0].second, torch::tensor({{1.f, 3.f}, {2.f, 4.f}})));
  EXPECT_TRUE(t[0].second.is_contiguous());
}

TEST(TorchFile, RefusesStoragesTooSmallAndBrokenPickles) {
  TempDir tmp;
  const std::string small = tmp / "small.pt";
  writeArchive(small, stateDictPickle(), {{"0", floats({0, 1, 2})}});
  expectError([&] { rt::readTorchStateDict(small); },
              {"small.pt", "storage '0' holds 12 bytes, fewer than its 6"});
  const std::string cut = tmp / "cut.pt";
  std::string p = stateDictPickle();
  writeArchive(cut, p.substr(0, p.size() - 2),
               {{"0", floats({0, 1, 2, 3, 4, 5})}});
  expectError([&] { rt::readTorchStateDict(cut); },
              {"cut.pt", "the pickle ends early", "torch.save"});
  const std::string text = tmp / "text.pt";
  std::ofstream(text) << "not a zip";
  expectError([&] { rt::readTorchStateDict(text); },
              {"text.pt", "not a zip-format torch.save file"});
  expectError([&] { rt::readTorchStateDict(tmp / "missing.pt"); },
              {"missing.pt", "cannot read"});
}

TEST(TorchFile, WrittenStateDictsReadBack) {
  TempDir tmp;
  const std::string path = tmp / "w.pt";
  torch::Tensor a = torch::arange(12, torch::kFloat32).reshape({3, 4}).t();
  torch::Tensor b = torch::tensor({1e-300, -2.5}, torch::kFloat64);
  torch::Tensor c = torch::tensor({int64_t(1) << 40}, torch::kInt64);
  rt::writeTorchStateDict(path, {{"a", a}, {"b", b}, {"c", c}});
  const rt::NamedTensors t = rt::readTorchStateDict(path);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].first, "a");
  EXPECT_TRUE(torch::equal(t[0].second, a));
  EXPECT_TRUE(torch::equal(t[1].second, b));
  EXPECT_EQ(t[2].second.scalar_type(), torch::kInt64);
  EXPECT_TRUE(torch::equal(t[2].second, c));
}

TEST(NameMap, FourcastnetMapsUpstreamNames) {
  const rt::NameMap m = rt::NameMap::load("fourcastnet");
  auto is = [&](const std::string &ours, const std::string &theirs, bool tr) {
    const rt::NameMap::Target t = m.theirs(ours);
    EXPECT_EQ(t.name, theirs) << ours;
    EXPECT_EQ(t.transpose, tr) << ours;
  };
  is("pos", "pos_embed", false);
  is("patch_embed.0.weight", "patch_embed.proj.weight", false);
  is("AFNOBlock.11.layer_norm.0.bias", "blocks.11.norm1.bias", false);
  is("AFNOBlock.3.afno2d.0.w2", "blocks.3.filter.w2", false);
  is("AFNOBlock.0.Mlp.0.linear.1.weight", "blocks.0.mlp.fc2.weight", true);
  is("AFNOBlock.0.Mlp.0.linear.0.bias", "blocks.0.mlp.fc1.bias", false);
  is("linear.0.weight", "head.weight", true);
  is("something.else", "something.else", false); // no rule: as is
  EXPECT_TRUE(m.skipped("norm.weight"));
  EXPECT_FALSE(m.skipped("blocks.0.norm1.weight"));
  EXPECT_TRUE(rt::NameMap::load("").identity());
}

TEST(NameMap, RulesAndTheirErrors) {
  const rt::NameMap m = rt::NameMap::parse(
      "# comment\n"
      "enc.{a}.w   encoder.layers.{a}.weight  transpose  # trailing\n"
      "dec.*       decoder.*\n",
      "my.map");
  EXPECT_EQ(m.theirs("enc.7.w").name, "encoder.layers.7.weight");
  EXPECT_TRUE(m.theirs("enc.7.w").transpose);
  EXPECT_EQ(m.theirs("enc.7.x.w").name, "enc.7.x.w"); // {a} stops at a dot
  EXPECT_EQ(m.theirs("dec.a.b.c").name, "decoder.a.b.c");
  expectError([] { rt::NameMap::parse("a b flip\n", "m.map"); },
              {"m.map:1:", "[transpose]"});
  expectError([] { rt::NameMap::parse("\na.{i} b.{j}\n", "m.map"); },
              {"m.map:2:", "'{j}'", "does not capture"});
  expectError([] { rt::NameMap::parse("a.{i b\n", "m.map"); },
              {"m.map:1:", "unclosed"});
  expectError([] { rt::NameMap::parse("a.*.b c\n", "m.map"); },
              {"m.map:1:", "'*' before its end"});
  expectError([] { rt::NameMap::load("/nonexistent/x.map"); },
              {"x.map", "fourcastnet", "nor a readable file"});
}

TEST(Weights, ImportMapsTransposesAndReportsEveryMismatch) {
  TempDir tmp;
  const std::string path = tmp / "ck.pt";
  torch::Tensor fc = torch::arange(6, torch::kFloat32).reshape({3, 2});
  rt::writeTorchStateDict(path, {{"module.fc.weight", fc},
                                 {"module.fc.bias", torch::ones({3})},
                                 {"module.extra", torch::zeros({1})}});
  const rt::NameMap map = rt::NameMap::parse(
      "lin.weight fc.weight transpose\nlin.bias fc.bias\nemb emb.weight\n",
      "t.map");
  std::vector<rt::WeightSlot> slots = {{"lin.weight", {2, 3}},
                                       {"lin.bias", {3}}};
  const std::string msg =
      expectError([&] { rt::importWeights(path, slots, map); },
                  {"ck.pt'", "t.map", "prefix 'module.' dropped",
                   "file tensors no s2s parameter takes:\n  extra [1]"});
  const rt::ImportedWeights w = rt::importWeights(path, slots, map, true);
  ASSERT_EQ(w.tensors.size(), 2u);
  EXPECT_TRUE(torch::equal(w.tensors[0].second, fc.t()));
  EXPECT_NE(w.summary.find("1 file tensors unused"), std::string::npos);
  slots.push_back({"emb", {4, 2}});
  expectError([&] { rt::importWeights(path, slots, map); },
              {"lacks (s2s <- looked for):\n  emb <- emb.weight [4, 2]"});
  slots = {{"lin.weight", {3, 2}}, {"lin.bias", {3}}};
  expectError([&] { rt::importWeights(path, slots, map, true); },
              {"shapes that differ", "lin.weight [3, 2] <- fc.weight [3, 2] "
                                     "transposed"});
}

TEST(Weights, ExportReversesTheMap) {
  TempDir tmp;
  const rt::NameMap map =
      rt::NameMap::parse("lin.weight fc.weight transpose\n", "t.map");
  torch::Tensor w = torch::randn({2, 3});
  rt::NamedTensors params = {{"lin.weight", w}, {"b", torch::ones({3})}};
  for (const char *file : {"e.pt", "e.safetensors"}) {
    const std::string path = tmp / file;
    rt::writeWeights(path, params, map);
    const rt::ImportedWeights back =
        rt::importWeights(path, {{"lin.weight", {2, 3}}, {"b", {3}}}, map);
    EXPECT_TRUE(torch::equal(back.tensors[0].second, w)) << file;
  }
  EXPECT_TRUE(torch::equal(rt::readTorchStateDict(tmp / "e.pt")[0].second,
                           w.t().contiguous()));
  expectError([&] { rt::writeWeights(tmp / "e.bin", params, map); },
              {"e.bin", ".safetensors, .pt or .pth"});
  const rt::NameMap twice = rt::NameMap::parse("* x\n", "t.map");
  expectError([&] { rt::writeWeights(tmp / "t.pt", params, twice); },
              {"two parameters map to 'x'"});
}
