//===- ProteusDialect.cpp - Proteus dialect registration ------------------===//
//
// Registers the proteus ops and attributes.
//
//===----------------------------------------------------------------------===//

#include "proteus/Dialect/Proteus/ProteusDialect.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"

using namespace mlir;
using namespace mlir::proteus;

#include "proteus/Dialect/Proteus/ProteusOpsDialect.cpp.inc"

void ProteusDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "proteus/Dialect/Proteus/ProteusOps.cpp.inc"
      >();
  registerAttributes();
}
