//===- ProteusOps.h - Proteus operations ------------------------*- C++ -*-===//
//
// The composite proteus.layer and its primitives.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_DIALECT_PROTEUS_PROTEUSOPS_H
#define PROTEUS_DIALECT_PROTEUS_PROTEUSOPS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"
#include "proteus/Dialect/Proteus/ProteusDialect.h"

#define GET_OP_CLASSES
#include "proteus/Dialect/Proteus/ProteusOps.h.inc"

#endif // PROTEUS_DIALECT_PROTEUS_PROTEUSOPS_H
