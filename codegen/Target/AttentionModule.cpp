//===- AttentionModule.cpp - The GPU kernels of one setting ---------------===//

#include "proteus/Target/AttentionModule.h"
#include "proteus/Target/TopAModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "proteus/Conversion/AttentionTiles.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Transforms/Passes.h"
#include "proteus_rt/contract.h"

using namespace mlir;
using namespace mlir::proteus;

std::string mlir::proteus::gpuAttentionUnsupported(ConfigAttr cfg) {
  int64_t d = cfg.getHeadDim();
  if (d > 32 ? d % 32 != 0 : 32 % d != 0)
    return "head dim " + std::to_string(d) +
           " (the GPU kernels need D dividing 32 or a multiple of 32)";
  return "";
}

func::FuncOp mlir::proteus::buildLayerFunc(OpBuilder &b, Location loc,
                                           ConfigAttr cfg, StringRef name,
                                           BudgetAttr budget) {
  int64_t dyn = ShapedType::kDynamic, c = cfg.getDModel(), g = cfg.getGates();
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  auto mem = [](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t);
  };
  SmallVector<Type> args = {mem({dyn, dyn, c}, f32), mem({3 * c, c}, f32),
                            mem({dyn}, f32),         mem({c, c}, f32),
                            mem({dyn}, f32),         mem({g, c}, f32),
                            mem({dyn, dyn}, f32),    mem({dyn}, f32),
                            mem({dyn}, f32),         mem({dyn}, i64),
                            mem({dyn, dyn, c}, f32), mem({dyn, dyn}, i8),
                            mem({dyn, dyn}, f32),    mem({dyn}, i64),
                            mem({dyn, dyn, c}, f32)};
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  OpBuilder::InsertionGuard guard(b);
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  auto a = body->getArguments();
  bool bias = cfg.getBias(), proto = cfg.getProtoEnabled();
  LayerOp::create(b, loc, a[0], a[1], a[3], a[5], bias ? a[2] : Value(),
                  bias ? a[4] : Value(), proto ? a[6] : Value(),
                  proto ? a[7] : Value(), proto ? a[8] : Value(), a[9], a[10],
                  a[11], a[12], a[13], a[14], cfg, budget);
  func::ReturnOp::create(b, loc);
  return fn;
}

BudgetAttr mlir::proteus::getSettingBudget(MLIRContext *ctx, ConfigAttr cfg,
                                           double alpha, double density) {
  Location loc = UnknownLoc::get(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module->getBody());
  func::FuncOp fn = buildLayerFunc(b, loc, cfg, "layer", BudgetAttr());
  RewritePatternSet patterns(ctx);
  populateProteusSpecializePatterns(patterns, alpha, density);
  (void)applyPatternsGreedily(fn, std::move(patterns));
  BudgetAttr budget;
  fn.walk([&](LayerOp op) { budget = op.getBudgetAttr(); });
  return budget;
}

