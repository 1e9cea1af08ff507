//===- TopA.cpp - proteus.top_a to scalar loops ---------------------------===//
//
// The CPU reference lowering of the Top-A sampler (REFERENCE.md 8), one batch
// row after another: the binary32 softmax of the logits (its sum in binary64),
// every token id sorted by descending probability (ties to the lower id), the
// nucleus by the binary64 running sum rounded to binary32, the agreement of
// each nucleus token's embedding row with the consensus, the filter or blend,
// the final binary32 softmax and the inverse-CDF draw.
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

/// The operands of one row's lowering and its scratch (V entries each).
struct TopARow {
  Value logits, cons, emb, uniform, kept, probs, counts, sample; // the op's
  Value topP, lambda, tau, threshold;                            // f32
  Value prob, order, agree, fin; // scratch: f32, i64, f32, f32
  Value vN, cN;                  // index
  TopAMode mode;
};

/// max(|row|, 1e-12) in binary32, the squares summed in binary64: the
/// divisor of F.normalize.
Value normDivisor(LoopBuilder &lb, Value cN, function_ref<Value(Value)> elem) {
  Value sq = sumF64(lb, lb.idx(0), cN, [&](Value i) {
    Value v = lb.toF64(elem(i));
    return lb.mul(v, v);
  });
  return lb.max(lb.toF32(lb.sqrt(sq)), lb.f32(1e-12));
}

/// p = softmax(values(0 .. n)) into `dst` (f32 scratch), binary32 per
/// element, the sum in binary64 rounded to binary32.
void softmaxInto(LoopBuilder &lb, Value n, Value dst,
                 function_ref<Value(Value)> values) {
  Value zero = lb.idx(0);
  Value m = maxOf(lb, zero, n, lb.f32(-std::numeric_limits<float>::infinity()),
                  values);
  Value s = lb.toF32(sumF64(lb, zero, n, [&](Value i) {
    Value e = lb.exp(lb.sub(values(i), m));
    lb.store(e, dst, i);
    return lb.toF64(e);
  }));
  lb.forLoop(zero, n,
             [&](Value i) { lb.store(lb.div(lb.load(dst, i), s), dst, i); });
}

/// The nucleus size of row b: tokens in `order` while the running sum of
/// their probabilities (binary64, rounded to binary32) is <= max(top_p,
/// 1e-6); the first always.
Value emitNucleusSize(LoopBuilder &lb, const TopARow &r) {
  Value tp = lb.max(r.topP, lb.f32(1e-6));
  Value zero = lb.idx(0), one = lb.idx(1);
  auto probAt = [&](Value j) {
    return lb.load(r.prob, lb.toIndex(lb.load(r.order, j)));
  };
  return lb.whileLoop(
      ValueRange{zero, lb.f64(0.0)},
      [&](ValueRange st) {
        Value j = st[0];
        Value inRange = lb.lt(j, r.vN);
        Value safe = lb.select(inRange, j, zero);
        Value cum = lb.toF32(lb.add(st[1], lb.toF64(probAt(safe))));
        return lb.andI(inRange, lb.orI(lb.eq(j, zero), lb.le(cum, tp)));
      },
      [&](ValueRange st) {
        return SmallVector<Value>{lb.add(st[0], one),
                                  lb.add(st[1], lb.toF64(probAt(st[0])))};
      })[0];
}

/// agree[j] = cos(consensus[b], embedding[order[j]]) / max(tau, 1e-5) for the
/// n nucleus tokens: only their embedding rows are read.
void emitAgreement(LoopBuilder &lb, const TopARow &r, Value b, Value n) {
  Value zero = lb.idx(0);
  Value tau = lb.max(r.tau, lb.f32(1e-5));
  auto consAt = [&](Value i) { return lb.toF32(lb.load(r.cons, {b, i})); };
  Value cDiv = normDivisor(lb, r.cN, consAt);
  lb.forLoop(zero, n, [&](Value j) {
    Value v = lb.toIndex(lb.load(r.order, j));
    auto embAt = [&](Value i) { return lb.toF32(lb.load(r.emb, {v, i})); };
    Value eDiv = normDivisor(lb, r.cN, embAt);
    Value dot = sumF64(lb, zero, r.cN, [&](Value i) {
      return lb.mul(lb.toF64(lb.div(embAt(i), eDiv)),
                    lb.toF64(lb.div(consAt(i), cDiv)));
    });
    lb.store(lb.div(lb.toF32(dot), tau), r.agree, j);
  });
}

