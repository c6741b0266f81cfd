//===- s2sc.cpp - The s2s compiler driver ---------------------------------===//
//
// `s2sc FILE.s2s --emit=ast|mlir|mlir-opt|summary`: checks a spec, lowers
// it to the s2s dialect, runs the pass pipeline and prints the stage asked
// for. MLIR's diagnostics are routed into the same DiagnosticEngine as the
// front end's, so every message has one form. Exit status: 0 on success,
// 1 on errors (bad usage included).
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/Dialect/S2SOps.h"
#include "s2s/MLIRGen/MLIRGen.h"
#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/IR/AsmState.h"
#include "mlir/Target/Cpp/CppEmitter.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace cl = llvm::cl;

static cl::OptionCategory s2scCategory("s2sc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<spec.s2s>"),
                                      cl::Required, cl::cat(s2scCategory));

enum class EmitKind { None, AST, MLIR, MLIROpt, Summary, EmitC, Cpp };
static cl::opt<EmitKind> emit(
    "emit", cl::desc("What to print"), cl::init(EmitKind::None),
    cl::values(
        clEnumValN(EmitKind::None, "none",
                   "only check the spec, through the pass pipeline (default)"),
        clEnumValN(EmitKind::AST, "ast", "the checked AST"),
        clEnumValN(EmitKind::MLIR, "mlir", "the s2s dialect after lowering"),
        clEnumValN(EmitKind::MLIROpt, "mlir-opt",
                   "the s2s dialect after the pass pipeline"),
        clEnumValN(EmitKind::Summary, "summary",
                   "parameter counts and shapes per model component"),
        clEnumValN(EmitKind::EmitC, "emitc",
                   "the program in MLIR's EmitC dialect (s2s-to-emitc)"),
        clEnumValN(EmitKind::Cpp, "cpp", "the program's C++ source")),
    cl::cat(s2scCategory));

static cl::opt<std::string>
    outputExe("o", cl::desc("Build the training program into this executable"),
              cl::value_desc("exe"), cl::cat(s2scCategory));
static cl::opt<std::string> buildDirOpt(
    "build-dir",
    cl::desc("Folder for the generated sources and their CMake build "
             "(default: <exe>.build)"),
    cl::value_desc("dir"), cl::cat(s2scCategory));
static cl::opt<std::string> runtimeDirOpt(
    "runtime",
    cl::desc("Folder holding s2s_runtimeConfig.cmake (default: "
             "$S2S_RUNTIME_DIR, then ../lib/cmake/s2s_runtime beside s2sc)"),
    cl::value_desc("dir"), cl::cat(s2scCategory));
static cl::opt<bool> verboseBuild("v", cl::desc("Show the build's commands"),
                                  cl::cat(s2scCategory));

static cl::opt<bool> noUnroll("no-unroll-rollout",
                              cl::desc("Leave s2s-unroll-rollout out of the pipeline"),
                              cl::cat(s2scCategory));
