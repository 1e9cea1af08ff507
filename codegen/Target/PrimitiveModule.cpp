//===- PrimitiveModule.cpp - The primitive entry points of a bundle -------===//
//
// The CPU library's functions around single proteus ops (contract.h,
// chunked_contract.h): the candidate rule, shortlist and dense attention,
// token selection, the Top-A sampler and the chunked pipeline's selections.
//
//===----------------------------------------------------------------------===//

#include "proteus/Target/PrimitiveModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus/Target/TopAModule.h"
#include "proteus_rt/chunked_contract.h"
#include "proteus_rt/contract.h"

using namespace mlir;
using namespace mlir::proteus;

func::FuncOp mlir::proteus::buildEntryFunc(OpBuilder &b, Location loc,
                                           StringRef name,
                                           ArrayRef<Type> args) {
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return fn;
}

namespace {

/// budget[slot] of the i64 budget vector, as an index.
Value budgetSlot(OpBuilder &b, Location loc, Value budget, int64_t slot) {
  Value i = arith::ConstantIndexOp::create(b, loc, slot);
  Value v = memref::LoadOp::create(b, loc, budget, ValueRange{i});
  return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
}

/// Materialised candidates, attention over them, and token selection.
void buildAttentionFuncs(OpBuilder &b, Location loc, ConfigAttr cfg) {
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  auto memref = [](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t);
  };
  auto entry = [&](StringRef name, ArrayRef<Type> args) {
    return buildEntryFunc(b, loc, name, args);
  };
  OpBuilder::InsertionGuard guard(b);
  {
    auto fn = entry(proteus_rt::kShortlistEntry,
                    {memref({dyn}, i64), memref({dyn, dyn}, f32),
                     memref({dyn}, i64), memref({dyn}, i64),
                     memref({dyn, dyn}, i64), memref({dyn}, i64)});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    auto slot = [&](int64_t s) { return budgetSlot(b, loc, a[3], s); };
    bool proto = cfg.getUseProto();
    ShortlistOp::create(
        b, loc, a[0], proto ? a[1] : Value(), proto ? a[2] : Value(),
        slot(proteus_rt::kBudgetT), slot(proteus_rt::kBudgetEffectiveL),
        slot(proteus_rt::kBudgetWindow), slot(proteus_rt::kBudgetLocalCap),
        slot(proteus_rt::kBudgetAnchorCap), slot(proteus_rt::kBudgetProtoCap),
        a[4], a[5], static_cast<uint64_t>(cfg.getAnchorStride()),
        cfg.getUseLocal(), cfg.getUseAnchors(), proto);
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto qkv = memref({dyn, dyn, dyn}, f32);
    auto fn = entry(proteus_rt::kDenseAttentionEntry, {qkv, qkv, qkv, qkv});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    DenseAttentionOp::create(b, loc, a[0], a[1], a[2], a[3], TileAttr());
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto qkv = memref({dyn, dyn, dyn}, f32);
    auto fn = entry(proteus_rt::kShortlistAttentionEntry,
                    {qkv, qkv, qkv, memref({dyn}, i64), memref({dyn}, i64),
                     memref({dyn, dyn}, i64), memref({dyn}, i64), qkv});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    Value count = memref::DimOp::create(b, loc, a[3], 0);
    ShortlistAttentionOp::create(
        b, loc, a[0], a[1], a[2], a[3], a[4], count, a[5], a[6], ValueRange{},
        Value(), a[7], uint64_t(0), false, false, false, Int8ModeAttr(),
        llvm::APFloat(1.0), TileAttr());
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointAfter(b.getInsertionBlock()->getParentOp());
  {
    auto fn = entry(
        proteus_rt::kSelectTokensEntry,
        {memref({dyn, dyn}, f32), memref({dyn}, i64), memref({dyn, dyn}, i8)});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    SelectTokensOp::create(
        b, loc, a[0], budgetSlot(b, loc, a[1], proteus_rt::kBudgetTokenKeep),
        budgetSlot(b, loc, a[1], proteus_rt::kBudgetGuard), a[2],
        b.getF64FloatAttr(cfg.getKeepThreshold()));
    func::ReturnOp::create(b, loc);
  }
}

/// The chunked pipeline's selections (chunked_contract.h).
void buildChunkedFuncs(OpBuilder &b, Location loc) {
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  auto vec = [&](Type t) { return MemRefType::get({dyn}, t); };
  auto one = MemRefType::get({1}, i64);
  auto entry = [&](StringRef name, ArrayRef<Type> args) {
    return buildEntryFunc(b, loc, name, args);
  };
  OpBuilder::InsertionGuard guard(b);
  Block *top = b.getInsertionBlock();
  {
    auto fn =
        entry(proteus_rt::kChunkNucleusEntry,
              {vec(f32), vec(i8), f32, i64, i64, vec(i64), vec(f32), one});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    auto index = [&](Value v) {
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
    };
    ChunkNucleusOp::create(b, loc, a[0], a[1], a[2], index(a[3]), index(a[4]),
                           a[5], a[6], a[7]);
    func::ReturnOp::create(b, loc);
  }
  b.setInsertionPointToEnd(top);
  {
    auto fn = entry(proteus_rt::kShortlistMergeEntry,
                    {vec(i64), vec(f32), vec(i64), vec(f32), one});
    b.setInsertionPointToStart(fn.addEntryBlock());
    auto a = fn.getArguments();
    ShortlistMergeOp::create(b, loc, a[0], a[1], a[2], a[3], a[4]);
    func::ReturnOp::create(b, loc);
  }
}

} // namespace

void mlir::proteus::buildPrimitiveFuncs(OpBuilder &b, Location loc,
                                        ConfigAttr cfg) {
  buildAttentionFuncs(b, loc, cfg);
  buildTopAFuncs(b, loc, /*cInterface=*/true);
  buildChunkedFuncs(b, loc);
}
