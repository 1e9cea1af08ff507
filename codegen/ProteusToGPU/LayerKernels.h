//===- LayerKernels.h - The GPU layer kernels of contract.h -----*- C++ -*-===//
//
// Builders of the kernels that run the routed layer around the attention
// kernels on the GPU: routing, token selection, head gating, packing,
// projections, combination and the prototype EMA (runtime/include/proteus_rt/
// contract.h lists them with their parameters and launch order). Private to
// codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOGPU_LAYERKERNELS_H
#define PROTEUS_CODEGEN_PROTEUSTOGPU_LAYERKERNELS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

#include <string>

namespace mlir::proteus {

/// One `mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32`: A as four
/// i32 registers of bf16 pairs, B as two, C as four f32; returns D. Defined
/// in ProteusToGPU.cpp, the translation unit that includes the NVVM dialect.
SmallVector<Value, 4> mmaBf16(OpBuilder &b, Location loc, ArrayRef<Value> a,
                              ArrayRef<Value> bRegs, ArrayRef<Value> c);

/// Builds every non-attention layer kernel for one setting into `module`
/// (f32 activations; each kernel once).
void buildLayerKernels(OpBuilder &b, gpu::GPUModuleOp module, ConfigAttr cfg,
                       BudgetAttr budget);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_LAYERKERNELS_H