static cl::opt<bool> noFuse("no-fuse", cl::desc("Leave s2s-fuse out of the pipeline"),
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

/// Routes MLIR's diagnostics into the front end's DiagnosticEngine, at the
/// spec position their FileLineColLoc names.
static void routeMLIRDiagnostics(mlir::MLIRContext &ctx, llvm::SourceMgr &srcMgr,
                                 s2s::DiagnosticEngine &diags) {
  ctx.getDiagEngine().registerHandler([&](mlir::Diagnostic &d) {
    auto toRange = [&](mlir::Location loc) {
      auto flc = loc->findInstanceOf<mlir::FileLineColLoc>();
      if (!flc)
        return llvm::SMRange();
      for (unsigned id = 1; id <= srcMgr.getNumBuffers(); ++id) {
        if (srcMgr.getMemoryBuffer(id)->getBufferIdentifier() !=
            flc.getFilename().getValue())
          continue;
        llvm::SMLoc at = srcMgr.FindLocForLineAndColumn(id, flc.getLine(),
                                                        flc.getColumn());
        return llvm::SMRange(at, at);
      }
      return llvm::SMRange();
    };
    std::string msg = d.str();
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      diags.error(toRange(d.getLocation()), msg);
    else if (d.getSeverity() == mlir::DiagnosticSeverity::Warning)
      diags.warning(toRange(d.getLocation()), msg);
    else
      diags.note(toRange(d.getLocation()), msg);
    // Inlined calls: lead from the op back to the spec's own lines.
    mlir::Location l = d.getLocation();
    if (auto named = llvm::dyn_cast<mlir::NameLoc>(l))
      l = named.getChildLoc();
    while (auto site = llvm::dyn_cast<mlir::CallSiteLoc>(l)) {
      mlir::Location caller = site.getCaller();
      mlir::Location at = caller;
      while (auto inner = llvm::dyn_cast<mlir::CallSiteLoc>(at))
        at = inner.getCallee();
      if (auto named = llvm::dyn_cast<mlir::NameLoc>(at))
        diags.note(toRange(named.getChildLoc()), named.getName().getValue());
      l = caller;
    }
    for (mlir::Diagnostic &n : d.getNotes())
      diags.note(toRange(n.getLocation()), n.str());
    return mlir::success();
  });
}

/// `12,441,600`.
static std::string withCommas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

static std::string shapeOf(mlir::Type t) {
  auto r = llvm::dyn_cast<mlir::RankedTensorType>(t);
  if (!r)
    return "?";
  std::string s = "[";
  for (int64_t i = 0; i < r.getRank(); ++i) {
    if (i)
      s += ", ";
    s += r.isDynamicDim(i) ? "?" : std::to_string(r.getDimSize(i));
  }
  return s + "]";
}

/// `1.50 GiB`, `12.0 KiB`: the largest binary unit that keeps a leading digit.
static std::string gib(int64_t bytes) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = bytes;
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  std::string s;
  llvm::raw_string_ostream os(s);
  os << llvm::format(u ? "%.2f %s" : "%.0f %s", v, units[u]);
  return s;
}

/// The torchinfo-like table of `--emit=summary`.
static bool printSummary(mlir::ModuleOp module, llvm::raw_ostream &os) {
  bool ok = true;
  module.walk([&](mlir::func::FuncOp fn) {
    auto model = fn->getAttrOfType<mlir::StringAttr>(s2s::kModelAttrName);
    if (!model)
      return;
    mlir::FailureOr<s2s::ParameterCount> count = s2s::countParameters(fn);
    if (mlir::failed(count)) {
      fn.emitError() << "parameter shapes of '" << fn.getSymName()
                     << "' are not all known";
      ok = false;
      return;
    }
    // The output of each component: its last parameterized op's result.
    llvm::StringMap<std::string> output;
    fn.walk([&](s2s::ParameterizedOp op) {
      auto name = op->getAttrOfType<mlir::StringAttr>("name");
      if (!name)
        return;
      for (auto &[component, params] : count->components)
        if (name.getValue() == component ||
            name.getValue().starts_with(component + "."))
          output[component] = shapeOf(op->getResult(0).getType());
    });
    os << "model " << fn.getSymName() << " = " << model.getValue() << "\n";
    for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes()))
      os << "  input " << i << ": " << shapeOf(t) << "\n";
    os << llvm::format("  %-28s %-24s %16s\n", "component", "output", "params");
    for (auto &[component, params] : count->components)
      os << llvm::format("  %-28s %-24s %16s\n", component.c_str(),
                         output.lookup(component).c_str(),
                         withCommas(params).c_str());
    for (auto [i, t] : llvm::enumerate(fn.getResultTypes()))
      os << "  output " << i << ": " << shapeOf(t) << "\n";
    os << "  total params: " << withCommas(count->total) << "\n";
    if (auto mem = fn->getAttrOfType<mlir::DictionaryAttr>("s2s.memory")) {
      auto get = [&](llvm::StringRef k) {
        auto a = mem.getAs<mlir::IntegerAttr>(k);
        return a ? a.getInt() : 0;
      };
      os << "  memory per rank: params " << gib(get("params")) << ", grads "
         << gib(get("grads")) << ", optimizer " << gib(get("optimizer"))
         << ", activations " << gib(get("activations")) << ", total "
         << gib(get("total")) << "\n";
    }
  });
  return ok;
}

