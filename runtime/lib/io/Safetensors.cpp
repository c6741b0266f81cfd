//===- Safetensors.cpp - Named tensors in safetensors files ---------------===//

#include "io/Safetensors.h"

#include "s2s/runtime/Error.h"
#include "support/Json.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace s2s::rt {

//===----------------------------------------------------------------------===//
// Safetensors
//===----------------------------------------------------------------------===//

namespace {

struct DtypeName {
  torch::ScalarType type;
  const char *name;
};
const DtypeName dtypeNames[] = {
    {torch::kFloat64, "F64"}, {torch::kFloat32, "F32"},
    {torch::kFloat16, "F16"}, {torch::kBFloat16, "BF16"},
    {torch::kInt64, "I64"},   {torch::kInt32, "I32"},
    {torch::kInt16, "I16"},   {torch::kInt8, "I8"},
    {torch::kUInt8, "U8"},    {torch::kBool, "BOOL"},
};

const char *dtypeName(torch::ScalarType t, const std::string &tensor) {
  for (const DtypeName &d : dtypeNames)
    if (d.type == t)
      return d.name;
  throw Error("safetensors: tensor '" + tensor + "' has dtype " +
              std::string(c10::toString(t)) +
              ", which safetensors cannot hold");
}

bool dtypeFromName(const std::string &name, torch::ScalarType &out) {
  for (const DtypeName &d : dtypeNames)
    if (name == d.name) {
      out = d.type;
      return true;
    }
  return false;
}

// x86-64 and aarch64 are little-endian: the bytes of a contiguous tensor are
// already the file's.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the safetensors writer assumes a little-endian host");

} // namespace

std::string
safetensorsHeader(const NamedTensors &tensors,
                  const std::map<std::string, std::string> &metadata) {
  std::string h = "{";
  bool first = true;
  if (!metadata.empty()) {
    h += "\"__metadata__\":{";
    bool firstMeta = true;
    for (const auto &[k, v] : metadata) {
      if (!firstMeta)
        h += ",";
      firstMeta = false;
      h += jsonQuote(k) + ":" + jsonQuote(v);
    }
    h += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (name == "__metadata__")
      throw Error("safetensors: a tensor cannot be named '__metadata__'");
    if (!first)
      h += ",";
    first = false;
    uint64_t bytes = uint64_t(t.numel()) * t.element_size();
    h += jsonQuote(name) + ":{\"dtype\":\"" + dtypeName(t.scalar_type(), name) +
         "\",\"shape\":[";
    for (int64_t d = 0; d < t.dim(); ++d) {
      if (d)
        h += ",";
      h += std::to_string(t.size(d));
    }
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," +
         std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  h += "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  return h;
}

namespace {

void writeAll(int fd, const void *data, size_t size, const std::string &path) {
  const char *p = static_cast<const char *>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw Error("cannot write '" + path + "': " + std::strerror(errno));
    }
    p += n;
    size -= size_t(n);
  }
}

} // namespace

void writeSafetensors(const std::string &path, const NamedTensors &tensors,
                      const std::map<std::string, std::string> &metadata) {
  std::string header = safetensorsHeader(tensors, metadata);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("cannot create '" + path + "': " + std::strerror(errno));
  // Remove what a failed write leaves only when it is a plain file (never a
  // device such as /dev/full).
  struct stat sb;
  const bool regular = ::fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
  auto removePartial = [&] {
    if (regular)
      ::unlink(path.c_str());
  };
  try {
    uint64_t n = header.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i)
      len[i] = static_cast<unsigned char>(n >> (8 * i));
    writeAll(fd, len, 8, path);
    writeAll(fd, header.data(), header.size(), path);
    for (const auto &np : tensors) {
      torch::Tensor t = np.second.detach().to(torch::kCPU).contiguous();
      writeAll(fd, t.data_ptr(), size_t(t.numel()) * t.element_size(), path);
    }
    if (::fsync(fd) != 0 && errno != EINVAL)
      throw Error("cannot write '" + path + "': " + std::strerror(errno));
  } catch (...) {
    ::close(fd);
    removePartial();
    throw;
  }
  if (::close(fd) != 0) {
    int e = errno;
    removePartial();
    throw Error("cannot write '" + path + "': " + std::strerror(e));
  }
}

