//===- BlockedProducts.h - Cache-blocked matrix products --------*- C++ -*-===//
//
// The matrix products of the CPU path (projections, output combination)
// blocked for cache reuse and register-tiled over independent outputs, with
// every output's binary64 sum in the same order as the scalar loop it
// replaces, so results do not change. Private to codegen/.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOSCF_BLOCKEDPRODUCTS_H
#define PROTEUS_CODEGEN_PROTEUSTOSCF_BLOCKEDPRODUCTS_H

#include "LoopBuilder.h"

namespace mlir::proteus {

/// out(row, col) = sum over k in [0, depth) of lhs(row, k) w(col, k), for rows
/// [0, rows) and columns [0, cols), in binary64: the depth is summed in groups
/// of `group` consecutive k (group divides depth), each group from 0.0 in k
/// order and added in order to a running sum from 0.0; with `oneGroup` (group
/// == depth) it is one sum from 0.0 in k order (sumF64's order).
struct BlockedProduct {
  Value rows, depth, group; ///< index
  bool oneGroup;
  int64_t cols; ///< static
  /// The factor of row `row` at k = g * group + j (f32 or f64).
  function_ref<Value(Value row, Value k, Value g, Value j)> lhs;
  /// w(col, k) at k = g * group + j (f32 or f64).
  function_ref<Value(Value col, Value k, Value g, Value j)> weight;
  /// Receives the binary64 sums of row `row`, columns col0 and col0 + 1
  /// (sums.size() is 2, col0 is even; columns >= cols are padding, to be
  /// skipped). It is emitted once per product, in a loop.
  function_ref<void(Value row, Value col0, ArrayRef<Value> sums)> epilogue;
  /// Read the weight once into a transposed binary64 scratch (depth x cols):
  /// for a weight that every row block reads whole. Without, a tile's
  /// weights are read where they are (for a deep product whose weight is
  /// already laid out by k, like the tokens of x).
  bool transpose = true;
  /// Optional (with transpose and several groups): whether row `row` uses
  /// group g (i1). A row's lhs must be zero over a group it does not use;
  /// such a group is then left out of the row's sum unless the group's
  /// weights hold a non-finite number, so the sums are those of the full
  /// product, bit for bit, at the cost of the groups in use.
  function_ref<Value(Value row, Value g)> groupActive = nullptr;
};

/// Emits the product as an scf.parallel over blocks of rows (the CPU path's
/// threads), each block going through the columns in register tiles of a few
/// rows by a few columns (vector accumulators over the columns).
void emitBlockedProduct(LoopBuilder &lb, const BlockedProduct &p);

/// A parallel loop over [0, n) in blocks of `block` iterations: `body`
/// receives each block's [lo, hi) (an scf.parallel over the blocks, which the
/// CPU path runs on the runtime's threads). Per-block scratch belongs in
/// `body`.
void parallelBlocks(LoopBuilder &lb, Value n, int64_t block,
                    function_ref<void(Value lo, Value hi)> body);

} // namespace mlir::proteus

#endif // PROTEUS_CODEGEN_PROTEUSTOSCF_BLOCKEDPRODUCTS_H
