//===- ProteusToSCF.cpp - Proteus primitives to scalar loops --------------===//
//
// The CPU reference lowering: every proteus primitive becomes scf loops over
// memrefs. Reductions accumulate in binary64 and round to binary32 where the
// reference materialises an fp32 tensor; per-element formulas (softmax, RoPE,
// blends) are evaluated in binary32 like the reference.
//
//===----------------------------------------------------------------------===//

#include "BlockedProducts.h"
#include "Primitives.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"

#include <limits>
#include <optional>

namespace mlir::proteus {
#define GEN_PASS_DEF_CONVERTPROTEUSTOSCFPASS
#include "proteus/Conversion/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;
using namespace mlir::proteus;

namespace {

/// The order of the prototype piece: row b of `order` (B x T, i64) gets
/// batch item b's positions by descending score, ties to the lower index, in
/// the order of orderKey (the GPU layer kernel's select): -0 equals +0, a NaN
/// with the sign bit clear comes before every number and one with it set after
/// every number. Sorted once per call, before the (parallel) queries read it.
void sortProtoOrder(LoopBuilder &lb, CandidateRule &r) {
  Type i64 = lb.builder().getI64Type();
  Value one = lb.idx(1), batches = one, n = one;
  if (r.scores) {
    batches = lb.max(lb.dim(r.scores, 0), one);
    n = lb.max(lb.dim(r.scores, 1), one);
  }
  r.order = lb.alloc(i64, {lb.mul(batches, n)});
  if (!r.useProto || !r.scores)
    return;
  Value tmp = lb.alloc(i64, {lb.mul(batches, n)});
  Value tN = lb.dim(r.scores, 1);
  lb.forLoop(lb.idx(0), lb.dim(r.scores, 0), [&](Value b) {
    Value rowBase = lb.mul(b, tN);
    lb.forLoop(lb.idx(0), tN, [&](Value p) {
      lb.store(lb.toI64(p), r.order, lb.add(rowBase, p));
    });
    auto key = [&](Value p) {
      return orderKey(lb, lb.load(r.scores, {b, lb.toIndex(p)}));
    };
    mergeSort(
        lb, r.order, tmp, tN,
        [&](Value x, Value y) {
          OpBuilder &ob = lb.builder();
          Value kx = key(x), ky = key(y);
          Value above = arith::CmpIOp::create(
              ob, lb.getLoc(), arith::CmpIPredicate::ugt, kx, ky);
          return lb.orI(above, lb.andI(lb.eq(kx, ky), lb.lt(x, y)));
        },
        rowBase);
  });
  lb.dealloc(tmp);
}

/// The per-query scratch of the candidate rule (one per parallel block):
/// picks, and with `bySelect` the select's histogram.
void allocQueryScratch(LoopBuilder &lb, CandidateRule &r, bool bySelect,
                       Value &hist) {
  r.picks = lb.alloc(lb.builder().getI64Type(), {lb.max(r.effL, lb.idx(1))});
  hist = Value();
  if (bySelect && r.useProto && r.scores)
    hist = lb.alloc(lb.builder().getI32Type(), {lb.idx(256)});
}

/// emitCandidates with the prototype picks from the sorted order, or, with
/// `hist` (i32, 256), of the GPU layer kernel's per-query select.
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

//===----------------------------------------------------------------------===//
// Routing and gating
//===----------------------------------------------------------------------===//

/// Tokens of routing one parallel iteration takes.
constexpr int64_t kRouteBlock = 64;

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
    if (cfg.getProtoEnabled()) {
      r.protoNorm = lb.alloc(f32, {gI, cI});
      if (cfg.getProtoUsageBoost() > 0.0)
        r.usageSoft = lb.alloc(f32, {gI});
      emitRoutePrep(lb, cfg, a.getPrototypes(), a.getUsage(), r.protoNorm,
                    r.usageSoft);
    }
    Value x = a.getX(), tN = lb.dim(x, 1);
    int64_t gN = cfg.getGates();
    // The router logits and the prototype dots as blocked products (each
    // sum in emitRouteToken's order), then the per-token rest in parallel.
    r.logitsGiven = true;
    Value norms;
    if (cfg.getProtoEnabled()) {
      r.simDots = lb.alloc(f32, {lb.dim(x, 0), tN, gI});
      norms = lb.alloc(f32, {lb.max(tN, lb.idx(1))});
    }
    auto storeDots = [&](Value b, Value dst) {
      return [&, b, dst](Value t, Value col0, ArrayRef<Value> sums) {
        for (auto [m, sum] : llvm::enumerate(sums)) {
          Value col = lb.add(col0, lb.idx(m));
          lb.ifThen(lb.lt(col, gI), [&] {
            lb.store(lb.toF32(sum), dst, {b, t, col});
          });
        }
      };
    };
    lb.forLoop(zero, lb.dim(x, 0), [&](Value b) {
      emitBlockedProduct(lb, {tN, cI, cI, true, gN,
                              [&](Value t, Value c, Value, Value) {
                                return lb.load(x, {b, t, c});
                              },
                              [&](Value g, Value c, Value, Value) {
                                return lb.load(a.getWRouter(), {g, c});
                              },
                              storeDots(b, r.gates)});
      if (r.simDots) {
        parallelBlocks(lb, tN, kRouteBlock, [&](Value lo, Value hi) {
          lb.forLoop(lo, hi, [&](Value t) {
            lb.store(emitNormDivisor(lb, x, b, t, cI), norms, t);
          });
        });
        emitBlockedProduct(
            lb, {tN, cI, cI, true, gN,
                 [&](Value t, Value c, Value, Value) {
                   return lb.div(lb.load(x, {b, t, c}), lb.load(norms, t));
                 },
                 [&](Value g, Value c, Value, Value) {
                   return lb.load(r.protoNorm, {g, c});
                 },
                 storeDots(b, r.simDots)});
      }
      parallelBlocks(lb, tN, kRouteBlock, [&](Value lo, Value hi) {
        Value sc = cfg.getProtoEnabled() ? lb.alloc(f32, {gI}) : Value();
        lb.forLoop(lo, hi, [&](Value t) { emitRouteToken(lb, r, sc, b, t); });
        if (sc)
          lb.dealloc(sc);
      });
    });
    for (Value buf : {r.protoNorm, r.usageSoft, r.simDots, norms})
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
    // out of the order. One stable merge sort per batch item, O(T log T) (a
    // rank per token was O(T^2)); the order is total, so any correct sort
    // gives this one.
    Value order = lb.alloc(rewriter.getI64Type(), {lb.max(tN, one)});
    Value tmp = lb.alloc(rewriter.getI64Type(), {lb.max(tN, one)});
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
      mergeSort(lb, order, tmp, ordered, [&](Value x, Value y) {
        return aheadDescending(lb, lb.load(imp, {b, lb.toIndex(x)}), x,
                               lb.load(imp, {b, lb.toIndex(y)}), y);
      });
      lb.forLoop(zero, lb.min(need, ordered), [&](Value i) {
        lb.store(lb.i8(1), mask, {b, lb.toIndex(lb.load(order, i))});
      });
    });
    lb.dealloc(order);
    lb.dealloc(tmp);
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
// Attention
//===----------------------------------------------------------------------===//

