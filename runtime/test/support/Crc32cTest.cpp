//===- Crc32cTest.cpp - CRC-32C against its check value and a bit loop ----===//

#include "support/Crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

/// CRC-32C one bit at a time, straight from the definition (reflected
/// polynomial 0x82F63B78, initial value and final xor all ones).
uint32_t bitwise(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k)
      c = (c & 1u) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}

} // namespace

TEST(Crc32c, PublishedCheckValue) {
  // The "check" of the CRC catalogue (and RFC 3720's iSCSI CRC): "123456789".
  EXPECT_EQ(s2s::rt::crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(s2s::rt::crc32c("", 0), 0u);
}

TEST(Crc32c, EqualsTheBitLoopAtEveryLengthAndOffset) {
  std::mt19937 g(3);
  std::vector<unsigned char> v(1 << 20);
  for (unsigned char &c : v)
    c = static_cast<unsigned char>(g());
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; n < 80; ++n)
      ASSERT_EQ(s2s::rt::crc32c(v.data() + off, n), bitwise(v.data() + off, n))
          << "offset " << off << ", " << n << " bytes";
  EXPECT_EQ(s2s::rt::crc32c(v.data(), v.size()), bitwise(v.data(), v.size()));
  // Continued: the whole from its two parts.
  const uint32_t first = s2s::rt::crc32c(v.data(), 12345);
  EXPECT_EQ(s2s::rt::crc32c(v.data() + 12345, v.size() - 12345, first),
            bitwise(v.data(), v.size()));
}
