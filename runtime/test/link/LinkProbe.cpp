//===- LinkProbe.cpp - A program linked as a generated one ------*- C++ -*-===//
//
// What s2sc's generated programs look like to the linker: Runtime.h, a
// configure, a forward and a rollout loss, main calling s2s::rt::run, and
// s2s::runtime on the link line. check-links.cmake reads its ldd output.
// Run with --help it prints the usage, which is all it is for.
//
//===----------------------------------------------------------------------===//

#include "s2s/runtime/Runtime.h"

namespace {

void configure(s2s::rt::Program &p) {
  s2s::rt::setString(p, "program.name", "probe");
  s2s::rt::setString(p, "program.model", "net");
}

torch::Tensor forward(s2s::rt::Model &, torch::Tensor x) { return x; }

torch::Tensor rolloutLoss(s2s::rt::Model &, torch::Tensor w) {
  return w.sum();
}

} // namespace

int main(int argc, char **argv) {
  return s2s::rt::run(configure, forward, rolloutLoss, argc, argv);
}
