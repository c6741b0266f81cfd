//===- TorchFile.h - State dicts in torch.save's file format ----*- C++ -*-===//
//
// torch.save (PyTorch >= 1.6) writes a zip archive: `<name>/data.pkl`, a
// Python pickle (protocol 2) of the object, whose tensors refer through
// persistent ids ('storage', torch.FloatStorage, key, location, numel) to
// raw little-endian records `<name>/data/<key>`. LibTorch's own unpickler
// turns the collections.OrderedDict of every state dict into None, so the
// reader here is a small pickle machine of its own: dicts, lists, tuples,
// strings, numbers and tensors (torch._utils._rebuild_tensor_v2,
// _rebuild_parameter) are built; every other Python object (an argparse
// Namespace, a numpy scalar) becomes an opaque value that is skipped.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_IO_TORCHFILE_H
#define S2S_RUNTIME_IO_TORCHFILE_H

#include "io/Safetensors.h"

#include <string>

namespace s2s::rt {

/// The state dict of a torch.save file: the top-level dict's tensors, or,
/// when it has none (a training checkpoint), those of the first of its
/// entries "model_state", "state_dict", "model", "module", "net" that holds
/// tensors. `under` receives that entry's key ("" for the top level).
/// Names in the file's order, tensors contiguous CPU copies. Throws Error
/// naming the path: not a zip-format torch.save file, a broken pickle, a
/// storage out of bounds, no state dict (listing the top-level keys).
NamedTensors readTorchStateDict(const std::string &path,
                                std::string *under = nullptr);

/// Writes `tensors` as a dict name -> tensor that torch.load reads (the
/// zip format), atomically. Throws Error naming the path.
void writeTorchStateDict(const std::string &path, const NamedTensors &tensors);

} // namespace s2s::rt

#endif // S2S_RUNTIME_IO_TORCHFILE_H