//===----------------------------------------------------------------------===//
// -o EXE: the generated sources, a CMake project, and its build
//===----------------------------------------------------------------------===//

/// Writes `text` to `path` unless the file already holds exactly that, so
/// an unchanged spec leaves mtimes alone and the rebuild does nothing.
static bool writeIfChanged(llvm::StringRef path, llvm::StringRef text,
                           bool &changed) {
  changed = false;
  if (auto old = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false))
    if ((*old)->getBuffer() == text)
      return true;
  changed = true;
  llvm::SmallString<256> tmp(path);
  tmp += ".tmp";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tmp, ec);
    if (ec) {
      llvm::WithColor::error(llvm::errs(), "s2sc")
          << "cannot write '" << tmp << "': " << ec.message() << "\n";
      return false;
    }
    os << text;
    os.close();
    if (os.has_error()) {
      llvm::WithColor::error(llvm::errs(), "s2sc")
          << "cannot write '" << tmp << "': " << os.error().message()
          << " (is the disk full?)\n";
      llvm::sys::fs::remove(tmp);
      return false;
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, path)) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "cannot write '" << path << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}

/// Where s2s_runtimeConfig.cmake is: --runtime, $S2S_RUNTIME_DIR, then
/// lib/cmake/s2s_runtime beside this s2sc's bin/ (true both in the build
/// tree and installed).
static std::string runtimeDir(const char *argv0) {
  if (!runtimeDirOpt.empty())
    return runtimeDirOpt;
  if (const char *env = std::getenv("S2S_RUNTIME_DIR"))
    return env;
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&runtimeDir));
  llvm::SmallString<256> dir(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(dir, "lib", "cmake", "s2s_runtime");
  return std::string(dir);
}

/// A C identifier-safe program name from the spec's file stem.
static std::string programName(llvm::StringRef file) {
  std::string name = llvm::sys::path::stem(file).str();
  for (char &c : name)
    if (!llvm::isAlnum(static_cast<unsigned char>(c)) && c != '_')
      c = '_';
  if (name.empty() || llvm::isDigit(static_cast<unsigned char>(name[0])))
    name = "s2s_" + name;
  return name;
}

static std::string cmakeProject(llvm::StringRef name, llvm::StringRef spec) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "# Generated by s2sc from " << spec << ".\n"
     << "# Builds on any machine with libs2s_runtime and LibTorch, no MLIR\n"
     << "# needed (a cluster node with a CUDA LibTorch, say):\n"
     << "#   cmake -S . -B build -G Ninja \\\n"
     << "#     -Ds2s_runtime_DIR=<runtime build or prefix>/lib/cmake/s2s_runtime \\\n"
     << "#     -DCMAKE_PREFIX_PATH=<libtorch>\n"
     << "#   cmake --build build\n"
     << "cmake_minimum_required(VERSION 3.20)\n"
     << "project(" << name << " LANGUAGES CXX)\n"
     << "set(CMAKE_CXX_STANDARD 17)\n"
     << "set(CMAKE_CXX_STANDARD_REQUIRED ON)\n"
     << "if(NOT CMAKE_BUILD_TYPE)\n"
     << "  set(CMAKE_BUILD_TYPE Release CACHE STRING \"\" FORCE)\n"
     << "endif()\n"
     << "find_program(CCACHE_PROGRAM ccache)\n"
     << "if(CCACHE_PROGRAM)\n"
     << "  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})\n"
     << "endif()\n"
     << "find_package(s2s_runtime REQUIRED)\n"
     << "add_executable(" << name << " " << name << ".cpp)\n"
     << "target_link_libraries(" << name << " PRIVATE s2s::runtime)\n"
     << "target_compile_options(" << name << " PRIVATE -Wall -Wextra)\n";
  return s;
}

