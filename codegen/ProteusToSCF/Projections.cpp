//===- Projections.cpp - proteus.project and proteus.combine to loops -----===//
//
// The CPU lowering of the layer's two matrix products around attention: the
// q/k/v projection (RoPE on q and k; with packed_q, q per head over the
// head's packed tokens only) and the output combination (with head_mask, per
// token only the heads it uses). Both are blocked products
// (BlockedProducts.h) whose every output is summed in the scalar loops'
// order, so results are those of emitProjectPair / emitCombineElement.
//
//===----------------------------------------------------------------------===//

#include "BlockedProducts.h"
#include "Primitives.h"

#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"

#include <functional>
#include <optional>
#include <tuple>

using namespace mlir;
using namespace mlir::proteus;

namespace {

/// The interleaved RoPE's inverse frequency base^(-2i/D) in binary32, like
/// the reference; null without RoPE.
std::function<Value(Value)>
ropeInvFreq(LoopBuilder &lb, std::optional<APFloat> base, int64_t d) {
  if (!base)
    return {};
  Value b = lb.f32(base->convertToDouble());
  return [&lb, b, d](Value i) {
    Value expo = lb.div(lb.neg(lb.toF32(lb.mul(i, lb.idx(2)))), lb.f32(d));
    return lb.powf(b, expo);
  };
}

/// cos and sin of every RoPE angle t inv_freq[i] (T x D/2 each, binary32),
/// computed once per call for q and k of every head.
struct RopeTable {
  Value cs, sn;
};

RopeTable ropeTable(LoopBuilder &lb, Value tN, int64_t d,
                    const std::function<Value(Value)> &invFreq) {
  Type f32 = lb.builder().getF32Type();
  Value half = lb.idx(d / 2);
  RopeTable r{lb.alloc(f32, {tN, half}), lb.alloc(f32, {tN, half})};
  parallelBlocks(lb, tN, 64, [&](Value lo, Value hi) {
    lb.forLoop(lo, hi, [&](Value t) {
      lb.forLoop(lb.idx(0), half, [&](Value i) {
        Value theta = lb.mul(lb.toF32(t), invFreq(i));
        lb.store(lb.cos(theta), r.cs, {t, i});
        lb.store(lb.sin(theta), r.sn, {t, i});
      });
    });
  });
  return r;
}

/// The epilogue of one third of the projection (part 0, 1, 2: q, k, v) of
/// batch item b: the sums of columns colBase + col (col < cols) of token
/// tokenOf(row) rounded to binary32, the bias added, RoPE on q and k, stored
/// at row b*H + column / D.
struct ProjectStore {
  LoopBuilder &lb;
  Value bias, out;
  const RopeTable *rope; ///< null: none on this part
  int64_t cDim, heads, part;

