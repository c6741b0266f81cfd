//===- Sha256.cpp - SHA-256 of files --------------------------------------===//

#include "support/Sha256.h"

#include "s2s/runtime/Error.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

namespace s2s::rt {
namespace {

struct DigestContext {
  DigestContext() : ctx(EVP_MD_CTX_new()) {
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1)
      throw Error("SHA-256: OpenSSL cannot set up a digest");
  }
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
  void update(const void *data, size_t size) {
    if (EVP_DigestUpdate(ctx, data, size) != 1)
      throw Error("SHA-256: OpenSSL's digest update failed");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx, digest, &n) != 1)
      throw Error("SHA-256: OpenSSL's digest failed");
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
      out += digits[digest[i] >> 4];
      out += digits[digest[i] & 15];
    }
    return out;
  }
  EVP_MD_CTX *ctx;
};

} // namespace

std::string sha256Bytes(const void *data, size_t size) {
  DigestContext d;
  d.update(data, size);
  return d.hex();
}

std::string sha256File(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error("cannot open '" + path + "': " + std::strerror(errno));
  DigestContext d;
  std::vector<char> buf(size_t(4) << 20);
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw Error("cannot read '" + path + "': " + std::strerror(e));
    }
    if (n == 0)
      break;
    d.update(buf.data(), size_t(n));
  }
  ::close(fd);
  return d.hex();
}

} // namespace s2s::rt
