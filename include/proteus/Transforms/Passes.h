//===- Passes.h - Proteus transformation passes -----------------*- C++ -*-===//
//
// -proteus-specialize, -proteus-decompose and their pattern populators.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TRANSFORMS_PASSES_H
#define PROTEUS_TRANSFORMS_PASSES_H

#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "proteus/Dialect/Proteus/ProteusDialect.h"

namespace mlir {
class RewritePatternSet;
namespace scf {
class SCFDialect;
} // namespace scf
} // namespace mlir

namespace mlir::proteus {

#define GEN_PASS_DECL
#include "proteus/Transforms/Passes.h.inc"

/// Patterns attaching #proteus.budget for one (alpha, density) setting.
void populateProteusSpecializePatterns(RewritePatternSet &patterns,
                                       double alpha, double density);

/// Patterns expanding proteus.layer into the primitives.
void populateProteusDecomposePatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "proteus/Transforms/Passes.h.inc"

} // namespace mlir::proteus

#endif // PROTEUS_TRANSFORMS_PASSES_H
