//===- Codegen.cpp - From the optimised s2s IR to C++
//----------------------===//

#include "s2s/Driver/Codegen.h"

#include "s2s/Conversion/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Target/Cpp/CppEmitter.h"

#include "llvm/Support/raw_ostream.h"

mlir::LogicalResult s2s::lowerToEmitC(mlir::ModuleOp module,
                                      const CodegenOptions &options) {
  mlir::PassManager pm(module.getContext());
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return mlir::failure();
  S2SToEmitCOptions opts;
  opts.programName = options.programName;
  opts.specFile = options.specFile;
  pm.addPass(createS2SToEmitC(opts));
  return pm.run(module);
}

mlir::FailureOr<std::string> s2s::printCpp(mlir::ModuleOp module) {
  std::string cpp;
  llvm::raw_string_ostream os(cpp);
  if (mlir::failed(mlir::emitc::translateToCpp(module, os)))
    return mlir::failure();
  return cpp;
}
