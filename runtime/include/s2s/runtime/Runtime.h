//===- Runtime.h - Everything a generated program includes ------*- C++ -*-===//
//
// The one header s2sc's generated C++ includes: the typed configuration its
// configure() fills (Config.h), the model and its parameter manifest
// (Model.h), the layer kernels (Ops.h), the program (Program.h), and run(),
// which its main() calls.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_RUNTIME_H
#define S2S_RUNTIME_RUNTIME_H

#include "s2s/runtime/Config.h"
#include "s2s/runtime/Error.h"
#include "s2s/runtime/Model.h"
#include "s2s/runtime/Ops.h"
#include "s2s/runtime/Program.h"

#include <limits>

namespace s2s::rt {

/// Builds the Program from the generated functions and runs s2s::rt::main
/// on it: `configure` gives the spec's values, `parameters` declares the
/// model's learnable tensors, `forward` is one model step and `rolloutLoss`
/// the unrolled tableau.
int run(Spec (*configure)(), void (*parameters)(Manifest &),
        torch::Tensor (*forward)(Model &, torch::Tensor),
        torch::Tensor (*rolloutLoss)(Model &, torch::Tensor), int argc,
        char **argv);

} // namespace s2s::rt

#endif // S2S_RUNTIME_RUNTIME_H
