//===- TopAKernel.h - The body of a Top-A stage kernel ---------*- C++ -*-===//
//
// What every stage of proteus.top_a on the GPU (TopAKernels.cpp) builds with:
// the kernel's arguments, the row's scratch in kept / probs (contract.h,
// kTopAStages), strided loops over a block's threads, and block-wide
// reductions and scans by warp shuffles (binary64 as two 32-bit halves) with
// one exchange of the warps' results in shared memory. Private to
// TopAKernels.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_CODEGEN_PROTEUSTOGPU_TOPAKERNEL_H
#define PROTEUS_CODEGEN_PROTEUSTOGPU_TOPAKERNEL_H

#include "../ProteusToSCF/Primitives.h"
#include "KernelSupport.h"

#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/contract.h"

#include <limits>

namespace mlir::proteus::top_a {

namespace rt = proteus_rt;

constexpr int64_t kCap = rt::kGpuTopAMaxCandidates;
constexpr int64_t kTile = rt::kGpuTopATile;
constexpr int64_t kBins = 256;
/// A token's bin: (bits(e) >> 20) - kBinBias, eight bins per octave of
/// e = exp(logit - max) in (0, 1] from 2^-32 (smaller values in bin 0).
constexpr int64_t kBinBias = (0x3F800000 >> 20) - (kBins - 1);
static_assert(rt::kGpuTopATileBlock >= kBins,
              "the gather stage scans the bins with one thread per bin");
static_assert(rt::kGpuTopABlock % 32 == 0 && kCap <= rt::kGpuTopABlock * 2,
              "the bitonic sort pairs entries across the block");

/// contract.h's topATiles and topABlocksPerRow of a dynamic V, in the kernels
/// and in the host's launches.
inline Value tileCount(LoopBuilder &lb, Value vN) {
  return lb.div(lb.add(vN, lb.idx(kTile - 1)), lb.idx(kTile));
}
inline Value blocksPerRow(LoopBuilder &lb, const rt::TopAStage &stage,
                          Value vN) {
  return stage.blocksPerRow ? lb.idx(stage.blocksPerRow) : tileCount(lb, vN);
}

/// The body of one Top-A stage kernel: its arguments, shared buffers and the
/// steps of TopAKernels.cpp's file comment.
struct TopAKernel {
  LoopBuilder &lb;
  Kernel &k;
  TopAMode mode;
  int64_t block; // threads
  Value logits, cons, emb, uniform, topP, lambda, tau, thr;
  Value kept, probs, counts, sample, vN, cN;
  Value row, part; // the batch row; the block's index among the row's
  Value rowV;      // row * V
  Value red;       // f64 [32]: the warps' partial reductions and scans
  Value warpTmp;   // f64 [32] (select): [0] the mass above the radix prefix
  Value keys;      // i64 [kCap] (select): sorted candidates
  Value ids;       // i32 [kCap] (last): the nucleus ids
  Value agree;     // f32 [kCap] (last, not off)
  Value ints;      // i32 [4]: [0] candidates, [1] the drawn position, [2, 3]
  Value m, s;      // the softmax's max and sum (f32)

