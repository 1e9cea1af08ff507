//===- ChunkedModule.cpp - The chunked pipeline's functions of a bundle ---===//

#include "proteus/Target/ChunkedModule.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/chunked_contract.h"

using namespace mlir;
using namespace mlir::proteus;

void mlir::proteus::buildChunkedFuncs(OpBuilder &b, Location loc) {
  int64_t dyn = ShapedType::kDynamic;
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), i8 = b.getI8Type();
  auto vec = [&](Type t) { return MemRefType::get({dyn}, t); };
  auto one = MemRefType::get({1}, i64);
  auto entry = [&](StringRef name, ArrayRef<Type> args) {
    auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, {}));
    fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
    return fn;
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
