//===- Safetensors.h - Named tensors in safetensors files ------*- C++ -*-===//
//
// Safetensors (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON (padded with spaces to a
// multiple of 8) mapping each name to {"dtype", "shape", "data_offsets"}
// plus an optional "__metadata__" string map, then the raw little-endian
// data. The reader checks every offset against the file.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_SAFETENSORS_H
#define S2S_RUNTIME_IO_SAFETENSORS_H

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace s2s::rt {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// The header JSON for `tensors` (in order, offsets packed back to back,
/// "__metadata__" first when not empty), padded with spaces to a multiple
/// of 8 bytes. dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
std::string
safetensorsHeader(const NamedTensors &tensors,
                  const std::map<std::string, std::string> &metadata);

/// Writes `tensors` to `path`. Throws s2s::rt::Error naming the path when it
/// cannot be written completely (the file is then removed).
void writeSafetensors(const std::string &path, const NamedTensors &tensors,
                      const std::map<std::string, std::string> &metadata = {});

struct SafetensorsFile {
  NamedTensors tensors; ///< in data-offset order
  std::map<std::string, std::string> metadata;
  std::map<std::string, torch::Tensor> byName() const;
};

/// Reads a safetensors file into CPU tensors. Throws s2s::rt::Error naming
/// the path and the problem (truncated, bad header, overlapping offsets,
/// unknown dtype, ...).
SafetensorsFile readSafetensors(const std::string &path);

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_SAFETENSORS_H
