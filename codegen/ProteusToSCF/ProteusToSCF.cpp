//===- ProteusToSCF.cpp - Proteus primitives to scalar loops --------------===//
//
// The CPU reference lowering: every proteus primitive becomes scf loops over
// memrefs. Reductions accumulate in binary64 and round to binary32 where the
// reference materialises an fp32 tensor; per-element formulas (softmax, RoPE,
// blends) are evaluated in binary32 like the reference.
//
//===----------------------------------------------------------------------===//

#include "Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"

#include <limits>

namespace mlir::proteus {
#define GEN_PASS_DEF_CONVERTPROTEUSTOSCFPASS
#include "proteus/Conversion/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;
using namespace mlir::proteus;

namespace {

/// Every float operand of the CPU path is f32.
LogicalResult requireF32(Operation *op, ConversionPatternRewriter &rewriter) {
  for (Value v : op->getOperands())
    if (auto mt = dyn_cast<MemRefType>(v.getType()))
      if (isa<FloatType>(mt.getElementType()) && !mt.getElementType().isF32())
        return rewriter.notifyMatchFailure(
            op, "the CPU lowering supports f32 operands only");
  return success();
}

/// The scratch buffers the candidate rule needs, sized for B, T and L.
void allocCandidateScratch(LoopBuilder &lb, CandidateRule &r) {
  Type i64 = lb.builder().getI64Type();
  Value one = lb.idx(1), batches = one, n = one;
  if (r.scores) {
    batches = lb.max(lb.dim(r.scores, 0), one);
    n = lb.max(lb.dim(r.scores, 1), one);
  }
  r.order = lb.alloc(i64, {lb.mul(batches, n)});
  r.sorted = lb.alloc(i64, {batches});
  lb.forLoop(lb.idx(0), batches,
             [&](Value b) { lb.store(lb.i64(0), r.sorted, b); });
  r.picks = lb.alloc(i64, {lb.max(r.effL, one)});
}

/// emitCandidates with the prototype picks of one sort per batch item, or,
/// with `hist` (i32, 256), of the GPU layer kernel's per-query select.
Value candidatesOf(LoopBuilder &lb, const CandidateRule &r, Value t,
                   Value batch, Value dst, Value hist) {
  if (!hist)
    return emitCandidates(lb, r, t, batch, dst);
  return emitCandidates(lb, r, t, batch, dst, Value(), [&](Value nProto) {
    emitTopCAscending(
        lb,
        [&](Value p) {
          return orderKey(lb, lb.load(r.scores, {batch, p}));
        },
        t, nProto, hist, lb.idx(0), r.picks, lb.idx(0));
  });
}

/// The histogram candidatesOf needs for the select, or null.
Value allocSelectHistogram(LoopBuilder &lb, const CandidateRule &r,
                           bool bySelect) {
  if (!bySelect || !r.useProto || !r.scores)
    return Value();
  return lb.alloc(lb.builder().getI32Type(), {lb.idx(256)});
}

//===----------------------------------------------------------------------===//
// Routing and gating
//===----------------------------------------------------------------------===//

struct RouteLowering : public OpConversionPattern<RouteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RouteOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    ConfigAttr cfg = op.getConfig();
    Value zero = lb.idx(0), cI = lb.idx(cfg.getDModel()),
          gI = lb.idx(cfg.getGates());
    Type f32 = rewriter.getF32Type();
    RouteOperands r{cfg,
                    a.getX(),
                    a.getWRouter(),
                    Value(),
                    Value(),
                    a.getConfidence(),
                    a.getGates(),
                    a.getHeadProbs(),
                    a.getImportance(),
                    a.getSimilarity()};
    Value sc;
    if (cfg.getProtoEnabled()) {
      r.protoNorm = lb.alloc(f32, {gI, cI});
      if (cfg.getProtoUsageBoost() > 0.0)
        r.usageSoft = lb.alloc(f32, {gI});
      emitRoutePrep(lb, cfg, a.getPrototypes(), a.getUsage(), r.protoNorm,
                    r.usageSoft);
      sc = lb.alloc(f32, {gI});
    }
    lb.forLoop(zero, lb.dim(a.getX(), 0), [&](Value b) {
      lb.forLoop(zero, lb.dim(a.getX(), 1),
                 [&](Value t) { emitRouteToken(lb, r, sc, b, t); });
    });
    for (Value buf : {r.protoNorm, r.usageSoft, sc})
      if (buf)
        lb.dealloc(buf);
    rewriter.eraseOp(op);
    return success();
  }
};

