//===- Frontend.cpp - Loading specs and their imports --------------------===//

#include "s2s/DSL/Frontend.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <sys/stat.h>

using namespace s2s;

Frontend::Frontend(DiagnosticEngine &diags, FrontendOptions options)
    : diags(diags), options(std::move(options)) {}

Frontend::~Frontend() = default;

bool Frontend::readFile(llvm::StringRef path, llvm::SMRange importedFrom,
                        std::unique_ptr<llvm::MemoryBuffer> &out) {
  auto fail = [&](const llvm::Twine &why) {
    if (importedFrom.isValid())
      diags.error(importedFrom, "cannot read '" + path + "': " + why);
    else
      diags.errorNoLocation("cannot read '" + path + "': " + why);
    return false;
  };
  // Only regular files: an import of a device or a fifo must not hang.
  struct stat st;
  if (::stat(path.str().c_str(), &st) != 0)
    return fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail("not a regular file");
  if (static_cast<uint64_t>(st.st_size) > options.maxFileBytes)
    return fail("file is larger than " +
                llvm::Twine(options.maxFileBytes >> 20) + " MiB");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/true);
  if (!buf)
    return fail(buf.getError().message());
  out = std::move(*buf);
  return true;
}

static std::string canonicalPath(llvm::StringRef path) {
  llvm::SmallString<256> real;
  if (llvm::sys::fs::real_path(path, real))
    return path.str();
  return std::string(real);
}

Module *Frontend::loadFile(llvm::StringRef path) {
  std::unique_ptr<llvm::MemoryBuffer> buf;
  if (!readFile(path, llvm::SMRange(), buf))
    return nullptr;
  // Keep the path as the user wrote it for messages.
  auto named = llvm::MemoryBuffer::getMemBufferCopy(buf->getBuffer(), path);
  return loadModule(std::move(named), canonicalPath(path), llvm::SMRange());
}

Module *Frontend::loadBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  std::string name = buffer->getBufferIdentifier().str();
  return loadModule(std::move(buffer), "<buffer>:" + name, llvm::SMRange());
}

Module *Frontend::loadModule(std::unique_ptr<llvm::MemoryBuffer> buffer,
                             std::string canonical,
                             llvm::SMRange importedFrom) {
  unsigned id =
      diags.getSourceMgr().AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  std::unique_ptr<Module> parsed =
      parseModule(diags.getSourceMgr(), id, diags, options.maxNesting);
  if (!parsed)
    return nullptr;
  parsed->canonical = canonical;
  Module *module = parsed.get();
  modules.push_back(std::move(parsed));
  byCanonicalPath[canonical] = module;

  // The prelude is loaded before any other module resolves its imports.
  if (options.loadPrelude && !preludeTried) {
    preludeTried = true;
    std::string path = options.stdlibDir + "/std/prelude.s2s";
    std::string canon = canonicalPath(path);
    if (canon == canonical) {
      module->isPrelude = true;
      prelude = module;
    } else {
      std::unique_ptr<llvm::MemoryBuffer> buf;
      if (!readFile(path, llvm::SMRange(), buf)) {
        diags.errorNoLocation("the standard library was not found at '" +
                              options.stdlibDir +
                              "'; pass --stdlib=DIR or set S2S_STDLIB");
        return nullptr;
      }
      prelude = loadModule(std::move(buf), canon, llvm::SMRange());
      if (!prelude)
        return nullptr;
      prelude->isPrelude = true;
    }
  }
  if (prelude && module != prelude)
    module->prelude = prelude;

  loading.push_back(module);
  bool ok = resolveImports(*module);
  loading.pop_back();
  return ok ? module : nullptr;
}

std::string Frontend::findImport(const Module &from, llvm::StringRef path,
                                 std::vector<std::string> &searched) {
  auto tryDir = [&](llvm::StringRef dir) -> std::string {
    llvm::SmallString<256> full(dir);
    llvm::sys::path::append(full, path);
    searched.push_back(dir.empty() ? "." : dir.str());
    if (llvm::sys::fs::exists(full))
      return std::string(full);
    return "";
  };
  if (llvm::sys::path::is_absolute(path)) {
    searched.push_back("/");
    return llvm::sys::fs::exists(path) ? path.str() : "";
  }
  std::vector<std::string> dirs;
  if (from.canonical.rfind("<buffer>:", 0) != 0)
    dirs.push_back(llvm::sys::path::parent_path(from.path).str());
  for (const std::string &d : options.includeDirs)
    dirs.push_back(d);
  dirs.push_back(options.stdlibDir);
  for (const std::string &d : dirs) {
    std::string found = tryDir(d);
    if (!found.empty())
      return found;
  }
  return "";
}

bool Frontend::resolveImports(Module &module) {
  bool ok = true;
  for (ast::ImportDecl &imp : module.imports) {
    if (!llvm::StringRef(imp.path).ends_with(".s2s")) {
      diags.error(imp.range,
                  "import '" + imp.path + "' does not name a .s2s file");
      ok = false;
      continue;
    }
    std::vector<std::string> searched;
    std::string found = findImport(module, imp.path, searched);
    if (found.empty()) {
      std::string where;
      for (size_t i = 0; i < searched.size(); ++i)
        where += (i ? ", " : "") + searched[i];
      diags.error(imp.range, "cannot find import '" + imp.path +
                                 "' (searched " + where + ")");
      ok = false;
      continue;
    }
    std::string canon = canonicalPath(found);
    // A file still being loaded further up is an import cycle.
    for (size_t i = 0; i < loading.size(); ++i) {
      if (loading[i]->canonical != canon)
        continue;
      std::string chain;
      for (size_t j = i; j < loading.size(); ++j)
        chain += llvm::sys::path::filename(loading[j]->path).str() + " -> ";
      chain += llvm::sys::path::filename(found).str();
      diags.error(imp.range, "import cycle: " + chain);
      ok = false;
      break;
    }
    if (!ok)
      continue;
    auto it = byCanonicalPath.find(canon);
    if (it != byCanonicalPath.end()) {
      imp.resolved = it->second;
      continue;
    }
    if (loading.size() >= options.maxImportDepth) {
      diags.error(imp.range, "imports nest more than " +
                                 llvm::Twine(options.maxImportDepth) +
                                 " files deep; import the files this one "
                                 "needs from a file higher up the chain");
      ok = false;
      continue;
    }
    std::unique_ptr<llvm::MemoryBuffer> buf;
    if (!readFile(found, imp.range, buf)) {
      ok = false;
      continue;
    }
    Module *loaded = loadModule(std::move(buf), canon, imp.range);
    if (!loaded) {
      diags.note(imp.range, "imported from here");
      ok = false;
      continue;
    }
    imp.resolved = loaded;
  }
  return ok;
}

bool Frontend::check() {
  if (diags.hadError())
    return false;
  return checkModules(modules, types, diags);
}
