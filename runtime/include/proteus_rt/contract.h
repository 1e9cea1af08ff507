//===- contract.h - The compiler/runtime contract --------------*- C++ -*-===//
//
// What a kernel bundle promises to the runtime that loads it: the bundle
// layout and manifest keys, the entry-point names and argument order of the
// CPU library, the memref descriptor those entry points take, and the layout
// of the two small integer vectors that cross the boundary (the per-call
// budget computed on the host, the statistics written by the kernels).
//
// The compiler includes this header (and schedule.h, chunked_contract.h) and
// nothing else from the runtime; the runtime includes nothing from the
// compiler.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_CONTRACT_H
#define PROTEUS_RT_CONTRACT_H

#include "proteus_rt/schedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace proteus_rt {

/// Bundle layout: <dir>/manifest.json, <dir>/cpu/<kCpuLibrary>,
/// <dir>/ptx/<arch>/s<setting>.ptx, <dir>/sass/<arch>/s<setting>.cubin.
/// Bumped on any incompatible change; the runtime refuses other versions and
/// says to recompile.
inline constexpr int64_t kBundleFormatVersion = 3;
inline constexpr const char *kManifestFile = "manifest.json";
inline constexpr const char *kCpuLibrary = "cpu/libproteus_kernels.so";

/// Keys of manifest.json (format 2: the layer entry takes the consensus and
/// "integrity" covers the whole manifest; format 1 had neither),
/// all at the top level of one object:
///   "format_version": kBundleFormatVersion (integer),
///   "config": the layer configuration with the golden key names
///             (golden/README.md; the runtime's config_json.h lists them),
///   "settings": [{"alpha": a in [0,1], "density": d in (0,1]}, ...], at
///             least one; setting i is proteus_layer_s<i> and ptxFile(arch, i),
///   "files": {"<path relative to the bundle>": {"xxh3": "<XXH3-64 of the
///             file's bytes, seed 0, 16 lowercase hex digits>", "bytes":
///             <its size, at most kMaxBundleFileBytes>}, ...}: every file the
///             bundle ships (kCpuLibrary, each ptxFile and each cubinFile),
///             nothing else required; each is read with its "bytes" as the cap,
///   "integrity": XXH3-64 (16 hex digits) of the manifest without this key,
///             serialised canonically (bundle_integrity.h, sealManifest): an
///             edited manifest is refused,
///   "cpu_target": optional, the CPU library's target triple
///             ("x86_64-unknown-linux-gnu"); its first component must match
///             the host's architecture.
///   "gpu_note": optional, why GPU kernels are missing from the bundle (no
///             PTX at all, or the in-kernel candidate rule left CPU-only);
///             the runtime quotes it when it refuses a GPU call.
/// Other top-level keys (e.g. "generator") are informational, covered by
/// "integrity" but otherwise ignored. An arch has PTX when "files" lists
/// ptxFile(arch, i) for every setting i, and SASS when it lists
/// cubinFile(arch, i) for every setting i (a cubin holds the same kernels as
/// the setting's PTX, assembled by ptxas for that exact target; the runtime
/// loads it on a device of that compute capability instead of JIT-compiling
/// the PTX).
///
/// Fingerprints: the CPU library exports kFingerprintSymbol, a NUL-terminated
/// string, and each PTX module declares it as a module-scope .b8 array
/// (ptxFingerprintDirective), which ptxas carries into the cubin as a global
/// object in .nv.global.init; all hold bundleFingerprint() of the
/// configuration and settings they were compiled for, which the runtime
/// compares with the manifest's when it loads them (bundle_integrity.h).
inline constexpr const char *kManifestIntegrity = "integrity";
inline constexpr const char *kManifestFileChecksum = "xxh3";
inline constexpr const char *kManifestFileBytes = "bytes";
inline constexpr const char *kFingerprintSymbol = "proteus_bundle_fingerprint";
/// The most bytes a fingerprint (with its NUL) may take.
inline constexpr int64_t kFingerprintCapacity = 16384;
/// Read caps: manifest.json, and any file the manifest lists.
inline constexpr int64_t kMaxManifestBytes = int64_t(16) << 20;
inline constexpr int64_t kMaxBundleFileBytes = int64_t(1) << 30;
inline constexpr const char *kManifestFormatVersion = "format_version";
inline constexpr const char *kManifestConfig = "config";
inline constexpr const char *kManifestSettings = "settings";
inline constexpr const char *kManifestSettingAlpha = "alpha";
inline constexpr const char *kManifestSettingDensity = "density";
inline constexpr const char *kManifestFiles = "files";
inline constexpr const char *kManifestCpuTarget = "cpu_target";
inline constexpr const char *kManifestGpuNote = "gpu_note";
/// The instruction set the CPU library was compiled for, as an LLVM CPU name:
/// kCpuIsaBaseline (any x86-64) or kCpuIsaV3 (AVX2, FMA, BMI1/2, F16C,
/// LZCNT, MOVBE: Haswell and Zen on). Absent: the baseline. Both give the
/// same bits; the runtime refuses a v3 library on a CPU without those.
inline constexpr const char *kManifestCpuIsa = "cpu_isa";
inline constexpr const char *kCpuIsaBaseline = "x86-64";
inline constexpr const char *kCpuIsaV3 = "x86-64-v3";

