//===- Crc32c.cpp - CRC-32C (Castagnoli) of a run of bytes ----------------===//
//
// SSE 4.2's crc32 instruction where the CPU has it (checked once), else
// the byte-wise table of the reflected polynomial.
//
//===----------------------------------------------------------------------===//

#include "support/Crc32c.h"

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>
#define S2S_CRC32C_SSE42 1
#endif

namespace s2s::rt {

namespace {

uint32_t tableCrc(const unsigned char *p, size_t n, uint32_t crc) {
  static const auto table = [] {
    struct T {
      uint32_t v[256];
    } t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t.v[i] = c;
    }
    return t;
  }();
  for (size_t i = 0; i < n; ++i)
    crc = (crc >> 8) ^ table.v[(crc ^ p[i]) & 0xFFu];
  return crc;
}

#ifdef S2S_CRC32C_SSE42
__attribute__((target("sse4.2"))) uint32_t hardwareCrc(const unsigned char *p,
                                                       size_t n, uint32_t crc) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
  }
  uint32_t c32 = uint32_t(c);
  for (; n > 0; --n, ++p)
    c32 = _mm_crc32_u8(c32, *p);
  return c32;
}
#endif

} // namespace

uint32_t crc32c(const void *data, size_t n, uint32_t crc) {
  const auto *p = static_cast<const unsigned char *>(data);
  crc = ~crc;
#ifdef S2S_CRC32C_SSE42
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw)
    return ~hardwareCrc(p, n, crc);
#endif
  return ~tableCrc(p, n, crc);
}

} // namespace s2s::rt
