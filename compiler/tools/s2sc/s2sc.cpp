//===- s2sc.cpp - The s2s compiler driver ---------------------------------===//
//
// `s2sc FILE.s2s --emit=ast` parses and checks a spec and prints its AST.
// Later stages (`--emit=mlir`, `--emit=cpp`, `-o EXE`) extend this driver.
// Exit status: 0 on success, 1 when the spec has errors, 2 on bad usage.
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace cl = llvm::cl;

static cl::OptionCategory s2scCategory("s2sc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<spec.s2s>"),
                                      cl::Required, cl::cat(s2scCategory));

enum class EmitKind { None, AST };
static cl::opt<EmitKind> emit(
    "emit", cl::desc("What to print"), cl::init(EmitKind::None),
    cl::values(clEnumValN(EmitKind::None, "none",
                          "only check the spec (the default)"),
               clEnumValN(EmitKind::AST, "ast", "the checked AST")),
    cl::cat(s2scCategory));

static cl::list<std::string> includeDirs("I", cl::desc("Add an import search directory"),
                                         cl::value_desc("dir"), cl::Prefix,
                                         cl::cat(s2scCategory));

static cl::opt<std::string>
    stdlibDir("stdlib",
              cl::desc("Standard library root (default: $S2S_STDLIB, then "
                       "the one this s2sc was built with)"),
              cl::value_desc("dir"), cl::cat(s2scCategory));

static cl::opt<unsigned> errorLimit("ferror-limit",
                                    cl::desc("Stop after N errors (0: no limit)"),
                                    cl::init(20), cl::cat(s2scCategory));

static std::string defaultStdlib(const char *argv0) {
  if (!stdlibDir.empty())
    return stdlibDir;
  if (const char *env = std::getenv("S2S_STDLIB"))
    return env;
  // An installed s2sc finds ../share/s2s/stdlib beside its bin/.
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&defaultStdlib));
  llvm::SmallString<256> installed(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(installed, "share", "s2s", "stdlib");
  if (llvm::sys::fs::exists(installed + "/std/prelude.s2s"))
    return std::string(installed);
  return S2S_STDLIB_DIR;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(s2scCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "s2sc - compiler for autoregressive sequence-to-sequence training "
      "specs\n");

  llvm::SourceMgr srcMgr;
  s2s::DiagnosticEngine diags(srcMgr, llvm::errs(), errorLimit);
  // LLVM's own --color option decides, as for every LLVM tool.
  diags.setShowColors(llvm::WithColor(llvm::errs()).colorsEnabled());

  s2s::FrontendOptions options;
  options.includeDirs.assign(includeDirs.begin(), includeDirs.end());
  options.stdlibDir = defaultStdlib(argv[0]);

  s2s::Frontend frontend(diags, options);
  s2s::Module *main = frontend.loadFile(inputFile);
  bool ok = main && frontend.check();
  if (!ok) {
    diags.printSummary();
    return 1;
  }
  if (emit == EmitKind::AST)
    s2s::printAST(*main, srcMgr, llvm::outs());
  diags.printSummary();
  return 0;
}
