//===- ProteusSpecialize.cpp - Fold a setting into #proteus.budget --------===//
//
// Evaluates the shared schedule for one (alpha, density) setting and attaches
// the result to every proteus.layer as #proteus.budget.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Support/Config.h"
#include "proteus/Transforms/Passes.h"
#include "proteus_rt/contract.h"

namespace mlir::proteus {
#define GEN_PASS_DEF_PROTEUSSPECIALIZEPASS
#include "proteus/Transforms/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;
using namespace mlir::proteus;

namespace {
/// The mode a setting implies before any data is seen (REFERENCE.md 4.2).
LayerMode chooseMode(const proteus_rt::Config &c, double alpha,
                     int64_t seqLen) {
  if (seqLen > 0 && c.small_seq_dense > 0 && seqLen <= c.small_seq_dense)
    return LayerMode::Fastpath;
  if (alpha >= 0.95)
    return LayerMode::Shortlist;
  if (alpha <= c.dense_alpha_cutoff && !c.quantize_int8)
    return LayerMode::Dense;
  return LayerMode::Auto;
}

struct SpecializeLayer : public OpRewritePattern<LayerOp> {
  SpecializeLayer(MLIRContext *ctx, double alpha, double density)
      : OpRewritePattern<LayerOp>(ctx), alpha(alpha), density(density) {}

  LogicalResult matchAndRewrite(LayerOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getBudgetAttr())
      return rewriter.notifyMatchFailure(op, "already specialized");
    proteus_rt::Config c = toScheduleConfig(op.getConfig());
    if (density > 0.0)
      c.keep_ratio_base = density;
    auto xType = op.getX().getType();
    int64_t seqLen = xType.getDimSize(1), batch = xType.getDimSize(0);
    bool staticT = !ShapedType::isDynamic(seqLen);
    if (staticT && seqLen < 1)
      return op.emitOpError()
             << "cannot specialize for a sequence length of " << seqLen;

    // Budgets at a stand-in T: kept only where T is static or cannot matter.
    int64_t probeT = staticT ? seqLen : std::max<int64_t>(c.seq_high, 1);
    int64_t probeB = ShapedType::isDynamic(batch) ? 1 : batch;
    proteus_rt::HostSchedule s =
        proteus_rt::makeBudget(c, probeB, probeT, alpha, false);
    auto pick = [&](int64_t v, bool independentOfT) {
      return staticT || independentOfT ? v : -1;
    };
    // At alpha = 1 the T-dependent dense terms of section 4.3 vanish exactly.
    bool candidatesFixed =
        alpha == 1.0 && c.L_schedule == proteus_rt::LSchedule::Fixed;
    bool kFixed = c.h_active_min == c.h_active_max;
    SmallVector<int64_t> topk(s.budget.begin() + proteus_rt::kBudgetSize,
                              s.budget.end());

    auto budget = BudgetAttr::get(
        getContext(), alpha, c.keep_ratio_base,
        chooseMode(c, alpha, staticT ? seqLen : -1), staticT ? seqLen : -1,
        pick(s.budget[proteus_rt::kBudgetKDense], kFixed),
        pick(s.budget[proteus_rt::kBudgetTokenKeep], false),
        pick(s.candidates.effective_L, candidatesFixed),
        pick(s.candidates.window, candidatesFixed),
        pick(s.candidates.local_cap, candidatesFixed),
        pick(s.candidates.anchor_cap, candidatesFixed),
        pick(s.candidates.proto_cap, candidatesFixed), topk);
    rewriter.modifyOpInPlace(op, [&] { op.setBudgetAttr(budget); });
    return success();
  }

  double alpha, density;
};

struct ProteusSpecializePass
    : public mlir::proteus::impl::ProteusSpecializePassBase<
          ProteusSpecializePass> {
  using Base::Base;

  void runOnOperation() override {
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      emitError(getOperation()->getLoc())
          << "alpha must be in [0, 1], got " << alpha;
      return signalPassFailure();
    }
    if (density != -1.0 && !(density > 0.0 && density <= 1.0)) {
      emitError(getOperation()->getLoc())
          << "density must be in (0, 1], got " << density;
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateProteusSpecializePatterns(patterns, alpha, density);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::proteus::populateProteusSpecializePatterns(
    RewritePatternSet &patterns, double alpha, double density) {
  patterns.add<SpecializeLayer>(patterns.getContext(), alpha, density);
}