/// The scratch of one attention row: acc (D) f64, the query (D) f64 and the
/// scores (n) f64.
struct RowScratch {
  Value acc, query, scores;
};

/// Scratch for rows of up to `n` keys (per parallel block).
RowScratch allocRowScratch(LoopBuilder &lb, Value dN, Value n) {
  Type f64 = lb.builder().getF64Type();
  return {lb.alloc(f64, {dN}), lb.alloc(f64, {dN}),
          lb.alloc(f64, {lb.max(n, lb.idx(1))})};
}

void deallocRowScratch(LoopBuilder &lb, const RowScratch &s) {
  for (Value buf : {s.acc, s.query, s.scores})
    lb.dealloc(buf);
}

/// Keys whose scores one loop over D computes together: independent sums
/// (each in D order) that keep the floating-point units busy.
constexpr int64_t kScoreKeys = 16;

/// The scores q . k[keyAt(j)] * scale of keys [0, n) into s.scores, each dot
/// summed in binary64 in D order.
void emitScores(LoopBuilder &lb, Value k, const RowScratch &s, Value n,
                Value dN, Value scale, function_ref<Value(Value)> keyAt,
                function_ref<Value(Value, Value, Value)> loadQKV) {
  Value zero = lb.idx(0), group = lb.idx(kScoreKeys);
  auto scoresOf = [&](Value j0, int64_t count) {
    SmallVector<Value> keys, init;
    for (int64_t i = 0; i < count; ++i) {
      keys.push_back(keyAt(lb.add(j0, lb.idx(i))));
      init.push_back(lb.f64(0.0));
    }
    SmallVector<Value> dots =
        lb.forAcc(zero, dN, init, [&](Value d, ValueRange acc) {
          Value qd = lb.load(s.query, d);
          SmallVector<Value> next;
          for (int64_t i = 0; i < count; ++i)
            next.push_back(
                lb.add(acc[i], lb.mul(qd, lb.toF64(loadQKV(k, keys[i], d)))));
          return next;
        });
    for (int64_t i = 0; i < count; ++i)
      lb.store(lb.mul(dots[i], scale), s.scores, lb.add(j0, lb.idx(i)));
  };
  Value full = lb.div(n, group);
  lb.forLoop(zero, full,
             [&](Value g) { scoresOf(lb.mul(g, group), kScoreKeys); });
  lb.forLoop(lb.mul(full, group), n, [&](Value j) { scoresOf(j, 1); });
}

