//===- ProteusOps.td - Proteus operations ------------------*- tablegen -*-===//
//
// The composite proteus.layer and the primitives it decomposes into. Every op
// takes memrefs in destination-passing style: inputs first, then the buffers
// it writes (`outs`). Shapes use B batch, T sequence, C model width, H heads,
// D head dim, G gates, R = B*H attention rows, N packed (row, token) pairs and
// L candidates per query.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_OPS_TD
#define PROTEUS_OPS_TD

include "proteus/Dialect/Proteus/ProteusAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Proteus_FloatMemRef : MemRefOf<[F32, BF16, F16]>;
def Proteus_IndexMemRef : MemRefOf<[I64]>;
def Proteus_MaskMemRef : MemRefOf<[I8]>;

//===----------------------------------------------------------------------===//
// Composite
//===----------------------------------------------------------------------===//

def Proteus_LayerOp : Proteus_Op<"layer", [AttrSizedOperandSegments]> {
  let summary = "one whole Proteus attention layer: x (B,T,C) -> y (B,T,C)";
  let description = [{
    Routes every token to its heads, gates heads (batch-wide nucleus, per-token
    top-k) and tokens (keep ratio / guard / threshold), picks dense or
    shortlist attention, attends, and projects the concatenated heads back
    (SPEC.md section 1). `budget_vec` is the per-call budget vector computed on
    the host (runtime/include/proteus_rt/contract.h). `stats` receives the mode,
    the dense reason and the head budget. Prototype state is updated in place
    when the budget vector asks for the EMA. The optional `consensus`
    (B, Tc, C) receives the head consensus (REFERENCE.md 2.13) of the last Tc
    positions (Tc = 1: the last position; Tc = T: every position; B = 0:
    none), as proteus.combine writes it.

    ```mlir
    proteus.layer ins(%x, %wqkv, %wproj, %wr : memref<?x?x64xf32>, memref<192x64xf32>,
                      memref<64x64xf32>, memref<8x64xf32>)
        budget(%b : memref<?xi64>)
        outs(%y, %mask, %imp, %stats : memref<?x?x64xf32>, memref<?x?xi8>,
             memref<?x?xf32>, memref<16xi64>)
        {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
    ```
  }];
  let arguments = (ins
    Proteus_FloatMemRef:$x, Proteus_FloatMemRef:$w_qkv, Proteus_FloatMemRef:$w_proj,
    Proteus_FloatMemRef:$w_router,
    Optional<Proteus_FloatMemRef>:$b_qkv, Optional<Proteus_FloatMemRef>:$b_proj,
    Optional<MemRefOf<[F32]>>:$prototypes, Optional<MemRefOf<[F32]>>:$usage,
    Optional<MemRefOf<[F32]>>:$confidence,
    Proteus_IndexMemRef:$budget_vec,
    Proteus_FloatMemRef:$y, Proteus_MaskMemRef:$token_mask,
    MemRefOf<[F32]>:$importance, Proteus_IndexMemRef:$stats,
    Optional<MemRefOf<[F32]>>:$consensus,
    Proteus_ConfigAttr:$config, OptionalAttr<Proteus_BudgetAttr>:$budget);
  let assemblyFormat = [{
    `ins` `(` $x `,` $w_qkv `,` $w_proj `,` $w_router `:` type($x) `,` type($w_qkv) `,`
        type($w_proj) `,` type($w_router) `)`
    (`bias` `(` $b_qkv^ `,` $b_proj `:` type($b_qkv) `,` type($b_proj) `)`)?
    (`prototypes` `(` $prototypes^ `,` $usage `,` $confidence `:` type($prototypes) `,`
        type($usage) `,` type($confidence) `)`)?
    `budget` `(` $budget_vec `:` type($budget_vec) `)`
    `outs` `(` $y `,` $token_mask `,` $importance `,` $stats `:` type($y) `,`
        type($token_mask) `,` type($importance) `,` type($stats) `)`
    (`consensus` `(` $consensus^ `:` type($consensus) `)`)?
    attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Routing and gating
//===----------------------------------------------------------------------===//

def Proteus_RouteOp : Proteus_Op<"route", [AttrSizedOperandSegments]> {
  let summary = "router softmax, prototype blend, head probabilities, token importance";
  let description = [{
    gates (B,T,G) = softmax(x W_r^T), blended with the prototype similarity
    distribution when prototypes are given (REFERENCE.md 2.3-2.5); head_probs
    (B,T,H) sums the gates of each head (2.7); importance (B,T) is the token
    salience; similarity (B,T), the best prototype cosine, is written when
    prototypes are given.

    ```mlir
    proteus.route ins(%x, %wr : memref<?x?x64xf32>, memref<8x64xf32>)
        outs(%gates, %heads, %imp : memref<?x?x8xf32>, memref<?x?x4xf32>, memref<?x?xf32>)
        {config = #proteus.config<d_model = 64, h_total = 4, gates = 8>}
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$x, Proteus_FloatMemRef:$w_router,
    Optional<MemRefOf<[F32]>>:$prototypes, Optional<MemRefOf<[F32]>>:$usage,
    Optional<MemRefOf<[F32]>>:$confidence,
    MemRefOf<[F32]>:$gates, MemRefOf<[F32]>:$head_probs, MemRefOf<[F32]>:$importance,
    Optional<MemRefOf<[F32]>>:$similarity,
    Proteus_ConfigAttr:$config);
  let assemblyFormat = [{
    `ins` `(` $x `,` $w_router `:` type($x) `,` type($w_router) `)`
    (`prototypes` `(` $prototypes^ `,` $usage `,` $confidence `:` type($prototypes) `,`
        type($usage) `,` type($confidence) `)`)?
    `outs` `(` $gates `,` $head_probs `,` $importance `:` type($gates) `,` type($head_probs)
        `,` type($importance) `)`
    (`similarity` `(` $similarity^ `:` type($similarity) `)`)?
    attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_TopPOp : Proteus_Op<"top_p"> {
  let summary = "batch-wide nucleus (top-p) head count";
  let description = [{
    m_h = mean over every (b, t) of head_probs (B,T,H); the nucleus count is the
    number of heads, in descending order of m, whose prefix sum stays below
    top_p * sum(m), plus one (at most H, at least 1). Returns k_adapt =
    max(h_min, min(k_dense, nucleus)) and the nucleus count (REFERENCE.md 2.8).

    ```mlir
    %k, %nuc = proteus.top_p %heads, %kd {top_p = 0.9 : f64, h_min = 2 : i64}
        : memref<?x?x4xf32>
    ```
  }];
  let arguments = (ins MemRefOf<[F32]>:$head_probs, Index:$k_dense,
                   F64Attr:$top_p, I64Attr:$h_min);
  let results = (outs Index:$k_adapt, Index:$nucleus);
  let assemblyFormat = "$head_probs `,` $k_dense attr-dict `:` type($head_probs)";
  let hasVerifier = 1;
}

def Proteus_TopKOp : Proteus_Op<"top_k"> {
  let summary = "per-token top-k heads -> (B*H, T) activity mask";
  let description = [{
    For every token, marks the k heads with the largest probability (ties to
    the lower head index), masked by the token mask when one is given. The
    mask is written in attention-row layout: row b*H + h, column t.

    ```mlir
    proteus.top_k ins(%heads, %k : memref<?x?x4xf32>, index) outs(%rows : memref<?x?xi8>)
    ```
  }];
  let arguments = (ins MemRefOf<[F32]>:$head_probs, Index:$k,
                   Optional<Proteus_MaskMemRef>:$token_mask, Proteus_MaskMemRef:$row_mask);
  let assemblyFormat = [{
    `ins` `(` $head_probs `,` $k `:` type($head_probs) `,` type($k) `)`
    (`token_mask` `(` $token_mask^ `:` type($token_mask) `)`)?
    `outs` `(` $row_mask `:` type($row_mask) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_SelectTokensOp : Proteus_Op<"select_tokens"> {
  let summary = "keep-ratio / guard / threshold token selection";
  let description = [{
    Per batch item keeps every token whose importance reaches `threshold` (when
    positive), the `keep` most important tokens (ties to the lower index), and
    the first `guard` tokens (REFERENCE.md 3.2).

    ```mlir
    proteus.select_tokens ins(%imp, %keep, %guard : memref<?x?xf32>, index, index)
        outs(%mask : memref<?x?xi8>) {threshold = 0.0 : f64}
    ```
  }];
  let arguments = (ins MemRefOf<[F32]>:$importance, Index:$keep, Index:$guard,
                   Proteus_MaskMemRef:$token_mask, F64Attr:$threshold);
  let assemblyFormat = [{
    `ins` `(` $importance `,` $keep `,` $guard `:` type($importance) `,` type($keep) `,`
        type($guard) `)`
    `outs` `(` $token_mask `:` type($token_mask) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_PackOp : Proteus_Op<"pack"> {
  let summary = "(R, T) activity mask -> packed (row, token) lists with row offsets";
  let description = [{
    Stream compaction in row-major order: packed_row/packed_token (capacity
    >= N) receive the active pairs, row_offsets (R+1) the exclusive prefix sum
    of the per-row counts. Returns N, the largest row count and the number of
    rows with an active token.

    ```mlir
    %n, %max, %rows = proteus.pack ins(%mask : memref<?x?xi8>)
        outs(%pr, %pt, %off : memref<?xi64>, memref<?xi64>, memref<?xi64>)
    ```
  }];
  let arguments = (ins Proteus_MaskMemRef:$row_mask, Proteus_IndexMemRef:$packed_row,
                   Proteus_IndexMemRef:$packed_token, Proteus_IndexMemRef:$row_offsets);
  let results = (outs Index:$count, Index:$max_row_count, Index:$active_rows);
  let assemblyFormat = [{
    `ins` `(` $row_mask `:` type($row_mask) `)`
    `outs` `(` $packed_row `,` $packed_token `,` $row_offsets `:` type($packed_row) `,`
        type($packed_token) `,` type($row_offsets) `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Projections and combination
//===----------------------------------------------------------------------===//

def Proteus_ProjectOp : Proteus_Op<"project", [AttrSizedOperandSegments]> {
  let summary = "QKV projection into (B*H, T, D) rows, optional interleaved RoPE";
  let description = [{
    qkv = x W^T (+ b); q, k, v are its three C-wide thirds, each written as
    rows b*H + h. With `rope_base`, interleaved (GPT-J) rotary embedding is
    applied to q and k (REFERENCE.md 2.10).

    With `packed_q(offsets, tokens)` (proteus.pack's row offsets and packed
    tokens) q is written only at the packed pairs, row r's tokens
    tokens[offsets[r] .. offsets[r + 1]), and is left as it was elsewhere: the
    shortlist attention reads q nowhere else. With `whole_q_if(%c)` as well, q
    is written whole where %c is true (an `auto` setting's dense branch shares
    the one projection). k and v are always whole.

    ```mlir
    proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
        outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
        {heads = 4 : i64, rope_base = 10000.0 : f64}
    proteus.project ins(%x, %w : memref<?x?x64xf32>, memref<192x64xf32>)
        packed_q(%off, %tok : memref<?xi64>, memref<?xi64>)
        outs(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>, memref<?x?x16xf32>)
        {heads = 4 : i64}
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$x, Proteus_FloatMemRef:$weight,
                   Optional<Proteus_FloatMemRef>:$bias,
                   Optional<Proteus_IndexMemRef>:$q_offsets,
                   Optional<Proteus_IndexMemRef>:$q_tokens, Optional<I1>:$q_whole,
                   Proteus_FloatMemRef:$q, Proteus_FloatMemRef:$k, Proteus_FloatMemRef:$v,
                   I64Attr:$heads, OptionalAttr<F64Attr>:$rope_base);
  let assemblyFormat = [{
    `ins` `(` $x `,` $weight `:` type($x) `,` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`packed_q` `(` $q_offsets^ `,` $q_tokens `:` type($q_offsets) `,` type($q_tokens) `)`)?
    (`whole_q_if` `(` $q_whole^ `)`)?
    `outs` `(` $q `,` $k `,` $v `:` type($q) `,` type($k) `,` type($v) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_CombineOp : Proteus_Op<"combine", [AttrSizedOperandSegments]> {
  let summary = "scatter head outputs, apply the token mask, output projection";
  let description = [{
    y (B,T,C) = concat_h(o[b*H + h, t] * token_mask[b, t]) W^T (+ b). Heads no
    token selected hold exact zeros (REFERENCE.md 2.13). With `consensus`
    (B, Tc, C, Tc <= T), the pre-projection concatenation itself at the last
    Tc positions: consensus[b, j, h*D + d] = o[b*H + h, T - Tc + j, d] *
    token_mask[b, T - Tc + j] (the head consensus Top-A reads); a batch size
    of 0 writes nothing.

    With `head_mask` (B*H, T; proteus.top_k's row mask), a head whose mask is
    0 at a token must hold zeros there (the shortlist attention's unpacked
    pairs) and is left out of that token's sum, except where the head's
    columns of `weight` hold a non-finite number (0 * inf is NaN): y is the
    unmasked one, bit for bit, and costs only the heads in use. With
    `all_heads_if(%c)` as well, every head is summed where %c is true (an
    `auto` setting's dense branch shares the one combination).

    ```mlir
    proteus.combine ins(%o, %w : memref<?x?x16xf32>, memref<64x64xf32>)
        outs(%y : memref<?x?x64xf32>)
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$heads_out, Proteus_FloatMemRef:$weight,
                   Optional<Proteus_FloatMemRef>:$bias,
                   Optional<Proteus_MaskMemRef>:$token_mask,
                   Optional<Proteus_MaskMemRef>:$head_mask, Optional<I1>:$all_heads,
                   Proteus_FloatMemRef:$y,
                   Optional<MemRefOf<[F32]>>:$consensus);
  let assemblyFormat = [{
    `ins` `(` $heads_out `,` $weight `:` type($heads_out) `,` type($weight) `)`
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`token_mask` `(` $token_mask^ `:` type($token_mask) `)`)?
    (`head_mask` `(` $head_mask^ `:` type($head_mask) `)`)?
    (`all_heads_if` `(` $all_heads^ `)`)?
    `outs` `(` $y `:` type($y) `)`
    (`consensus` `(` $consensus^ `:` type($consensus) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Proteus_ShortlistOp : Proteus_Op<"shortlist", [AttrSizedOperandSegments]> {
  let summary = "materialise the candidate lists of packed queries";
  let description = [{
    For every query position in `rows`, the sorted distinct union of its local
    window, its query-relative anchors and (with `use_proto`) the top positions
    by prototype salience, clamped to the query and truncated to the L smallest
    (REFERENCE.md 5.1). Slots past `lengths[n]` hold the query position. The
    budget operands are (seq_len, effective L, window, local cap, anchor cap,
    proto cap). Only materialised where asked: shortlist_attention computes
    candidates in-kernel.

    ```mlir
    proteus.shortlist ins(%rows : memref<?xi64>)
        budget(%t, %l, %w, %lc, %ac, %pc) outs(%c, %n : memref<?x?xi64>, memref<?xi64>)
        {anchor_stride = 256 : i64, use_local, use_anchors}
    ```
  }];
  let arguments = (ins Proteus_IndexMemRef:$rows,
                   Optional<MemRefOf<[F32]>>:$scores, Optional<Proteus_IndexMemRef>:$batch_ids,
                   Index:$seq_len, Index:$effective_l, Index:$window, Index:$local_cap,
                   Index:$anchor_cap, Index:$proto_cap,
                   Proteus_IndexMemRef:$candidates, Proteus_IndexMemRef:$lengths,
                   I64Attr:$anchor_stride, UnitAttr:$use_local, UnitAttr:$use_anchors,
                   UnitAttr:$use_proto);
  let assemblyFormat = [{
    `ins` `(` $rows `:` type($rows) `)`
    (`scores` `(` $scores^ `,` $batch_ids `:` type($scores) `,` type($batch_ids) `)`)?
    `budget` `(` $seq_len `,` $effective_l `,` $window `,` $local_cap `,` $anchor_cap `,`
        $proto_cap `)`
    `outs` `(` $candidates `,` $lengths `:` type($candidates) `,` type($lengths) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_ShortlistAttentionOp
    : Proteus_Op<"shortlist_attention", [AttrSizedOperandSegments]> {
  let summary = "softmax attention of packed queries over their candidates";
  let description = [{
    out[r, t] = softmax_j(q[r,t] . k[r,c_j] / sqrt(D)) v[r,c_j] over the
    candidates c_j of each packed (row, token) pair (REFERENCE.md 5.2); rows and
    tokens that are not packed get 0. The candidates come either materialised
    (`candidates` + `lengths`) or, with `budget(...)`, from the candidate rule
    evaluated in-kernel (then `scores` (B,T) feed the prototype piece; row r
    belongs to batch item r / (R / B)).
    `quantize` fake-quantizes q, k and v per row to INT8 first (SPEC.md 1.10).

    ```mlir
    proteus.shortlist_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>,
                                    memref<?x?x16xf32>)
        packed(%pr, %pt, %n : memref<?xi64>, memref<?xi64>, index)
        candidates(%c, %len : memref<?x?xi64>, memref<?xi64>)
        outs(%o : memref<?x?x16xf32>)
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$q, Proteus_FloatMemRef:$k, Proteus_FloatMemRef:$v,
                   Proteus_IndexMemRef:$packed_row, Proteus_IndexMemRef:$packed_token,
                   Index:$count,
                   Optional<Proteus_IndexMemRef>:$candidates, Optional<Proteus_IndexMemRef>:$lengths,
                   Variadic<Index>:$budget,
                   Optional<MemRefOf<[F32]>>:$scores,
                   Proteus_FloatMemRef:$out,
                   DefaultValuedAttr<I64Attr, "0">:$anchor_stride, UnitAttr:$use_local,
                   UnitAttr:$use_anchors, UnitAttr:$use_proto,
                   OptionalAttr<Proteus_Int8ModeAttr>:$quantize,
                   DefaultValuedAttr<F64Attr, "1.0">:$percentile,
                   OptionalAttr<Proteus_TileAttr>:$tile);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `:` type($q) `,` type($k) `,` type($v) `)`
    `packed` `(` $packed_row `,` $packed_token `,` $count `:` type($packed_row) `,`
        type($packed_token) `,` type($count) `)`
    (`candidates` `(` $candidates^ `,` $lengths `:` type($candidates) `,` type($lengths) `)`)?
    (`budget` `(` $budget^ `)`)?
    (`scores` `(` $scores^ `:` type($scores) `)`)?
    `outs` `(` $out `:` type($out) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_DenseAttentionOp : Proteus_Op<"dense_attention"> {
  let summary = "causal softmax attention over all keys (dense mode)";
  let description = [{
    out[r, t] = softmax_{s <= t}(q[r,t] . k[r,s] / sqrt(D)) v[r,s] for every row
    and token (REFERENCE.md 2.11). No T x T mask is ever built.

    ```mlir
    proteus.dense_attention ins(%q, %k, %v : memref<?x?x16xf32>, memref<?x?x16xf32>,
                                memref<?x?x16xf32>) outs(%o : memref<?x?x16xf32>)
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$q, Proteus_FloatMemRef:$k, Proteus_FloatMemRef:$v,
                   Proteus_FloatMemRef:$out, OptionalAttr<Proteus_TileAttr>:$tile);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v `:` type($q) `,` type($k) `,` type($v) `)`
    `outs` `(` $out `:` type($out) `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// State
//===----------------------------------------------------------------------===//

def Proteus_ProtoUpdateOp : Proteus_Op<"proto_update"> {
  let summary = "prototype / usage / confidence EMA (in place)";
  let description = [{
    With n_g = sum over (b,t) of gates, every gate with n_g > 1e-6 moves its
    prototype toward mu_g = (sum gates x) / n_g, gains usage n_g and confidence
    1; all usage and confidence decay by `decay` (REFERENCE.md 2.4, end).

    ```mlir
    proteus.proto_update ins(%x, %gates : memref<?x?x64xf32>, memref<?x?x8xf32>)
        inouts(%p, %u, %c : memref<8x64xf32>, memref<8xf32>, memref<8xf32>)
        {decay = 0.97 : f64}
    ```
  }];
  let arguments = (ins Proteus_FloatMemRef:$x, MemRefOf<[F32]>:$gates,
                   MemRefOf<[F32]>:$prototypes, MemRefOf<[F32]>:$usage,
                   MemRefOf<[F32]>:$confidence, F64Attr:$decay);
  let assemblyFormat = [{
    `ins` `(` $x `,` $gates `:` type($x) `,` type($gates) `)`
    `inouts` `(` $prototypes `,` $usage `,` $confidence `:` type($prototypes) `,` type($usage)
        `,` type($confidence) `)` attr-dict
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

def Proteus_TopAOp : Proteus_Op<"top_a"> {
  let summary = "Top-A: the nucleus re-weighted by agreement with the head consensus";
  let description = [{
    Per batch row b (REFERENCE.md 8): p = softmax(logits[b]) in binary32; the
    nucleus is the tokens in descending order of p (ties to the lower id)
    while their cumulative sum (binary64, rounded to binary32) is at most
    max(top_p, 1e-6), the first always kept. With mode blend or filter, each
    nucleus token v gets the agreement a_v = cos(consensus[b], embedding[v]) /
    max(tau, 1e-5) (vectors normalised by max(|x|, 1e-12), dots in binary64
    rounded to binary32); filter keeps the tokens with a_v >= threshold (all
    of them when none passes); the kept logits become l_v + lambda a_v.
    The final distribution is the binary32 softmax over the kept logits.
    Outputs: kept (B, V) the kept token ids in nucleus order (-1 after the
    last), probs (B, V) their probabilities (0 after), counts (B, 2) the
    nucleus size and the kept count, sample (B) the kept token at which the
    binary64 cumulative probability first exceeds uniform[b] times the total
    (the last kept token if rounding leaves none): the inverse CDF, so a
    caller-supplied uniform number in [0, 1) makes the draw reproducible.
    Embedding rows are read only for nucleus tokens.

    ```mlir
    proteus.top_a ins(%logits, %cons, %emb, %u : memref<?x?xf32>, memref<?x64xf32>,
                      memref<?x64xbf16>, memref<?xf32>)
        params(%top_p, %lambda, %tau, %threshold : f32, f32, f32, f32)
        outs(%kept, %probs, %counts, %sample : memref<?x?xi64>, memref<?x?xf32>,
             memref<?x2xi64>, memref<?xi64>)
        {mode = #proteus.top_a_mode<blend>}
    ```
  }];
  let arguments = (ins MemRefOf<[F32, BF16]>:$logits, MemRefOf<[F32, BF16]>:$consensus,
                   MemRefOf<[F32, BF16]>:$embedding, MemRefOf<[F32]>:$uniform,
                   F32:$top_p, F32:$lambda, F32:$tau, F32:$threshold,
                   Proteus_IndexMemRef:$kept, MemRefOf<[F32]>:$probs,
                   Proteus_IndexMemRef:$counts, Proteus_IndexMemRef:$sample,
                   Proteus_TopAModeAttr:$mode);
  let assemblyFormat = [{
    `ins` `(` $logits `,` $consensus `,` $embedding `,` $uniform `:` type($logits) `,`
        type($consensus) `,` type($embedding) `,` type($uniform) `)`
    `params` `(` $top_p `,` $lambda `,` $tau `,` $threshold `:` type($top_p) `,`
        type($lambda) `,` type($tau) `,` type($threshold) `)`
    `outs` `(` $kept `,` $probs `,` $counts `,` $sample `:` type($kept) `,` type($probs) `,`
        type($counts) `,` type($sample) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_ChunkNucleusOp : Proteus_Op<"chunk_nucleus"> {
  let summary = "one chunk's nucleus of token scores (the chunked pipeline's pass 1)";
  let description = [{
    The tokens of one chunk that the chunked shortlist pipeline promotes
    (REFERENCE.md 7, `_select_top_tokens` and `_nucleus_select`). With n =
    dim(importance, 0): score_i = importance_i where token_mask_i != 0 (every
    token without a mask), -inf elsewhere; the ordering key s_i = score_i when
    finite, -1e9 otherwise. Tokens in descending order of s (ties to the lower
    index); pi = the binary32 softmax of s (its sum in binary32); the nucleus
    count c = the tokens whose running sum of pi in that order (binary64,
    rounded to binary32) is < top_p, plus one unless c = n, at least 1; with
    top_p >= 1 it is the limit. keep = min(limit, c), limit = min(budget, n,
    dim(promoted, 0)). Of the first keep tokens, those whose score is finite
    are written in order: promoted[j] = their index + offset, scores[j] =
    score; count[0] = how many; promoted after it -1, scores 0.

    ```mlir
    proteus.chunk_nucleus ins(%imp, %mask : memref<?xf32>, memref<?xi8>)
        params(%top_p, %budget, %offset : f32, index, index)
        outs(%promoted, %scores, %count : memref<?xi64>, memref<?xf32>, memref<1xi64>)
    ```
  }];
  let arguments = (ins MemRefOf<[F32]>:$importance, Optional<Proteus_MaskMemRef>:$token_mask,
                   F32:$top_p, Index:$budget, Index:$offset,
                   Proteus_IndexMemRef:$promoted, MemRefOf<[F32]>:$scores,
                   Proteus_IndexMemRef:$count);
  let assemblyFormat = [{
    `ins` `(` $importance (`,` $token_mask^)? `:` type($importance) (`,` type($token_mask)^)? `)`
    `params` `(` $top_p `,` $budget `,` $offset `:` type($top_p) `,` type($budget) `,`
        type($offset) `)`
    `outs` `(` $promoted `,` $scores `,` $count `:` type($promoted) `,` type($scores) `,`
        type($count) `)` attr-dict
  }];
  let hasVerifier = 1;
}

def Proteus_ShortlistMergeOp : Proteus_Op<"shortlist_merge"> {
  let summary = "the best promoted tokens of every chunk, in position order";
  let description = [{
    The chunked pipeline's global merge (REFERENCE.md 7, `_finalise_indices`).
    Of the candidates (index, score) with index >= 0, the K = dim(keep, 0)
    best by score (descending, ties to the lower index), written in ascending
    index order: keep[j], keep_scores[j]; count[0] = how many (min(K, valid
    candidates)); keep after it -1, keep_scores 0. The best K of a union is
    the best K of the best K of its parts, so a stream can merge chunk by
    chunk into a buffer of K + budget candidates. Indices must be distinct
    (the chunks partition the sequence).

    ```mlir
    proteus.shortlist_merge ins(%idx, %sc : memref<?xi64>, memref<?xf32>)
        outs(%keep, %keep_scores, %count : memref<?xi64>, memref<?xf32>, memref<1xi64>)
    ```
  }];
  let arguments = (ins Proteus_IndexMemRef:$indices, MemRefOf<[F32]>:$scores,
                   Proteus_IndexMemRef:$keep, MemRefOf<[F32]>:$keep_scores,
                   Proteus_IndexMemRef:$count);
  let assemblyFormat = [{
    `ins` `(` $indices `,` $scores `:` type($indices) `,` type($scores) `)`
    `outs` `(` $keep `,` $keep_scores `,` $count `:` type($keep) `,` type($keep_scores) `,`
        type($count) `)` attr-dict
  }];
  let hasVerifier = 1;
}

#endif // PROTEUS_OPS_TD
