//===- KernelSpec.h - What one GPU attention kernel is built for -*- C++
//-*-===//
//
// The compile-time facts of one attention kernel (element type, head dim,
// candidate source and pieces, static budgets) and its tile. The lowering
// builds a kernel per distinct spec; the autotuner keys its database by the
// spec's name and setting. Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSPEC_H
#define PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSPEC_H

#include "mlir/IR/Operation.h"
#include "proteus/Conversion/AttentionTiles.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::proteus {

enum class CandidateSource { Listed, Rule, Causal };

/// The compile-time facts one attention kernel is specialized for.
struct KernelSpec {
  CandidateSource source;
  Type elem;
  int64_t headDim;
  int64_t stride = 0;
  bool useLocal = false, useAnchors = false;
  /// A layer kernel: reads N and the mode from the device stats vector and
  /// returns at once when the layer's mode is not its own.
  bool controlled = false;
  /// INT8 fake quantization of q, k and v with the per-row scales of a (R, 3)
  /// f32 argument (proteus_int8_scales_<type>'s, max or percentile), applied
  /// as the kernel loads them.
  bool int8 = false;

  /// Budgets baked into the kernel (-1: read from the kernel argument).
  int64_t effL = -1, window = -1, localCap = -1, anchorCap = -1;

  /// The prototype (salience) piece, layer kernels only: each query's warp
  /// builds its candidate list in shared memory (at most maxL entries, the
  /// configuration's L_max) from the salience scores of its batch item (row /
  /// heads); protoCap as the other budgets.
  bool useProto = false;
  int64_t heads = 0, maxL = 0, protoCap = -1;

  /// The kernel's layout; null means the default (withDefaultTile).
  TileAttr tile;

  std::string typeName() const {
    std::string t;
    llvm::raw_string_ostream os(t);
    os << elem;
    return t;
  }
  /// bf16/f16 dense attention runs on tensor cores (mma.sync m16n8k16).
  bool tensorCores() const {
    return source == CandidateSource::Causal && !controlled &&
           (elem.isBF16() || elem.isF16()) && headDim % 16 == 0;
  }
  /// The primitive rule kernel's local band on tensor cores (contract.h:
  /// 16 consecutive packed queries of one row, mma.sync m16n8k16): bf16/f16,
  /// head dim a multiple of 16, no INT8, no prototype piece. Not part of the
  /// setting: it follows from the element type and head dim, and tuning
  /// databases key on the setting (the tile lays out the warp-per-query
  /// path).
  bool bandTensorCores() const {
    return source == CandidateSource::Rule && !controlled && !int8 &&
           !useProto && (elem.isBF16() || elem.isF16()) && headDim % 16 == 0;
  }
  TileTarget target() const {
    TileKernel k = tensorCores() ? TileKernel::CausalTensorCore
                   : source == CandidateSource::Causal
                       ? TileKernel::CausalWarp
                       : TileKernel::ShortlistWarp;
    return {k, headDim, elem.getIntOrFloatBitWidth() / 8};
  }
  /// The kernel's name: its role and element type (contract.h).
  std::string name() const {
    std::string n = controlled ? "proteus_layer_" : "proteus_";
    n += source == CandidateSource::Causal ? "dense_attention"
                                           : "shortlist_attention";
    if (source == CandidateSource::Listed)
      n += "_listed";
    return n + "_" + typeName();
  }
  /// What the kernel is specialized for, apart from its name and tile.
  std::string setting() const {
    std::string s = "d=" + std::to_string(headDim);
    if (source == CandidateSource::Rule)
      s += " stride=" + std::to_string(stride) +
           " local=" + std::to_string(useLocal) +
           " anchors=" + std::to_string(useAnchors) +
           " L=" + std::to_string(effL) + " window=" + std::to_string(window) +
           " local_cap=" + std::to_string(localCap) +
           " anchor_cap=" + std::to_string(anchorCap);
    if (useProto)
      s += " proto_cap=" + std::to_string(protoCap) + " heads=" +
           (heads > 0 ? std::to_string(heads) : std::string("R/B")) +
           " L_max=" + std::to_string(maxL);
    if (int8)
      s += " int8";
    if (tensorCores())
      s += " mma=m16n8k16";
    return s;
  }
  /// Everything the kernel is specialized for, recorded on the gpu.func.
  std::string signature() const {
    std::string t;
    llvm::raw_string_ostream os(t);
    os << tile;
    return name() + " " + setting() + " tile=" + t;
  }
  KernelSpec &withDefaultTile(MLIRContext *ctx) {
    if (!tile)
      tile = getDefaultTile(ctx, target());
    return *this;
  }
};

/// The spec of an attention op's kernel (its tile: the op's, else null);
/// failure with the reason when the op has no GPU kernel.
FailureOr<KernelSpec> getKernelSpec(Operation *op, std::string &why);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_KERNELSPEC_H
