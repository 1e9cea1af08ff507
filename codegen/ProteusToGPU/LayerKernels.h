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

/// Builds every non-attention layer kernel for one setting into `module`
/// (f32 activations; each kernel once).
void buildLayerKernels(OpBuilder &b, gpu::GPUModuleOp module, ConfigAttr cfg,
                       BudgetAttr budget);

/// What proteus_int8_scales_<type> is specialized for: head dim `d` and the
/// scale rule (the gpu.func's proteus.specialization).
std::string int8ScalesSpecialization(int64_t d, Int8Mode mode, double p);

/// The per-row INT8 scales kernel of q, k and v with element type `elem`
/// (proteus_int8_scales_<elem>, contract.h) for head dim `d` and the given
/// mode; the module's own where it has one of that name (null where that one
/// was built for another mode).
gpu::GPUFuncOp getOrBuildInt8Scales(OpBuilder &b, gpu::GPUModuleOp module,
                                    Type elem, int64_t d, Int8Mode mode,
                                    double p);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_LAYERKERNELS_H
