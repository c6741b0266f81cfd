//===- Configure.cpp - run(): what a generated main() calls ---------------===//
//
// The generated program's configure() returns the spec's values as typed
// fields (Config.h) and its <model>_parameters() declares the learnable
// tensors; run() puts them together with the generated functions into a
// Program and trains it.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

#include "support/Allocator.h"

namespace s2s::rt {

int run(Spec (*configure)(), void (*parameters)(Manifest &),
        torch::Tensor (*forward)(Model &, torch::Tensor),
        torch::Tensor (*rolloutLoss)(Model &, torch::Tensor), int argc,
        char **argv) {
  tuneAllocator();
  Program p;
  static_cast<Spec &>(p) = configure();
  parameters(p.parameters);
  p.forward = [forward](Model &m, const torch::Tensor &x) {
    return forward(m, x);
  };
  p.rolloutLoss = [rolloutLoss](Model &m, const torch::Tensor &w) {
    return rolloutLoss(m, w);
  };
  return main(p, argc, argv);
}

} // namespace s2s::rt
