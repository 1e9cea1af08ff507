//===- Passes.td - Proteus transformation passes -----------*- tablegen -*-===//
//
// Passes that work within the proteus dialect.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TRANSFORMS_PASSES_TD
#define PROTEUS_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ProteusSpecializePass : InterfacePass<"proteus-specialize", "mlir::FunctionOpInterface"> {
  let summary = "Fold an (alpha, density) setting into #proteus.budget and choose the mode";
  let description = [{
    Evaluates the shared schedule (runtime/include/proteus_rt/schedule.h) for the
    setting and attaches `#proteus.budget` to every `proteus.layer`: the mode
    (`dense` when alpha is at or below the dense cutoff, `shortlist` when alpha
    >= 0.95 cancels every dense reason, `auto` otherwise), topk(alpha) for every
    k_adapt, and every budget that the sequence length does not change or that a
    static sequence length fixes. Budgets that still depend on a dynamic T stay
    -1 and are read from the runtime's budget vector.
  }];
  let options = [
    Option<"alpha", "alpha", "double", "1.0", "the alpha setting, in [0, 1]">,
    Option<"density", "density", "double", "-1.0",
           "the density setting (token keep ratio at alpha = 0), in (0, 1]; "
           "default: the config's keep_ratio_base">,
  ];
  let dependentDialects = ["::mlir::proteus::ProteusDialect"];
}

def ProteusDecomposePass : InterfacePass<"proteus-decompose", "mlir::FunctionOpInterface"> {
  let summary = "Expand proteus.layer into the primitive ops";
  let description = [{
    Rewrites each specialized `proteus.layer` into route / select_tokens /
    top_p / top_k / project / pack / shortlist_attention | dense_attention /
    combine / proto_update, with the mode decision as control flow. Budgets fixed
    by `#proteus.budget` become constants; dynamic ones are loaded from the
    budget vector. Only the branches the mode can take are emitted.
  }];
  let dependentDialects = ["::mlir::proteus::ProteusDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

#endif // PROTEUS_TRANSFORMS_PASSES_TD
