//===- LinkProbe.cpp - A program linked as a generated one ------*- C++ -*-===//
//
// What s2sc's generated programs look like to the linker: Runtime.h, a
// configure, a parameter manifest, a forward and a rollout loss, main
// calling s2s::rt::run, and s2s::runtime on the link line.
// check-links.cmake reads its ldd output. Run with --help it prints the
// usage, which is all it is for.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

namespace {

s2s::rt::Spec configure() {
  s2s::rt::Spec s;
  s.name = "probe";
  s.modelName = "net";
  return s;
}

void parameters(s2s::rt::Manifest &m) {
  s2s::rt::declare(m, "net.w", {1}, s2s::rt::Init{}, s2s::rt::Sharding{});
}

torch::Tensor forward(s2s::rt::Model &, torch::Tensor x) { return x; }

torch::Tensor rolloutLoss(s2s::rt::Model &, torch::Tensor w) { return w.sum(); }

} // namespace

int main(int argc, char **argv) {
  return s2s::rt::run(configure, parameters, forward, rolloutLoss, argc, argv);
}
