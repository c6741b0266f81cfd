//===- SafetensorsTest.cpp - Safetensors files, checkpoint encodings -----===//

#include "io/Safetensors.h"
#include "io/Checkpoint.h"
#include "s2s/runtime/Error.h"

#include "TestSupport.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;
namespace rt = s2s::rt;
using s2s_test::TempDir;

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

} // namespace

TEST(Safetensors, HeaderIsByteExact) {
  TempDir tmp;
  const std::string path = tmp / "w.safetensors";
  rt::writeSafetensors(path, {{"w", torch::tensor({1.0f, 2.0f})}},
                       {{"format", "pt"}});
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_EQ(header.size(), 85u);
  std::string expected;
  expected += std::string("\x58\0\0\0\0\0\0\0", 8); // 88 = 85 + 3 spaces
  expected += header + "   ";
  expected += std::string("\x00\x00\x80\x3f\x00\x00\x00\x40", 8); // 1.0f, 2.0f
  EXPECT_EQ(readFile(path), expected);
}

TEST(Safetensors, RoundTrip) {
  TempDir tmp;
  const std::string path = tmp / "t.safetensors";
  torch::Tensor f32 = torch::arange(6, torch::kFloat32).reshape({2, 3}) / 7;
  torch::Tensor f64 = torch::tensor({1e-300, -2.5, 3.0, M_PI}, torch::kFloat64);
  torch::Tensor i64 = torch::tensor(int64_t(1) << 40, torch::kInt64);
  torch::Tensor u8 = torch::tensor({0, 255, 7}, torch::kUInt8);
  torch::Tensor empty = torch::zeros({0, 4});
  rt::writeSafetensors(path,
                       {{"a.f32", f32},
                        {"b.f64", f64},
                        {"c.i64", i64},
                        {"d.u8", u8},
                        {"e.empty", empty}},
                       {{"k", "v \"quoted\"\n"}});
  rt::SafetensorsFile f = rt::readSafetensors(path);
  ASSERT_EQ(f.tensors.size(), 5u);
  auto m = f.byName();
  EXPECT_TRUE(torch::equal(m["a.f32"], f32));
  EXPECT_TRUE(torch::equal(m["b.f64"], f64));
  EXPECT_EQ(m["c.i64"].dim(), 0);
  EXPECT_EQ(m["c.i64"].item<int64_t>(), int64_t(1) << 40);
  EXPECT_TRUE(torch::equal(m["d.u8"], u8));
  EXPECT_EQ(m["e.empty"].sizes(), empty.sizes());
  EXPECT_EQ(f.metadata.at("k"), "v \"quoted\"\n");
  // The data of a file size-aligned header starts at a multiple of 8.
  std::string bytes = readFile(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);

  // Truncated: the error names the file.
  {
    std::ofstream out(path + ".cut", std::ios::binary);
    out << bytes.substr(0, bytes.size() - 3);
  }
  try {
    rt::readSafetensors(path + ".cut");
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find(path + ".cut"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("outside"), std::string::npos)
        << e.what();
  }
}

TEST(Safetensors, DiskFullIsAnErrorNamingThePath) {
  if (!fs::exists("/dev/full"))
    GTEST_SKIP() << "no /dev/full";
  try {
    rt::writeSafetensors("/dev/full", {{"w", torch::ones({1000})}});
    FAIL() << "expected an error";
  } catch (const rt::Error &e) {
    EXPECT_NE(std::string(e.what()).find("'/dev/full'"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(fs::exists("/dev/full")); // never unlinked
}

TEST(Checkpoint, Base64RoundTrip) {
  std::vector<uint8_t> bytes = {0, 1, 2, 250, 251};
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string enc = rt::base64Encode(bytes.data(), n);
    EXPECT_EQ(rt::base64Decode(enc),
              std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
  }
  EXPECT_EQ(rt::base64Encode(reinterpret_cast<const uint8_t *>("foobar"), 6),
            "Zm9vYmFy");
}
