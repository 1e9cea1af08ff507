//===- AttentionTiles.h - Tiles of the GPU attention kernels ----*- C++ -*-===//
//
// What a #proteus.tile means for each GPU attention kernel: the kernel's
// default tile, the constraints that make a tile invalid for it (checked
// before anything is compiled or run), its search space for the autotuner,
// and the kernel an attention op lowers to (the key of the tuning database).
// Implemented beside the kernels' lowering
// (codegen/ProteusToGPU/AttentionTiles.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CONVERSION_ATTENTIONTILES_H
#define PROTEUS_CONVERSION_ATTENTIONTILES_H

#include "mlir/Support/LLVM.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

#include <string>

namespace mlir::proteus {

/// The attention kernels whose layout a tile configures (ProteusToGPU.cpp).
enum class TileKernel {
  /// Shortlist attention (rule or listed candidates): one warp per query,
  /// kGpuAttentionBlock / 32 queries per block. Tuned: lanes, unroll, vector.
  ShortlistWarp,
  /// Dense causal attention on CUDA cores (f32): each warp walks 16 queries
  /// of a block's kGpuDenseTile. Tuned: lanes, unroll, vector.
  CausalWarp,
  /// Dense causal attention on tensor cores (bf16/f16): 16 queries per warp,
  /// K/V tiles in shared memory. Tuned: block_n, stages, vector, pad.
  CausalTensorCore,
};

/// What a kernel's valid tiles depend on.
struct TileTarget {
  TileKernel kernel;
  int64_t headDim;
  int64_t elemBytes;
};

/// The tile the kernel takes when the op has none (the layout it had before
/// tuning existed).
TileAttr getDefaultTile(MLIRContext *ctx, const TileTarget &target);

/// Why `tile` cannot configure the kernel of `target`, or "" when it can:
/// the runtime's launch geometry (contract.h), divisibility by the head dim,
/// loads of at most 16 bytes, static shared memory and a register estimate.
std::string checkTile(const TileTarget &target, TileAttr tile);

/// Every tile the autotuner considers for the kernel, the default first;
/// checkTile tells the valid ones.
SmallVector<TileAttr> getTileSearchSpace(MLIRContext *ctx,
                                         const TileTarget &target);

/// Registers per thread above which ptxas's report prunes a variant before
/// it is measured (the occupancy the kernel needs, see the .cpp).
int64_t getRegisterBudget(TileKernel kernel);

/// A conservative estimate of the registers a thread needs (live values of
/// the inner loop plus addressing).
int64_t estimateRegisters(const TileTarget &target, TileAttr tile);

/// Static shared memory of one block, in bytes.
int64_t getSharedMemoryBytes(const TileTarget &target, TileAttr tile);

/// The GPU kernel an attention op lowers to.
struct AttentionKernel {
  /// contract.h's name, e.g. "proteus_shortlist_attention_bf16".
  std::string name;
  /// What the kernel is specialized for: its proteus.specialization without
  /// the name and the tile, e.g. "d=16 stride=256 local=1 anchors=1 L=2048
  /// window=512 local_cap=-1 anchor_cap=-1".
  std::string setting;
  TileTarget target;
};

/// A discardable integer attribute on a rule-form proteus.shortlist_attention
/// with the prototype piece: the largest effective L it runs with (the
/// configuration's L_max), which sizes the GPU kernel's per-query lists in
/// shared memory when the op's effective L is not a constant.
constexpr llvm::StringLiteral kMaxLAttr = "proteus.max_l";

/// The kernel of a proteus.shortlist_attention or proteus.dense_attention op;
/// failure with the reason when the op has no GPU kernel.
FailureOr<AttentionKernel> getAttentionKernel(Operation *op, std::string &why);

/// The compiler a tuning result holds for: the kernels' generation (bumped
/// when a kernel changes so that old measurements no longer apply) and the
/// LLVM that generated the PTX.
std::string getTuningCompilerVersion();

} // namespace mlir::proteus

#endif // PROTEUS_CONVERSION_ATTENTIONTILES_H