/// Runs a command, its output shown only when it fails (or with -v).
static bool runCommand(llvm::ArrayRef<llvm::StringRef> args,
                       llvm::StringRef logFile, llvm::StringRef what) {
  if (verboseBuild) {
    for (llvm::StringRef a : args)
      llvm::errs() << a << " ";
    llvm::errs() << "\n";
  }
  std::optional<llvm::StringRef> redirects[] = {
      std::nullopt, verboseBuild ? std::optional<llvm::StringRef>() : logFile,
      verboseBuild ? std::optional<llvm::StringRef>() : logFile};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(args[0], args, std::nullopt, redirects, 0,
                                     0, &err);
  if (rc == 0)
    return true;
  llvm::raw_ostream &e = llvm::WithColor::error(llvm::errs(), "s2sc");
  e << what << " failed";
  if (!err.empty())
    e << ": " << err;
  e << "\n";
  if (!verboseBuild)
    if (auto log = llvm::MemoryBuffer::getFile(logFile)) {
      llvm::StringRef text = (*log)->getBuffer();
      // The end of the log holds the error.
      if (text.size() > 6000)
        text = text.take_back(6000);
      llvm::errs() << text << "\n";
      llvm::errs() << "(the whole log is " << logFile << ")\n";
    }
  return false;
}

