//===- AttentionModule.h - The GPU kernels of one setting -------*- C++ -*-===//
//
// What a bundle's PTX module holds for one (alpha, density) setting, before
// lowering: the attention ops per element type (and the layer, whose kernels
// the conversion builds), each with its #proteus.tile. proteus-compile builds
// it for every setting; proteus-tune builds it one kernel at a time.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_TARGET_ATTENTIONMODULE_H
#define PROTEUS_TARGET_ATTENTIONMODULE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "proteus/Autotune/TuningDb.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

#include <string>

namespace mlir::proteus {

/// Which kernels buildAttentionModule adds.
struct AttentionModuleOptions {
  /// Element types of q, k, v and out; empty: f32, bf16 and f16.
  SmallVector<Type> elementTypes;
  bool rule = true;   ///< shortlist attention, candidates from the rule
  bool listed = true; ///< shortlist attention over materialised candidates
  bool dense = true;  ///< dense causal attention
  bool layer = true;  ///< the setting's GPU layer kernels (f32)
  /// The Top-A kernels (TopAModule.h); a bundle ships them in setting 0's
  /// module only.
  bool topA = false;
};

/// A function `name` with the layer ABI of contract.h around one
/// proteus.layer carrying `budget` (null: not specialized yet).
func::FuncOp buildLayerFunc(OpBuilder &b, Location loc, ConfigAttr cfg,
                            StringRef name, BudgetAttr budget);

/// The #proteus.budget -proteus-specialize derives for the setting (alpha,
/// density) of `cfg`.
BudgetAttr getSettingBudget(MLIRContext *ctx, ConfigAttr cfg, double alpha,
                            double density);

/// Why the attention kernels of `cfg` have no GPU lowering at all, or "".
std::string gpuAttentionUnsupported(ConfigAttr cfg);

/// A module with one func per element type holding the chosen attention ops
/// of the setting `budget` of `cfg` (static budgets as constants, the others
/// read from the budget vector argument), plus the layer. `skipped` says what
/// of the in-kernel candidate rule is CPU-only for this configuration.
OwningOpRef<ModuleOp>
buildAttentionModule(MLIRContext *ctx, ConfigAttr cfg, BudgetAttr budget,
                     const AttentionModuleOptions &options,
                     std::string &skipped);

/// The tile one attention kernel of a module got.
struct TileChoice {
  std::string kernel, setting;
  TileAttr tile;
  bool tuned = false; ///< from the database; else the default, `note` why
  std::string note;
};

/// Gives every attention op of `module` the tile the database holds for its
/// kernel and setting in `shapeClass` on `arch` for this compiler, where that
/// tile is valid for the kernel, and the kernel's default tile otherwise.
/// `db` may be null (no database). One choice per op, in module order.
SmallVector<TileChoice> applyTuningDatabase(ModuleOp module,
                                            const proteus_tune::Database *db,
                                            StringRef shapeClass,
                                            StringRef arch);

TileAttr toTileAttr(MLIRContext *ctx, const proteus_tune::Tile &tile);
proteus_tune::Tile toTile(TileAttr tile);

} // namespace mlir::proteus

#endif // PROTEUS_TARGET_ATTENTIONMODULE_H
