//===- Sha256.h - SHA-256 of files ------------------------------*- C++ -*-===//
//
// SHA-256 (FIPS 180-4, OpenSSL's libcrypto) of a file's bytes as 64
// lowercase hex digits: what `sha256sum` prints. Checkpoints record it for
// each tensor file and check it on load (io/Checkpoint.h). Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_SUPPORT_SHA256_H
#define S2S_RUNTIME_SUPPORT_SHA256_H

#include <cstddef>
#include <string>

namespace s2s::rt {

/// The SHA-256 of `path`'s bytes. Throws s2s::rt::Error naming the file when
/// it cannot be read.
std::string sha256File(const std::string &path);

/// The SHA-256 of `size` bytes at `data`.
std::string sha256Bytes(const void *data, size_t size);

} // namespace s2s::rt

#endif // S2S_RUNTIME_SUPPORT_SHA256_H
