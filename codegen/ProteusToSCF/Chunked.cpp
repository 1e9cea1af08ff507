//===- Chunked.cpp - The chunked pipeline's primitives to scalar loops ----===//
//
// The CPU reference lowering of proteus.chunk_nucleus (one chunk's nucleus
// of token scores) and proteus.shortlist_merge (the best promoted tokens in
// position order), REFERENCE.md 7: stable merge sorts by descending score
// with ties to the lower index, the binary32 softmax (softmaxF32), and
// the binary64 running sum rounded to binary32 compared with top_p.
//
//===----------------------------------------------------------------------===//

#include "Primitives.h"

#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::proteus;

namespace {

/// Whether the f32 `v` is finite (false for NaN and +-inf).
Value isFinite(LoopBuilder &lb, Value v) {
  return lb.lt(lb.abs(v), lb.f32(std::numeric_limits<float>::infinity()));
}

/// The operands of proteus.chunk_nucleus and its scratch (n entries each).
struct NucleusOperands {
  Value importance, mask, topP, budget, offset, promoted, scores, count;
  Value key, prob, order, tmp; // scratch: f32, f32, i64, i64
  Value n;
};

/// score_i: the importance where the mask keeps token i, -inf elsewhere.
Value scoreAt(LoopBuilder &lb, const NucleusOperands &r, Value i) {
  Value imp = lb.load(r.importance, i);
  if (!r.mask)
    return imp;
  Value kept = lb.ne(lb.load(r.mask, i), lb.i8(0));
  return lb.select(kept, imp, lb.f32(-std::numeric_limits<float>::infinity()));
}

/// The nucleus count in `order`: tokens while the running sum of prob
/// (binary64, rounded to binary32) is < top_p, plus one unless all, >= 1;
/// `limit` when top_p >= 1; at most `limit`.
Value emitKeepCount(LoopBuilder &lb, const NucleusOperands &r, Value limit) {
  Value zero = lb.idx(0), one = lb.idx(1);
  auto probAt = [&](Value j) {
    return lb.toF64(lb.load(r.prob, lb.toIndex(lb.load(r.order, j))));
  };
  Value below = lb.whileLoop(
      ValueRange{zero, lb.f64(0.0)},
      [&](ValueRange st) {
        Value inRange = lb.lt(st[0], r.n);
        Value safe = lb.select(inRange, st[0], zero);
        Value cum = lb.toF32(lb.add(st[1], probAt(safe)));
        return lb.andI(inRange, lb.lt(cum, r.topP));
      },
      [&](ValueRange st) {
        return SmallVector<Value>{lb.add(st[0], one),
                                  lb.add(st[1], probAt(st[0]))};
      })[0];
  Value c = lb.select(lb.lt(below, r.n), lb.add(below, one), below);
  c = lb.max(c, one);
  c = lb.select(lb.ge(r.topP, lb.f32(1.0)), limit, c);
  return lb.min(c, limit);
}

void emitNucleus(LoopBuilder &lb, const NucleusOperands &r) {
  Value zero = lb.idx(0), one = lb.idx(1);
  lb.forLoop(zero, r.n, [&](Value i) {
    Value s = scoreAt(lb, r, i);
    Value key = lb.select(isFinite(lb, s), s, lb.f32(-1e9));
    lb.store(key, r.key, i);
    lb.store(key, r.prob, i);
    lb.store(lb.toI64(i), r.order, i);
  });
  softmaxF32(
      lb, r.n, [&](Value i) { return lb.load(r.prob, i); },
      [&](Value i, Value v) { lb.store(v, r.prob, i); });
  mergeSort(lb, r.order, r.tmp, r.n, [&](Value x, Value y) {
    Value kx = lb.load(r.key, lb.toIndex(x));
    Value ky = lb.load(r.key, lb.toIndex(y));
    return aheadDescending(lb, kx, x, ky, y);
  });
  Value cap = lb.dim(r.promoted, 0);
  Value limit = lb.min(lb.min(r.budget, r.n), cap);
  Value keep = emitKeepCount(lb, r, limit);
  lb.forLoop(zero, cap, [&](Value j) {
    lb.store(lb.i64(-1), r.promoted, j);
    lb.store(lb.f32(0.0), r.scores, j);
  });
  Value written = lb.forAcc1(zero, keep, zero, [&](Value j, Value w) {
    Value i = lb.toIndex(lb.load(r.order, j));
    Value s = scoreAt(lb, r, i);
    Value ok = isFinite(lb, s);
    lb.ifThen(ok, [&] {
      lb.store(lb.toI64(lb.add(i, r.offset)), r.promoted, w);
      lb.store(s, r.scores, w);
    });
    return lb.select(ok, lb.add(w, one), w);
  });
  lb.store(lb.toI64(written), r.count, zero);
}

struct ChunkNucleusLowering : public OpConversionPattern<ChunkNucleusOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ChunkNucleusOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    NucleusOperands r;
    r.importance = a.getImportance();
    r.mask = a.getTokenMask();
    r.topP = a.getTopP();
    r.budget = a.getBudget();
    r.offset = a.getOffset();
    r.promoted = a.getPromoted();
    r.scores = a.getScores();
    r.count = a.getCount();
    r.n = lb.dim(r.importance, 0);
    Type f32 = rewriter.getF32Type(), i64 = rewriter.getI64Type();
    r.key = lb.alloc(f32, r.n);
    r.prob = lb.alloc(f32, r.n);
    r.order = lb.alloc(i64, r.n);
    r.tmp = lb.alloc(i64, r.n);
    emitNucleus(lb, r);
    for (Value buf : {r.key, r.prob, r.order, r.tmp})
      lb.dealloc(buf);
    rewriter.eraseOp(op);
    return success();
  }
};

