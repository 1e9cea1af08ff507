//===- BlockedProducts.cpp - Cache-blocked matrix products ----------------===//
//
// See BlockedProducts.h. The weight is read once into a transposed binary64
// scratch laid out by column tile (tile, depth, kTileCols), so a register
// tile's columns are one contiguous load per k and a tile's slice of the
// scratch is one contiguous run that streams through L1; a block of rows then
// walks the column tiles, each tile's slice staying in cache across the block.
// Every vector lane is one output's sum, so vectorizing changes no order.
//
//===----------------------------------------------------------------------===//

#include "BlockedProducts.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::proteus;

namespace {
/// Rows and columns of a register tile: 6 x 8 binary64 accumulators in 12
/// of AVX2's 16 registers (four sums per register), two for the weights and
/// one for the broadcast factor: each k loads 2 + 6 values for 48
/// multiply-adds (4 x 8 took a quarter longer on the EPYC build machine). The
/// x86-64 baseline's SSE registers hold half as much, so there the tile
/// spills; that library is the fallback for CPUs without AVX2.
constexpr int64_t kTileRows = 6, kTileCols = 8;
/// Rows of a block (one parallel iteration): eight register tiles.
constexpr int64_t kBlockRows = 48;
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

/// The transposed, zero-padded binary64 weight by column tile: element
/// (ct, k, c) is w(ct * kTileCols + c, k). With `finite` (one i8 per group,
/// set), clears the flag of each group whose weights hold a non-finite
/// number.
static Value transposedWeight(LoopBuilder &lb, const BlockedProduct &p,
                              int64_t colsPad, Value finite) {
  Value zero = lb.idx(0), cols = lb.idx(p.cols), width = lb.idx(kTileCols);
  Value wt = lb.alloc(lb.builder().getF64Type(),
                      {lb.idx(colsPad / kTileCols), p.depth, width});
  Value inf = lb.f64(std::numeric_limits<double>::infinity());
  lb.forLoop(zero, lb.idx(colsPad), [&](Value col) {
    Value ct = lb.div(col, width), c = lb.rem(col, width);
    Value real = lb.lt(col, cols);
    Value safe = lb.min(col, lb.idx(p.cols - 1));
    lb.forLoop(zero, p.depth, [&](Value k) {
      Value g = lb.div(k, p.group), j = lb.rem(k, p.group);
      Value w = lb.toF64(p.weight(safe, k, g, j));
      lb.store(lb.select(real, w, lb.f64(0.0)), wt, {ct, k, c});
      if (finite) // NaN fails the comparison too
        lb.ifThen(lb.notI(lb.lt(lb.abs(w), inf)),
                  [&] { lb.store(lb.i8(0), finite, g); });
    });
  });
  return wt;
}

/// The binary64 weights of columns c0 = ct * kTileCols .. at k, from the
/// scratch or in place (columns past the last repeat it; their sums are
/// dropped).
static Value weightVector(LoopBuilder &lb, const BlockedProduct &p, Value wt,
                          VectorType vecType, Value ct, Value k, Value g,
                          Value j) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  if (wt)
    return vector::LoadOp::create(b, loc, vecType, wt,
                                  ValueRange{ct, k, lb.idx(0)});
  Value c0 = lb.mul(ct, lb.idx(kTileCols));
  SmallVector<Value> lanes;
  for (int64_t c = 0; c < kTileCols; ++c) {
    Value col = lb.min(lb.add(c0, lb.idx(c)), lb.idx(p.cols - 1));
    lanes.push_back(lb.toF64(p.weight(col, k, g, j)));
  }
  return vector::FromElementsOp::create(b, loc, vecType, lanes);
}

/// The factor of a tile's row `i` at k = g * group + j, in binary64.
using TileLhs = function_ref<Value(int64_t i, Value k, Value g, Value j)>;

/// A register tile's accumulators, all 0.0.
static SmallVector<Value> zeroTile(LoopBuilder &lb) {
  auto vecType = VectorType::get({kTileCols}, lb.builder().getF64Type());
  Value zeroVec = arith::ConstantOp::create(
      lb.builder(), lb.getLoc(), vecType, DenseElementsAttr::get(vecType, 0.0));
  return SmallVector<Value>(kTileRows, zeroVec);
}

/// The sums of one register tile (kTileRows rows, the columns of column tile
/// ct) over group g: one vector per row, each lane from 0.0 in k order.
static SmallVector<Value> groupTileSums(LoopBuilder &lb,
                                        const BlockedProduct &p, Value wt,
                                        TileLhs lhs, Value ct, Value g) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  auto vecType = VectorType::get({kTileCols}, b.getF64Type());
  SmallVector<Value> init = zeroTile(lb);
  return lb.forAcc(lb.idx(0), p.group, init, [&](Value j, ValueRange acc) {
    Value k = lb.add(lb.mul(g, p.group), j);
    Value w = weightVector(lb, p, wt, vecType, ct, k, g, j);
    SmallVector<Value> next;
    for (int64_t i = 0; i < kTileRows; ++i) {
      Value xv = vector::BroadcastOp::create(b, loc, vecType, lhs(i, k, g, j));
      Value prod = arith::MulFOp::create(b, loc, xv, w);
      next.push_back(arith::AddFOp::create(b, loc, acc[i], prod));
    }
    return next;
  });
}

