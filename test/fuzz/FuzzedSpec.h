//===- FuzzedSpec.h - A fuzz input loaded and checked as a spec -*- C++ -*-===//
//
// What both fuzz targets start with: the input, held in memory as
// `fuzz.s2s`, parsed and checked with the real prelude. Diagnostics go to
// a null stream: the fuzzers look for crashes, hangs, leaks and undefined
// behaviour, not for messages.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_TEST_FUZZ_FUZZEDSPEC_H
#define S2S_TEST_FUZZ_FUZZEDSPEC_H

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>

struct FuzzedSpec {
  llvm::SourceMgr srcMgr;
  s2s::DiagnosticEngine diags{srcMgr, llvm::nulls(), /*errorLimit=*/20};
  s2s::Frontend frontend{diags, options()};
  /// The checked main module, or null if the input did not parse or check.
  s2s::Module *main = nullptr;

  FuzzedSpec(const uint8_t *data, size_t size) {
    llvm::StringRef text(reinterpret_cast<const char *>(data), size);
    main = frontend.loadBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.s2s"));
    if (main && !frontend.check())
      main = nullptr;
  }

private:
  static s2s::FrontendOptions options() {
    s2s::FrontendOptions o;
    o.stdlibDir = S2S_STDLIB_DIR;
    return o;
  }
};

#endif // S2S_TEST_FUZZ_FUZZEDSPEC_H
