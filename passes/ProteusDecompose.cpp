//===- ProteusDecompose.cpp - proteus.layer -> primitives -----------------===//
//
// Expands a specialized proteus.layer into the primitive ops, with the mode
// decision of REFERENCE.md 4.2 as control flow. Budgets that #proteus.budget
// fixes become constants; the others are read from the per-call budget vector
// (runtime/include/proteus_rt/contract.h). Only the attention branches the
// specialized mode can take are emitted.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Transforms/Passes.h"
#include "proteus_rt/contract.h"

namespace mlir::proteus {
#define GEN_PASS_DEF_PROTEUSDECOMPOSEPASS
#include "proteus/Transforms/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;
using namespace mlir::proteus;
namespace rt = proteus_rt;

namespace {

/// Small helpers over an OpBuilder for index arithmetic and buffers.
struct Emit {
  OpBuilder &b;
  Location loc;

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, loc, b.getI64Type(), v);
  }
  Value i1(bool v) {
    return arith::ConstantIntOp::create(b, loc, b.getI1Type(), v);
  }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value andI(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value orI(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value notI(Value x) { return arith::XOrIOp::create(b, loc, x, i1(true)); }
  Value toIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  Value toI64(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getI64Type(), v);
  }
  Value alloc(ArrayRef<int64_t> shape, Type elem, ValueRange dyn) {
    return memref::AllocOp::create(b, loc, MemRefType::get(shape, elem), dyn);
  }
  /// Budget slot: the static value when known, else budget_vec[slot].
  Value budget(Value vec, int64_t staticValue, int64_t slot) {
    if (staticValue >= 0)
      return idx(staticValue);
    return toIndex(memref::LoadOp::create(b, loc, vec, ValueRange{idx(slot)}));
  }
  void storeStat(Value stats, int64_t slot, Value v) {
    memref::StoreOp::create(b, loc, v.getType().isIndex() ? toI64(v) : v, stats,
                            ValueRange{idx(slot)});
  }
  /// Sets every element of a (B, T) i8 or f32 buffer.
  void fill2D(Value mem, Value v) {
    Value zero = idx(0), one = idx(1);
    Value d0 = memref::DimOp::create(b, loc, mem, 0),
          d1 = memref::DimOp::create(b, loc, mem, 1);
    scf::ForOp::create(
        b, loc, zero, d0, one, ValueRange{},
        [&](OpBuilder &, Location, Value i, ValueRange) {
          scf::ForOp::create(
              b, loc, zero, d1, one, ValueRange{},
              [&](OpBuilder &, Location, Value j, ValueRange) {
                memref::StoreOp::create(b, loc, v, mem, ValueRange{i, j});
                scf::YieldOp::create(b, loc);
              });
          scf::YieldOp::create(b, loc);
        });
  }
  void ifThenElse(Value c, function_ref<void()> thenFn,
                  function_ref<void()> elseFn) {
    scf::IfOp::create(
        b, loc, c,
        [&](OpBuilder &, Location) {
          thenFn();
          scf::YieldOp::create(b, loc);
        },
        [&](OpBuilder &, Location) {
          elseFn();
          scf::YieldOp::create(b, loc);
        });
  }
};

struct DecomposeLayer : public OpRewritePattern<LayerOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(LayerOp op,
                                PatternRewriter &rewriter) const override {
    BudgetAttr budget = op.getBudgetAttr();
    if (!budget)
      return rewriter.notifyMatchFailure(op, "run -proteus-specialize first");
    Emit e{rewriter, op.getLoc()};
    Location loc = op.getLoc();
    ConfigAttr cfg = op.getConfig();
    int64_t h = cfg.getHTotal(), d = cfg.getHeadDim();
    Value x = op.getX(), vec = op.getBudgetVec(), stats = op.getStats();
    Type elem = op.getX().getType().getElementType();
    Type i8 = rewriter.getI8Type();
    int64_t dyn = ShapedType::kDynamic;

    Value bN = memref::DimOp::create(rewriter, loc, x, 0);
    Value tN = memref::DimOp::create(rewriter, loc, x, 1);
    Value rows = e.mul(bN, e.idx(h));
    auto allocQKV = [&](Value qkv[3]) {
      for (int i = 0; i < 3; ++i)
        qkv[i] = e.alloc({dyn, dyn, d}, elem, {rows, tN});
    };
    // q, k, v into qkv; with qOffsets / qTokens, q only at the packed pairs
    // (whole where qWhole is true).
    auto proj = [&](Value qkv[3], Value qOffsets, Value qTokens, Value qWhole) {
      std::optional<double> rope;
      if (cfg.getUseRope())
        rope = cfg.getRopeBase();
      ProjectOp::create(rewriter, loc, x, op.getWQkv(), op.getBQkv(), qOffsets,
                        qTokens, qWhole, qkv[0], qkv[1], qkv[2],
                        rewriter.getI64IntegerAttr(h),
                        rope ? rewriter.getF64FloatAttr(*rope) : FloatAttr());
    };
    auto release = [&](ArrayRef<Value> bufs) {
      for (Value buf : bufs)
        memref::DeallocOp::create(rewriter, loc, buf);
    };

    Value fast = e.cmp(arith::CmpIPredicate::ne,
                       e.budget(vec, -1, rt::kBudgetFastPath), e.idx(0));
    if (budget.getMode() == LayerMode::Fastpath)
      fast = e.i1(true);
    else if (budget.getSeqLen() > 0)
      fast = e.i1(false); // a static T above small_seq_dense

    e.ifThenElse(
        fast,
        [&] {
          // Dense fast path: every head, no routing, no token mask.
          Value qkv[3];
          allocQKV(qkv);
          proj(qkv, Value(), Value(), Value());
          Value o = e.alloc({dyn, dyn, d}, elem, {rows, tN});
          DenseAttentionOp::create(rewriter, loc, qkv[0], qkv[1], qkv[2], o,
                                   TileAttr());
          CombineOp::create(rewriter, loc, o, op.getWProj(), op.getBProj(),
                            Value(), Value(), Value(), op.getY(),
                            op.getConsensus());
          release({qkv[0], qkv[1], qkv[2], o});
          e.fill2D(op.getTokenMask(),
                   arith::ConstantIntOp::create(rewriter, loc, i8, 1));
          e.fill2D(op.getImportance(),
                   arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getF32FloatAttr(0.0f)));
          e.storeStat(stats, rt::kStatsMode,
                      e.i64(static_cast<int64_t>(rt::Mode::DenseFastPath)));
          e.storeStat(stats, rt::kStatsDenseReason, e.i64(0));
          e.storeStat(stats, rt::kStatsTopK, e.i64(h));
          e.storeStat(stats, rt::kStatsNucleusK, e.i64(-1));
          e.storeStat(stats, rt::kStatsKAdapt, e.i64(h));
          e.storeStat(stats, rt::kStatsMaxActiveRows, e.toI64(tN));
          e.storeStat(stats, rt::kStatsActiveRows, e.toI64(rows));
          e.storeStat(stats, rt::kStatsPacked, e.toI64(e.mul(rows, tN)));
        },
        [&] {
          emitRouted(rewriter, op, budget, e, bN, tN, rows, allocQKV, proj,
                     release);
        });
    rewriter.eraseOp(op);
    return success();
  }

  template <typename AllocFn, typename ProjFn, typename ReleaseFn>
  void emitRouted(PatternRewriter &rewriter, LayerOp op, BudgetAttr budget,
                  Emit &e, Value bN, Value tN, Value rows, AllocFn &allocQKV,
                  ProjFn &proj, ReleaseFn &release) const {
    Location loc = op.getLoc();
    ConfigAttr cfg = op.getConfig();
    int64_t h = cfg.getHTotal(), g = cfg.getGates(), d = cfg.getHeadDim();
    Value x = op.getX(), vec = op.getBudgetVec(), stats = op.getStats();
    Type elem = cast<MemRefType>(x.getType()).getElementType();
    Type f32 = rewriter.getF32Type(), i8 = rewriter.getI8Type(),
         i64 = rewriter.getI64Type();
    int64_t dyn = ShapedType::kDynamic;
    bool proto = cfg.getProtoEnabled();
    using P = arith::CmpIPredicate;

    // Routing.
    Value gates = e.alloc({dyn, dyn, g}, f32, {bN, tN});
    Value heads = e.alloc({dyn, dyn, h}, f32, {bN, tN});
    Value sim = proto ? e.alloc({dyn, dyn}, f32, {bN, tN}) : Value();
    RouteOp::create(rewriter, loc, x, op.getWRouter(), op.getPrototypes(),
                    op.getUsage(), op.getConfidence(), gates, heads,
                    op.getImportance(), sim, cfg);

    // Token selection.
    Value tokenMask = op.getTokenMask();
    Value one8 = arith::ConstantIntOp::create(rewriter, loc, i8, 1);
    if (cfg.getTokenSparse()) {
      Value select =
          e.cmp(P::eq, e.budget(vec, -1, rt::kBudgetTokenMode), e.idx(2));
      e.ifThenElse(
          select,
          [&] {
            SelectTokensOp::create(
                rewriter, loc, op.getImportance(),
                e.budget(vec, budget.getTokenKeep(), rt::kBudgetTokenKeep),
                e.budget(vec, -1, rt::kBudgetGuard), tokenMask,
                rewriter.getF64FloatAttr(cfg.getKeepThreshold()));
          },
          [&] { e.fill2D(tokenMask, one8); });
    } else {
      e.fill2D(tokenMask, one8);
    }

    // Head budget: nucleus, alpha blend (topk table), per-token top-k.
    Value kDense = e.budget(vec, budget.getKDense(), rt::kBudgetKDense);
    Value kAdapt = kDense, nucleus = e.idx(-1);
    if (cfg.getRouterTopP() > 0.0) {
      Type indexType = rewriter.getIndexType();
      auto topP =
          TopPOp::create(rewriter, loc, indexType, indexType, heads, kDense,
                         rewriter.getF64FloatAttr(cfg.getRouterTopP()),
                         rewriter.getI64IntegerAttr(cfg.getHActiveMin()));
      kAdapt = topP.getKAdapt();
      nucleus = topP.getNucleus();
    }
    Value topk;
    ArrayRef<int64_t> table = budget.getTopk();
    if (!table.empty()) {
      topk = e.idx(table.back());
      for (int64_t k = static_cast<int64_t>(table.size()) - 2; k >= 0; --k)
        topk = e.select(e.cmp(P::eq, kAdapt, e.idx(k)), e.idx(table[k]), topk);
    } else {
      Value slot =
          arith::AddIOp::create(rewriter, loc, kAdapt, e.idx(rt::kBudgetSize));
      topk = e.toIndex(
          memref::LoadOp::create(rewriter, loc, vec, ValueRange{slot}));
    }
    Value rowMask = e.alloc({dyn, dyn}, i8, {rows, tN});
    TopKOp::create(rewriter, loc, heads, topk,
                   cfg.getTokenSparse() ? tokenMask : Value(), rowMask);
    Value cap = e.mul(rows, tN);
    Value packedRow = e.alloc({dyn}, i64, {cap});
    Value packedToken = e.alloc({dyn}, i64, {cap});
    Value offsets = e.alloc(
        {dyn}, i64, {arith::AddIOp::create(rewriter, loc, rows, e.idx(1))});
    Type indexType = rewriter.getIndexType();
    auto pack = PackOp::create(rewriter, loc, indexType, indexType, indexType,
                               rowMask, packedRow, packedToken, offsets);

    // Mode decision (REFERENCE.md 2.9): alpha, then density, then full.
    Value preferDense =
        budget.getMode() == LayerMode::Dense
            ? e.i1(true)
            : (budget.getMode() == LayerMode::Shortlist
                   ? e.i1(false)
                   : e.cmp(P::ne, e.budget(vec, -1, rt::kBudgetPreferDense),
                           e.idx(0)));
    Value densityHit = e.i1(false);
    if (cfg.getDenseThreshold() != -1.0) {
      Value maxRows =
          arith::IndexCastOp::create(rewriter, loc, i64, pack.getMaxRowCount());
      Value maxF = arith::SIToFPOp::create(rewriter, loc, rewriter.getF64Type(),
                                           maxRows);
      Value tF = arith::SIToFPOp::create(rewriter, loc, rewriter.getF64Type(),
                                         e.toI64(tN));
      Value density = arith::DivFOp::create(rewriter, loc, maxF, tF);
      Value thr = arith::ConstantOp::create(
          rewriter, loc, rewriter.getF64FloatAttr(cfg.getDenseThreshold()));
      densityHit = arith::CmpFOp::create(
          rewriter, loc, arith::CmpFPredicate::OGE, density, thr);
    }
    Value full = e.i1(false);
    if (cfg.getForceDenseWhenFull())
      full = e.andI(e.notI(densityHit), e.cmp(P::eq, pack.getCount(), cap));
    Value noDense =
        budget.getMode() == LayerMode::Shortlist
            ? e.i1(true)
            : e.cmp(P::ne, e.budget(vec, -1, rt::kBudgetNoDense), e.idx(0));
    Value forced = e.orI(e.orI(preferDense, densityHit), full);
    Value dense = e.andI(forced, e.notI(noDense));
    if (budget.getMode() == LayerMode::Dense)
      dense = e.i1(true);
    if (budget.getMode() == LayerMode::Shortlist)
      dense = e.i1(false);
    auto code = [&](auto v) { return e.i64(static_cast<int64_t>(v)); };
    Value reason = e.select(preferDense, code(rt::DenseReason::Alpha),
                            e.select(densityHit, code(rt::DenseReason::Density),
                                     e.select(full, code(rt::DenseReason::Full),
                                              code(rt::DenseReason::None))));
    reason = e.select(dense, reason, code(rt::DenseReason::None));
    Value allRows = e.cmp(P::eq, pack.getActiveRows(), rows);
    Value denseLabel = e.select(
        preferDense, code(rt::Mode::DenseAlpha),
        e.select(allRows, code(rt::Mode::Dense), code(rt::Mode::DenseAuto)));
    Value mode = e.select(dense, denseLabel, code(rt::Mode::Shortlist));

    // Attention on the chosen branch. The shortlist reads q only at the
    // packed pairs (INT8 aside: its scales read every token of a row) and
    // writes zeros for the heads a token does not use, so the projection
    // packs q and the combination skips those heads; an auto setting shares
    // them with its dense branch, which asks for q and the heads whole.
    Value qkv[3];
    allocQKV(qkv);
    Value o = e.alloc({dyn, dyn, d}, elem, {rows, tN});
    LayerMode setting = budget.getMode();
    bool packed = setting != LayerMode::Dense;
    bool branches =
        setting != LayerMode::Dense && setting != LayerMode::Shortlist;
    Value whole = branches ? dense : Value();
    bool packedQ = packed && !cfg.getQuantizeInt8();
    proj(qkv, packedQ ? offsets : Value(), packedQ ? packedToken : Value(),
         packedQ ? whole : Value());
    auto emitDense = [&] {
      DenseAttentionOp::create(rewriter, loc, qkv[0], qkv[1], qkv[2], o,
                               TileAttr());
    };
    auto emitShortlist = [&] {
      SmallVector<Value> caps = {
          e.budget(vec, budget.getEffectiveL(), rt::kBudgetEffectiveL),
          e.budget(vec, budget.getWindow(), rt::kBudgetWindow),
          e.budget(vec, budget.getLocalCap(), rt::kBudgetLocalCap),
          e.budget(vec, budget.getAnchorCap(), rt::kBudgetAnchorCap),
          e.budget(vec, budget.getProtoCap(), rt::kBudgetProtoCap)};
      bool useProto = cfg.getUseProto() && proto;
      Int8ModeAttr quant;
      if (cfg.getQuantizeInt8())
        quant = Int8ModeAttr::get(rewriter.getContext(), cfg.getInt8Mode());
      ShortlistAttentionOp::create(
          rewriter, loc, qkv[0], qkv[1], qkv[2], packedRow, packedToken,
          pack.getCount(), Value(), Value(), caps, useProto ? sim : Value(), o,
          static_cast<uint64_t>(cfg.getAnchorStride()), cfg.getUseLocal(),
          cfg.getUseAnchors(), useProto, quant,
          llvm::APFloat(double(cfg.getInt8Percentile())), TileAttr());
    };
    switch (budget.getMode()) {
    case LayerMode::Dense:
      emitDense();
      break;
    case LayerMode::Shortlist:
      emitShortlist();
      break;
    default:
      e.ifThenElse(dense, emitDense, emitShortlist);
    }
    CombineOp::create(rewriter, loc, o, op.getWProj(), op.getBProj(),
                      cfg.getTokenSparse() ? tokenMask : Value(),
                      packed ? rowMask : Value(), packed ? whole : Value(),
                      op.getY(), op.getConsensus());

    if (proto) {
      Value update = e.cmp(
          P::ne, e.budget(vec, -1, rt::kBudgetUpdatePrototypes), e.idx(0));
      scf::IfOp::create(rewriter, loc, update, [&](OpBuilder &, Location) {
        ProtoUpdateOp::create(rewriter, loc, x, gates, op.getPrototypes(),
                              op.getUsage(), op.getConfidence(),
                              rewriter.getF64FloatAttr(cfg.getProtoDecay()));
        scf::YieldOp::create(rewriter, loc);
      });
    }

    e.storeStat(stats, rt::kStatsMode, mode);
    e.storeStat(stats, rt::kStatsDenseReason, reason);
    e.storeStat(stats, rt::kStatsTopK, topk);
    e.storeStat(stats, rt::kStatsNucleusK, nucleus);
    e.storeStat(stats, rt::kStatsKAdapt, kAdapt);
    e.storeStat(stats, rt::kStatsMaxActiveRows, pack.getMaxRowCount());
    e.storeStat(stats, rt::kStatsActiveRows, pack.getActiveRows());
    e.storeStat(stats, rt::kStatsPacked, pack.getCount());
    SmallVector<Value> bufs = {gates,   heads,  rowMask, packedRow, packedToken,
                               offsets, qkv[0], qkv[1],  qkv[2],    o};
    if (sim)
      bufs.push_back(sim);
    release(bufs);
  }
};

struct ProteusDecomposePass
    : public mlir::proteus::impl::ProteusDecomposePassBase<
          ProteusDecomposePass> {
  void runOnOperation() override {
    bool missing = false;
    getOperation()->walk(
        [&](LayerOp op) {
          if (!op.getBudgetAttr()) {
            op.emitOpError()
                << "has no #proteus.budget: run -proteus-specialize first";
            missing = true;
          }
        });
    if (missing)
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    populateProteusDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::proteus::populateProteusDecomposePatterns(
    RewritePatternSet &patterns) {
  patterns.add<DecomposeLayer>(patterns.getContext());
}
