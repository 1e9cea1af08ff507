//===- TopAModule.h - The Top-A functions of a bundle -----------*- C++ -*-===//
//
// The functions around proteus.top_a that a bundle ships: the CPU library's
// entry points and the functions of the PTX module that the GPU lowering
// turns into kernels, one per mode and element type (contract.h, topAEntry).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TARGET_TOPAMODULE_H
#define PROTEUS_TARGET_TOPAMODULE_H

#include "mlir/IR/Builders.h"

namespace mlir::proteus {

/// Appends func.func @proteus_top_a_<mode>_<elem> for every mode and element
/// type (f32, bf16) at the builder's insertion point, each one
/// proteus.top_a over its arguments in contract.h's order; with
/// `cInterface` each carries llvm.emit_c_interface (the CPU library).
void buildTopAFuncs(OpBuilder &b, Location loc, bool cInterface);

} // namespace mlir::proteus

#endif // PROTEUS_TARGET_TOPAMODULE_H
