//===- Primitives.h - Per-element bodies of the Proteus primitives -*- C++
//-*-===//
//
// The arithmetic of one element (a token, an output pair, an output column)
// of each layer primitive, shared by the CPU loops (ProteusToSCF) and the GPU
// layer kernels (ProteusToGPU), so that both evaluate the same formulas in the
// same order: reductions in binary64, per-element formulas in binary32 like
// the reference. Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOSCF_PRIMITIVES_H
#define PROTEUS_CODEGEN_PROTEUSTOSCF_PRIMITIVES_H

#include "LoopBuilder.h"
#include "proteus/Dialect/Proteus/ProteusAttrs.h"

namespace mlir {
class ConversionPatternRewriter;
} // namespace mlir

namespace mlir::proteus {

/// Every float operand of the CPU path is f32: a match failure naming the
/// reason otherwise (the CPU lowerings' first check).
LogicalResult requireF32(Operation *op, ConversionPatternRewriter &rewriter);

/// sum_{i in [lo,hi)} f(i) in binary64.
Value sumF64(LoopBuilder &lb, Value lo, Value hi,
             function_ref<Value(Value)> term);

/// max_{i in [lo,hi)} f(i), starting from `init`.
Value maxOf(LoopBuilder &lb, Value lo, Value hi, Value init,
            function_ref<Value(Value)> term);

/// In-place softmax over n f32 values addressed by get/set; binary32 like the
/// reference.
void softmaxF32(LoopBuilder &lb, Value n, function_ref<Value(Value)> get,
                function_ref<void(Value, Value)> set);

/// Whether value `va` at index `ia` comes before `vb` at `ib` in descending
/// order of value, ties to the lower index (SPEC.md section 3); a NaN comes
/// before nothing and nothing comes before it.
Value aheadDescending(LoopBuilder &lb, Value va, Value ia, Value vb, Value ib);

/// The number of i in [0, n) ahead of `self` in descending order of value,
/// ties to the lower index (SPEC.md section 3): the rank of `self`.
Value rankDescending(LoopBuilder &lb, Value n, Value self, Value selfValue,
                     function_ref<Value(Value)> valueAt);

/// Shell sort of mem[base..base+n) (1-D, any element type; base 0 when
/// null) by `less`.
void shellSort(LoopBuilder &lb, Value mem, Value n,
               function_ref<Value(Value, Value)> less, Value base = Value());

/// Stable bottom-up merge sort of mem[base..base+n) (1-D, any element type;
/// base 0 when null) by `less`, with `tmp` (same type, covering the same
/// indices) as scratch: O(n log n) comparisons.
void mergeSort(LoopBuilder &lb, Value mem, Value tmp, Value n,
               function_ref<Value(Value, Value)> less, Value base = Value());

/// The interleaved RoPE of the pair (x0, x1) at angle theta = t inv_freq[i],
/// in binary32 (REFERENCE.md 2.10): (x0 cos - x1 sin, x1 cos + x0 sin).
std::pair<Value, Value> emitRopePair(LoopBuilder &lb, Value x0, Value x1,
                                     Value theta);
/// The same rotation with cos(theta) and sin(theta) given.
std::pair<Value, Value> emitRopeRotate(LoopBuilder &lb, Value x0, Value x1,
                                       Value cs, Value sn);

/// The INT8 scale of a row (REFERENCE.md 6.4): max(base / 127, 1e-6) in
/// binary32, base = the row's max |x| `mx`, or in percentile mode (av given)
/// torch.quantile's linear interpolation between the neighbouring order
/// statistics av <= bv at weight w = rank - floor(rank), from the nearer side,
/// with the max where that gives 0. Shared by the CPU path (which sorts) and
/// the GPU layer (which radix-selects av and bv).
Value emitInt8Scale(LoopBuilder &lb, Value mx, Value av = Value(),
                    Value bv = Value(), Value w = Value());

/// The candidate rule of REFERENCE.md 5.1 for one configuration: its pieces,
/// budgets (index values) and scratch. Shared by the CPU loops of shortlist and
/// shortlist_attention and by the GPU layer's shortlist kernel.
struct CandidateRule {
  bool useLocal, useAnchors, useProto;
  int64_t stride;
  Value seqLen, effL, window, localCap, anchorCap, protoCap; // index
  Value scores; // (B,T) f32 or null
  // Scratch of the proto piece: row b of `order` (i64, B x the scores' T,
  // flat) holds batch item b's positions by descending score, ties to the
  // lower index (sorted before the queries, see the CPU lowering); `picks`
  // (any integer type, max(L,1) entries from `picksBase`, 0 when null).
  Value order, picks;
  Value picksBase = Value();
};

/// Writes the sorted distinct candidates of query t into dst[dstBase ..
/// dstBase + count) (dst of any integer type; dstBase 0 when null) and returns
/// count. `batch` selects the scores row. With `fillPicks`, the prototype
/// piece's picks come from it instead of the per-batch sorted order: given
/// nProto (> 0), it writes the query's top-nProto positions of 0..t by
/// descending score, ties to the lower index, in ascending position order into
/// picks[picksBase ..] (`order` and `scores` are then not used).
Value emitCandidates(LoopBuilder &lb, const CandidateRule &r, Value t,
                     Value batch, Value dst, Value dstBase = Value(),
                     function_ref<void(Value)> fillPicks = {});

/// The exact top-c of positions 0..t by descending key, ties to the lower
/// position, written in ascending position order to picks[pBase .. pBase + c)
/// (1 <= c <= t + 1), by one thread (the GPU layer kernel's lane 0; the CPU
/// path with -convert-proteus-to-scf=proto-picks-by-select): a radix select of
/// the c-th largest key (four 8-bit passes over the 256-bin histogram
/// hist[hBase ..]), then one walk over 0..t taking the keys above it and the
/// first of the keys equal to it. O(t) per call, like the reference's own
/// prototype piece.
void emitTopCAscending(LoopBuilder &lb, function_ref<Value(Value)> keyAt,
                       Value t, Value c, Value hist, Value hBase, Value picks,
                       Value pBase);

/// The order-preserving unsigned key (i32) of an f32: a larger value has a
/// larger key as an unsigned integer; -0 counts as +0.
Value orderKey(LoopBuilder &lb, Value v);

/// Operands of the routing of one token (REFERENCE.md 2.3-2.7).
struct RouteOperands {
  ConfigAttr cfg;
  Value x, wRouter;           ///< (B,T,C), (G,C)
  Value protoNorm, usageSoft; ///< (G,C) normalised prototypes, (G) or null
  Value confidence;           ///< (G); prototypes only
  Value gates, heads;         ///< (B,T,G), (B,T,H) outputs
  Value importance, sim;      ///< (B,T) outputs; sim: prototypes only
  /// Set when `gates` already holds the router logits (computed elsewhere in
  /// the same order, e.g. by a GEMM).
  bool logitsGiven = false;
  /// (B,T,G): the prototype dots x/|x| . p_g already computed (same order);
  /// null: computed here.
  Value simDots;
};

/// The prototype preparation shared by every token: normalised prototypes
/// into protoNorm (G,C) and, with the usage boost, softmax(-(usage + eps))
/// into usageSoft (G).
void emitRoutePrep(LoopBuilder &lb, ConfigAttr cfg, Value prototypes,
                   Value usage, Value protoNorm, Value usageSoft);

/// max(|v|, 1e-6) in binary32 of the vector v = elem(0 .. cN), its squares
/// summed in binary64 in index order.
Value emitL2Divisor(LoopBuilder &lb, Value cN, function_ref<Value(Value)> elem);

/// The pieces of emitL2Divisor, for a vector summed in parts: `acc` plus the
/// binary64 squares of elem(lo .. hi) in index order (from 0.0 over the whole
/// vector it is emitL2Divisor's sum), and the divisor of such a sum.
Value emitSquaresSum(LoopBuilder &lb, Value acc, Value lo, Value hi,
                     function_ref<Value(Value)> elem);
Value emitL2DivisorOf(LoopBuilder &lb, Value squares);

/// softmax(-(usage + 1e-6)) of the gN gates into usageSoft (binary32).
void emitUsageSoftmax(LoopBuilder &lb, Value gN, Value usage, Value usageSoft);

/// max(|x[b, t, :]|, 1e-6) in binary32 (the norm summed in binary64): the
/// divisor that normalises a token for the prototype similarities.
Value emitNormDivisor(LoopBuilder &lb, Value x, Value b, Value t, Value cN);

/// Routing of token (b, t); `scratch` is a (G) f32 buffer (prototypes only).
void emitRouteToken(LoopBuilder &lb, const RouteOperands &r, Value scratch,
                    Value b, Value t);

/// The head nucleus from the (H) mean head probabilities `means` (sorted in
/// place): returns {k_adapt, nucleus}.
std::pair<Value, Value> emitNucleus(LoopBuilder &lb, Value means, Value kDense,
                                    double topP, int64_t hMin);

/// Row mask of token (b, t): its k most probable heads (ties to the lower
/// head), none when the token mask drops it.
void emitTopKToken(LoopBuilder &lb, Value headProbs, Value tokenMask, Value k,
                   Value rowMask, Value b, Value t);

/// Output columns 2i and 2i+1 of head h of projection `part` (0 q, 1 k, 2 v)
/// for token (b, t), into outs[part] (R,T,D); RoPE on q and k when
/// `invFreq` (i -> base^(-2i/D) in binary32) is given. With an odd D the
/// last pair has one column.
void emitProjectPair(LoopBuilder &lb, Value x, Value weight, Value bias,
                     Value out, int64_t part, int64_t heads,
                     function_ref<Value(Value)> invFreq, Value b, Value t,
                     Value h, Value i);

/// y[b, t, col] of the output projection over every head; a token the mask
/// drops gives exact zeros (then the bias).
void emitCombineElement(LoopBuilder &lb, Value headsOut, Value weight,
                        Value bias, Value tokenMask, Value y, Value b, Value t,
                        Value col);

/// The head consensus (REFERENCE.md 2.13) of the last Tc positions:
/// cons[b, j, h*D + d] = o[b*H + h, T - Tc + j, d], exact zeros where the
/// token mask (when given) drops the token; y (B,T,C) gives T and C.
void emitConsensus(LoopBuilder &lb, Value headsOut, Value tokenMask, Value y,
                   Value cons);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOSCF_PRIMITIVES_H
