//===- s2sc.cpp - The s2s compiler driver ---------------------------------===//
//
// `s2sc FILE.s2s [--emit=ast|mlir|mlir-opt|summary|plan|emitc|cpp] [-o EXE]`,
// `s2sc plan FILE.s2s --gpus N [--gpu-mem 80GiB]` (--emit=plan):
// the options and the order of the stages; the stages themselves are the
// front end (dsl/), MLIRGen, the pass pipeline and the driver library
// (compiler/lib/Driver: diagnostics, summary, code generation, the build).
// Exit status: 0 on success, 1 on errors (bad usage included).
//
//===----------------------------------------------------------------------===//

#include "s2s/DSL/Diagnostics.h"
#include "s2s/DSL/Frontend.h"
#include "s2s/DSL/Types.h"
#include "s2s/Driver/Codegen.h"
#include "s2s/Driver/DiagnosticBridge.h"
#include "s2s/Driver/ExecutableBuilder.h"
#include "s2s/Driver/PlanReport.h"
#include "s2s/Driver/Summary.h"
#include "s2s/MLIRGen/MLIRGen.h"
#include "s2s/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/thread.h"

#include <cstdlib>

namespace cl = llvm::cl;

static cl::OptionCategory s2scCategory("s2sc options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<spec.s2s>"),
                                      cl::Required, cl::cat(s2scCategory));

enum class EmitKind { None, AST, MLIR, MLIROpt, Summary, Plan, EmitC, Cpp };
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
        clEnumValN(EmitKind::Plan, "plan",
                   "bytes and communication per rank of the mesh, and "
                   "whether it fits (docs/plan.md)"),
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

static cl::opt<bool>
    noUnroll("no-unroll-rollout",
             cl::desc("Leave s2s-unroll-rollout out of the pipeline"),
             cl::cat(s2scCategory));
static cl::opt<bool> noFuse("no-fuse",
                            cl::desc("Leave s2s-fuse out of the pipeline"),
                            cl::cat(s2scCategory));

static cl::list<std::string>
    includeDirs("I", cl::desc("Add an import search directory"),
                cl::value_desc("dir"), cl::Prefix, cl::cat(s2scCategory));

static cl::opt<std::string>
    stdlibDir("stdlib",
              cl::desc("Standard library root (default: $S2S_STDLIB, then "
                       "the one this s2sc was built with)"),
              cl::value_desc("dir"), cl::cat(s2scCategory));

static cl::opt<std::string> maxRankMemory(
    "max-rank-memory",
    cl::desc("Refuse a spec whose memory plan needs more than this per rank "
             "(default 1TiB; 0 for no bound)"),
    cl::value_desc("size"), cl::init("1TiB"), cl::cat(s2scCategory));

/// `80GiB`, `512MiB`, `0`: a whole number of bytes, with a unit as a spec
/// writes one.
static std::optional<int64_t> parseByteSize(llvm::StringRef text) {
  llvm::StringRef unit = text.drop_while(llvm::isDigit);
  uint64_t n;
  if (text.drop_back(unit.size()).getAsInteger(10, n))
    return std::nullopt;
  if (unit.empty())
    return n <= uint64_t(INT64_MAX) ? std::optional<int64_t>(n) : std::nullopt;
  for (const s2s::QuantityUnit &u : s2s::byteUnits())
    if (unit == u.name && n * u.factor < 9.2e18)
      return static_cast<int64_t>(n * u.factor);
  return std::nullopt;
}

static cl::opt<int64_t>
    planGpus("gpus",
             cl::desc("--emit=plan: every mesh and strategy on this many "
                      "GPUs instead of the spec's mesh"),
             cl::value_desc("n"), cl::init(0), cl::cat(s2scCategory));
static cl::opt<std::string>
    planGpuMemory("gpu-mem",
                  cl::desc("--emit=plan: the memory of one GPU (default: "
                           "not checked)"),
                  cl::value_desc("size"), cl::init("0"), cl::cat(s2scCategory));
static cl::opt<double> planGpuFlops(
    "gpu-flops",
    cl::desc("--emit=plan: peak FLOP/s of one GPU (default 989e12, H100 SXM "
             "bf16 dense)"),
    cl::init(989e12), cl::cat(s2scCategory));
static cl::opt<double> planNetBandwidth(
    "net-bandwidth",
    cl::desc("--emit=plan: bytes/s per GPU between data-parallel ranks "
             "(default 50e9, 400 Gb/s InfiniBand)"),
    cl::init(50e9), cl::cat(s2scCategory));
static cl::opt<double> planLinkBandwidth(
    "link-bandwidth",
    cl::desc("--emit=plan: bytes/s per GPU between tensor-parallel ranks "
             "(default 450e9, NVLink 4)"),
    cl::init(450e9), cl::cat(s2scCategory));

static cl::opt<unsigned>
    errorLimit("ferror-limit", cl::desc("Stop after N errors (0: no limit)"),
               cl::init(20), cl::cat(s2scCategory));

static std::string defaultStdlib(const char *argv0) {
  if (!stdlibDir.empty())
    return stdlibDir;
  if (const char *env = std::getenv("S2S_STDLIB"))
    return env;
  // An installed s2sc finds ../share/s2s/stdlib beside its bin/.
  llvm::SmallString<256> installed(s2s::installPrefix(argv0));
  llvm::sys::path::append(installed, "share", "s2s", "stdlib");
  if (llvm::sys::fs::exists(installed + "/std/prelude.s2s"))
    return std::string(installed);
  return S2S_STDLIB_DIR;
}

