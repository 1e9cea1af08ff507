//===- BlockedProducts.cpp - Cache-blocked matrix products ----------------===//
//
// See BlockedProducts.h. The weight is read once into a transposed binary64
// scratch (depth x columns rounded up to the tile), so a register tile's
// columns are one vector load per k; a block of rows then walks the column
// tiles, each tile's slice of the scratch staying in L1 across the block.
// Every vector lane is one output's sum, so vectorizing changes no order.
//
//===----------------------------------------------------------------------===//

#include "BlockedProducts.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::proteus;

namespace {
/// Rows and columns of a register tile: 4 x 4 binary64 accumulators fill
/// eight of the 16 SSE registers of the x86-64 baseline.
constexpr int64_t kTileRows = 4, kTileCols = 4;
/// Rows of a block: one parallel iteration.
constexpr int64_t kBlockRows = 32;
} // namespace

namespace mlir::proteus {

void parallelBlocks(LoopBuilder &lb, Value n, int64_t block,
                    function_ref<void(Value lo, Value hi)> body) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Value blockI = lb.idx(block);
  Value count = lb.div(lb.add(n, lb.idx(block - 1)), blockI);
  scf::ParallelOp::create(b, loc, ValueRange{lb.idx(0)}, ValueRange{count},
                          ValueRange{lb.idx(1)},
                          [&](OpBuilder &, Location, ValueRange ivs) {
                            Value lo = lb.mul(ivs[0], blockI);
                            body(lo, lb.min(lb.add(lo, blockI), n));
                          });
}

/// The transposed, zero-padded binary64 weight (depth x colsPad).
static Value transposedWeight(LoopBuilder &lb, const BlockedProduct &p,
                              int64_t colsPad) {
  Value wt = lb.alloc(lb.builder().getF64Type(), {p.depth, lb.idx(colsPad)});
  Value zero = lb.idx(0), cols = lb.idx(p.cols);
  lb.forLoop(zero, lb.idx(colsPad), [&](Value col) {
    Value real = lb.lt(col, cols);
    Value safe = lb.min(col, lb.idx(p.cols - 1));
    lb.forLoop(zero, p.depth, [&](Value k) {
      Value g = lb.div(k, p.group), j = lb.rem(k, p.group);
      Value w = lb.toF64(p.weight(safe, k, g, j));
      lb.store(lb.select(real, w, lb.f64(0.0)), wt, {k, col});
    });
  });
  return wt;
}

/// The binary64 weights of columns c0 .. at k, from the scratch or in place
/// (columns past the last repeat it; their sums are dropped).
static Value weightVector(LoopBuilder &lb, const BlockedProduct &p, Value wt,
                          VectorType vecType, Value c0, Value k, Value g,
                          Value j) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  if (wt)
    return vector::LoadOp::create(b, loc, vecType, wt, ValueRange{k, c0});
  SmallVector<Value> lanes;
  for (int64_t c = 0; c < kTileCols; ++c) {
    Value col = lb.min(lb.add(c0, lb.idx(c)), lb.idx(p.cols - 1));
    lanes.push_back(lb.toF64(p.weight(col, k, g, j)));
  }
  return vector::FromElementsOp::create(b, loc, vecType, lanes);
}

/// The accumulators of one register tile (rows r[i], columns c0 ..).
static SmallVector<Value> tileSums(LoopBuilder &lb, const BlockedProduct &p,
                                   Value wt, ArrayRef<Value> r, Value c0) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  auto vecType = VectorType::get({kTileCols}, b.getF64Type());
  Value zeroVec = arith::ConstantOp::create(
      b, loc, vecType, DenseElementsAttr::get(vecType, 0.0));
  SmallVector<Value> init(r.size(), zeroVec);
  auto groupSums = [&](Value g) {
    return lb.forAcc(lb.idx(0), p.group, init, [&](Value j, ValueRange acc) {
      Value k = lb.add(lb.mul(g, p.group), j);
      Value w = weightVector(lb, p, wt, vecType, c0, k, g, j);
      SmallVector<Value> next;
      for (auto [i, row] : llvm::enumerate(r)) {
        Value x = lb.toF64(p.lhs(row, k, g, j));
        Value xv = vector::BroadcastOp::create(b, loc, vecType, x);
        Value prod = arith::MulFOp::create(b, loc, xv, w);
        next.push_back(arith::AddFOp::create(b, loc, acc[i], prod));
      }
      return next;
    });
  };
  if (p.oneGroup)
    return groupSums(lb.idx(0));
  return lb.forAcc(lb.idx(0), lb.div(p.depth, p.group), init,
                   [&](Value g, ValueRange acc) {
                     SmallVector<Value> s = groupSums(g), next;
                     for (auto [a, v] : llvm::zip(acc, s))
                       next.push_back(arith::AddFOp::create(b, loc, a, v));
                     return next;
                   });
}

void emitBlockedProduct(LoopBuilder &lb, const BlockedProduct &p) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  int64_t colsPad = (p.cols + kTileCols - 1) / kTileCols * kTileCols;
  Value wt = p.transpose ? transposedWeight(lb, p, colsPad) : Value();
  Value lastRow = lb.sub(p.rows, lb.idx(1));
  parallelBlocks(lb, p.rows, kBlockRows, [&](Value lo, Value hi) {
    lb.forLoop(lb.idx(0), lb.idx(colsPad / kTileCols), [&](Value ct) {
      Value c0 = lb.mul(ct, lb.idx(kTileCols));
      Value tiles = lb.div(lb.add(lb.sub(hi, lo), lb.idx(kTileRows - 1)),
                           lb.idx(kTileRows));
      lb.forLoop(lb.idx(0), tiles, [&](Value tile) {
        Value r0 = lb.add(lo, lb.mul(tile, lb.idx(kTileRows)));
        // Rows past the block repeat its last row; their sums are dropped.
        SmallVector<Value> r;
        for (int64_t i = 0; i < kTileRows; ++i)
          r.push_back(lb.min(lb.add(r0, lb.idx(i)), lastRow));
        SmallVector<Value> acc = tileSums(lb, p, wt, r, c0);
        for (int64_t i = 0; i < kTileRows; ++i)
          lb.ifThen(lb.lt(lb.add(r0, lb.idx(i)), hi), [&] {
            SmallVector<Value> sums;
            for (int64_t c = 0; c < kTileCols; ++c)
              sums.push_back(vector::ExtractOp::create(b, loc, acc[i], c));
            p.epilogue(r[i], c0, sums);
          });
      });
    });
  });
  if (wt)
    lb.dealloc(wt);
}

} // namespace mlir::proteus