  OpBuilder &b() { return lb.builder(); }
  Location loc() { return lb.getLoc(); }
  Value i32c(int64_t v) {
    return arith::ConstantIntOp::create(b(), loc(), b().getI32Type(), v);
  }
  Value ucmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b(), loc(), p, x, y);
  }
  Value ninf() { return lb.f64(-std::numeric_limits<double>::infinity()); }
  Value atThread0() { return lb.eq(k.tid, lb.idx(0)); }

  /// body(i) for i = lo + tid, lo + tid + block, ... < hi.
  void strided(Value lo, Value hi, function_ref<void(Value)> body) {
    Value start = lb.add(lo, k.tid);
    scf::ForOp::create(b(), loc(), start, lb.max(hi, start), lb.idx(block),
                       ValueRange{},
                       [&](OpBuilder &, Location, Value i, ValueRange) {
                         body(i);
                         scf::YieldOp::create(b(), loc());
                       });
  }
  /// The same loop carrying one value.
  Value stridedAcc(Value lo, Value hi, Value init,
                   function_ref<Value(Value, Value)> body) {
    Value start = lb.add(lo, k.tid);
    auto op = scf::ForOp::create(
        b(), loc(), start, lb.max(hi, start), lb.idx(block), ValueRange{init},
        [&](OpBuilder &, Location, Value i, ValueRange acc) {
          scf::YieldOp::create(b(), loc(), body(i, acc[0]));
        });
    return op.getResult(0);
  }
  Value stridedAcc(Value n, Value init, function_ref<Value(Value, Value)> f) {
    return stridedAcc(lb.idx(0), n, init, f);
  }
  Value lane() { return lb.rem(k.tid, lb.idx(32)); }
  Value warp() { return lb.div(k.tid, lb.idx(32)); }
  /// `v` (32-bit, or f64 as two halves) from lane `off` away: lane ^ off
  /// (XOR), lane - off (UP, a lane below `off` gets its own) or lane `off`
  /// (IDX, `off` an i32 value).
  Value shuffle(Value v, Value off, gpu::ShuffleMode mode);
  Value shuffle(Value v, int32_t off, gpu::ShuffleMode mode) {
    return shuffle(v, i32c(off), mode);
  }
  /// The block-wide combination of v: a butterfly in every warp, then one
  /// over the warps' results (in every warp: the same bits in every thread).
  Value reduce(Value v, Value identity,
               function_ref<Value(Value, Value)> combine);
  /// The sum of the binary64 values of the threads before this one.
  Value exclusiveScan(Value v);
  Value sum(Value v) {
    return reduce(v, lb.f64(0.0),
                  [&](Value x, Value y) { return lb.add(x, y); });
  }
  Value max(Value v) {
    return reduce(v, ninf(), [&](Value x, Value y) { return lb.max(x, y); });
  }
  Value count(Value n, function_ref<Value(Value)> pred) {
    Value c = stridedAcc(n, lb.f64(0.0), [&](Value i, Value acc) {
      return lb.select(pred(i), lb.add(acc, lb.f64(1.0)), acc);
    });
    return lb.toIndex(
        arith::FPToSIOp::create(b(), loc(), b().getI64Type(), sum(c)));
  }
  /// scf.if with results: then() or otherwise() (of the same types).
  SmallVector<Value> choose(Value cond, function_ref<SmallVector<Value>()> then,
                            function_ref<SmallVector<Value>()> otherwise) {
    auto op = scf::IfOp::create(
        b(), loc(), cond,
        [&](OpBuilder &, Location) {
          scf::YieldOp::create(b(), loc(), then());
        },
        [&](OpBuilder &, Location) {
          scf::YieldOp::create(b(), loc(), otherwise());
        });
    return SmallVector<Value>(op.getResults());
  }
  Value scan(Value n, function_ref<Value(Value)> v, Value init,
             function_ref<Value(Value, Value, Value)> body);

  // The row's data and scratch (contract.h, kTopAStages).
  Value logitAt(Value i) { return lb.toF32(lb.load(logits, lb.add(rowV, i))); }
  Value expAt(Value i) { return lb.exp(lb.sub(logitAt(i), m)); }
  Value probAt(Value i) { return lb.div(expAt(i), s); }
  Value tiles() { return tileCount(lb, vN); }
  Value keptSlot(Value i) { return lb.add(rowV, i); }
  Value tileMaxSlot(Value t) {
    return keptSlot(lb.add(lb.idx(rt::kGpuTopATileMax), t));
  }
  Value tileSumSlot(Value t) { return lb.add(tileMaxSlot(tiles()), t); }
  Value candidateSlot(Value j) {
    return lb.add(tileMaxSlot(lb.mul(tiles(), lb.idx(2))), j);
  }
  /// The end of the scratch in a row: V below kGpuTopAMultiMinV, else past
  /// the counter, the tile maxima and sums and kCap candidate ids.
  Value scratchEnd() {
    Value multi =
        lb.add(lb.idx(rt::kGpuTopATileMax + kCap), lb.mul(tiles(), lb.idx(2)));
    return lb.select(lb.lt(vN, lb.idx(rt::kGpuTopAMultiMinV)), vN, multi);
  }
  Value loadF64(Value slot) {
    return arith::BitcastOp::create(b(), loc(), b().getF64Type(),
                                    lb.load(kept, slot));
  }
  void storeF64(Value v, Value slot) {
    lb.store(arith::BitcastOp::create(b(), loc(), b().getI64Type(), v), kept,
             slot);
  }
  Value tileLo() { return lb.mul(part, lb.idx(kTile)); }
  Value tileHi() { return lb.min(lb.add(tileLo(), lb.idx(kTile)), vN); }
  Value binOf(Value e) {
    Value bits = arith::BitcastOp::create(b(), loc(), b().getI32Type(), e);
    Value top = arith::ShRUIOp::create(b(), loc(), bits, i32c(20));
    Value bin = lb.sub(top, i32c(kBinBias));
    return lb.toIndex(lb.max(lb.min(bin, i32c(kBins - 1)), i32c(0)));
  }
  /// The id of sorted entry j (select: of keys; last: of ids).
  Value idAt(Value j) {
    if (ids)
      return lb.toIndex(lb.load(ids, j));
    Value low = arith::AndIOp::create(b(), loc(), lb.load(keys, j),
                                      lb.i64(0xFFFFFFFFll));
    return lb.toIndex(lb.sub(lb.i64(0xFFFFFFFFll), low));
  }
  Value countsSlot(int64_t which) {
    return lb.add(lb.mul(row, lb.idx(2)), lb.idx(which));
  }

  // The max and sum of the row from the tiles' (max, hist stages).
  Value tiledMax() {
    return lb.toF32(max(stridedAcc(tiles(), ninf(), [&](Value t, Value a) {
      return lb.max(a, loadF64(tileMaxSlot(t)));
    })));
  }
  Value tiledSum() {
    return sum(stridedAcc(tiles(), lb.f64(0.0), [&](Value t, Value a) {
      return lb.add(a, loadF64(tileSumSlot(t)));
    }));
  }

  void emitMax();
  void emitHist();
  void emitGather();
  void emitSelect();
  void emitAgree();
  void emitLast();

  SmallVector<Value> rowSoftmax();
  Value selectByMass(Value tp);
  Value gatherRow(Value kMin);
  Value loadCandidates(Value n);
  void sortCandidates(Value nS);
  Value nucleus(Value nS, Value tp);
  Value keepAndCompact(Value n);
  void finish(Value n, Value kN);
  void refuse();
};