OwningOpRef<ModuleOp> mlir::proteus::buildAttentionModule(
    MLIRContext *ctx, ConfigAttr cfg, BudgetAttr budget,
    const AttentionModuleOptions &options, std::string &skipped) {
  Location loc = UnknownLoc::get(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module->getBody());
  int64_t dyn = ShapedType::kDynamic, d = cfg.getHeadDim();
  Type i64 = b.getI64Type();
  // The prototype piece keeps each query's list in shared memory (L_max at
  // most kGpuProtoPieceMaxL).
  bool proto = cfg.getUseProto();
  bool ruleOnGPU = !proto || cfg.getLMax() <= proteus_rt::kGpuProtoPieceMaxL;
  if (!ruleOnGPU)
    skipped = "the prototype candidate piece with L_max " +
              std::to_string(cfg.getLMax()) + " > " +
              std::to_string(proteus_rt::kGpuProtoPieceMaxL) +
              " (prt_gpu_shortlist_attention and the layer's kernel keep "
              "each query's list in shared memory)";
  // The rule form quantizes as the layer does (REFERENCE.md 6.4).
  Int8ModeAttr int8 = cfg.getQuantizeInt8()
                          ? Int8ModeAttr::get(ctx, cfg.getInt8Mode())
                          : Int8ModeAttr();
  SmallVector<Type> elems = options.elementTypes;
  if (elems.empty())
    elems = {b.getF32Type(), b.getBF16Type(), b.getF16Type()};
  for (Type elem : elems) {
    auto qkv = MemRefType::get({dyn, dyn, d}, elem);
    SmallVector<Type> args = {qkv,
                              qkv,
                              qkv,
                              qkv,
                              MemRefType::get({dyn}, i64),
                              MemRefType::get({dyn}, i64),
                              MemRefType::get({dyn, dyn}, i64),
                              MemRefType::get({dyn}, i64),
                              MemRefType::get({dyn}, i64)};
    if (proto) // the prototype scores (B, T)
      args.push_back(MemRefType::get({dyn, dyn}, b.getF32Type()));
    std::string name;
    llvm::raw_string_ostream os(name);
    os << "attention_" << elem;
    auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    Value count = memref::DimOp::create(b, loc, a[4], 0);
    auto budgetValue = [&](int64_t staticValue, int64_t slot) -> Value {
      if (staticValue >= 0)
        return arith::ConstantIndexOp::create(b, loc, staticValue);
      Value i = arith::ConstantIndexOp::create(b, loc, slot);
      Value v = memref::LoadOp::create(b, loc, a[8], ValueRange{i});
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    if (ruleOnGPU && options.rule) {
      SmallVector<Value> caps = {
          budgetValue(budget.getEffectiveL(), proteus_rt::kBudgetEffectiveL),
          budgetValue(budget.getWindow(), proteus_rt::kBudgetWindow),
          budgetValue(budget.getLocalCap(), proteus_rt::kBudgetLocalCap),
          budgetValue(budget.getAnchorCap(), proteus_rt::kBudgetAnchorCap),
          budgetValue(budget.getProtoCap(), proteus_rt::kBudgetProtoCap)};
      auto rule = ShortlistAttentionOp::create(
          b, loc, a[0], a[1], a[2], a[4], a[5], count, Value(), Value(), caps,
          proto ? a[9] : Value(), a[3],
          static_cast<uint64_t>(cfg.getAnchorStride()), cfg.getUseLocal(),
          cfg.getUseAnchors(), proto, int8,
          llvm::APFloat(cfg.getQuantizeInt8() ? double(cfg.getInt8Percentile())
                                              : 1.0),
          TileAttr());
      if (proto)
        rule->setAttr(kMaxLAttr, b.getI64IntegerAttr(cfg.getLMax()));
    }
    if (options.listed)
      ShortlistAttentionOp::create(
          b, loc, a[0], a[1], a[2], a[4], a[5], count, a[6], a[7], ValueRange{},
          Value(), a[3], uint64_t(0), false, false, false, Int8ModeAttr(),
          llvm::APFloat(1.0), TileAttr());
    if (options.dense)
      DenseAttentionOp::create(b, loc, a[0], a[1], a[2], a[3], TileAttr());
    func::ReturnOp::create(b, loc);
  }
  // The setting's GPU layer kernels (f32), built by converting its layer.
  if (options.layer && gpuLayerUnsupported(cfg).empty())
    buildLayerFunc(b, loc, cfg, "layer", budget);
  if (options.topA)
    buildTopAFuncs(b, loc, /*cInterface=*/false);
  return module;
}

TileAttr mlir::proteus::toTileAttr(MLIRContext *ctx,
                                   const proteus_tune::Tile &t) {
  return TileAttr::getChecked([] { return InFlightDiagnostic(); }, ctx,
                              t.block_m, t.block_n, t.warps, t.stages, t.lanes,
                              t.unroll, t.vector, t.pad);
}

proteus_tune::Tile mlir::proteus::toTile(TileAttr a) {
  proteus_tune::Tile t;
  t.block_m = a.getBlockM();
  t.block_n = a.getBlockN();
  t.warps = a.getWarps();
  t.stages = a.getStages();
  t.lanes = a.getLanes();
  t.unroll = a.getUnroll();
  t.vector = a.getVector();
  t.pad = a.getPad();
  return t;
}

SmallVector<TileChoice>
mlir::proteus::applyTuningDatabase(ModuleOp module,
                                   const proteus_tune::Database *db,
                                   StringRef shapeClass, StringRef arch) {
  SmallVector<TileChoice> choices;
  MLIRContext *ctx = module.getContext();
  const std::string compiler = getTuningCompilerVersion();
  module.walk([&](Operation *op) {
    if (!isa<ShortlistAttentionOp, DenseAttentionOp>(op))
      return;
    std::string why;
    FailureOr<AttentionKernel> kernel = getAttentionKernel(op, why);
    if (failed(kernel))
      return;
    TileChoice choice{kernel->name, kernel->setting,
                      getDefaultTile(ctx, kernel->target)};
    if (!db) {
      choice.note = "no tuning database";
    } else if (const proteus_tune::Entry *e =
                   db->find(kernel->name, kernel->setting, shapeClass.str(),
                            arch.str(), compiler)) {
      TileAttr tuned = toTileAttr(ctx, e->best.tile);
      std::string bad = tuned ? checkTile(kernel->target, tuned)
                              : "not a valid #proteus.tile";
      if (bad.empty()) {
        choice.tile = tuned;
        choice.tuned = true;
        choice.note = "measured on " + e->device + " (driver " +
                      std::to_string(e->driver) + ", " + e->measuredAt +
                      "): " + std::to_string(e->best.ms) + " ms, default " +
                      std::to_string(e->defaults.ms) + " ms";
      } else {
        choice.note = "the database's tile " +
                      proteus_tune::toString(e->best.tile) +
                      " does not fit: " + bad;
      }
    } else {
      choice.note = db->explainMiss(kernel->name, kernel->setting,
                                    shapeClass.str(), arch.str(), compiler);
    }
    op->setAttr("tile", choice.tile);
    choices.push_back(std::move(choice));
  });
  return choices;
}