/// The PTX of setting `setting` for `arch` ("sm_90"):
/// ptx/<arch>/s<setting>.ptx.
inline std::string ptxFile(const std::string &arch, int64_t setting) {
  return "ptx/" + arch + "/s" + std::to_string(setting) + ".ptx";
}

/// The SASS of setting `setting` for `arch` ("sm_90a"):
/// sass/<arch>/s<setting>.cubin.
inline std::string cubinFile(const std::string &arch, int64_t setting) {
  return "sass/" + arch + "/s" + std::to_string(setting) + ".cubin";
}

/// Entry points of the CPU library. The compiler emits each function with
/// `llvm.emit_c_interface`, so the symbol the runtime resolves is
/// "_mlir_ciface_" + name. Settings are numbered in manifest order.
inline constexpr const char *kCInterfacePrefix = "_mlir_ciface_";
inline constexpr const char *kLayerEntryPrefix = "proteus_layer_s"; // + index
inline constexpr const char *kShortlistEntry = "proteus_shortlist";
inline constexpr const char *kShortlistAttentionEntry =
    "proteus_shortlist_attention";
inline constexpr const char *kSelectTokensEntry = "proteus_select_tokens";
inline constexpr const char *kDenseAttentionEntry = "proteus_dense_attention";

/// Top-A entry points `proteus_top_a_<mode>_<elem>`, mode off / blend /
/// filter, elem f32 / bf16 (the element type of logits and embedding):
/// logits (B,V), consensus (f32, B,C), embedding (V,C), uniform (f32, B),
/// then top_p, lambda, tau, threshold (f32 scalars), kept (i64, B,V), probs
/// (f32, B,V), counts (i64, B,2), sample (i64, B) (proteus.top_a).
inline constexpr const char *kTopAModes[] = {"off", "blend", "filter"};
inline constexpr const char *kTopAElems[] = {"f32", "bf16"};
inline std::string topAEntry(int mode, int elem) {
  return std::string("proteus_top_a_") + kTopAModes[mode] + "_" +
         kTopAElems[elem];
}

