//===- ExecutableBuilder.h - s2sc -o: the generated program, built -*- C++
//-*-===//

#ifndef S2S_DRIVER_EXECUTABLEBUILDER_H
#define S2S_DRIVER_EXECUTABLEBUILDER_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace s2s {

struct BuildOptions {
  std::string specFile;   ///< the spec, as given to s2sc
  std::string exe;        ///< where the program goes
  std::string buildDir;   ///< default: <exe>.build
  std::string runtimeDir; ///< the folder holding s2s_runtimeConfig.cmake
  bool verbose = false;   ///< show the build's commands and output
};

/// A C identifier-safe program name from the spec's file stem.
std::string programName(llvm::StringRef specFile);

/// The folder above the running executable's bin/: the build tree, or the
/// installation prefix.
std::string installPrefix(const char *argv0);

/// Where s2s_runtimeConfig.cmake is: `given`, $S2S_RUNTIME_DIR, then
/// lib/cmake/s2s_runtime beside this executable's bin/ (true both in the
/// build tree and installed).
std::string findRuntimeDir(const char *argv0, llvm::StringRef given);

/// Generates the CMake project of `cpp` in the build folder, builds it and
/// places the executable at `o.exe`. Errors are printed; false on any.
bool buildExecutable(llvm::StringRef cpp, const BuildOptions &o);

} // namespace s2s

#endif // S2S_DRIVER_EXECUTABLEBUILDER_H