/// softmax(q[r,t] . k[r,c] * scale) v[r,c] over the keys keyAt(j), j < n,
/// written to out[r,t]; binary64 throughout. Each score is computed once
/// (into s.scores) and read by the max and the sums.
void emitAttentionRow(LoopBuilder &lb, Value q, Value k, Value v, Value out,
                      const RowScratch &s, Value r, Value t, Value n,
                      function_ref<Value(Value)> keyAt,
                      function_ref<Value(Value, Value, Value)> loadQKV) {
  Value zero = lb.idx(0), dN = lb.dim(q, 2);
  Value scale = lb.div(lb.f64(1.0), lb.sqrt(lb.toF64(dN)));
  lb.forLoop(zero, dN, [&](Value d) {
    lb.store(lb.toF64(loadQKV(q, t, d)), s.query, d);
    lb.store(lb.f64(0.0), s.acc, d);
  });
  emitScores(lb, k, s, n, dN, scale, keyAt, loadQKV);
  auto score = [&](Value j) { return lb.load(s.scores, j); };
  Value m = maxOf(lb, zero, n, lb.f64(-std::numeric_limits<double>::infinity()),
                  score);
  Value l = lb.forAcc1(zero, n, lb.f64(0.0), [&](Value j, Value sum) {
    Value p = lb.exp(lb.sub(score(j), m));
    Value key = keyAt(j);
    lb.forLoop(zero, dN, [&](Value d) {
      Value cur = lb.load(s.acc, d);
      lb.store(lb.add(cur, lb.mul(p, lb.toF64(loadQKV(v, key, d)))), s.acc, d);
    });
    return lb.add(sum, p);
  });
  lb.forLoop(zero, dN, [&](Value d) {
    lb.store(lb.toF32(lb.div(lb.load(s.acc, d), l)), out, {r, t, d});
  });
}

/// Rows of attention one parallel iteration takes.
constexpr int64_t kAttentionBlock = 16;