/// Generates the CMake project of `cpp` in the build folder, builds it and
/// places the executable at `exe`.
static bool buildExecutable(llvm::StringRef cpp, llvm::StringRef exe,
                            const char *argv0) {
  std::string name = programName(inputFile);
  llvm::SmallString<256> dir(buildDirOpt.empty() ? (exe + ".build").str()
                                                 : buildDirOpt.getValue());
  llvm::sys::fs::make_absolute(dir);
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "cannot create the build folder '" << dir << "': " << ec.message()
        << "\n";
    return false;
  }
  std::string rt = runtimeDir(argv0);
  if (!llvm::sys::fs::exists(rt + "/s2s_runtimeConfig.cmake")) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "no s2s runtime at '" << rt
        << "' (s2s_runtimeConfig.cmake missing); build it (ninja -C build "
           "s2s_runtime) or point --runtime or S2S_RUNTIME_DIR at its "
           "lib/cmake/s2s_runtime folder\n";
    return false;
  }
  bool changed;
  if (!writeIfChanged((dir + "/" + name + ".cpp").str(), cpp, changed) ||
      !writeIfChanged((dir + "/CMakeLists.txt").str(),
                      cmakeProject(name, inputFile), changed))
    return false;

  auto cmake = llvm::sys::findProgramByName("cmake");
  if (!cmake) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "cmake not found on PATH; run ./scripts/setup\n";
    return false;
  }
  std::string bdir = (dir + "/build").str(), log = (dir + "/build.log").str();
  if (!llvm::sys::fs::exists(bdir + "/CMakeCache.txt")) {
    bool ninja = static_cast<bool>(llvm::sys::findProgramByName("ninja"));
    std::string src = "-S" + std::string(dir), bin = "-B" + bdir,
                rtArg = "-Ds2s_runtime_DIR=" + rt;
    llvm::SmallVector<llvm::StringRef> args{*cmake, src, bin, rtArg};
    if (ninja) {
      args.push_back("-G");
      args.push_back("Ninja");
    }
    if (!runCommand(args, log, "configuring the generated program (cmake)"))
      return false;
  }
  if (!runCommand({*cmake, "--build", bdir}, log,
                  "building the generated program"))
    return false;

  // Copy into place atomically, only when the built program changed.
  std::string built = bdir + "/" + name;
  auto newBuf = llvm::MemoryBuffer::getFile(built, false, false);
  if (!newBuf) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "the build did not produce '" << built << "'\n";
    return false;
  }
  if (auto old = llvm::MemoryBuffer::getFile(exe, false, false))
    if ((*old)->getBuffer() == (*newBuf)->getBuffer())
      return true;
  std::string tmp = (exe + ".tmp").str();
  if (std::error_code ec = llvm::sys::fs::copy_file(built, tmp)) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "cannot write '" << tmp << "': " << ec.message() << "\n";
    return false;
  }
  llvm::sys::fs::setPermissions(tmp, llvm::sys::fs::all_read |
                                         llvm::sys::fs::all_exe |
                                         llvm::sys::fs::owner_write);
  if (std::error_code ec = llvm::sys::fs::rename(tmp, exe)) {
    llvm::WithColor::error(llvm::errs(), "s2sc")
        << "cannot write '" << exe << "': " << ec.message() << "\n";
    return false;
  }
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // MLIR's debugging flags (--mlir-print-ir-after-all, --mlir-timing, ...)
  // work as in mlir-opt; they stay out of --help's s2sc section.
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
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
  if (emit == EmitKind::AST) {
    s2s::printAST(*main, srcMgr, llvm::outs());
    diags.printSummary();
    return 0;
  }

  mlir::MLIRContext context;
  // Messages point at the spec; the IR of the op would only distract.
  context.printOpOnDiagnostic(false);
  routeMLIRDiagnostics(context, srcMgr, diags);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      s2s::lowerToMLIR(context, *main, srcMgr);
  if (!module) {
    diags.printSummary();
    return 1;
  }
  if (emit == EmitKind::MLIR) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    diags.printSummary();
    return 0;
  }

  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm))) {
    diags.printSummary();
    return 1;
  }
  mlir::DefaultTimingManager timing;
  mlir::applyDefaultTimingManagerCLOptions(timing);
  mlir::TimingScope timingScope = timing.getRootScope();
  pm.enableTiming(timingScope);
  s2s::PipelineOptions pipeline;
  pipeline.unrollRollout = !noUnroll;
  pipeline.fuse = !noFuse;
  s2s::buildS2SPipeline(pm, pipeline);
  if (mlir::failed(pm.run(*module))) {
    diags.printSummary();
    return 1;
  }
  ok = true;
  if (emit == EmitKind::EmitC || emit == EmitKind::Cpp || !outputExe.empty()) {
    mlir::PassManager lower(&context);
    if (mlir::failed(mlir::applyPassManagerCLOptions(lower))) {
      diags.printSummary();
      return 1;
    }
    s2s::S2SToEmitCOptions opts;
    opts.programName = programName(inputFile);
    opts.specFile = inputFile;
    lower.addPass(s2s::createS2SToEmitC(opts));
    if (mlir::failed(lower.run(*module))) {
      diags.printSummary();
      return 1;
    }
    if (emit == EmitKind::EmitC) {
      module->print(llvm::outs());
      llvm::outs() << "\n";
      diags.printSummary();
      return 0;
    }
    std::string cpp;
    llvm::raw_string_ostream cppOS(cpp);
    if (mlir::failed(mlir::emitc::translateToCpp(*module, cppOS))) {
      diags.printSummary();
      return 1;
    }
    if (emit == EmitKind::Cpp)
      llvm::outs() << cpp;
    diags.printSummary();
    if (!outputExe.empty() && !buildExecutable(cpp, outputExe, argv[0]))
      return 1;
    return 0;
  }
  if (emit == EmitKind::MLIROpt) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
  } else if (emit == EmitKind::Summary) {
    ok = printSummary(*module, llvm::outs());
  }
  diags.printSummary();
  return ok ? 0 : 1;
}
