//===- AttentionTiles.cpp - Tiles of the GPU attention kernels ------------===//
//
// Each attention kernel's tile: the default (the layout the kernel had before
// it was tuned), the constraints a tile must meet, and the search space the
// autotuner measures. The launch geometry belongs to the runtime (contract.h:
// kGpuAttentionBlock threads, the documented grids), so block_m and warps
// are fixed; what is tuned is internal to a kernel:
//   warp-per-query kernels: `lanes` sharing a candidate (a warp scores
//     32 / lanes candidates per step), `unroll` candidates per lane group and
//     step (more gathers in flight), `vector` elements per load (each lane
//     then owns contiguous dims of q, k, v);
//   tensor-core dense kernel: `block_n` keys per shared-memory tile,
//     `stages` (2: the next tile's loads overlap the current tile's math, one
//     barrier per tile), `vector` elements per staging load (and 32-bit K
//     fragment loads), `pad` elements per shared-memory row.
//
//===----------------------------------------------------------------------===//

#include "KernelSpec.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/contract.h"

#include "llvm/Config/llvm-config.h"

using namespace mlir;
using namespace mlir::proteus;

namespace {

constexpr int64_t kWarps = proteus_rt::kGpuAttentionBlock / 32;
/// The largest load a thread issues (ld.v4.b32).
constexpr int64_t kMaxLoadBytes = 16;
/// Static shared memory per block without the opt-in attribute.
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// Registers per thread the hardware allows.
constexpr int64_t kMaxRegisters = 255;

bool warpPerQuery(TileKernel k) { return k != TileKernel::CausalTensorCore; }

/// Queries per block, fixed by the runtime's grids.
int64_t blockQueries(TileKernel k) {
  return k == TileKernel::ShortlistWarp ? kWarps : proteus_rt::kGpuDenseTile;
}

std::string str(int64_t v) { return std::to_string(v); }

TileAttr warpTile(MLIRContext *ctx, TileKernel k, int64_t lanes, int64_t unroll,
                  int64_t vector) {
  return TileAttr::get(ctx, blockQueries(k), 32 / lanes * unroll, kWarps, 1,
                       lanes, unroll, vector, 0);
}

TileAttr tensorCoreTile(MLIRContext *ctx, int64_t blockN, int64_t stages,
                        int64_t vector, int64_t pad) {
  return TileAttr::get(ctx, proteus_rt::kGpuDenseTile, blockN, kWarps, stages,
                       1, 1, vector, pad);
}

} // namespace

TileAttr mlir::proteus::getDefaultTile(MLIRContext *ctx,
                                       const TileTarget &target) {
  const int64_t d = target.headDim;
  if (warpPerQuery(target.kernel)) {
    // G = min(32, D / 8) lanes per candidate, so that a lane holds 8 dims.
    int64_t lanes = static_cast<int64_t>(llvm::bit_floor(static_cast<uint64_t>(
        std::max<int64_t>(1, std::min<int64_t>(32, d / 8)))));
    return warpTile(ctx, target.kernel, lanes, 1, 1);
  }
  // 64 keys per tile, 16 at D >= 128 so that S, O and Q fit the registers;
  // rows padded by 16 bytes so a fragment's 8 rows hit distinct banks.
  return tensorCoreTile(ctx, d >= 128 ? 16 : 64, 1, 1, 8);
}

int64_t mlir::proteus::getRegisterBudget(TileKernel kernel) {
  // Warp-per-query kernels wait on gathers: keep >= 4 blocks (16 warps) per
  // SM. The tensor-core kernel does more math per warp: >= 3 blocks.
  return warpPerQuery(kernel) ? 128 : 168;
}

int64_t mlir::proteus::estimateRegisters(const TileTarget &target,
                                         TileAttr tile) {
  const int64_t d = target.headDim;
  if (warpPerQuery(target.kernel)) {
    // q and the accumulator (E each), E values of k and of v per unrolled
    // candidate, addressing and softmax state.
    int64_t e = d / tile.getLanes();
    return 2 * e + 2 * tile.getUnroll() * e + 32;
  }
  // Q fragments (D / 4 words), S (block_n / 2), O (D / 2), the prefetched
  // K/V tile with two stages, addressing (calibrated on ptxas: D 64 -> 131).
  int64_t prefetch =
      tile.getStages() > 1 ? tile.getBlockN() * d * target.elemBytes / 256 : 0;
  return d / 4 + tile.getBlockN() / 2 + d / 2 + 4 + prefetch + 48;
}

