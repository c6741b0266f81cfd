//===- s2s-opt.cpp - Runs s2s passes on IR, one at a time -----------------===//
//
// The s2s dialect, the upstream dialects its lowering uses, and every s2s
// pass, behind MLIR's standard opt driver: `s2s-opt in.mlir --s2s-fuse`.
//
//===----------------------------------------------------------------------===//

#include "s2s/Conversion/Passes.h"
#include "s2s/Dialect/S2SDialect.h"
#include "s2s/Dialect/S2SOps.h"
#include "s2s/Transforms/Passes.h"

#include "mlir/Dialect/EmitC/IR/EmitC.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<s2s::S2SDialect, mlir::func::FuncDialect,
                  mlir::emitc::EmitCDialect>();
  s2s::registerS2STransformsPasses();
  s2s::registerS2SConversionPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "s2s optimizer driver\n", registry));
}
