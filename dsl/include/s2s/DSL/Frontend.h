//===- Frontend.h - Loading, parsing and checking .s2s specs -----*- C++
//-*-===//
//
// The front end's entry point: load a spec and everything it imports (with
// the prelude, `std/prelude.s2s`, imported implicitly), parse each file once,
// and check the whole program. All messages go through one DiagnosticEngine.
//
//===----------------------------------------------------------------------===//

#ifndef S2S_DSL_FRONTEND_H
#define S2S_DSL_FRONTEND_H

#include "s2s/DSL/AST.h"
#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Types.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace s2s {

/// One parsed `.s2s` file.
class Module {
public:
  std::string path;      ///< as used in diagnostics
  std::string canonical; ///< real path, to load each file once
  unsigned bufferId = 0;
  bool isPrelude = false;
  std::vector<ast::ImportDecl> imports;
  std::vector<ast::DeclPtr> decls;
  /// The prelude, if this module sees one (every module but the prelude).
  const Module *prelude = nullptr;
  /// Named top-level declarations of this file (filled by Sema).
  llvm::StringMap<const ast::Decl *> symbols;
};

struct FrontendOptions {
  /// Where `import "x.s2s"` looks after the importing file's own folder.
  std::vector<std::string> includeDirs;
  /// The standard library root (holds `std/prelude.s2s`); searched last.
  std::string stdlibDir;
  /// Import `std/prelude.s2s` into every module.
  bool loadPrelude = true;
  /// Deeper bracket or operator nesting is rejected before parsing, so that
  /// no input can exhaust the stack of the recursive-descent parser.
  unsigned maxNesting = 200;
  /// How deep the evaluation of one expression may nest, counting the
  /// operations of the constants it uses and of the blocks it calls (each
  /// evaluated where it is used): the checker and MLIRGen recurse per level.
  static constexpr unsigned maxEvalDepth = 2000;
  /// A chain of imports (a imports b imports c ...) longer than this is
  /// rejected at the import that goes too deep: loading recurses per level.
  unsigned maxImportDepth = 100;
  /// Larger files are rejected (an import of a device or a huge file).
  uint64_t maxFileBytes = 16u << 20;
};

class Frontend {
public:
  Frontend(DiagnosticEngine &diags, FrontendOptions options);
  ~Frontend();

  /// Parses `path` and its imports. Returns the main module, or null if a
  /// file could not be read or did not parse.
  Module *loadFile(llvm::StringRef path);
  /// Same, for a spec held in memory (`name` is used in diagnostics).
  Module *loadBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer);

  /// Checks every loaded module; false if any error was reported.
  bool check();

  DiagnosticEngine &getDiagnostics() { return diags; }
  TypeContext &getTypes() { return types; }
  llvm::ArrayRef<std::unique_ptr<Module>> getModules() const { return modules; }

private:
  Module *loadModule(std::unique_ptr<llvm::MemoryBuffer> buffer,
                     std::string canonical, llvm::SMRange importedFrom);
  bool resolveImports(Module &module);
  std::string findImport(const Module &from, llvm::StringRef path,
                         std::vector<std::string> &searched);
  bool readFile(llvm::StringRef path, llvm::SMRange importedFrom,
                std::unique_ptr<llvm::MemoryBuffer> &out);

  DiagnosticEngine &diags;
  FrontendOptions options;
  TypeContext types;
  std::vector<std::unique_ptr<Module>> modules;
  llvm::StringMap<Module *> byCanonicalPath;
  /// Files being loaded, innermost last: an import of one of them is a cycle.
  std::vector<Module *> loading;
  Module *prelude = nullptr;
  bool preludeTried = false;
};

/// Parses one buffer of `srcMgr` into a module. Syntax errors are reported
/// through `diags`; on any, returns null (no half-built AST reaches Sema).
std::unique_ptr<Module> parseModule(llvm::SourceMgr &srcMgr, unsigned bufferId,
                                    DiagnosticEngine &diags,
                                    unsigned maxNesting);

/// Checks the loaded modules (names, calls, types, sections).
bool checkModules(llvm::ArrayRef<std::unique_ptr<Module>> modules,
                  TypeContext &types, DiagnosticEngine &diags);

/// Prints a checked module in the stable, readable form of `--emit=ast`.
void printAST(const Module &module, llvm::SourceMgr &srcMgr,
              llvm::raw_ostream &os);

} // namespace s2s

#endif // S2S_DSL_FRONTEND_H
