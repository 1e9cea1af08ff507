//===- Passes.h - Proteus conversion passes ---------------------*- C++ -*-===//
//
// -convert-proteus-to-scf and its pattern populator, the CPU path's loop
// outlining and -convert-proteus-to-gpu.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CONVERSION_PASSES_H
#define PROTEUS_CONVERSION_PASSES_H

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

#include <string>

namespace mlir {
class RewritePatternSet;
namespace LLVM {
class LLVMDialect;
} // namespace LLVM
namespace NVVM {
class NVVMDialect;
} // namespace NVVM
namespace gpu {
class GPUDialect;
} // namespace gpu
namespace func {
class FuncDialect;
} // namespace func
namespace arith {
class ArithDialect;
} // namespace arith
namespace math {
class MathDialect;
} // namespace math
namespace memref {
class MemRefDialect;
} // namespace memref
namespace scf {
class SCFDialect;
} // namespace scf
namespace vector {
class VectorDialect;
} // namespace vector
} // namespace mlir

namespace mlir::proteus {

#define GEN_PASS_DECL
#include "proteus/Conversion/Passes.h.inc"

/// Patterns lowering the attention primitives to GPU kernel launches and a
/// specialized proteus.layer to its setting's GPU layer kernels.
void populateProteusToGPUConversionPatterns(RewritePatternSet &patterns);

/// The pattern turning proteus.top_a into its kernel and launch
/// (codegen/ProteusToGPU/TopAKernels.cpp); part of
/// populateProteusToGPUConversionPatterns.
void populateProteusTopAToGPUPatterns(RewritePatternSet &patterns);

/// Why a layer of this configuration has no GPU layer kernels, or "".
std::string gpuLayerUnsupported(ConfigAttr cfg);

/// Patterns lowering every proteus primitive to scalar loops; with
/// `protoPicksBySelect` the prototype piece's picks come from the GPU layer
/// kernel's per-query select (ConvertProteusToSCFPass's option).
void populateProteusToSCFConversionPatterns(RewritePatternSet &patterns,
                                            bool protoPicksBySelect = false);

/// The patterns lowering proteus.project and proteus.combine to blocked
/// products (codegen/ProteusToSCF/Projections.cpp); part of
/// populateProteusToSCFConversionPatterns.
void populateProteusProjectionsToSCFPatterns(RewritePatternSet &patterns);

/// The pattern lowering proteus.top_a to scalar loops (codegen/ProteusToSCF/
/// TopA.cpp); part of populateProteusToSCFConversionPatterns.
void populateProteusTopAToSCFPatterns(RewritePatternSet &patterns);

/// The patterns lowering proteus.chunk_nucleus and proteus.shortlist_merge to
/// scalar loops (codegen/ProteusToSCF/Chunked.cpp); part of
/// populateProteusToSCFConversionPatterns.
void populateProteusChunkedToSCFPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "proteus/Conversion/Passes.h.inc"

} // namespace mlir::proteus

#endif // PROTEUS_CONVERSION_PASSES_H