/// The Top-A schedule of the PTX modules (proteus.top_a on the GPU): the
/// stages of kTopAStages, in order, on one stream. Every stage is a kernel of
/// the same 14 parameters:
///   (logits[B*V], consensus[B*C] (f32), embedding[V*C], uniform[B] (f32),
///   top_p, lambda, tau, threshold (f32, each in the low 4 bytes of its 8-byte
///   parameter), kept[B*V] (i64), probs[B*V] (f32), counts[B*2] (i64),
///   sample[B] (i64), V, C),
/// launched with B * topABlocksPerRow(stage, V) blocks (row-major: block k
/// serves row k / perRow) of stage.threads threads. The stages keep their
/// state in the rows of kept and probs (the scratch below; the rest of a row
/// is written once) and in counts[b][0]:
///   max     (V >= kGpuTopAMultiMinV) the maximum logit of each tile of
///           kGpuTopATile tokens; writes the final -1 / 0 of kept / probs
///           past the scratch;
///   hist    (same) each tile's sum of exp(logit - max) and a 256-bin
///           histogram of the masses over the bits of exp(logit - max);
///   gather  (same) the ids of the tokens in the histogram's top bins that hold
///           (top_p + 1e-6)(1 + 1e-3) of the mass, and one bin more;
///   select  the candidates (or, below kGpuTopAMultiMinV or when more than
///           kGpuTopAMaxCandidates are gathered, a block-wide radix select by
///           mass over the whole row) sorted by probability, then id; the
///           nucleus ids to kept[b][0, n), n to counts[b][0] (-1: more than
///           kGpuTopAMaxCandidates tokens needed, the row is refused);
///   agree   (modes blend and filter) the agreement of each nucleus token,
///           one block per token, to probs[b][j];
///   <mode>  `proteus_top_a_<mode>_<elem>`: the filter, the final softmax, the
///           draw, the rest of the scratch to -1 / 0, counts[b][1], sample[b].
/// A refused row gets counts (-1, -1), sample -1, kept -1 and probs 0
/// throughout (too flat a distribution for the kernels' shared memory).
inline constexpr int64_t kGpuTopABlock = 1024;
inline constexpr int64_t kGpuTopAMaxCandidates = 2048;
inline constexpr int64_t kGpuTopATile = 1024;
inline constexpr int64_t kGpuTopATileBlock = 1024;
inline constexpr int64_t kGpuTopAAgreeBlocks = 128;
inline constexpr int64_t kGpuTopAMultiMinV = 8192;

struct TopAStage {
  const char *name;     ///< nullptr: the mode's own kernel (topAEntry)
  int64_t blocksPerRow; ///< 0: one per tile of kGpuTopATile tokens
  int64_t threads;
  bool multiOnly; ///< runs only when V >= kGpuTopAMultiMinV
  bool agreement; ///< skipped in mode off
};
inline constexpr TopAStage kTopAStages[] = {
    {"max", 0, kGpuTopATileBlock, true, false},
    {"hist", 0, kGpuTopATileBlock, true, false},
    {"gather", 0, kGpuTopATileBlock, true, false},
    {"select", 1, kGpuTopABlock, false, false},
    {"agree", kGpuTopAAgreeBlocks, kGpuTopABlock, false, true},
    {nullptr, 1, kGpuTopABlock, false, false}};

/// The kernel of `stage`: `proteus_top_a_<name>_<elem>`, or topAEntry.
inline std::string topAStageEntry(const TopAStage &stage, int mode, int elem) {
  if (!stage.name)
    return topAEntry(mode, elem);
  return std::string("proteus_top_a_") + stage.name + "_" + kTopAElems[elem];
}
inline bool topAStageRuns(const TopAStage &stage, int mode, int64_t V) {
  return !(stage.multiOnly && V < kGpuTopAMultiMinV) &&
         !(stage.agreement && mode == 0);
}
inline int64_t topATiles(int64_t V) {
  return (V + kGpuTopATile - 1) / kGpuTopATile;
}
inline int64_t topABlocksPerRow(const TopAStage &stage, int64_t V) {
  return stage.blocksPerRow ? stage.blocksPerRow : topATiles(V);
}
/// Scratch slots of a kept row (V >= kGpuTopAMultiMinV): the candidate
/// counter 0, the tile maxima (topATiles(V) of them) and sums (binary64 bits)
/// from 1, then kGpuTopAMaxCandidates candidate ids; of a probs row: the
/// histogram's masses [0, 256). Below kGpuTopAMultiMinV the whole row. The
/// kernels derive the slots from these constants
/// (codegen/ProteusToGPU/TopAKernel.h).
inline constexpr int64_t kGpuTopACounter = 0;
inline constexpr int64_t kGpuTopATileMax = 1;

/// The CPU library's parallel-loop hook: a global function pointer of type
/// CpuParallelFor, null in a freshly loaded library (every parallel loop then
/// runs on the calling thread). The runtime sets it to its thread pool's
/// dispatcher after dlopen. The dispatcher runs body(ctx, lo, hi) over
/// disjoint ranges covering [0, n) (possibly on several threads) and returns
/// when all are done; a body's iterations are independent, so the result does
/// not depend on how [0, n) is split.
inline constexpr const char *kCpuParallelForHook = "proteus_parallel_for";
using CpuParallelBody = void (*)(void *ctx, int64_t lo, int64_t hi);
using CpuParallelFor = void (*)(int64_t n, CpuParallelBody body, void *ctx);