int64_t mlir::proteus::getSharedMemoryBytes(const TileTarget &target,
                                            TileAttr tile) {
  if (warpPerQuery(target.kernel))
    return 0;
  return tile.getStages() * 2 * tile.getBlockN() *
         (target.headDim + tile.getPad()) * target.elemBytes;
}

std::string mlir::proteus::checkTile(const TileTarget &target, TileAttr tile) {
  const int64_t d = target.headDim, es = target.elemBytes;
  const int64_t v = tile.getVector();
  if (tile.getWarps() != kWarps)
    return "warps must be " + str(kWarps) +
           " (the runtime launches kGpuAttentionBlock = " +
           str(proteus_rt::kGpuAttentionBlock) + " threads), got " +
           str(tile.getWarps());
  if (tile.getBlockM() != blockQueries(target.kernel))
    return "block_m must be " + str(blockQueries(target.kernel)) +
           " (queries per block of the runtime's grid), got " +
           str(tile.getBlockM());
  if (v * es > kMaxLoadBytes)
    return "vector loads of " + str(v) + " x " + str(es) + " bytes exceed " +
           str(kMaxLoadBytes) + " bytes";
  if (warpPerQuery(target.kernel)) {
    if (tile.getStages() != 1 || tile.getPad() != 0)
      return "stages and pad configure the tensor-core kernel's shared "
             "memory; a warp-per-query kernel takes 1 and 0";
    const int64_t lanes = tile.getLanes();
    if (lanes > d || d % lanes != 0)
      return "lanes (" + str(lanes) + ") must divide the head dim (" + str(d) +
             ")";
    const int64_t e = d / lanes;
    if (tile.getBlockN() != 32 / lanes * tile.getUnroll())
      return "block_n must be 32 / lanes * unroll = " +
             str(32 / lanes * tile.getUnroll()) +
             " (candidates per warp step), got " + str(tile.getBlockN());
    if (e % v != 0)
      return "vector (" + str(v) + ") must divide the " + str(e) +
             " dims each lane holds (D / lanes)";
  } else {
    if (tile.getLanes() != 1 || tile.getUnroll() != 1)
      return "lanes and unroll configure the warp-per-query kernels; the "
             "tensor-core kernel takes 1";
    const int64_t bn = tile.getBlockN();
    if (bn % 16 != 0)
      return "block_n must be a multiple of 16 (P V takes keys 16 at a "
             "time), got " +
             str(bn);
    if (tile.getStages() > 2)
      return "stages must be 1 or 2, got " + str(tile.getStages());
    if ((d + tile.getPad()) % v != 0)
      return "the shared-memory row of D + pad = " + str(d + tile.getPad()) +
             " elements must be a multiple of vector (" + str(v) + ")";
    if (tile.getStages() == 2 && (bn * d / v) % proteus_rt::kGpuAttentionBlock)
      return "stages = 2 prefetches block_n * D / vector = " + str(bn * d / v) +
             " loads per tensor, which must be a multiple " +
             "of the block's " + str(proteus_rt::kGpuAttentionBlock) +
             " threads";
    int64_t smem = getSharedMemoryBytes(target, tile);
    if (smem > kStaticSharedBytes)
      return "needs " + str(smem) + " bytes of shared memory (static limit " +
             str(kStaticSharedBytes) + ")";
  }
  int64_t regs = estimateRegisters(target, tile);
  if (regs > kMaxRegisters)
    return "needs about " + str(regs) + " registers per thread (limit " +
           str(kMaxRegisters) + ")";
  return "";
}

SmallVector<TileAttr>
mlir::proteus::getTileSearchSpace(MLIRContext *ctx, const TileTarget &target) {
  TileAttr def = getDefaultTile(ctx, target);
  SmallVector<TileAttr> space = {def};
  auto add = [&](TileAttr t) {
    if (t != def)
      space.push_back(t);
  };
  if (warpPerQuery(target.kernel)) {
    for (int64_t lanes : {1, 2, 4, 8, 16, 32})
      for (int64_t vector : {1, 2, 4, 8})
        for (int64_t unroll : {1, 2, 4})
          add(warpTile(ctx, target.kernel, lanes, unroll, vector));
    return space;
  }
  for (int64_t blockN : {16, 32, 64, 128})
    for (int64_t stages : {1, 2})
      for (int64_t vector : {1, 2, 4, 8})
        for (int64_t pad : {0, 8})
          add(tensorCoreTile(ctx, blockN, stages, vector, pad));
  return space;
}

