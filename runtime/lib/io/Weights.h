//===- Weights.h - A model's weights from and to PyTorch files --*- C++ -*-===//
//
// Import: a PyTorch state dict (torch.save's .pt/.pth, io/TorchFile.h) or a
// safetensors file, its names passed through a NameMap, checked tensor by
// tensor against the model's parameters. A DDP/torch.compile prefix
// (`module.`, `_orig_mod.`) carried by every name is dropped. Every s2s
// parameter the file lacks, every file tensor no parameter takes and every
// shape that differs is listed; any of them is an error unless the import
// is partial (then the missing parameters keep their initial values).
//
// Export: the same map in reverse, written as .pt/.pth (torch.load reads
// it) or .safetensors, chosen by the file's extension.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_WEIGHTS_H
#define S2S_RUNTIME_IO_WEIGHTS_H

#include "io/NameMap.h"
#include "io/Safetensors.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s::rt {

/// A parameter the weights are for: its s2s name and shape.
struct WeightSlot {
  std::string name;
  std::vector<int64_t> shape;
};

struct ImportedWeights {
  NamedTensors tensors; ///< s2s names and layouts, in `slots` order
  std::string summary;  ///< "42 tensors (91,840 values) from ...; ..."
  std::vector<std::string> missing; ///< partial imports: left as they were
};

/// Reads `path` (a .pt/.pth zip file or safetensors, by content) and maps
/// it onto `slots`. Throws Error naming the file and listing every
/// missing, unused and mis-shaped tensor (with the names on both sides)
/// unless `partial`, which allows missing and unused ones.
ImportedWeights importWeights(const std::string &path,
                              const std::vector<WeightSlot> &slots,
                              const NameMap &map, bool partial = false);

/// Writes `params` (s2s names and layouts) to `path` under the map's names
/// and layouts: .safetensors as safetensors (with `metadata`), .pt/.pth
/// as a torch.save state dict. Throws Error on another extension or a
/// failed write.
void writeWeights(const std::string &path, const NamedTensors &params,
                  const NameMap &map,
                  const std::map<std::string, std::string> &metadata = {});

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_WEIGHTS_H