/// The strided memref descriptor of MLIR's C interface, rank N.
template <typename T, int N> struct MemRef {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

/// Wraps a dense row-major buffer.
template <typename T, int N>
MemRef<T, N> makeMemRef(T *data, const int64_t (&sizes)[N]) {
  MemRef<T, N> m{data, data, 0, {}, {}};
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

/// Layer entry point `proteus_layer_s<i>` (all memrefs f32 unless noted):
///   x (B,T,C), w_qkv (3C,C), b_qkv (3C), w_proj (C,C), b_proj (C),
///   w_router (G,C), prototypes (G,C), usage (G), confidence (G),
///   budget (i64, kBudgetSize + H + 1), y (B,T,C), token_mask (i8, B,T),
///   importance (B,T), stats (i64, kStatsSize), consensus (Bc,Tc,C): the
///   head consensus (pre-projection concatenated head outputs, 0 for heads
///   and tokens not selected) of the last Tc positions, Bc = B (or 0: none).
/// Biases and prototype state are read only where the configuration enables
/// them (a 1-element dummy may be passed otherwise); prototypes, usage and
/// confidence are updated in place when the budget asks for the EMA.
using LayerFn = void (*)(MemRef<float, 3> *, MemRef<float, 2> *,
                         MemRef<float, 1> *, MemRef<float, 2> *,
                         MemRef<float, 1> *, MemRef<float, 2> *,
                         MemRef<float, 2> *, MemRef<float, 1> *,
                         MemRef<float, 1> *, MemRef<int64_t, 1> *,
                         MemRef<float, 3> *, MemRef<int8_t, 2> *,
                         MemRef<float, 2> *, MemRef<int64_t, 1> *,
                         MemRef<float, 3> *);

/// A Top-A entry point; E is float or uint16_t (bf16 bits).
template <typename E>
using TopAFn = void (*)(MemRef<E, 2> *, MemRef<float, 2> *, MemRef<E, 2> *,
                        MemRef<float, 1> *, float, float, float, float,
                        MemRef<int64_t, 2> *, MemRef<float, 2> *,
                        MemRef<int64_t, 2> *, MemRef<int64_t, 1> *);

/// `proteus_shortlist`: rows (i64, N), proto_scores (f32, B,T), batch_ids
/// (i64, N), budget (i64), candidates (i64, N,L), lengths (i64, N).
using ShortlistFn = void (*)(MemRef<int64_t, 1> *, MemRef<float, 2> *,
                             MemRef<int64_t, 1> *, MemRef<int64_t, 1> *,
                             MemRef<int64_t, 2> *, MemRef<int64_t, 1> *);

/// `proteus_shortlist_attention`: q,k,v (f32, R,T,D), packed_row (i64, N),
/// packed_token (i64, N), candidates (i64, N,L), lengths (i64, N),
/// out (f32, R,T,D; rows not packed are written with 0).
using ShortlistAttentionFn = void (*)(MemRef<float, 3> *, MemRef<float, 3> *,
                                      MemRef<float, 3> *, MemRef<int64_t, 1> *,
                                      MemRef<int64_t, 1> *,
                                      MemRef<int64_t, 2> *,
                                      MemRef<int64_t, 1> *, MemRef<float, 3> *);

/// `proteus_dense_attention`: q,k,v (f32, R,T,D), out (f32, R,T,D): causal
/// softmax attention over every key (the dense mode's kernel).
using DenseAttentionFn = void (*)(MemRef<float, 3> *, MemRef<float, 3> *,
                                  MemRef<float, 3> *, MemRef<float, 3> *);

/// GPU kernels. ptxFile(arch, i) holds the attention kernels of setting i,
/// for each element type <t> in {f32, bf16, f16}; every specialization fact of
/// the setting (head dim, anchor stride, pieces, static budgets, scale) is a
/// constant of that module. Every memref parameter is passed as five kernel
/// parameters (T *allocated, T *aligned, int64 offset, int64 size, int64
/// stride) over the flattened row-major buffer; every index as an int64.
///   proteus_fill_zero_<t>(out[n], n)                          256 threads
///   proteus_shortlist_attention_<t>(q, k, v [R*T*D], packed_row[N],
///       packed_token[N], out[R*T*D], N, T, L, window, local_cap, anchor_cap)
///     with the prototype piece, then scores[B*T] (f32), proto_cap, R / B;
///     with INT8, `scales` (f32, R*3) after `out`: first
///   proteus_int8_scales_<t>(q, k, v, scales[R*3], R, T)
///       grid R*3, block kGpuLayerBlock: row r's max (or percentile) |x| of
///       q, k, v over its T*D values, as scales[r*3 + 0, 1, 2]
///   proteus_shortlist_attention_listed_<t>(q, k, v, packed_row, packed_token,
///       candidates[N*W], lengths[N], out, N, T, W)
///   proteus_dense_attention_<t>(q, k, v, out, R*T, T)
/// The attention kernels take kGpuAttentionBlock threads. Shortlist kernels:
/// one query per warp, grid = ceil(N / (kGpuAttentionBlock / 32)); in the
/// rule form in bf16/f16 (head dim a multiple of 16, no INT8, no prototype
/// piece) the warps of 16 packed queries n0 .. n0 + 15 that are consecutive
/// tokens of one row leave them to warp n0, which scores their shared local
/// band on tensor cores. Dense
/// kernel: one block per (row, tile of kGpuDenseTile queries), grid =
/// R * ceil(T / kGpuDenseTile) (bf16/f16 use tensor cores, f32 CUDA cores). The
/// shortlist kernels write only packed (row, token) outputs: run fill_zero
/// first. The budget parameters are ignored where the setting fixed them (pass
/// the budget vector's values). The in-kernel candidate rule is absent from
/// modules whose configuration uses the prototype piece with L_max above
/// kGpuProtoPieceMaxL (manifest "gpu_note").
inline constexpr int64_t kGpuAttentionBlock = 128;
/// The largest L_max for which the layer's shortlist kernel has the prototype
/// candidate piece: each of its warps keeps a list and picks of L_max i32, a
/// 256-bin histogram and a length in the 48 KiB of static shared memory.
inline constexpr int64_t kGpuProtoPieceMaxL =
    (48 * 1024 / 4 / (kGpuAttentionBlock / 32) - 256 - 1) / 2;
static_assert(kGpuProtoPieceMaxL == 1407);
inline constexpr int64_t kGpuFillBlock = 256;
inline constexpr int64_t kGpuDenseTile = 64;

/// The layer on the GPU (manifest "gpu_layer": true). Each setting's PTX
/// module also holds the kernels below, specialized for the configuration and
/// the setting (f32 activations and weights; every reduction in binary64 like
/// the CPU path). The runtime launches them in this order on one stream; no
/// kernel needs a host round trip: the call's scalars (k, N, mode, ...) live
/// in the device stats vector `state` (i64, kStatsSize, kStats* slots), which
/// the kernels write and read. `budget` is the device copy of the budget
/// vector. C = d_model, G = gates, H = heads, D = head dim, R = B*H.
///
///   routed (budget[kBudgetFastPath] == 0):
///   1. proteus_route_prep(prototypes[G*C], usage[G], pn[G*C], usage_sm[G])
///        grid G (a block per prototype); only when the configuration
///        enables prototypes.
///   2. prototypes only: proteus_route_scale(x[B*T*C], xs[B*T*C], B, T)
///        grid ceil(B*T / kGpuLayerBlock): xs = x / max(|x|, 1e-6);
///      proteus_route_logits(x, w_router[G*C], gates[B*T*G], B*T), and with
///        prototypes proteus_route_logits(xs, pn, dots[B*T*G], B*T)
///        grid ceil(B*T / kGpuGemmTile) * ceil(G / kGpuGemmTile);
///      proteus_route(x, w_router, pn, usage_sm, confidence[G], gates,
///        heads[B*T*H], importance[B*T], sim[B*T], dots, B, T)
///        grid ceil(B*T / kGpuLayerBlock); without prototypes pass any f32
///        buffers of >= 1 element for pn, usage_sm, confidence, sim, dots.
///   3. token mask: budget[kBudgetTokenMode] == 2 (token_sparse only):
///        proteus_select_tokens(importance, token_mask[B*T] (i8), B, T,
///        budget[kBudgetTokenKeep], budget[kBudgetGuard])
///        grid B, block kGpuSelectBlock; otherwise fill token_mask with 1.
///   4. proteus_head_mass(heads, mass[H] (f64), B, T)      grid H
///   5. proteus_gate(mass, budget, state)                  grid 1, block 1
///   6. proteus_top_k(heads, token_mask, state, row_mask[R*T] (i8), B, T)
///        grid ceil(B*T / kGpuLayerBlock)
///   7. proteus_pack_count(row_mask, row_count[R] (i64), R, T)      grid R
///   8. proteus_pack_scan(row_count, offsets[R+1] (i64), budget, state, R, T)
///        grid 1, block 1: N, max/active rows, the mode decision
///   9. proteus_pack_write(row_mask, offsets, packed_row[R*T],
///        packed_token[R*T], R, T)                                  grid R
///  10. proteus_project(x, w_qkv[3C*C], b_qkv[3C], q, k, v [R*T*D], state,
///        B, T)
///        grid ceil(B*T / kGpuProjectTile) * ceil(3C / kGpuProjectTile); RoPE
///        fused. In shortlist mode (state[kStatsMode]) and without INT8 the
///        blocks of Q columns return at once, and then
///      proteus_project_q(x, w_qkv, b_qkv, offsets, packed_token, state,
///        q, B, T)   grid R * ceil(T / gpuProjectQRows(D)) *
///        ceil(D / gpuProjectQCols(D)): Q of the N packed pairs
///        only (block j of row r: a tiled GEMM of the row's next tile of
///        packed pairs by its head's rows of W_q; returns at once past
///        the row's count and in the other modes); launched where the
///        setting can be in shortlist mode, never
///        with INT8 (whose scales need every q). The stats vector is
///        poisoned on the fast path too, so that step 10 computes every q.
///  11. proteus_fill_zero_f32(o[R*T*D], R*T*D), then both of
///      proteus_layer_shortlist_attention_f32(q, k, v, packed_row,
///        packed_token, o, state, T, L, window, local_cap, anchor_cap)
///        grid kGpuLayerShortlistBlocks, block kGpuAttentionBlock: a warp per
///        query, grid-stride over N = state[kStatsPacked]; returns at once
///        when state[kStatsMode] is a dense mode; with the prototype
///        candidate piece (use_proto and proto_enabled) it also takes
///        sim[B*T] (step 2's salience) and budget[kBudgetProtoCap] last, and
///        each query's warp builds its list in shared memory (absent, and
///        named in the manifest's gpu_note, where L_max lists do not fit);
///      proteus_layer_dense_attention_f32(q, k, v, o, state, R*T, T)
///        as proteus_dense_attention; returns at once when the mode is
///        Shortlist. Both are absent (gpu_note) where the rule is CPU-only.
///      With INT8 first proteus_int8_scales_f32(q, k, v,
///        scales[R*3], R, T) (above), grid R*3; the shortlist kernel then takes
///        `scales` after `state` and quantizes q, k, v as it loads them.
///  12. proteus_combine(o, w_proj[C*C], b_proj[C], token_mask, y[B*T*C], B, T)
///        grid ceil(B*T / kGpuProjectTile) * ceil(C / kGpuProjectTile); masked
///        tokens give 0 (+ bias)
///  12b. where the call asks for the head consensus of the last Tc positions:
///        proteus_consensus(o, token_mask, cons[B*Tc*C], B, T, Tc)
///        grid ceil(B*Tc*C / kGpuLayerBlock): o's heads concatenated, 0 where
///        the token mask drops the token
///  13. budget[kBudgetUpdatePrototypes] != 0:
///        proteus_proto_mass(gates, mass[G] (f64), B, T)           grid G
///        proteus_proto_partial(x, gates, part[S*G*C] (f64), B, T, chunk)
///          grid ceil(C / kGpuGemmTile) * S * ceil(G / kGpuGemmTile), with
///          chunk = gpuProtoChunk(B*T) tokens and S = ceil(B*T / chunk)
///          chunks: each chunk's gate-weighted sums of x
///        proteus_proto_update(mass, part, prototypes, usage, confidence,
///          B, T, chunk)   grid ceil(G*C / kGpuLayerBlock): the chunks' sums
///          in chunk order, then the EMA
///   dense fast path (budget[kBudgetFastPath] != 0): 10, then
///      proteus_dense_attention_f32(q, k, v, o, R*T, T), then 12 with a
///      token_mask of ones; mask = 1, importance = 0 and the stats are the
///      host's (as the CPU layer writes them).
/// Biases are read only when the configuration has them (pass a 1-element
/// buffer otherwise). Every kernel not given a block size takes
/// kGpuLayerBlock threads.
inline constexpr const char *kManifestGpuLayer = "gpu_layer";
inline constexpr int64_t kGpuLayerBlock = 256;
inline constexpr int64_t kGpuSelectBlock = 512;
inline constexpr int64_t kGpuLayerShortlistBlocks = 2048;
inline constexpr int64_t kGpuGemmTile = 64;
/// proteus_project_q's tiles of packed pairs by columns: at D <= 32 a tall
/// (4096 / D) x D tile (one head's columns, no zero columns computed); at
/// D >= 64 kGpuGemmTile x kGpuGemmTile.
inline constexpr int64_t gpuProjectQRows(int64_t d) {
  return d >= 64 ? kGpuGemmTile : 4096 / d;
}
inline constexpr int64_t gpuProjectQCols(int64_t d) {
  return d >= 64 ? kGpuGemmTile : d;
}
/// proteus_project and proteus_combine: tiles of kGpuProjectTile rows and
/// columns.
inline constexpr int64_t kGpuProjectTile = 128;
/// Tokens per chunk of proteus_proto_partial's split-T sums of `tokens`
/// (B*T) tokens: the longest power of two from 256 to 4096 that still makes
/// 64 chunks, so that a short call gets enough blocks (at 4096 tokens per
/// chunk, B*T = 16K made 4 chunks, 32 blocks at C 512, each summing 4096
/// tokens). A function of the token count alone: the order of the sums, so
/// the prototypes, does not depend on the card.
inline constexpr int64_t gpuProtoChunk(int64_t tokens) {
  int64_t chunk = 4096;
  while (chunk > 256 && tokens / chunk < 64)
    chunk /= 2;
  return chunk;
}
/// The most chunks a call of at most `tokens` tokens makes (what the plan's
/// partial sums hold): at most ceil(tokens / 256), and once chunks are
/// longer than 256 tokens at most 128 or ceil(tokens / 4096).
inline constexpr int64_t gpuProtoChunksMax(int64_t tokens) {
  const int64_t shortest = (tokens + 255) / 256,
                longest = (tokens + 4095) / 4096;
  return shortest < 128 ? shortest : (longest > 128 ? longest : 128);
}

/// `proteus_select_tokens`: importance (f32, B,T), budget (i64; reads
/// kBudgetTokenKeep and kBudgetGuard), token_mask (i8, B,T; 1 kept). The
/// threshold is the configuration's token_keep_threshold (REFERENCE.md 3.2).
using SelectTokensFn = void (*)(MemRef<float, 2> *, MemRef<int64_t, 1> *,
                                MemRef<int8_t, 2> *);

/// Slots of the per-call budget vector (i64), computed on the host by
/// makeBudget() and read by the kernels.
enum BudgetSlot : int64_t {
  kBudgetT = 0,       ///< sequence length the budget was made for
  kBudgetFastPath,    ///< 1: dense fast path (all heads, no routing)
  kBudgetPreferDense, ///< 1: alpha <= dense_alpha_cutoff and not INT8
  kBudgetNoDense,     ///< 1: alpha >= 0.95 cancels every dense reason
  kBudgetKDense,      ///< k_dense(T)
  kBudgetTokenMode,   ///< 0: no token mask, 1: keep every token, 2: select
  kBudgetTokenKeep,   ///< tokens kept per batch item when selecting
  kBudgetGuard,       ///< min(guard, T)
  kBudgetEffectiveL,  ///< candidate budget L
  kBudgetWindow,      ///< local window
  kBudgetLocalCap,
  kBudgetAnchorCap,
  kBudgetProtoCap,
  kBudgetUpdatePrototypes, ///< 1: apply the prototype EMA after the forward
  kBudgetSize,             ///< followed by topk(alpha) for k_adapt = 0..H
};

/// Slots of the statistics vector (i64) written by the layer entry point.
enum StatsSlot : int64_t {
  kStatsMode = 0,    ///< a Mode value
  kStatsDenseReason, ///< a DenseReason value
  kStatsTopK,
  kStatsNucleusK, ///< -1 when the head nucleus is off (router_top_p = 0)
  kStatsKAdapt,
  kStatsMaxActiveRows,
  kStatsActiveRows, ///< A: (b, h) rows with an active token
  kStatsPacked,     ///< N: active (row, token) pairs
  kStatsSize = 16,
};

enum class Mode : int64_t {
  DenseFastPath = 0,
  DenseAlpha,
  Dense,
  DenseAuto,
  Shortlist
};
enum class DenseReason : int64_t { None = 0, Alpha, Density, Full };

inline const char *modeName(int64_t m) {
  switch (static_cast<Mode>(m)) {
  case Mode::DenseFastPath:
    return "dense_fastpath";
  case Mode::DenseAlpha:
    return "dense_alpha";
  case Mode::Dense:
    return "dense";
  case Mode::DenseAuto:
    return "dense_auto";
  case Mode::Shortlist:
    return "shortlist";
  }
  return "unknown";
}

inline const char *denseReasonName(int64_t r) {
  switch (static_cast<DenseReason>(r)) {
  case DenseReason::None:
    return "none";
  case DenseReason::Alpha:
    return "alpha";
  case DenseReason::Density:
    return "density";
  case DenseReason::Full:
    return "full";
  }
  return "unknown";
}

/// What the host decides for one call before any kernel runs.
struct HostSchedule {
  double alpha = 0.0;
  double keep_ratio = 1.0; ///< r(alpha, T); meaningful when token_sparse
  CandidateBudget candidates;
  std::vector<int64_t> budget; ///< the vector passed to the kernels
};

/// Builds the budget vector for one call at sequence length T with the given
/// alpha (already resolved by alphaRamp or the caller).
inline HostSchedule makeBudget(const Config &c, int64_t B, int64_t T,
                               double alpha, bool updatePrototypes) {
  HostSchedule s;
  s.alpha = alpha;
  s.budget.assign(kBudgetSize + c.h_total + 1, 0);
  auto &b = s.budget;
  b[kBudgetT] = T;
  b[kBudgetFastPath] =
      (c.small_seq_dense > 0 && T <= c.small_seq_dense) ? 1 : 0;
  b[kBudgetPreferDense] =
      (alpha <= c.dense_alpha_cutoff && !c.quantize_int8) ? 1 : 0;
  b[kBudgetNoDense] = alpha >= 0.95 ? 1 : 0;
  b[kBudgetKDense] = kDense(c, T);
  if (c.token_sparse) {
    s.keep_ratio = keepRatio(c, alpha, T);
    if (s.keep_ratio >= 0.999 && c.keep_threshold <= 0.0) {
      b[kBudgetTokenMode] = 1;
    } else {
      b[kBudgetTokenMode] = 2;
      b[kBudgetTokenKeep] = tokenKeepCount(c, s.keep_ratio, T);
    }
  } else {
    s.keep_ratio = c.keep_ratio_base;
  }
  b[kBudgetGuard] = std::min(c.keep_guard, T);
  // The mem_cap schedule reads the last call's topk; k_dense stands in.
  s.candidates = candidateBudget(c, T, alpha, b[kBudgetKDense], B);
  b[kBudgetEffectiveL] = s.candidates.effective_L;
  b[kBudgetWindow] = s.candidates.window;
  b[kBudgetLocalCap] = s.candidates.local_cap;
  b[kBudgetAnchorCap] = s.candidates.anchor_cap;
  b[kBudgetProtoCap] = s.candidates.proto_cap;
  b[kBudgetUpdatePrototypes] = (updatePrototypes && c.proto_enabled) ? 1 : 0;
  for (int64_t k = 0; k <= c.h_total; ++k)
    b[kBudgetSize + k] = k == 0 ? 0 : topkForAdapt(c, alpha, k);
  return s;
}

} // namespace proteus_rt

#endif // PROTEUS_RT_CONTRACT_H
