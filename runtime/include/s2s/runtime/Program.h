//===- Program.h - What a generated program hands the runtime ---*- C++ -*-===//
//
// s2sc generates, for a spec, `configure()` (the Spec: every value of the
// spec's sections, Config.h), the model's parameter manifest, its forward
// function and the unrolled rollout loss, and a main() that hands them to
// s2s::rt::run. Everything else (command line, data, training loop,
// validation, checkpoints, metrics) is the runtime's.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_RUNTIME_PROGRAM_H
#define S2S_RUNTIME_PROGRAM_H

#include "s2s/runtime/Config.h"
#include "s2s/runtime/Model.h"

#include <torch/torch.h>

#include <functional>

namespace s2s::rt {

/// One step of the model: [b, channel, lat, lon] -> the next frame.
using ForwardFn = std::function<torch::Tensor(Model &, const torch::Tensor &)>;
/// The unrolled tableau: a window [b, order + 1, channel, lat, lon]
/// (normalised truth frames) -> the scalar training loss.
using RolloutLossFn =
    std::function<torch::Tensor(Model &, const torch::Tensor &)>;

/// A spec, compiled: its values (the Spec it extends), the learnable
/// tensors of its model and the generated functions.
struct Program : Spec {
  Manifest parameters;
  ForwardFn forward;
  RolloutLossFn rolloutLoss;
};

/// Parses the command line (see --help), trains, validates, checkpoints.
/// Returns the process exit status; prints s2s::rt::Error messages as
/// "<program>: error: ..." and returns 1 (2 for a bad command line).
int main(const Program &program, int argc, char **argv);

} // namespace s2s::rt

#endif // S2S_RUNTIME_PROGRAM_H