/// Writes kept[b, 0 .. k) and their final logits fin[0 .. k) from the n
/// nucleus tokens (filtered by the threshold in filter mode, all of them when
/// none passes) and returns k.
Value emitKept(LoopBuilder &lb, const TopARow &r, Value b, Value n) {
  Value zero = lb.idx(0), one = lb.idx(1);
  Value keepAll = lb.boolean(true);
  if (r.mode == TopAMode::Filter) {
    Value pass = lb.forAcc1(zero, n, zero, [&](Value j, Value acc) {
      Value ok = lb.ge(lb.load(r.agree, j), r.threshold);
      return lb.select(ok, lb.add(acc, one), acc);
    });
    keepAll = lb.eq(pass, zero);
  }
  return lb.forAcc1(zero, n, zero, [&](Value j, Value k) {
    Value id = lb.load(r.order, j);
    Value logit = lb.toF32(lb.load(r.logits, {b, lb.toIndex(id)}));
    Value keep = lb.boolean(true);
    if (r.mode != TopAMode::Off) {
      Value a = lb.load(r.agree, j);
      logit = lb.add(logit, lb.mul(r.lambda, a));
      if (r.mode == TopAMode::Filter)
        keep = lb.orI(keepAll, lb.ge(a, r.threshold));
    }
    lb.ifThen(keep, [&] {
      lb.store(id, r.kept, {b, k});
      lb.store(logit, r.fin, k);
    });
    return lb.select(keep, lb.add(k, one), k);
  });
}

/// sample[b]: the first kept token whose binary64 cumulative probability
/// exceeds uniform[b] times the total (the last one if none does); -1 when
/// nothing is kept (V = 0).
void emitSample(LoopBuilder &lb, const TopARow &r, Value b, Value k) {
  Value zero = lb.idx(0), one = lb.idx(1);
  auto p = [&](Value j) { return lb.toF64(lb.load(r.probs, {b, j})); };
  Value total = sumF64(lb, zero, k, p);
  Value target = lb.mul(lb.toF64(lb.load(r.uniform, b)), total);
  Value last = lb.sub(k, one);
  Value j = lb.whileLoop(
      ValueRange{zero, lb.f64(0.0)},
      [&](ValueRange st) {
        Value more = lb.lt(st[0], last);
        Value safe = lb.select(more, st[0], zero);
        return lb.andI(more, lb.le(lb.add(st[1], p(safe)), target));
      },
      [&](ValueRange st) {
        return SmallVector<Value>{lb.add(st[0], one), lb.add(st[1], p(st[0]))};
      })[0];
  Value any = lb.gt(k, zero);
  Value safe = lb.select(any, j, zero);
  lb.store(lb.i64(-1), r.sample, b);
  lb.ifThen(any, [&] { lb.store(lb.load(r.kept, {b, safe}), r.sample, b); });
}

void emitTopARow(LoopBuilder &lb, const TopARow &r, Value b) {
  Value zero = lb.idx(0);
  softmaxInto(lb, r.vN, r.prob, [&](Value i) {
    return lb.toF32(lb.load(r.logits, {b, i}));
  });
  lb.forLoop(zero, r.vN, [&](Value i) { lb.store(lb.toI64(i), r.order, i); });
  shellSort(lb, r.order, r.vN, [&](Value x, Value y) {
    Value px = lb.load(r.prob, lb.toIndex(x));
    Value py = lb.load(r.prob, lb.toIndex(y));
    return aheadDescending(lb, px, x, py, y);
  });
  Value n = emitNucleusSize(lb, r);
  if (r.mode != TopAMode::Off)
    emitAgreement(lb, r, b, n);
  Value k = emitKept(lb, r, b, n);
  softmaxInto(lb, k, r.fin, [&](Value j) { return lb.load(r.fin, j); });
  lb.forLoop(zero, r.vN, [&](Value j) {
    Value in = lb.lt(j, k);
    Value safe = lb.select(in, j, zero);
    lb.store(lb.select(in, lb.load(r.fin, safe), lb.f32(0.0)), r.probs, {b, j});
    lb.ifThen(lb.notI(in), [&] { lb.store(lb.i64(-1), r.kept, {b, j}); });
  });
  lb.store(lb.toI64(n), r.counts, {b, zero});
  lb.store(lb.toI64(k), r.counts, {b, lb.idx(1)});
  emitSample(lb, r, b, k);
}

struct TopALowering : public OpConversionPattern<TopAOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopAOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    TopARow r;
    r.logits = a.getLogits();
    r.cons = a.getConsensus();
    r.emb = a.getEmbedding();
    r.uniform = a.getUniform();
    r.kept = a.getKept();
    r.probs = a.getProbs();
    r.counts = a.getCounts();
    r.sample = a.getSample();
    r.topP = a.getTopP();
    r.lambda = a.getLambda();
    r.tau = a.getTau();
    r.threshold = a.getThreshold();
    r.mode = op.getMode();
    r.vN = lb.dim(r.logits, 1);
    r.cN = lb.dim(r.emb, 1);
    Type f32 = rewriter.getF32Type();
    r.prob = lb.alloc(f32, r.vN);
    r.order = lb.alloc(rewriter.getI64Type(), r.vN);
    r.agree = lb.alloc(f32, r.vN);
    r.fin = lb.alloc(f32, r.vN);
    lb.forLoop(lb.idx(0), lb.dim(r.logits, 0),
               [&](Value b) { emitTopARow(lb, r, b); });
    for (Value buf : {r.prob, r.order, r.agree, r.fin})
      lb.dealloc(buf);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::proteus::populateProteusTopAToSCFPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TopALowering>(patterns.getContext());
}
