//===- PrimitiveModule.h - The primitive entry points -----------*- C++ -*-===//
//
// The functions a bundle's CPU library exports around single proteus ops
// (contract.h, chunked_contract.h), beside the per-setting layer entries.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TARGET_PRIMITIVEMODULE_H
#define PROTEUS_TARGET_PRIMITIVEMODULE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

namespace mlir::proteus {

/// An empty func `name` taking `args`, exported with its C interface
/// (contract.h, kCInterfacePrefix), at b's insertion point.
func::FuncOp buildEntryFunc(OpBuilder &b, Location loc, StringRef name,
                            ArrayRef<Type> args);

/// Every primitive entry point of `cfg`'s CPU library: the shortlist, dense
/// and shortlist attention, token selection, the Top-A sampler (TopAModule.h)
/// and the chunked pipeline's selections, at b's insertion point.
void buildPrimitiveFuncs(OpBuilder &b, Location loc, ConfigAttr cfg);

} // namespace mlir::proteus

#endif // PROTEUS_TARGET_PRIMITIVEMODULE_H
