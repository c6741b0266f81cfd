//===- FrontendFuzzer.cpp - libFuzzer target for the parser and checker --===//
//
// Each input is a spec held in memory; it is parsed and checked with the
// real prelude, and a clean one is printed as `--emit=ast` would. Diagnostics
// go to a null stream: the fuzzer looks for crashes, hangs, leaks and
// undefined behaviour, not for messages.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr srcMgr;
  s2s::DiagnosticEngine diags(srcMgr, llvm::nulls(), /*errorLimit=*/20);
  s2s::FrontendOptions options;
  options.stdlibDir = S2S_STDLIB_DIR;
  s2s::Frontend frontend(diags, options);
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  s2s::Module *main = frontend.loadBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.s2s"));
  if (main && frontend.check())
    s2s::printAST(*main, srcMgr, llvm::nulls());
  return 0;
}