/// The accumulators of one register tile: the groups' sums added in order
/// to a running sum from 0.0 (or the one group's sum).
static SmallVector<Value> tileSums(LoopBuilder &lb, const BlockedProduct &p,
                                   Value wt, TileLhs lhs, Value ct) {
  if (p.oneGroup)
    return groupTileSums(lb, p, wt, lhs, ct, lb.idx(0));
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  SmallVector<Value> init = zeroTile(lb);
  return lb.forAcc(
      lb.idx(0), lb.div(p.depth, p.group), init, [&](Value g, ValueRange acc) {
        SmallVector<Value> s = groupTileSums(lb, p, wt, lhs, ct, g);
        SmallVector<Value> next;
        for (auto [a, v] : llvm::zip(acc, s))
          next.push_back(arith::AddFOp::create(b, loc, a, v));
        return next;
      });
}

/// The block's rows [lo, hi) of the left factor in binary64 (kBlockRows x
/// depth), read once: the tiles then load each factor as it is broadcast,
/// with no conversion in the inner loop.
static Value blockLhs(LoopBuilder &lb, const BlockedProduct &p, Value lo,
                      Value hi) {
  Value xs = lb.alloc(lb.builder().getF64Type(), {lb.idx(kBlockRows), p.depth});
  Value zero = lb.idx(0);
  lb.forLoop(zero, lb.sub(hi, lo), [&](Value i) {
    Value row = lb.add(lo, i);
    lb.forLoop(zero, lb.div(p.depth, p.group), [&](Value g) {
      lb.forLoop(zero, p.group, [&](Value j) {
        Value k = lb.add(lb.mul(g, p.group), j);
        lb.store(lb.toF64(p.lhs(row, k, g, j)), xs, {i, k});
      });
    });
  });
  return xs;
}

/// The rows of a block's register tile `tile` among `count` rows: local
/// indices (into the block's scratch) through `rowAt`, rows past the count
/// repeating the last (their sums are dropped).
static SmallVector<Value> tileRows(LoopBuilder &lb, Value tile, Value count,
                                   function_ref<Value(Value)> rowAt) {
  Value i0 = lb.mul(tile, lb.idx(kTileRows));
  Value last = lb.sub(count, lb.idx(1));
  SmallVector<Value> local;
  for (int64_t i = 0; i < kTileRows; ++i)
    local.push_back(rowAt(lb.min(lb.add(i0, lb.idx(i)), last)));
  return local;
}

static Value ceilDiv(LoopBuilder &lb, Value n, int64_t d) {
  return lb.div(lb.add(n, lb.idx(d - 1)), lb.idx(d));
}

/// Hands rows [0, rows) of `sums` (a scratch of binary64 sums, columns
/// [0, width)) to the epilogue, two columns at a time from column col0:
/// one copy of the epilogue's code, in a loop, instead of one per output of
/// a tile.
static void emitRows(LoopBuilder &lb, const BlockedProduct &p, Value sums,
                     Value rows, int64_t width,
                     function_ref<Value(Value)> rowAt, Value col0) {
  Value zero = lb.idx(0);
  lb.forLoop(zero, rows, [&](Value i) {
    lb.forLoop(zero, lb.idx(width / 2), [&](Value pair) {
      Value c = lb.mul(pair, lb.idx(2));
      Value c1 = lb.add(c, lb.idx(1));
      SmallVector<Value> two = {lb.load(sums, {i, c}), lb.load(sums, {i, c1})};
      p.epilogue(rowAt(i), lb.add(col0, c), two);
    });
  });
}