inline Value TopAKernel::shuffle(Value v, Value off, gpu::ShuffleMode mode) {
  auto one = [&](Value x) {
    return gpu::ShuffleOp::create(
               b(), loc(), x, off, i32c(32),
               gpu::ShuffleModeAttr::get(b().getContext(), mode))
        .getShuffleResult();
  };
  if (!v.getType().isF64())
    return one(v);
  Type i32 = b().getI32Type(), i64 = b().getI64Type();
  Value bits = arith::BitcastOp::create(b(), loc(), i64, v);
  Value half[2] = {arith::TruncIOp::create(b(), loc(), i32, bits),
                   arith::TruncIOp::create(
                       b(), loc(), i32,
                       arith::ShRUIOp::create(b(), loc(), bits, lb.i64(32)))};
  for (Value &h : half)
    h = arith::ExtUIOp::create(b(), loc(), i64, one(h));
  Value joined = arith::OrIOp::create(
      b(), loc(), arith::ShLIOp::create(b(), loc(), half[1], lb.i64(32)),
      half[0]);
  return arith::BitcastOp::create(b(), loc(), b().getF64Type(), joined);
}

inline Value TopAKernel::reduce(Value v, Value identity,
                                function_ref<Value(Value, Value)> combine) {
  auto butterfly = [&](Value x) {
    for (int32_t off = 16; off >= 1; off /= 2)
      x = combine(x, shuffle(x, off, gpu::ShuffleMode::XOR));
    return x;
  };
  Value w = butterfly(v);
  const int64_t warps = block / 32;
  lb.ifThen(lb.eq(lane(), lb.idx(0)), [&] { lb.store(w, red, warp()); });
  barrier(lb);
  Value mine = lb.load(red, lb.min(lane(), lb.idx(warps - 1)));
  Value r = butterfly(lb.select(lb.lt(lane(), lb.idx(warps)), mine, identity));
  barrier(lb);
  return r;
}

inline Value TopAKernel::exclusiveScan(Value v) {
  const int64_t warps = block / 32;
  Value zero = lb.f64(0.0);
  auto inclusive = [&](Value x) {
    for (int32_t off = 1; off < 32; off *= 2) {
      Value below = shuffle(x, off, gpu::ShuffleMode::UP);
      x = lb.select(lb.ge(lane(), lb.idx(off)), lb.add(below, x), x);
    }
    return x;
  };
  Value in = inclusive(v);
  Value ex = lb.select(lb.ge(lane(), lb.idx(1)),
                       shuffle(in, 1, gpu::ShuffleMode::UP), zero);
  lb.ifThen(lb.eq(lane(), lb.idx(31)), [&] { lb.store(in, red, warp()); });
  barrier(lb);
  // Every warp scans the warps' totals and takes the one before its own.
  Value total =
      lb.select(lb.lt(lane(), lb.idx(warps)),
                lb.load(red, lb.min(lane(), lb.idx(warps - 1))), zero);
  Value before = shuffle(
      inclusive(total),
      lb.toInt(lb.max(lb.sub(warp(), lb.idx(1)), lb.idx(0)), b().getI32Type()),
      gpu::ShuffleMode::IDX);
  barrier(lb);
  return lb.add(lb.select(lb.ge(warp(), lb.idx(1)), before, zero), ex);
}

/// For the n entries in chunks of ceil(n / block) per thread: acc =
/// body(j, inclusive binary64 running sum of v(0 .. j), acc), in j order
/// per thread from `init`; returns the thread's acc.
inline Value TopAKernel::scan(Value n, function_ref<Value(Value)> v, Value init,
                              function_ref<Value(Value, Value, Value)> body) {
  Value per = lb.div(lb.add(n, lb.idx(block - 1)), lb.idx(block));
  Value lo = lb.min(lb.mul(k.tid, per), n), hi = lb.min(lb.add(lo, per), n);
  Value local = lb.forAcc1(lo, hi, lb.f64(0.0), [&](Value j, Value acc) {
    return lb.add(acc, v(j));
  });
  Value off = exclusiveScan(local);
  return lb.forAcc(lo, hi, ValueRange{off, init}, [&](Value j, ValueRange a) {
    Value run = lb.add(a[0], v(j));
    return SmallVector<Value>{run, body(j, run, a[1])};
  })[1];
}

} // namespace mlir::proteus::top_a

#endif // PROTEUS_CODEGEN_PROTEUSTOGPU_TOPAKERNEL_H