/// The stages, in order, after the options are read.
static int compile(const char *argv0) {
  llvm::SourceMgr srcMgr;
  s2s::DiagnosticEngine diags(srcMgr, llvm::errs(), errorLimit);
  // LLVM's own --color option decides, as for every LLVM tool.
  diags.setShowColors(llvm::WithColor(llvm::errs()).colorsEnabled());

  std::optional<int64_t> maxRankBytes = parseByteSize(maxRankMemory);
  if (!maxRankBytes) {
    diags.errorNoLocation("--max-rank-memory=" + maxRankMemory +
                          " is not a size such as 80GiB or 512MiB (a whole "
                          "number and B, KB, MB, GB, TB, KiB, MiB, GiB or "
                          "TiB)");
    diags.printSummary();
    return 1;
  }

  std::optional<int64_t> gpuMemory = parseByteSize(planGpuMemory);
  if (!gpuMemory || planGpus < 0 || planGpus > s2s::kMaxProcesses ||
      !(planGpuFlops > 0) || !(planNetBandwidth > 0) ||
      !(planLinkBandwidth > 0)) {
    diags.errorNoLocation(
        "--gpu-mem must be a size such as 80GiB, --gpus a count of at most " +
        std::to_string(s2s::kMaxProcesses) +
        ", --gpu-flops and the bandwidths positive numbers");
    diags.printSummary();
    return 1;
  }
  if (emit != EmitKind::Plan && (planGpus > 0 || *gpuMemory > 0)) {
    diags.errorNoLocation("--gpus and --gpu-mem are for the plan: add "
                          "--emit=plan (or run `s2sc plan SPEC ...`)");
    diags.printSummary();
    return 1;
  }

  s2s::FrontendOptions options;
  options.includeDirs.assign(includeDirs.begin(), includeDirs.end());
  options.stdlibDir = defaultStdlib(argv0);

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
  s2s::routeMLIRDiagnostics(context, srcMgr, diags);
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
  // The plan says itself what fits.
  pipeline.maxRankBytes = emit == EmitKind::Plan ? 0 : *maxRankBytes;
  s2s::buildS2SPipeline(pm, pipeline);
  if (mlir::failed(pm.run(*module))) {
    diags.printSummary();
    return 1;
  }
  if (emit == EmitKind::MLIROpt) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    diags.printSummary();
    return 0;
  }
  if (emit == EmitKind::Summary) {
    ok = s2s::printSummary(*module, llvm::outs());
    diags.printSummary();
    return ok ? 0 : 1;
  }
  if (emit == EmitKind::Plan) {
    s2s::PlanOptions plan;
    plan.gpus = planGpus;
    plan.gpuMemory = *gpuMemory;
    plan.gpuFlops = planGpuFlops;
    plan.netBandwidth = planNetBandwidth;
    plan.linkBandwidth = planLinkBandwidth;
    ok = s2s::printPlan(*module, plan, llvm::outs());
    diags.printSummary();
    return ok ? 0 : 1;
  }

  // Checking a spec (the default) goes as far as building would: a value
  // the runtime cannot carry out is an error now, not a surprise later.
  s2s::CodegenOptions codegen;
  codegen.programName = s2s::programName(inputFile);
  codegen.specFile = inputFile;
  if (mlir::failed(s2s::lowerToEmitC(*module, codegen))) {
    diags.printSummary();
    return 1;
  }
  if (emit == EmitKind::EmitC) {
    module->print(llvm::outs());
    llvm::outs() << "\n";
    diags.printSummary();
    return 0;
  }
  mlir::FailureOr<std::string> cpp = s2s::printCpp(*module);
  if (mlir::failed(cpp)) {
    diags.printSummary();
    return 1;
  }
  if (emit == EmitKind::Cpp)
    llvm::outs() << *cpp;
  diags.printSummary();
  if (outputExe.empty())
    return 0;
  s2s::BuildOptions build;
  build.specFile = inputFile;
  build.exe = outputExe;
  build.buildDir = buildDirOpt;
  build.runtimeDir = s2s::findRuntimeDir(argv0, runtimeDirOpt);
  build.verbose = verboseBuild;
  return s2s::buildExecutable(*cpp, build) ? 0 : 1;
}

/// The stack the stages run on. The checker and MLIRGen recurse once per
/// level of nesting, which the front end bounds (FrontendOptions); at the
/// bounds they need a few MiB. A stack of their own keeps that safe
/// whatever `ulimit -s` says.
constexpr unsigned kCompilerStackBytes = 64u << 20;

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  // MLIR's debugging flags (--mlir-print-ir-after-all, --mlir-timing, ...)
  // work as in mlir-opt; they stay out of --help's s2sc section.
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  cl::HideUnrelatedOptions(s2scCategory);
  // `s2sc plan SPEC ...` is `s2sc SPEC --emit=plan ...`.
  std::vector<const char *> args(argv, argv + argc);
  if (args.size() > 1 && llvm::StringRef(args[1]) == "plan") {
    args.erase(args.begin() + 1);
    args.push_back("--emit=plan");
  }
  cl::ParseCommandLineOptions(
      int(args.size()), args.data(),
      "s2sc - compiler for autoregressive sequence-to-sequence training "
      "specs\n");
  int status = 1;
  llvm::thread stages(std::optional<unsigned>(kCompilerStackBytes),
                      [&status, argv0 = argv[0]] { status = compile(argv0); });
  stages.join();
  return status;
}