struct DenseAttentionLowering : public OpConversionPattern<DenseAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DenseAttentionOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value q = a.getQ(), one = lb.idx(1);
    Value tN = lb.dim(q, 1);
    // Every (row, query) is independent: blocks of them run in parallel.
    parallelBlocks(lb, lb.mul(lb.dim(q, 0), tN), kAttentionBlock,
                   [&](Value lo, Value hi) {
                     RowScratch s = allocRowScratch(lb, lb.dim(q, 2), tN);
                     lb.forLoop(lo, hi, [&](Value rt) {
                       Value r = lb.div(rt, tN), t = lb.rem(rt, tN);
                       emitAttentionRow(
                           lb, q, a.getK(), a.getV(), a.getOut(), s, r, t,
                           lb.add(t, one), [&](Value j) { return j; },
                           [&](Value mem, Value pos, Value d) {
                             return lb.load(mem, {r, pos, d});
                           });
                     });
                     deallocRowScratch(lb, s);
                   });
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

    CandidateRule rule{};
    Value listed = a.getCandidates(), width;
    if (listed) {
      width = lb.dim(listed, 1);
    } else {
      ValueRange budget = a.getBudget();
      rule = CandidateRule{
          op.getUseLocal(), op.getUseAnchors(),
          op.getUseProto(), static_cast<int64_t>(a.getAnchorStride()),
          lb.dim(q, 1),     budget[0],
          budget[1],        budget[2],
          budget[3],        budget[4],
          a.getScores(),    Value(),
          Value()};
      sortProtoOrder(lb, rule);
      width = rule.effL;
    }
    // Every packed row is independent: blocks of them run in parallel, each
    // with its own scratch.
    parallelBlocks(lb, a.getCount(), kAttentionBlock, [&](Value lo, Value hi) {
      RowScratch s = allocRowScratch(lb, lb.dim(q, 2), width);
      CandidateRule blockRule = rule;
      Value cands, hist;
      if (!listed) {
        allocQueryScratch(lb, blockRule, bySelect, hist);
        cands = lb.alloc(rewriter.getI64Type(), {lb.max(rule.effL, lb.idx(1))});
      }
      lb.forLoop(lo, hi, [&](Value n) {
        Value r = lb.toIndex(lb.load(a.getPackedRow(), n));
        Value t = lb.toIndex(lb.load(a.getPackedToken(), n));
        if (listed) {
          Value len = lb.toIndex(lb.load(a.getLengths(), n));
          emitAttentionRow(
              lb, q, k, v, out, s, r, t, len,
              [&](Value j) {
                return lb.toIndex(lb.load(listed, {n, j}));
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
        Value len = candidatesOf(lb, blockRule, t, batch, cands, hist);
        emitAttentionRow(
            lb, q, k, v, out, s, r, t, len,
            [&](Value j) { return lb.toIndex(lb.load(cands, j)); }, loadQKV(r));
      });
      deallocRowScratch(lb, s);
      for (Value buf : {cands, blockRule.picks, hist})
        if (buf)
          lb.dealloc(buf);
    });
    for (Value buf : {rule.order, scales})
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
        Value()};
    sortProtoOrder(lb, rule);
    Value width = lb.dim(cands, 1);
    // Every row is independent: blocks of them run in parallel.
    parallelBlocks(
        lb, lb.dim(a.getRows(), 0), kAttentionBlock, [&](Value lo, Value hi) {
          CandidateRule blockRule = rule;
          Value hist;
          allocQueryScratch(lb, blockRule, bySelect, hist);
          Value row =
              lb.alloc(rewriter.getI64Type(), {lb.max(rule.effL, lb.idx(1))});
          lb.forLoop(lo, hi, [&](Value n) {
            Value t = lb.toIndex(lb.load(a.getRows(), n));
            Value batch = a.getBatchIds()
                              ? lb.toIndex(lb.load(a.getBatchIds(), n))
                              : zero;
            Value len = candidatesOf(lb, blockRule, t, batch, row, hist);
            lb.forLoop(zero, width, [&](Value j) {
              Value val = lb.select(
                  lb.lt(j, len),
                  lb.load(row, lb.min(j, lb.max(lb.sub(len, lb.idx(1)), zero))),
                  lb.toI64(t));
              lb.store(val, cands, {n, j});
            });
            lb.store(lb.toI64(len), a.getLengths(), n);
          });
          for (Value buf : {row, blockRule.picks, hist})
            if (buf)
              lb.dealloc(buf);
        });
    lb.dealloc(rule.order);
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
    auto blend = [&](Value g, Value c, Value n, Value s) {
      Value mu = lb.toF32(lb.div(s, lb.toF64(n)));
      Value p = lb.load(a.getPrototypes(), {g, c});
      lb.store(lb.add(lb.mul(d, p), lb.mul(od, mu)), a.getPrototypes(), {g, c});
    };
    int64_t cDim = cast<MemRefType>(x.getType()).getDimSize(2);
    lb.ifThen(any, [&] {
      if (!ShapedType::isDynamic(cDim)) {
        // The sums of every (g, c) as one blocked product over k = (b, t),
        // in sumBT's order (a group per batch item); rows g that do not
        // update drop theirs.
        emitBlockedProduct(lb,
                           {gN, lb.mul(bN, tN), tN, false, cDim,
                            [&](Value g, Value, Value b, Value t) {
                              return lb.load(gates, {b, t, g});
                            },
                            [&](Value c, Value, Value b, Value t) {
                              return lb.load(x, {b, t, c});
                            },
                            [&](Value g, Value c0, ArrayRef<Value> sums) {
                              Value n = lb.load(mass, g);
                              lb.ifThen(lb.gt(n, thr), [&] {
                                for (auto [m, sum] : llvm::enumerate(sums)) {
                                  Value c = lb.add(c0, lb.idx(m));
                                  lb.ifThen(lb.lt(c, lb.idx(cDim)),
                                            [&] { blend(g, c, n, sum); });
                                }
                              });
                            },
                            /*transpose=*/false});
      }
      lb.forLoop(zero, gN, [&](Value g) {
        Value n = lb.load(mass, g);
        Value upd = lb.gt(n, thr);
        if (ShapedType::isDynamic(cDim))
          lb.ifThen(upd, [&] {
            lb.forLoop(zero, cN, [&](Value c) {
              blend(g, c, n, sumBT([&](Value b, Value t) {
                      return lb.mul(lb.toF64(lb.load(gates, {b, t, g})),
                                    lb.toF64(lb.load(x, {b, t, c})));
                    }));
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
                           func::FuncDialect, vector::VectorDialect>();
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
               PackLowering, DenseAttentionLowering, ProtoUpdateLowering>(
      patterns.getContext());
  patterns.add<ShortlistAttentionLowering, ShortlistLowering>(
      patterns.getContext(), protoPicksBySelect);
  populateProteusProjectionsToSCFPatterns(patterns);
  populateProteusTopAToSCFPatterns(patterns);
  populateProteusChunkedToSCFPatterns(patterns);
}
