//===- ProteusDialect.h - Proteus dialect -----------------------*- C++ -*-===//
//
// The proteus dialect: Proteus sparse attention (routing, gating, selection,
// shortlist attention).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_DIALECT_PROTEUS_PROTEUSDIALECT_H
#define PROTEUS_DIALECT_PROTEUS_PROTEUSDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dialect.h"

#include "proteus/Dialect/Proteus/ProteusOpsDialect.h.inc"

#endif // PROTEUS_DIALECT_PROTEUS_PROTEUSDIALECT_H