std::map<std::string, torch::Tensor> SafetensorsFile::byName() const {
  std::map<std::string, torch::Tensor> m;
  for (const auto &[name, t] : tensors)
    m[name] = t;
  return m;
}

SafetensorsFile readSafetensors(const std::string &path) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error("cannot open '" + path + "': " + std::strerror(errno));
  std::string bytes;
  {
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
      bytes.append(buf, n);
    bool bad = std::ferror(f);
    std::fclose(f);
    if (bad)
      throw Error("cannot read '" + path + "'");
  }
  auto bad = [&](const std::string &msg) {
    return Error("'" + path + "' is not a valid safetensors file: " + msg);
  };
  if (bytes.size() < 8)
    throw bad("shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[size_t(i)]);
  if (n > bytes.size() - 8)
    throw bad("header length " + std::to_string(n) + " exceeds the file size " +
              std::to_string(bytes.size()));
  Json header = Json::parse(bytes.substr(8, n), "'" + path + "' header");
  if (header.kind != Json::Object)
    throw bad("the header is not a JSON object");
  const uint64_t dataStart = 8 + n, dataSize = bytes.size() - dataStart;

  SafetensorsFile out;
  struct Entry {
    uint64_t begin, end;
    std::string name;
    torch::ScalarType type;
    std::vector<int64_t> shape;
  };
  std::vector<Entry> entries;
  for (const auto &[name, v] : header.object) {
    if (name == "__metadata__") {
      if (v.kind != Json::Object)
        throw bad("__metadata__ is not an object");
      for (const auto &[k, s] : v.object) {
        if (s.kind != Json::String)
          throw bad("__metadata__ value '" + k + "' is not a string");
        out.metadata[k] = s.string;
      }
      continue;
    }
    const Json *dt = v.get("dtype"), *shape = v.get("shape"),
               *offs = v.get("data_offsets");
    if (v.kind != Json::Object || !dt || !shape || !offs ||
        dt->kind != Json::String || shape->kind != Json::Array ||
        offs->kind != Json::Array || offs->array.size() != 2)
      throw bad("tensor '" + name + "' needs dtype, shape and data_offsets");
    Entry e;
    e.name = name;
    if (!dtypeFromName(dt->string, e.type))
      throw bad("tensor '" + name + "' has unsupported dtype '" + dt->string +
                "'");
    uint64_t numel = 1;
    for (const Json &d : shape->array) {
      if (d.kind != Json::Number || !d.isInteger || d.integer < 0)
        throw bad("tensor '" + name + "' has a bad shape");
      e.shape.push_back(d.integer);
      if (d.integer != 0 && numel > (uint64_t(1) << 62) / uint64_t(d.integer))
        throw bad("tensor '" + name + "' is too large");
      numel *= uint64_t(d.integer);
    }
    for (const Json &o : offs->array)
      if (o.kind != Json::Number || !o.isInteger || o.integer < 0)
        throw bad("tensor '" + name + "' has bad data_offsets");
    e.begin = uint64_t(offs->array[0].integer);
    e.end = uint64_t(offs->array[1].integer);
    uint64_t elem = c10::elementSize(e.type);
    if (e.end < e.begin || e.end > dataSize)
      throw bad("tensor '" + name + "' data_offsets [" +
                std::to_string(e.begin) + ", " + std::to_string(e.end) +
                "] lie outside the " + std::to_string(dataSize) +
                " data bytes (truncated file?)");
    if (e.end - e.begin != numel * elem)
      throw bad("tensor '" + name + "' has " + std::to_string(e.end - e.begin) +
                " data bytes, its shape needs " + std::to_string(numel * elem));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry &a, const Entry &b) { return a.begin < b.begin; });
  uint64_t expect = 0;
  for (const Entry &e : entries) {
    if (e.begin != expect)
      throw bad("tensor '" + e.name +
                "' data does not follow the previous one "
                "(overlap or gap at byte " +
                std::to_string(e.begin) + ")");
    expect = e.end;
  }
  if (expect != dataSize)
    throw bad(std::to_string(dataSize - expect) +
              " bytes after the last tensor's data");
  for (const Entry &e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::dtype(e.type));
    if (e.end > e.begin)
      std::memcpy(t.data_ptr(), bytes.data() + dataStart + e.begin,
                  size_t(e.end - e.begin));
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

} // namespace s2s::rt
