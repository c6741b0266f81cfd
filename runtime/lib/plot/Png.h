//===- Png.h - RGB images as PNG files, on zlib -----------------*- C++ -*-===//
//
// The PNG writer of the maps (plot/Plot.h), so that no runtime library
// links libpng: a PNG file is an 8-byte signature and chunks (length, type,
// data, CRC-32 of type and data); an 8-bit RGB image needs three of them:
// IHDR (size, bit depth 8, colour type 2, no interlace), IDAT (the zlib
// stream of the rows, each row one filter-type byte and its filtered
// bytes) and IEND. Each row takes the filter (none, sub, up, average,
// Paeth) whose output has the smallest sum of absolute values, libpng's
// default heuristic. Torch-free.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PLOT_PNG_H
#define S2S_RUNTIME_PLOT_PNG_H

#include <cstdint>
#include <string>

namespace s2s::rt {

/// The bytes of a PNG file of the `width` x `height` 8-bit RGB image `rgb`
/// (rows top to bottom, 3 bytes a pixel). Throws s2s::rt::Error when the
/// size is out of range or zlib fails (out of memory).
std::string encodePng(const uint8_t *rgb, int width, int height);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PLOT_PNG_H