struct TopPLowering : public OpConversionPattern<TopPOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopPOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value hp = a.getHeadProbs(), zero = lb.idx(0);
    Value bN = lb.dim(hp, 0), tN = lb.dim(hp, 1), hN = lb.dim(hp, 2);
    Value m = lb.alloc(rewriter.getF32Type(), {hN});
    Value count = lb.toF64(lb.mul(bN, tN));
    // Mean head probability over every (b, t).
    lb.forLoop(zero, hN, [&](Value h) {
      Value s = lb.forAcc1(zero, bN, lb.f64(0.0), [&](Value b, Value acc) {
        return lb.add(acc, sumF64(lb, zero, tN, [&](Value t) {
                        return lb.load(hp, {b, t, h});
                      }));
      });
      lb.store(lb.toF32(lb.div(s, count)), m, h);
    });
    auto [kAdapt, nucleus] = emitNucleus(
        lb, m, a.getKDense(), a.getTopP().convertToDouble(), a.getHMin());
    lb.dealloc(m);
    rewriter.replaceOp(op, {kAdapt, nucleus});
    return success();
  }
};

struct TopKLowering : public OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopKOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value hp = a.getHeadProbs(), zero = lb.idx(0);
    lb.forLoop(zero, lb.dim(hp, 0), [&](Value b) {
      lb.forLoop(zero, lb.dim(hp, 1), [&](Value t) {
        emitTopKToken(lb, hp, a.getTokenMask(), a.getK(), a.getRowMask(), b, t);
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct SelectTokensLowering : public OpConversionPattern<SelectTokensOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectTokensOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value imp = a.getImportance(), mask = a.getTokenMask();
    Value zero = lb.idx(0), one = lb.idx(1), tN = lb.dim(imp, 1);
    double thrD = a.getThreshold().convertToDouble();
    Value thr = lb.f32(thrD);
    // The batch item's ordered positions by descending importance, ties to
    // the lower index (SPEC.md section 3): a token's rank is its place here.
    // A NaN importance compares false, so as with a rank counted over every
    // other token it has rank 0 (kept) and is ahead of no other: NaNs stay
    // out of the order. One sort per batch item (a rank per token was
    // O(T^2)).
    Value order = lb.alloc(rewriter.getI64Type(), {lb.max(tN, one)});
    lb.forLoop(zero, lb.dim(imp, 0), [&](Value b) {
      Value basis = zero;
      if (thrD > 0.0)
        basis = lb.forAcc1(zero, tN, zero, [&](Value t, Value acc) {
          return lb.select(lb.ge(lb.load(imp, {b, t}), thr), lb.add(acc, one),
                           acc);
        });
      Value need = lb.max(lb.max(a.getKeep(), basis), a.getGuard());
      need = lb.min(lb.max(need, one), tN);
      Value ordered = lb.forAcc1(zero, tN, zero, [&](Value t, Value m) {
        Value it = lb.load(imp, {b, t});
        Value number = lb.eq(it, it);
        lb.ifThen(number, [&] { lb.store(lb.toI64(t), order, m); });
        Value keep = lb.orI(lb.ge(need, tN), lb.notI(number));
        if (thrD > 0.0)
          keep = lb.orI(keep, lb.ge(it, thr));
        keep = lb.orI(keep, lb.lt(t, a.getGuard()));
        lb.store(lb.select(keep, lb.i8(1), lb.i8(0)), mask, {b, t});
        return lb.select(number, lb.add(m, one), m);
      });
      shellSort(lb, order, ordered, [&](Value x, Value y) {
        return aheadDescending(lb, lb.load(imp, {b, lb.toIndex(x)}), x,
                               lb.load(imp, {b, lb.toIndex(y)}), y);
      });
      lb.forLoop(zero, lb.min(need, ordered), [&](Value i) {
        lb.store(lb.i8(1), mask, {b, lb.toIndex(lb.load(order, i))});
      });
    });
    lb.dealloc(order);
    rewriter.eraseOp(op);
    return success();
  }
};

struct PackLowering : public OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value mask = a.getRowMask(), zero = lb.idx(0), one = lb.idx(1);
    Value rN = lb.dim(mask, 0), tN = lb.dim(mask, 1);
    lb.store(lb.i64(0), a.getRowOffsets(), zero);
    auto res = lb.forAcc(
        zero, rN, ValueRange{zero, zero, zero}, [&](Value r, ValueRange s) {
          Value n = lb.forAcc1(zero, tN, s[0], [&](Value t, Value n) {
            Value on = lb.truthy(lb.load(mask, {r, t}));
            lb.ifThen(on, [&] {
              lb.store(lb.toI64(r), a.getPackedRow(), n);
              lb.store(lb.toI64(t), a.getPackedToken(), n);
            });
            return lb.select(on, lb.add(n, one), n);
          });
          lb.store(lb.toI64(n), a.getRowOffsets(), lb.add(r, one));
          Value rowCount = lb.sub(n, s[0]);
          Value active =
              lb.select(lb.gt(rowCount, zero), lb.add(s[2], one), s[2]);
          return SmallVector<Value>{n, lb.max(s[1], rowCount), active};
        });
    rewriter.replaceOp(op, res);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Projections and combination
//===----------------------------------------------------------------------===//

struct ProjectLowering : public OpConversionPattern<ProjectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ProjectOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value x = a.getX();
    int64_t cDim = cast<MemRefType>(x.getType()).getDimSize(2),
            heads = a.getHeads();
    int64_t d = cDim / heads;
    Value zero = lb.idx(0);
    Value outs[3] = {a.getQ(), a.getK(), a.getV()};
    std::function<Value(Value)> invFreq;
    if (a.getRopeBase()) {
      Value base = lb.f32(a.getRopeBase()->convertToDouble());
      // base^(-2i/D) in binary32, like the reference.
      invFreq = [&, base](Value i) {
        Value expo = lb.div(lb.neg(lb.toF32(lb.mul(i, lb.idx(2)))), lb.f32(d));
        return lb.powf(base, expo);
      };
    }
    lb.forLoop(zero, lb.dim(x, 0), [&](Value b) {
      lb.forLoop(zero, lb.dim(x, 1), [&](Value t) {
        for (int64_t part = 0; part < 3; ++part)
          lb.forLoop(zero, lb.idx(heads), [&](Value h) {
            lb.forLoop(zero, lb.idx((d + 1) / 2), [&](Value i) {
              emitProjectPair(lb, x, a.getWeight(), a.getBias(), outs[part],
                              part, heads, invFreq, b, t, h, i);
            });
          });
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct CombineLowering : public OpConversionPattern<CombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CombineOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value y = a.getY(), zero = lb.idx(0);
    Value cI = lb.idx(cast<MemRefType>(y.getType()).getDimSize(2));
    lb.forLoop(zero, lb.dim(y, 0), [&](Value b) {
      lb.forLoop(zero, lb.dim(y, 1), [&](Value t) {
        lb.forLoop(zero, cI, [&](Value col) {
          emitCombineElement(lb, a.getHeadsOut(), a.getWeight(), a.getBias(),
                             a.getTokenMask(), y, b, t, col);
        });
      });
    });
    if (Value cons = a.getConsensus())
      emitConsensus(lb, a.getHeadsOut(), a.getTokenMask(), y, cons);
    rewriter.eraseOp(op);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// softmax(q[r,t] . k[r,c] * scale) v[r,c] over the keys keyAt(j), j < n,
/// written to out[r,t]; binary64 throughout. `acc` is a (D) f64 scratch.
void emitAttentionRow(LoopBuilder &lb, Value q, Value k, Value v, Value out,
                      Value acc, Value r, Value t, Value n,
                      function_ref<Value(Value)> keyAt,
                      function_ref<Value(Value, Value, Value)> loadQKV) {
  Value zero = lb.idx(0), dN = lb.dim(q, 2);
  Value scale = lb.div(lb.f64(1.0), lb.sqrt(lb.toF64(dN)));
  auto score = [&](Value j) {
    Value key = keyAt(j);
    return lb.mul(sumF64(lb, zero, dN,
                         [&](Value d) {
                           return lb.mul(lb.toF64(loadQKV(q, t, d)),
                                         lb.toF64(loadQKV(k, key, d)));
                         }),
                  scale);
  };
  Value m = maxOf(lb, zero, n, lb.f64(-std::numeric_limits<double>::infinity()),
                  score);
  lb.forLoop(zero, dN, [&](Value d) { lb.store(lb.f64(0.0), acc, d); });
  Value l = lb.forAcc1(zero, n, lb.f64(0.0), [&](Value j, Value sum) {
    Value p = lb.exp(lb.sub(score(j), m));
    Value key = keyAt(j);
    lb.forLoop(zero, dN, [&](Value d) {
      Value cur = lb.load(acc, d);
      lb.store(lb.add(cur, lb.mul(p, lb.toF64(loadQKV(v, key, d)))), acc, d);
    });
    return lb.add(sum, p);
  });
  lb.forLoop(zero, dN, [&](Value d) {
    lb.store(lb.toF32(lb.div(lb.load(acc, d), l)), out, {r, t, d});
  });
}

struct DenseAttentionLowering : public OpConversionPattern<DenseAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DenseAttentionOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value q = a.getQ(), zero = lb.idx(0), one = lb.idx(1);
    Value acc = lb.alloc(rewriter.getF64Type(), {lb.dim(q, 2)});
    lb.forLoop(zero, lb.dim(q, 0), [&](Value r) {
      lb.forLoop(zero, lb.dim(q, 1), [&](Value t) {
        emitAttentionRow(
            lb, q, a.getK(), a.getV(), a.getOut(), acc, r, t, lb.add(t, one),
            [&](Value j) { return j; },
            [&](Value mem, Value pos, Value d) {
              return lb.load(mem, {r, pos, d});
            });
      });
    });
    lb.dealloc(acc);
    rewriter.eraseOp(op);
    return success();
  }
};

/// Per-row INT8 scales of q, k and v (REFERENCE.md 6.4) into scales (R, 3).
void emitInt8Scales(LoopBuilder &lb, Value mems[3], Value scales,
                    bool percentile, double p) {
  Value zero = lb.idx(0), one = lb.idx(1);
  Value rN = lb.dim(mems[0], 0), tN = lb.dim(mems[0], 1),
        dN = lb.dim(mems[0], 2);
  Value n = lb.mul(tN, dN);
  Value sorted =
      percentile ? lb.alloc(lb.builder().getF32Type(), {n}) : Value();
  lb.forLoop(zero, rN, [&](Value r) {
    for (int64_t which = 0; which < 3; ++which) {
      Value mem = mems[which];
      auto absAt = [&](Value i) {
        return lb.abs(lb.load(mem, {r, lb.div(i, dN), lb.rem(i, dN)}));
      };
      Value mx = maxOf(lb, zero, n, lb.f32(0.0), absAt);
      Value av, bv, w;
      if (percentile) {
        // torch.quantile in binary32: rank = p (n-1), linear interpolation.
        lb.forLoop(zero, n, [&](Value i) { lb.store(absAt(i), sorted, i); });
        shellSort(lb, sorted, n, [&](Value x, Value y) { return lb.lt(x, y); });
        Value rank = lb.mul(lb.f32(p), lb.toF32(lb.sub(n, one)));
        Value loF = lb.floor(rank), hiF = lb.ceil(rank);
        w = lb.sub(rank, loF);
        av = lb.load(sorted, lb.toIndex(arith::FPToSIOp::create(
                                 lb.builder(), lb.getLoc(),
                                 lb.builder().getI64Type(), loF)));
        bv = lb.load(sorted, lb.toIndex(arith::FPToSIOp::create(
                                 lb.builder(), lb.getLoc(),
                                 lb.builder().getI64Type(), hiF)));
      }
      lb.store(emitInt8Scale(lb, mx, av, bv, w), scales, {r, lb.idx(which)});
    }
  });
  if (sorted)
    lb.dealloc(sorted);
}

struct ShortlistAttentionLowering
    : public OpConversionPattern<ShortlistAttentionOp> {
  /// `bySelect`: the prototype picks by the GPU kernel's select.
  ShortlistAttentionLowering(MLIRContext *ctx, bool bySelect)
      : OpConversionPattern(ctx), bySelect(bySelect) {}
  bool bySelect;

  LogicalResult
  matchAndRewrite(ShortlistAttentionOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value q = a.getQ(), k = a.getK(), v = a.getV(), out = a.getOut();
    Value zero = lb.idx(0);
    lb.fill(out, lb.f32(0.0));

    // Optional INT8 fake quantization: x -> clamp(round(x / s), -127, 127) s.
    Value scales;
    if (auto quant = op.getQuantize()) {
      scales = lb.alloc(rewriter.getF32Type(), {lb.dim(q, 0), lb.idx(3)});
      Value mems[3] = {q, k, v};
      emitInt8Scales(lb, mems, scales, *quant == Int8Mode::Percentile,
                     a.getPercentile().convertToDouble());
    }
    auto loadQKV = [&](Value r) {
      return [&, r](Value mem, Value pos, Value d) -> Value {
        Value x = lb.load(mem, {r, pos, d});
        if (!scales)
          return x;
        int64_t which = mem == q ? 0 : (mem == k ? 1 : 2);
        Value s = lb.load(scales, {r, lb.idx(which)});
        Value qv = lb.roundEven(lb.div(x, s));
        qv = lb.min(lb.max(qv, lb.f32(-127.0)), lb.f32(127.0));
        return lb.mul(qv, s);
      };
    };

    Value acc = lb.alloc(rewriter.getF64Type(), {lb.dim(q, 2)});
    CandidateRule rule{};
    Value cands, hist;
    if (a.getCandidates() == nullptr) {
      ValueRange budget = a.getBudget();
      rule = CandidateRule{
          op.getUseLocal(), op.getUseAnchors(),
          op.getUseProto(), static_cast<int64_t>(a.getAnchorStride()),
          lb.dim(q, 1),     budget[0],
          budget[1],        budget[2],
          budget[3],        budget[4],
          a.getScores(),    Value(),
          Value(),          Value()};
      allocCandidateScratch(lb, rule);
      hist = allocSelectHistogram(lb, rule, bySelect);
      cands = lb.alloc(rewriter.getI64Type(), {lb.max(rule.effL, lb.idx(1))});
    }
    lb.forLoop(zero, a.getCount(), [&](Value n) {
      Value r = lb.toIndex(lb.load(a.getPackedRow(), n));
      Value t = lb.toIndex(lb.load(a.getPackedToken(), n));
      if (a.getCandidates()) {
        Value len = lb.toIndex(lb.load(a.getLengths(), n));
        emitAttentionRow(
            lb, q, k, v, out, acc, r, t, len,
            [&](Value j) {
              return lb.toIndex(lb.load(a.getCandidates(), {n, j}));
            },
            loadQKV(r));
        return;
      }
      Value batch = zero;
      if (rule.scores) {
        // Row r belongs to batch item r / (R / B).
        Value perBatch = lb.div(lb.dim(q, 0), lb.dim(rule.scores, 0));
        batch = lb.div(r, perBatch);
      }
      Value len = candidatesOf(lb, rule, t, batch, cands, hist);
      emitAttentionRow(
          lb, q, k, v, out, acc, r, t, len,
          [&](Value j) { return lb.toIndex(lb.load(cands, j)); }, loadQKV(r));
    });
    for (Value buf :
         {acc, cands, rule.order, rule.sorted, rule.picks, scales, hist})
      if (buf)
        lb.dealloc(buf);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ShortlistLowering : public OpConversionPattern<ShortlistOp> {
  /// `bySelect`: the prototype picks by the GPU kernel's select.
  ShortlistLowering(MLIRContext *ctx, bool bySelect)
      : OpConversionPattern(ctx), bySelect(bySelect) {}
  bool bySelect;

  LogicalResult
  matchAndRewrite(ShortlistOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    LoopBuilder lb(rewriter, op.getLoc());
    Value zero = lb.idx(0), cands = a.getCandidates();
    CandidateRule rule{
        op.getUseLocal(), op.getUseAnchors(),
        op.getUseProto(), static_cast<int64_t>(a.getAnchorStride()),
        a.getSeqLen(),    a.getEffectiveL(),
        a.getWindow(),    a.getLocalCap(),
        a.getAnchorCap(), a.getProtoCap(),
        a.getScores(),    Value(),
        Value(),          Value()};
    allocCandidateScratch(lb, rule);
    Value hist = allocSelectHistogram(lb, rule, bySelect);
    Value width = lb.dim(cands, 1);
    Value row = lb.alloc(rewriter.getI64Type(), {lb.max(rule.effL, lb.idx(1))});
    lb.forLoop(zero, lb.dim(a.getRows(), 0), [&](Value n) {
      Value t = lb.toIndex(lb.load(a.getRows(), n));
      Value batch =
          a.getBatchIds() ? lb.toIndex(lb.load(a.getBatchIds(), n)) : zero;
      Value len = candidatesOf(lb, rule, t, batch, row, hist);
      lb.forLoop(zero, width, [&](Value j) {
        Value val = lb.select(
            lb.lt(j, len),
            lb.load(row, lb.min(j, lb.max(lb.sub(len, lb.idx(1)), zero))),
            lb.toI64(t));
        lb.store(val, cands, {n, j});
      });
      lb.store(lb.toI64(len), a.getLengths(), n);
    });
    for (Value buf : {row, rule.order, rule.sorted, rule.picks, hist})
      if (buf)
        lb.dealloc(buf);
    rewriter.eraseOp(op);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// State
//===----------------------------------------------------------------------===//

struct ProtoUpdateLowering : public OpConversionPattern<ProtoUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ProtoUpdateOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value x = a.getX(), gates = a.getGates(), zero = lb.idx(0);
    Value bN = lb.dim(x, 0), tN = lb.dim(x, 1), cN = lb.dim(x, 2),
          gN = lb.dim(gates, 2);
    double decay = a.getDecay().convertToDouble();
    // The reference applies binary64 d and (1 - d) to fp32 tensors.
    Value d = lb.f32(decay), od = lb.f32(1.0 - decay), thr = lb.f32(1e-6);
    auto sumBT = [&](function_ref<Value(Value, Value)> term) {
      return lb.forAcc1(zero, bN, lb.f64(0.0), [&](Value b, Value acc) {
        return lb.add(
            acc, sumF64(lb, zero, tN, [&](Value t) { return term(b, t); }));
      });
    };
    Value mass = lb.alloc(rewriter.getF32Type(), {gN});
    Value any =
        lb.forAcc1(zero, gN, lb.boolean(false), [&](Value g, Value acc) {
          Value n = lb.toF32(sumBT([&](Value b, Value t) {
            return lb.load(gates, {b, t, g});
          }));
          lb.store(n, mass, g);
          return lb.orI(acc, lb.gt(n, thr));
        });
    lb.ifThen(any, [&] {
      lb.forLoop(zero, gN, [&](Value g) {
        Value n = lb.load(mass, g);
        Value upd = lb.gt(n, thr);
        lb.ifThen(upd, [&] {
          lb.forLoop(zero, cN, [&](Value c) {
            Value s = sumBT([&](Value b, Value t) {
              return lb.mul(lb.toF64(lb.load(gates, {b, t, g})),
                            lb.toF64(lb.load(x, {b, t, c})));
            });
            Value mu = lb.toF32(lb.div(s, lb.toF64(n)));
            Value p = lb.load(a.getPrototypes(), {g, c});
            lb.store(lb.add(lb.mul(d, p), lb.mul(od, mu)), a.getPrototypes(),
                     {g, c});
          });
        });
        Value u = lb.mul(d, lb.load(a.getUsage(), g));
        lb.store(lb.select(upd, lb.add(u, lb.mul(od, n)), u), a.getUsage(), g);
        Value cf = lb.mul(d, lb.load(a.getConfidence(), g));
        lb.store(lb.select(upd, lb.add(cf, od), cf), a.getConfidence(), g);
      });
    });
    lb.dealloc(mass);
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertProteusToSCFPass
    : public mlir::proteus::impl::ConvertProteusToSCFPassBase<
          ConvertProteusToSCFPass> {
  using ConvertProteusToSCFPassBase::ConvertProteusToSCFPassBase;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    target.addIllegalDialect<ProteusDialect>();
    target.addLegalDialect<arith::ArithDialect, math::MathDialect,
                           memref::MemRefDialect, scf::SCFDialect,
                           func::FuncDialect>();
    RewritePatternSet patterns(&getContext());
    populateProteusToSCFConversionPatterns(patterns, protoPicksBySelect);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::proteus::populateProteusToSCFConversionPatterns(
    RewritePatternSet &patterns, bool protoPicksBySelect) {
  patterns.add<RouteLowering, TopPLowering, TopKLowering, SelectTokensLowering,
               PackLowering, ProjectLowering, CombineLowering,
               DenseAttentionLowering, ProtoUpdateLowering>(
      patterns.getContext());
  patterns.add<ShortlistAttentionLowering, ShortlistLowering>(
      patterns.getContext(), protoPicksBySelect);
  populateProteusTopAToSCFPatterns(patterns);
}
