//===- Runtime.h - Everything a generated program includes ------*- C++ -*-===//
//
// The one header s2sc's generated C++ includes: the layer kernels (Ops.h),
// the model (Model.h), the program description (Program.h), and the few
// entry points the generated `configure` and `main` call.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_RUNTIME_H
#define S2S_RUNTIME_RUNTIME_H

#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"
#include "s2s/runtime/Program.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace s2s::rt {

// Setters the generated `configure(Program &)` calls, one per spec value,
// keyed by the section path ("train.epochs", "data.split.train", ...). An
// unknown key or a value out of range throws s2s::rt::Error: it means the
// compiler and the runtime disagree, which the message says.
void setInt(Program &p, const std::string &key, int64_t value);
void setFloat(Program &p, const std::string &key, double value);
void setBool(Program &p, const std::string &key, bool value);
void setString(Program &p, const std::string &key, const std::string &value);
void setStrings(Program &p, const std::string &key,
                const std::vector<std::string> &value);
void setInts(Program &p, const std::string &key,
             const std::vector<int64_t> &value);

/// Keeps freed memory in the process for reuse (glibc: no mmap'd blocks, no
/// trimming) so steps do not page-fault on fresh activations and batches.
/// run() calls it; tools that use the loader without run() may too.
void tuneAllocator();

/// Builds the Program (configure, then the generated functions) and runs
/// s2s::rt::main on it.
int run(void (*configure)(Program &),
        torch::Tensor (*forward)(Model &, torch::Tensor),
        torch::Tensor (*rolloutLoss)(Model &, torch::Tensor), int argc,
        char **argv);

} // namespace s2s::rt

#endif // S2S_RUNTIME_RUNTIME_H