/// keep / keep_scores: the best K valid candidates by score, then by index.
void emitMerge(LoopBuilder &lb, ShortlistMergeOp::Adaptor a, Value order,
               Value tmp) {
  Value zero = lb.idx(0), one = lb.idx(1);
  Value n = lb.dim(a.getIndices(), 0), k = lb.dim(a.getKeep(), 0);
  auto indexAt = [&](Value p) {
    return lb.load(a.getIndices(), lb.toIndex(p));
  };
  Value valid = lb.forAcc1(zero, n, zero, [&](Value i, Value v) {
    Value ok = lb.ge(lb.load(a.getIndices(), i), lb.i64(0));
    lb.ifThen(ok, [&] { lb.store(lb.toI64(i), order, v); });
    return lb.select(ok, lb.add(v, one), v);
  });
  mergeSort(lb, order, tmp, valid, [&](Value x, Value y) {
    Value sx = lb.load(a.getScores(), lb.toIndex(x));
    Value sy = lb.load(a.getScores(), lb.toIndex(y));
    return aheadDescending(lb, sx, indexAt(x), sy, indexAt(y));
  });
  Value c = lb.min(valid, k);
  mergeSort(lb, order, tmp, c,
            [&](Value x, Value y) { return lb.lt(indexAt(x), indexAt(y)); });
  lb.forLoop(zero, k, [&](Value j) {
    Value in = lb.lt(j, c);
    Value p = lb.toIndex(lb.load(order, lb.select(in, j, zero)));
    lb.store(lb.select(in, lb.load(a.getIndices(), p), lb.i64(-1)), a.getKeep(),
             j);
    lb.store(lb.select(in, lb.load(a.getScores(), p), lb.f32(0.0)),
             a.getKeepScores(), j);
  });
  lb.store(lb.toI64(c), a.getCount(), zero);
}

struct ShortlistMergeLowering : public OpConversionPattern<ShortlistMergeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ShortlistMergeOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value n = lb.dim(a.getIndices(), 0);
    // One slot more than n: the loads above read order[0] when c is 0.
    Value slots = lb.add(n, lb.idx(1));
    Value order = lb.alloc(rewriter.getI64Type(), slots);
    Value tmp = lb.alloc(rewriter.getI64Type(), slots);
    lb.store(lb.i64(0), order, lb.idx(0));
    emitMerge(lb, a, order, tmp);
    lb.dealloc(order);
    lb.dealloc(tmp);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::proteus::populateProteusChunkedToSCFPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ChunkNucleusLowering, ShortlistMergeLowering>(
      patterns.getContext());
}