FailureOr<KernelSpec> mlir::proteus::getKernelSpec(Operation *op,
                                                   std::string &why) {
  auto headDim = [&](Value q) -> int64_t {
    int64_t d = cast<MemRefType>(q.getType()).getDimSize(2);
    if (ShapedType::isDynamic(d) || d < 1 || (d > 32 ? d % 32 : 32 % d) != 0) {
      why = "the GPU kernels need a static head dim dividing 32 or a "
            "multiple of 32";
      return -1;
    }
    return d;
  };
  auto elemOf = [](Value q) {
    return cast<MemRefType>(q.getType()).getElementType();
  };
  if (auto dense = dyn_cast<DenseAttentionOp>(op)) {
    int64_t d = headDim(dense.getQ());
    if (d < 0)
      return failure();
    KernelSpec spec{CandidateSource::Causal, elemOf(dense.getQ()), d};
    spec.tile = dense.getTileAttr();
    return spec;
  }
  auto sl = dyn_cast<ShortlistAttentionOp>(op);
  if (!sl) {
    why = "not an attention op";
    return failure();
  }
  int64_t d = headDim(sl.getQ());
  if (d < 0)
    return failure();
  KernelSpec spec{sl.getCandidates() ? CandidateSource::Listed
                                     : CandidateSource::Rule,
                  elemOf(sl.getQ()),
                  d,
                  static_cast<int64_t>(sl.getAnchorStride()),
                  sl.getUseLocal(),
                  sl.getUseAnchors()};
  if (!sl.getCandidates()) {
    int64_t *fields[4] = {&spec.effL, &spec.window, &spec.localCap,
                          &spec.anchorCap};
    for (int i = 0; i < 4; ++i)
      if (std::optional<int64_t> c = getConstantIntValue(sl.getBudget()[i]))
        *fields[i] = *c;
  }
  if (sl.getUseProto() && !sl.getCandidates()) {
    // Each query's warp builds its list in shared memory: the kernel needs a
    // bound on L, the op's proteus.max_l or a constant effective L.
    int64_t maxL = spec.effL;
    if (auto bound = sl->getAttrOfType<IntegerAttr>(kMaxLAttr))
      maxL = bound.getInt();
    if (maxL < 1) {
      why = "the prototype candidate piece on the GPU needs a bound on L (a "
            "constant effective L or the op's proteus.max_l)";
      return failure();
    }
    if (maxL > proteus_rt::kGpuProtoPieceMaxL) {
      why = "the prototype candidate piece on the GPU keeps each query's list "
            "in shared memory, so L must be at most " +
            std::to_string(proteus_rt::kGpuProtoPieceMaxL) + ", got " +
            std::to_string(maxL);
      return failure();
    }
    spec.useProto = true;
    spec.maxL = maxL;
    if (std::optional<int64_t> c = getConstantIntValue(sl.getBudget()[4]))
      spec.protoCap = *c;
  }
  // INT8: the kernel quantizes as it loads, with the per-row scales that
  // proteus_int8_scales_<type> computes before it.
  spec.int8 = sl.getQuantize().has_value();
  spec.tile = sl.getTileAttr();
  return spec;
}

FailureOr<AttentionKernel> mlir::proteus::getAttentionKernel(Operation *op,
                                                             std::string &why) {
  FailureOr<KernelSpec> spec = getKernelSpec(op, why);
  if (failed(spec))
    return failure();
  return AttentionKernel{spec->name(), spec->setting(), spec->target()};
}

std::string mlir::proteus::getTuningCompilerVersion() {
  // Generation 1: the kernels and tiles of this file (lanes, unroll, vector,
  // block_n, stages, pad); bump it when a kernel changes so that earlier
  // measurements stop applying. The LLVM major version generates the PTX.
  return "proteus-kernels-1 llvm-" + std::to_string(LLVM_VERSION_MAJOR);
}
