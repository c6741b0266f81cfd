//===- Png.cpp - RGB images as PNG files, on zlib
//--------------------------===//
//
// The PNG specification (W3C, third edition): 5.2 signature, 5.3 chunk
// layout, 11.2.2 IHDR, 9 filtering, 10 compression (zlib, a window of at
// most 32 KiB: zlib's default).
//
//===----------------------------------------------------------------------===//

#include "plot/Png.h"

#include "s2s/runtime/Error.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace s2s::rt {

namespace {

void put32(std::string &out, uint32_t v) {
  out += char(v >> 24);
  out += char(v >> 16);
  out += char(v >> 8);
  out += char(v);
}

/// Length, type, data, CRC-32 over type and data.
void chunk(std::string &out, const char type[4], const std::string &data) {
  put32(out, uint32_t(data.size()));
  const size_t at = out.size();
  out.append(type, 4);
  out += data;
  const auto *p = reinterpret_cast<const Bytef *>(out.data() + at);
  put32(out, uint32_t(crc32(crc32(0, Z_NULL, 0), p, uInt(4 + data.size()))));
}

uint8_t paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc)
    return uint8_t(a);
  return uint8_t(pb <= pc ? b : c);
}

/// Row `cur` (previous row `prev`, zeros above the first) filtered with
/// filter type `type` into `out` (without the type byte).
void filterRow(int type, const uint8_t *cur, const uint8_t *prev, size_t n,
               uint8_t *out) {
  const size_t bpp = 3;
  for (size_t i = 0; i < n; ++i) {
    const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i],
              c = i >= bpp ? prev[i - bpp] : 0;
    int predicted = 0;
    switch (type) {
    case 1:
      predicted = a;
      break;
    case 2:
      predicted = b;
      break;
    case 3:
      predicted = (a + b) / 2;
      break;
    case 4:
      predicted = paeth(a, b, c);
      break;
    default:
      break;
    }
    out[i] = uint8_t(cur[i] - predicted);
  }
}

/// Sum of the filtered bytes as signed values: libpng's measure of how
/// well a filter did (smaller compresses better).
uint64_t cost(const uint8_t *row, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i)
    s += uint64_t(std::abs(int(int8_t(row[i]))));
  return s;
}

/// The rows, each one filter-type byte and its filtered bytes.
std::vector<uint8_t> filteredRows(const uint8_t *rgb, size_t stride,
                                  size_t height) {
  std::vector<uint8_t> out((stride + 1) * height);
  const std::vector<uint8_t> zeros(stride, 0);
  std::vector<uint8_t> trial(stride);
  for (size_t y = 0; y < height; ++y) {
    const uint8_t *cur = rgb + y * stride;
    const uint8_t *prev = y ? cur - stride : zeros.data();
    uint8_t *row = &out[y * (stride + 1)];
    uint64_t best = UINT64_MAX;
    for (int type = 0; type <= 4; ++type) {
      filterRow(type, cur, prev, stride, trial.data());
      const uint64_t c = cost(trial.data(), stride);
      if (c < best) {
        best = c;
        row[0] = uint8_t(type);
        std::copy(trial.begin(), trial.end(), row + 1);
      }
    }
  }
  return out;
}

} // namespace

std::string encodePng(const uint8_t *rgb, int width, int height) {
  if (width <= 0 || height <= 0 || width > (1 << 24) || height > (1 << 24))
    throw Error("png: an image of " + std::to_string(width) + " x " +
                std::to_string(height) + " pixels cannot be written");
  const size_t stride = size_t(width) * 3;
  const std::vector<uint8_t> rows = filteredRows(rgb, stride, size_t(height));
  uLongf packed = compressBound(uLong(rows.size()));
  std::string idat(packed, '\0');
  if (compress2(reinterpret_cast<Bytef *>(idat.data()), &packed, rows.data(),
                uLong(rows.size()), Z_DEFAULT_COMPRESSION) != Z_OK)
    throw Error("png: zlib could not compress the image (out of memory?)");
  idat.resize(packed);

  std::string ihdr;
  put32(ihdr, uint32_t(width));
  put32(ihdr, uint32_t(height));
  ihdr += char(8); // bit depth
  ihdr += char(2); // colour type: RGB
  ihdr += char(0); // compression: deflate
  ihdr += char(0); // filter method: adaptive
  ihdr += char(0); // no interlace

  std::string out("\x89PNG\r\n\x1a\n", 8);
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", idat);
  chunk(out, "IEND", "");
  return out;
}

} // namespace s2s::rt
