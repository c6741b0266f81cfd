//===- FrontendFuzzer.cpp - libFuzzer target for the parser and checker --===//
//
// Each input is a spec held in memory; it is parsed and checked with the
// real prelude, and a clean one is printed as `--emit=ast` would.
//
//===----------------------------------------------------------------------===//

#include "FuzzedSpec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedSpec spec(data, size);
  if (spec.main)
    s2s::printAST(*spec.main, spec.srcMgr, llvm::nulls());
  return 0;
}