  void operator()(Value b, Value t, Value gcol0, ArrayRef<Value> sums,
                  Value colLimit) const {
    int64_t d = cDim / heads;
    Value rowOff = lb.idx(part * cDim);
    auto column = [&](Value col, Value sum) {
      Value v = lb.toF32(sum);
      return bias ? lb.add(v, lb.load(bias, lb.add(col, rowOff))) : v;
    };
    auto store = [&](Value col, Value v) {
      Value h = lb.div(col, lb.idx(d)), dd = lb.rem(col, lb.idx(d));
      lb.store(v, out, {lb.add(lb.mul(b, lb.idx(heads)), h), t, dd});
    };
    for (size_t m = 0; m < sums.size(); m += 2) {
      Value col = lb.add(gcol0, lb.idx(m));
      Value col1 = lb.add(col, lb.idx(1));
      lb.ifThen(lb.lt(col, colLimit), [&] {
        Value x0 = column(col, sums[m]);
        if (!rope) {
          store(col, x0);
          lb.ifThen(lb.lt(col1, colLimit),
                    [&] { store(col1, column(col1, sums[m + 1])); });
          return;
        }
        // D is even: col and col1 are one head's pair i.
        Value x1 = column(col1, sums[m + 1]);
        Value i = lb.div(lb.rem(col, lb.idx(d)), lb.idx(2));
        std::tie(x0, x1) = emitRopeRotate(lb, x0, x1, lb.load(rope->cs, {t, i}),
                                          lb.load(rope->sn, {t, i}));
        store(col, x0);
        store(col1, x1);
      });
    }
  }
};

/// q, k and v as blocked products of x by the weight's row blocks (each
/// output column's sum in emitProjectPair's order), RoPE on the column pairs
/// of q and k; with packed_q, q one head at a time over the head's packed
/// tokens only.
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
    Value outs[3] = {a.getQ(), a.getK(), a.getV()};
    std::function<Value(Value)> invFreq = ropeInvFreq(lb, a.getRopeBase(), d);
    std::optional<RopeTable> table;
    if (invFreq && d % 2 == 0)
      table = ropeTable(lb, lb.dim(x, 1), d, invFreq);
    lb.forLoop(lb.idx(0), lb.dim(x, 0), [&](Value b) {
      for (int64_t part = 0; part < 3; ++part) {
        ProjectStore st{lb,         a.getBias(),
                        outs[part], part < 2 && table ? &*table : nullptr,
                        cDim,       heads,
                        part};
        if (part == 0 && a.getQOffsets())
          emitPackedQ(lb, a, st, b, d);
        else
          emitWhole(lb, a, st, b);
      }
    });
    if (table) {
      lb.dealloc(table->cs);
      lb.dealloc(table->sn);
    }
    rewriter.eraseOp(op);
    return success();
  }

  /// One third of qkv for every token of batch item b.
  static void emitWhole(LoopBuilder &lb, OpAdaptor a, const ProjectStore &st,
                        Value b) {
    Value x = a.getX(), w = a.getWeight(), rowOff = lb.idx(st.part * st.cDim);
    emitBlockedProduct(lb, {lb.dim(x, 1), lb.idx(st.cDim), lb.idx(st.cDim),
                            true, st.cDim,
                            [&](Value t, Value k, Value, Value) {
                              return lb.load(x, {b, t, k});
                            },
                            [&](Value col, Value k, Value, Value) {
                              return lb.load(w, {lb.add(col, rowOff), k});
                            },
                            [&](Value t, Value col0, ArrayRef<Value> sums) {
                              st(b, t, col0, sums, lb.idx(st.cDim));
                            }});
  }

  /// q of batch item b at the packed pairs: for each head h, a product over
  /// the tokens packed in row b*H + h by the head's D columns of the weight.
  static void emitPackedQ(LoopBuilder &lb, OpAdaptor a, const ProjectStore &st,
                          Value b, int64_t d) {
    Value x = a.getX(), w = a.getWeight(), off = a.getQOffsets(),
          tokens = a.getQTokens(), whole = a.getQWhole();
    Value last = lb.sub(lb.dim(tokens, 0), lb.idx(1));
    lb.forLoop(lb.idx(0), lb.idx(st.heads), [&](Value h) {
      Value r = lb.add(lb.mul(b, lb.idx(st.heads)), h);
      Value start = lb.toIndex(lb.load(off, r));
      Value n = lb.sub(lb.toIndex(lb.load(off, lb.add(r, lb.idx(1)))), start);
      if (whole) // every token, in order
        n = lb.select(whole, lb.dim(x, 1), n);
      Value colBase = lb.mul(h, lb.idx(d));
      Value colEnd = lb.add(colBase, lb.idx(d));
      auto tokenOf = [&](Value i) {
        if (!whole)
          return lb.toIndex(lb.load(tokens, lb.add(start, i)));
        Value packed = lb.load(tokens, lb.min(lb.add(start, i), last));
        return lb.select(whole, i, lb.toIndex(packed));
      };
      lb.ifThen(lb.gt(n, lb.idx(0)), [&] {
        emitBlockedProduct(lb, {n, lb.idx(st.cDim), lb.idx(st.cDim), true, d,
                                [&](Value i, Value k, Value, Value) {
                                  return lb.load(x, {b, tokenOf(i), k});
                                },
                                [&](Value col, Value k, Value, Value) {
                                  return lb.load(w, {lb.add(colBase, col), k});
                                },
                                [&](Value i, Value col0, ArrayRef<Value> sums) {
                                  st(b, tokenOf(i), lb.add(colBase, col0), sums,
                                     colEnd);
                                }});
      });
    });
  }
};

/// y = the heads' outputs by the projection weight, one blocked product per
/// batch item: each column's sum over a head's D in binary64 from 0.0, the
/// heads' sums added in order (emitCombineElement's order); with head_mask,
/// only the heads each token uses (BlockedProduct::groupActive).
struct CombineLowering : public OpConversionPattern<CombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CombineOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireF32(op, rewriter)))
      return failure();
    LoopBuilder lb(rewriter, op.getLoc());
    Value y = a.getY(), o = a.getHeadsOut(), w = a.getWeight(),
          bias = a.getBias(), mask = a.getTokenMask();
    int64_t cDim = cast<MemRefType>(y.getType()).getDimSize(2);
    int64_t d = cast<MemRefType>(o.getType()).getDimSize(2), heads = cDim / d;
    Value headMask = a.getHeadMask();
    lb.forLoop(lb.idx(0), lb.dim(y, 0), [&](Value b) {
      auto rowOf = [&](Value h) { return lb.add(lb.mul(b, lb.idx(heads)), h); };
      auto uses = [&](Value t, Value h) {
        Value on = lb.truthy(lb.load(headMask, {rowOf(h), t}));
        return a.getAllHeads() ? lb.orI(a.getAllHeads(), on) : on;
      };
      emitBlockedProduct(
          lb, {lb.dim(y, 1), lb.idx(cDim), lb.idx(d), false, cDim,
               [&](Value t, Value, Value h, Value dd) {
                 return lb.load(o, {rowOf(h), t, dd});
               },
               [&](Value col, Value k, Value, Value) {
                 return lb.load(w, {col, k});
               },
               [&](Value t, Value col0, ArrayRef<Value> sums) {
                 // A masked token contributes exact zeros (then the bias).
                 Value on =
                     mask ? lb.truthy(lb.load(mask, {b, t})) : lb.boolean(true);
                 for (auto [m, sum] : llvm::enumerate(sums)) {
                   Value col = lb.add(col0, lb.idx(m));
                   lb.ifThen(lb.lt(col, lb.idx(cDim)), [&] {
                     Value v = lb.select(on, lb.toF32(sum), lb.f32(0.0));
                     if (bias)
                       v = lb.add(v, lb.load(bias, col));
                     lb.store(v, y, {b, t, col});
                   });
                 }
               },
               /*transpose=*/true,
               headMask ? function_ref<Value(Value, Value)>(uses) : nullptr});
    });
    if (Value cons = a.getConsensus())
      emitConsensus(lb, a.getHeadsOut(), a.getTokenMask(), y, cons);
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void mlir::proteus::populateProteusProjectionsToSCFPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ProjectLowering, CombineLowering>(patterns.getContext());
}
