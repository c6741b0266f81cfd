//===- S2SDialect.cpp - The s2s dialect -----------------------------------===//

#include "s2s/Dialect/S2SDialect.h"
#include "s2s/Dialect/S2SOps.h"

using namespace mlir;
using namespace s2s;

#include "s2s/Dialect/S2SOpsDialect.cpp.inc"

void S2SDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "s2s/Dialect/S2SOps.cpp.inc"
      >();
}