/// One block's outputs, the groups' sums added in order in registers.
static void blockDense(LoopBuilder &lb, const BlockedProduct &p, Value wt,
                       Value xs, int64_t colTiles, Value lo, Value hi) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Value n = lb.sub(hi, lo);
  Value out = lb.alloc(b.getF64Type(), {lb.idx(kTileRows), lb.idx(kTileCols)});
  lb.forLoop(lb.idx(0), lb.idx(colTiles), [&](Value ct) {
    Value c0 = lb.mul(ct, lb.idx(kTileCols));
    lb.forLoop(lb.idx(0), ceilDiv(lb, n, kTileRows), [&](Value tile) {
      SmallVector<Value> local =
          tileRows(lb, tile, n, [](Value i) { return i; });
      auto lhs = [&](int64_t i, Value k, Value g, Value j) {
        if (xs)
          return lb.load(xs, {local[i], k});
        return lb.toF64(p.lhs(lb.add(lo, local[i]), k, g, j));
      };
      SmallVector<Value> acc = tileSums(lb, p, wt, lhs, ct);
      for (int64_t i = 0; i < kTileRows; ++i)
        vector::StoreOp::create(b, loc, acc[i], out,
                                ValueRange{lb.idx(i), lb.idx(0)});
      Value i0 = lb.mul(tile, lb.idx(kTileRows));
      Value rows = lb.min(lb.idx(kTileRows), lb.sub(n, i0));
      emitRows(
          lb, p, out, rows, kTileCols,
          [&](Value i) { return lb.add(lo, lb.add(i0, i)); }, c0);
    });
  });
  lb.dealloc(out);
}

/// One block's outputs with p.groupActive: group by group, the block's rows
/// that use the group (all of them where the group's weights are not all
/// finite) in register tiles, each tile's sums added to the rows' running
/// sums in a scratch (from 0.0, in group order); a group a row does not use
/// would add +0.0, which changes no running sum (none is -0.0).
static void blockByGroup(LoopBuilder &lb, const BlockedProduct &p, Value wt,
                         Value xs, Value finite, int64_t colTiles, Value lo,
                         Value hi) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  auto vecType = VectorType::get({kTileCols}, b.getF64Type());
  Value zero = lb.idx(0), one = lb.idx(1), n = lb.sub(hi, lo);
  Value colsPad = lb.idx(colTiles * kTileCols);
  Value acc = lb.alloc(b.getF64Type(), {lb.idx(kBlockRows), colsPad});
  Value ids = lb.alloc(b.getIndexType(), {lb.idx(kBlockRows)});
  lb.fill(acc, lb.f64(0.0));
  lb.forLoop(zero, lb.div(p.depth, p.group), [&](Value g) {
    Value all = lb.notI(lb.truthy(lb.load(finite, g)));
    Value m = lb.forAcc1(zero, n, zero, [&](Value i, Value m) {
      Value on = lb.orI(all, p.groupActive(lb.add(lo, i), g));
      lb.ifThen(on, [&] { lb.store(i, ids, m); });
      return lb.select(on, lb.add(m, one), m);
    });
    lb.forLoop(zero, lb.idx(colTiles), [&](Value ct) {
      Value c0 = lb.mul(ct, lb.idx(kTileCols));
      lb.forLoop(zero, ceilDiv(lb, m, kTileRows), [&](Value tile) {
        SmallVector<Value> local =
            tileRows(lb, tile, m, [&](Value i) { return lb.load(ids, i); });
        auto lhs = [&](int64_t i, Value k, Value, Value) {
          return lb.load(xs, {local[i], k});
        };
        SmallVector<Value> s = groupTileSums(lb, p, wt, lhs, ct, g);
        Value i0 = lb.mul(tile, lb.idx(kTileRows));
        for (int64_t i = 0; i < kTileRows; ++i)
          lb.ifThen(lb.lt(lb.add(i0, lb.idx(i)), m), [&] {
            SmallVector<Value> at = {local[i], c0};
            Value a = vector::LoadOp::create(b, loc, vecType, acc, at);
            Value sum = arith::AddFOp::create(b, loc, a, s[i]);
            vector::StoreOp::create(b, loc, sum, acc, at);
          });
      });
    });
  });
  emitRows(
      lb, p, acc, n, colTiles * kTileCols,
      [&](Value i) { return lb.add(lo, i); }, zero);
  lb.dealloc(ids);
  lb.dealloc(acc);
}

void emitBlockedProduct(LoopBuilder &lb, const BlockedProduct &p) {
  assert((!p.groupActive || (p.transpose && !p.oneGroup)) &&
         "groupActive needs the transposed weight and several groups");
  int64_t colTiles = (p.cols + kTileCols - 1) / kTileCols;
  Value finite;
  if (p.groupActive) {
    finite = lb.alloc(lb.builder().getI8Type(), {lb.div(p.depth, p.group)});
    lb.fill(finite, lb.i8(1));
  }
  Value wt = p.transpose ? transposedWeight(lb, p, colTiles * kTileCols, finite)
                         : Value();
  parallelBlocks(lb, p.rows, kBlockRows, [&](Value lo, Value hi) {
    Value xs = p.transpose ? blockLhs(lb, p, lo, hi) : Value();
    if (p.groupActive)
      blockByGroup(lb, p, wt, xs, finite, colTiles, lo, hi);
    else
      blockDense(lb, p, wt, xs, colTiles, lo, hi);
    if (xs)
      lb.dealloc(xs);
  });
  if (wt)
    lb.dealloc(wt);
  if (finite)
    lb.dealloc(finite);
}

} // namespace mlir::proteus
