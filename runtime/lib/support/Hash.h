//===- Hash.h - Seeds and content keys --------------------------*- C++ -*-===//
//
// 64-bit FNV-1a, fed piece by piece (parameter seeds, shared-memory segment
// names, synthetic data channels), and the splitmix64 finaliser (shuffling
// seeds). Both are fixed functions: their values are part of what makes a
// run reproducible, so they never change. The offset basis is
// 1469598103934665603, not FNV's published 14695981039346656037 (a digit
// was lost where it was first written); every copy of the hash used that
// value, and changing it would change every initialisation and synthetic
// data set. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_HASH_H
#define S2S_RUNTIME_SUPPORT_HASH_H

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace s2s::rt {

class Fnv1a {
public:
  Fnv1a &bytes(const void *data, size_t n) {
    const auto *c = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < n; ++i)
      h_ = (h_ ^ c[i]) * 1099511628211ull;
    return *this;
  }
  /// The characters of `s` (without a terminator).
  Fnv1a &text(const std::string &s) { return bytes(s.data(), s.size()); }
  /// The 8 bytes of `v`, least significant first.
  Fnv1a &littleEndian(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      const auto c = static_cast<unsigned char>(v >> (8 * i));
      bytes(&c, 1);
    }
    return *this;
  }
  uint64_t value() const { return h_; }

private:
  uint64_t h_ = 1469598103934665603ull;
};

/// splitmix64's output function of state x + golden ratio.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// `v` as 16 lower-case hex digits.
inline std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_HASH_H
