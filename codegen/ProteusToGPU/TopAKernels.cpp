//===- TopAKernels.cpp - proteus.top_a on the GPU -------------------------===//
//
// One block of kGpuTopABlock threads per batch row (contract.h):
//  1. the binary32 softmax of the row's logits (block-wide max, the sum in
//     binary64), the probabilities kept in the probs row until step 6;
//  2. a radix select by mass over the order keys of the probabilities (four
//     8-bit passes, a 256-bin histogram of counts and binary64 masses): the
//     smallest key K such that the tokens with keys >= K hold top_p + 1e-6
//     of the mass, or all of it; those tokens are a prefix of the sorted
//     order that contains the nucleus;
//  3. that prefix (at most kGpuTopAMaxCandidates tokens) gathered into shared
//     memory as 64-bit keys (order key, then the complemented id) and bitonic
//     sorted, descending: probability order, ties to the lower id;
//  4. the running sum in binary64 (a block scan), rounded to binary32 and
//     compared with max(top_p, 1e-6): the nucleus size;
//  5. the agreement of each nucleus token's embedding row with the consensus,
//     one warp per token, in fp32 with binary64 dots: only nucleus rows are
//     read;
//  6. the filter (a block count) and the order-preserving compaction (a block
//     scan) into kept / probs, the final softmax, the inverse-CDF draw.
// The formulas are the CPU lowering's (ProteusToSCF/TopA.cpp); sums run in
// another order (trees and scans instead of index order).
//
//===----------------------------------------------------------------------===//

#include "../ProteusToSCF/Primitives.h"
#include "KernelSupport.h"

#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/contract.h"

#include <limits>

using namespace mlir;
using namespace mlir::proteus;
namespace rt = proteus_rt;

namespace {

constexpr int64_t kBlock = rt::kGpuTopABlock;
constexpr int64_t kCap = rt::kGpuTopAMaxCandidates;
constexpr int64_t kWarps = kBlock / 32;

/// The body of one Top-A kernel: its arguments, shared buffers and the steps
/// of the file comment.
struct TopAKernel {
  LoopBuilder &lb;
  Kernel &k;
  TopAMode mode;
  Value logits, cons, emb, uniform, topP, lambda, tau, thr;
  Value kept, probs, counts, sample, vN, cN;
  Value red;      // f64 [kBlock]: reductions and scans
  Value warpTmp;  // f64 [kWarps]
  Value hist;     // i32 [256]
  Value histMass; // f64 [256]
  Value keys;     // i64 [kCap]
  Value agree;    // f32 [kCap]
  Value ints;     // i32 [4]: [0] candidates, [1] the drawn position
  Value rowV;     // b * V
  Value m, s;     // the softmax's max and sum (f32)

  OpBuilder &b() { return lb.builder(); }
  Location loc() { return lb.getLoc(); }
  Value i32c(int64_t v) {
    return arith::ConstantIntOp::create(b(), loc(), b().getI32Type(), v);
  }
  Value ucmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b(), loc(), p, x, y);
  }

  /// body(i) for i = tid, tid + kBlock, ... < n.
  void strided(Value lo, Value n, function_ref<void(Value)> body) {
    Value start = lb.add(lo, k.tid);
    scf::ForOp::create(b(), loc(), start, lb.max(n, start), lb.idx(kBlock),
                       ValueRange{},
                       [&](OpBuilder &, Location, Value i, ValueRange) {
                         body(i);
                         scf::YieldOp::create(b(), loc());
                       });
  }
  /// The same loop carrying one value.
  Value stridedAcc(Value n, Value init,
                   function_ref<Value(Value, Value)> body) {
    auto op = scf::ForOp::create(
        b(), loc(), k.tid, lb.max(n, k.tid), lb.idx(kBlock), ValueRange{init},
        [&](OpBuilder &, Location, Value i, ValueRange acc) {
          scf::YieldOp::create(b(), loc(), body(i, acc[0]));
        });
    return op.getResult(0);
  }
  /// Block-wide sum / max of a binary64 per-thread value.
  Value sum(Value v) {
    return blockReduce(lb, red, k.tid, v, kBlock,
                       [&](Value x, Value y) { return lb.add(x, y); });
  }
  Value max(Value v) {
    return blockReduce(lb, red, k.tid, v, kBlock,
                       [&](Value x, Value y) { return lb.max(x, y); });
  }
  Value count(Value n, function_ref<Value(Value)> pred) {
    Value c = stridedAcc(n, lb.f64(0.0), [&](Value i, Value acc) {
      return lb.select(pred(i), lb.add(acc, lb.f64(1.0)), acc);
    });
    return lb.toIndex(
        arith::FPToSIOp::create(b(), loc(), b().getI64Type(), sum(c)));
  }

  /// For the n entries in chunks of ceil(n / kBlock) per thread: acc =
  /// body(j, inclusive binary64 running sum of v(0 .. j), acc), in j order
  /// per thread from `init`; returns the thread's acc.
  Value scan(Value n, function_ref<Value(Value)> v, Value init,
             function_ref<Value(Value, Value, Value)> body) {
    Value per = lb.div(lb.add(n, lb.idx(kBlock - 1)), lb.idx(kBlock));
    Value lo = lb.min(lb.mul(k.tid, per), n), hi = lb.min(lb.add(lo, per), n);
    Value local = lb.forAcc1(lo, hi, lb.f64(0.0), [&](Value j, Value acc) {
      return lb.add(acc, v(j));
    });
    lb.store(local, red, k.tid);
    barrier(lb);
    for (int64_t d = 1; d < kBlock; d *= 2) {
      Value has = lb.ge(k.tid, lb.idx(d));
      Value from = lb.select(has, lb.sub(k.tid, lb.idx(d)), lb.idx(0));
      Value add = lb.select(has, lb.load(red, from), lb.f64(0.0));
      barrier(lb);
      lb.store(lb.add(lb.load(red, k.tid), add), red, k.tid);
      barrier(lb);
    }
    Value first = lb.eq(k.tid, lb.idx(0));
    Value prev = lb.select(first, lb.idx(0), lb.sub(k.tid, lb.idx(1)));
    Value off = lb.select(first, lb.f64(0.0), lb.load(red, prev));
    barrier(lb);
    return lb.forAcc(lo, hi, ValueRange{off, init}, [&](Value j, ValueRange a) {
      Value run = lb.add(a[0], v(j));
      return SmallVector<Value>{run, body(j, run, a[1])};
    })[1];
  }

  Value logitAt(Value i) { return lb.toF32(lb.load(logits, lb.add(rowV, i))); }
  /// The probability of token i, which softmax() left in probs[b, i].
  Value probAt(Value i) { return lb.load(probs, lb.add(rowV, i)); }
  /// The id of sorted entry j.
  Value idAt(Value j) {
    Value low = arith::AndIOp::create(b(), loc(), lb.load(keys, j),
                                      lb.i64(0xFFFFFFFFll));
    return lb.toIndex(lb.sub(lb.i64(0xFFFFFFFFll), low));
  }

  void emit();
  void softmax();
  Value selectByMass(Value tp);
  Value gather(Value kMin);
  void sortCandidates(Value nS);
  void agreement(Value n);
  Value keepAndCompact(Value n);
  void finish(Value n, Value kN);
  void overflow();
};

void TopAKernel::softmax() {
  Value ninf = lb.f64(-std::numeric_limits<double>::infinity());
  m = lb.toF32(max(stridedAcc(vN, ninf, [&](Value i, Value acc) {
    return lb.max(acc, lb.toF64(logitAt(i)));
  })));
  s = lb.toF32(sum(stridedAcc(vN, lb.f64(0.0), [&](Value i, Value acc) {
    return lb.add(acc, lb.toF64(lb.exp(lb.sub(logitAt(i), m))));
  })));
  // The probabilities, once, into the probs row: the passes below read them
  // (the row's final values are written after the last of those reads).
  strided(lb.idx(0), vN, [&](Value i) {
    lb.store(lb.div(lb.exp(lb.sub(logitAt(i), m)), s), probs, lb.add(rowV, i));
  });
}

/// Step 2: the smallest order key K such that the tokens with keys >= K hold
/// at least top_p + 1e-6 of the mass (or every token), as i32.
Value TopAKernel::selectByMass(Value tp) {
  Type i32 = b().getI32Type();
  Value bound = lb.add(lb.toF64(tp), lb.f64(1e-6));
  Value zero = lb.idx(0);
  // ints[2]: the prefix found so far; ints[3]: 1 once every remaining token
  // fits under the bound. warpTmp[0]: the mass above the prefix.
  lb.ifThen(lb.eq(k.tid, zero), [&] {
    lb.store(i32c(0), ints, lb.idx(2));
    lb.store(i32c(0), ints, lb.idx(3));
    lb.store(lb.f64(0.0), warpTmp, zero);
  });
  for (int64_t pass = 0; pass < 4; ++pass) {
    int64_t shift = 24 - 8 * pass;
    uint32_t high = pass == 0 ? 0u : (0xFFFFFFFFu << (32 - 8 * pass));
    Value highMask = i32c(static_cast<int32_t>(high));
    lb.ifThen(lb.lt(k.tid, lb.idx(256)), [&] {
      lb.store(i32c(0), hist, k.tid);
      lb.store(lb.f64(0.0), histMass, k.tid);
    });
    barrier(lb);
    Value prefix = lb.load(ints, lb.idx(2));
    strided(zero, vN, [&](Value i) {
      Value p = probAt(i);
      Value key = orderKey(lb, p);
      Value match =
          lb.eq(arith::AndIOp::create(b(), loc(), key, highMask), prefix);
      lb.ifThen(match, [&] {
        Value digit = arith::AndIOp::create(
            b(), loc(), arith::ShRUIOp::create(b(), loc(), key, i32c(shift)),
            i32c(255));
        Value at = lb.toIndex(digit);
        memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addi,
                                    i32c(1), hist, ValueRange{at});
        memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addf,
                                    lb.toF64(p), histMass, ValueRange{at});
      });
    });
    barrier(lb);
    lb.ifThen(lb.eq(k.tid, zero), [&] {
      Value done = lb.truthy(lb.load(ints, lb.idx(3)));
      // Walk the digits from 255 down, taking whole bins while the mass
      // stays within the bound; the first that does not is descended into.
      auto st = lb.forAcc(
          zero, lb.idx(256),
          ValueRange{lb.load(warpTmp, zero), done, lb.i64(0)},
          [&](Value j, ValueRange a) {
            Value digit = lb.sub(lb.idx(255), j);
            Value withBin = lb.add(a[0], lb.load(histMass, digit));
            Value take = lb.andI(lb.notI(a[1]), lb.le(withBin, bound));
            Value hit = lb.andI(lb.notI(a[1]), lb.notI(take));
            return SmallVector<Value>{lb.select(take, withBin, a[0]),
                                      lb.orI(a[1], hit),
                                      lb.select(hit, lb.toI64(digit), a[2])};
          });
      lb.store(st[0], warpTmp, zero);
      Value found = lb.andI(lb.notI(done), st[1]);
      Value digit = arith::TruncIOp::create(b(), loc(), i32, st[2]);
      Value next = arith::OrIOp::create(
          b(), loc(), prefix,
          arith::ShLIOp::create(b(), loc(), digit, i32c(shift)));
      lb.store(lb.select(found, next, prefix), ints, lb.idx(2));
      lb.store(
          lb.select(lb.orI(done, found), lb.load(ints, lb.idx(3)), i32c(1)),
          ints, lb.idx(3));
    });
    barrier(lb);
  }
  Value kMin = lb.load(ints, lb.idx(2));
  barrier(lb);
  return kMin;
}

/// Step 3a: the tokens with order keys >= kMin into keys[] (up to kCap of
/// them); returns how many there are.
Value TopAKernel::gather(Value kMin) {
  Type i64 = b().getI64Type();
  Value zero = lb.idx(0);
  lb.ifThen(lb.eq(k.tid, zero), [&] { lb.store(i32c(0), ints, zero); });
  barrier(lb);
  strided(zero, vN, [&](Value i) {
    Value key = orderKey(lb, probAt(i));
    lb.ifThen(ucmp(arith::CmpIPredicate::uge, key, kMin), [&] {
      Value slot =
          memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addi,
                                      i32c(1), ints, ValueRange{zero});
      lb.ifThen(lb.lt(lb.toIndex(slot), lb.idx(kCap)), [&] {
        Value hi = arith::ShLIOp::create(
            b(), loc(), arith::ExtUIOp::create(b(), loc(), i64, key),
            lb.i64(32));
        Value lo = lb.sub(lb.i64(0xFFFFFFFFll), lb.toI64(i));
        lb.store(arith::OrIOp::create(b(), loc(), hi, lo), keys,
                 lb.toIndex(slot));
      });
    });
  });
  barrier(lb);
  Value nS = lb.toIndex(lb.load(ints, zero));
  barrier(lb);
  return nS;
}

/// Step 3b: bitonic sort of keys[0 .. nS) descending (padded with zeros to a
/// power of two).
void TopAKernel::sortCandidates(Value nS) {
  Value two = lb.idx(2);
  Value p = lb.whileLoop(
      ValueRange{two}, [&](ValueRange st) { return lb.lt(st[0], nS); },
      [&](ValueRange st) { return SmallVector<Value>{lb.mul(st[0], two)}; })[0];
  strided(nS, p, [&](Value i) { lb.store(lb.i64(0), keys, i); });
  barrier(lb);
  lb.whileLoop(
      ValueRange{two}, [&](ValueRange st) { return lb.le(st[0], p); },
      [&](ValueRange st) {
        Value size = st[0];
        lb.whileLoop(
            ValueRange{lb.div(size, two)},
            [&](ValueRange js) { return lb.gt(js[0], lb.idx(0)); },
            [&](ValueRange js) {
              Value j = js[0];
              strided(lb.idx(0), p, [&](Value i) {
                Value l = arith::XOrIOp::create(b(), loc(), i, j);
                lb.ifThen(lb.gt(l, i), [&] {
                  Value x = lb.load(keys, i), y = lb.load(keys, l);
                  Value desc = lb.eq(arith::AndIOp::create(b(), loc(), i, size),
                                     lb.idx(0));
                  Value swap =
                      lb.select(desc, ucmp(arith::CmpIPredicate::ult, x, y),
                                ucmp(arith::CmpIPredicate::ugt, x, y));
                  lb.ifThen(swap, [&] {
                    lb.store(y, keys, i);
                    lb.store(x, keys, l);
                  });
                });
              });
              barrier(lb);
              return SmallVector<Value>{lb.div(j, two)};
            });
        return SmallVector<Value>{lb.mul(size, two)};
      });
}

/// Step 5: agree[j] = cos(consensus, embedding[id_j]) / max(tau, 1e-5) for
/// j < n, one warp per token.
void TopAKernel::agreement(Value n) {
  Value zero = lb.idx(0), c32 = lb.idx(32);
  Value bRow = k.bid;
  auto consAt = [&](Value i) {
    return lb.toF32(lb.load(cons, lb.add(lb.mul(bRow, cN), i)));
  };
  auto divisor = [&](Value sq) {
    return lb.max(lb.toF32(lb.sqrt(sq)), lb.f32(1e-12));
  };
  Value cDiv = divisor(sum(stridedAcc(cN, lb.f64(0.0), [&](Value i, Value a) {
    Value v = lb.toF64(consAt(i));
    return lb.add(a, lb.mul(v, v));
  })));
  Value tauC = lb.max(tau, lb.f32(1e-5));
  Value warp = lb.div(k.tid, c32), lane = lb.rem(k.tid, c32);
  // Lane sums over the row, then lane 0 adds the warp's 32 partial sums in
  // lane order (binary64).
  auto warpSum = [&](Value part, function_ref<void(Value)> use) {
    lb.store(part, red, k.tid);
    barrier(lb);
    lb.ifThen(lb.eq(lane, zero), [&] {
      Value base = lb.mul(warp, c32);
      use(lb.forAcc1(zero, c32, lb.f64(0.0), [&](Value l, Value a) {
        return lb.add(a, lb.load(red, lb.add(base, l)));
      }));
    });
    barrier(lb);
  };
  Value rounds = lb.div(lb.add(n, lb.idx(kWarps - 1)), lb.idx(kWarps));
  lb.forLoop(zero, rounds, [&](Value r) {
    Value j = lb.add(lb.mul(r, lb.idx(kWarps)), warp);
    Value valid = lb.lt(j, n);
    Value id = lb.select(valid, idAt(lb.select(valid, j, zero)), zero);
    Value rowBase = lb.mul(id, cN);
    Value rowN = lb.select(valid, cN, zero);
    auto embAt = [&](Value i) {
      return lb.toF32(lb.load(emb, lb.add(rowBase, i)));
    };
    auto laneLoop = [&](function_ref<Value(Value)> term) {
      auto op = scf::ForOp::create(
          b(), loc(), lane, lb.max(rowN, lane), c32, ValueRange{lb.f64(0.0)},
          [&](OpBuilder &, Location, Value i, ValueRange a) {
            scf::YieldOp::create(b(), loc(), lb.add(a[0], term(i)));
          });
      return op.getResult(0);
    };
    warpSum(laneLoop([&](Value i) {
              Value v = lb.toF64(embAt(i));
              return lb.mul(v, v);
            }),
            [&](Value sq) { lb.store(sq, warpTmp, warp); });
    Value eDiv = divisor(lb.load(warpTmp, warp));
    warpSum(laneLoop([&](Value i) {
              return lb.mul(lb.toF64(lb.div(embAt(i), eDiv)),
                            lb.toF64(lb.div(consAt(i), cDiv)));
            }),
            [&](Value dot) {
              lb.ifThen(valid, [&] {
                lb.store(lb.div(lb.toF32(dot), tauC), agree, j);
              });
            });
  });
}

/// Step 6a: the kept tokens, in nucleus order, into kept[b, :] and their
/// final logits into probs[b, :]; returns their count.
Value TopAKernel::keepAndCompact(Value n) {
  Value keepAll = lb.boolean(true);
  if (mode == TopAMode::Filter)
    keepAll =
        lb.eq(count(n, [&](Value j) { return lb.ge(lb.load(agree, j), thr); }),
              lb.idx(0));
  auto keepAt = [&](Value j) {
    if (mode != TopAMode::Filter)
      return lb.boolean(true);
    return lb.orI(keepAll, lb.ge(lb.load(agree, j), thr));
  };
  scan(
      n,
      [&](Value j) { return lb.select(keepAt(j), lb.f64(1.0), lb.f64(0.0)); },
      lb.f64(0.0),
      [&](Value j, Value cum, Value acc) {
        lb.ifThen(keepAt(j), [&] {
          Value pos = lb.sub(lb.toIndex(arith::FPToSIOp::create(
                                 b(), loc(), b().getI64Type(), cum)),
                             lb.idx(1));
          Value id = idAt(j);
          Value logit = logitAt(id);
          if (mode != TopAMode::Off)
            logit = lb.add(logit, lb.mul(lambda, lb.load(agree, j)));
          lb.store(lb.toI64(id), kept, lb.add(rowV, pos));
          lb.store(logit, probs, lb.add(rowV, pos));
        });
        return acc;
      });
  barrier(lb);
  return count(n, keepAt);
}

/// Step 6b: the final softmax over probs[b, 0 .. kN), the rest of the row,
/// the counts and the draw.
void TopAKernel::finish(Value n, Value kN) {
  Value zero = lb.idx(0);
  auto fin = [&](Value j) { return lb.load(probs, lb.add(rowV, j)); };
  Value ninf = lb.f64(-std::numeric_limits<double>::infinity());
  Value m2 = lb.toF32(max(stridedAcc(kN, ninf, [&](Value j, Value a) {
    return lb.max(a, lb.toF64(fin(j)));
  })));
  Value s2 = lb.toF32(sum(stridedAcc(kN, lb.f64(0.0), [&](Value j, Value a) {
    return lb.add(a, lb.toF64(lb.exp(lb.sub(fin(j), m2))));
  })));
  strided(zero, kN, [&](Value j) {
    lb.store(lb.div(lb.exp(lb.sub(fin(j), m2)), s2), probs, lb.add(rowV, j));
  });
  strided(kN, vN, [&](Value j) {
    lb.store(lb.i64(-1), kept, lb.add(rowV, j));
    lb.store(lb.f32(0.0), probs, lb.add(rowV, j));
  });
  lb.ifThen(lb.eq(k.tid, zero), [&] {
    lb.store(arith::IndexCastOp::create(b(), loc(), b().getI32Type(),
                                        lb.sub(kN, lb.idx(1))),
             ints, lb.idx(1));
  });
  barrier(lb);
  auto p = [&](Value j) { return lb.toF64(fin(j)); };
  Value total = sum(stridedAcc(
      kN, lb.f64(0.0), [&](Value j, Value a) { return lb.add(a, p(j)); }));
  Value target = lb.mul(lb.toF64(lb.load(uniform, k.bid)), total);
  // The first position whose running sum exceeds the target.
  scan(kN, p, lb.f64(0.0), [&](Value j, Value cum, Value acc) {
    lb.ifThen(lb.gt(cum, target), [&] {
      memref::AtomicRMWOp::create(
          b(), loc(), arith::AtomicRMWKind::mins,
          arith::IndexCastOp::create(b(), loc(), b().getI32Type(), j), ints,
          ValueRange{lb.idx(1)});
    });
    return acc;
  });
  barrier(lb);
  lb.ifThen(lb.eq(k.tid, zero), [&] {
    Value pick = lb.toIndex(lb.load(ints, lb.idx(1)));
    lb.store(lb.load(kept, lb.add(rowV, pick)), sample, k.bid);
    Value c2 = lb.mul(k.bid, lb.idx(2));
    lb.store(lb.toI64(n), counts, c2);
    lb.store(lb.toI64(kN), counts, lb.add(c2, lb.idx(1)));
  });
}

/// A row whose candidates do not fit: counts (-1, -1), sample -1, kept -1,
/// probs 0.
void TopAKernel::overflow() {
  Value zero = lb.idx(0);
  strided(zero, vN, [&](Value j) {
    lb.store(lb.i64(-1), kept, lb.add(rowV, j));
    lb.store(lb.f32(0.0), probs, lb.add(rowV, j));
  });
  lb.ifThen(lb.eq(k.tid, zero), [&] {
    Value c2 = lb.mul(k.bid, lb.idx(2));
    lb.store(lb.i64(-1), counts, c2);
    lb.store(lb.i64(-1), counts, lb.add(c2, lb.idx(1)));
    lb.store(lb.i64(-1), sample, k.bid);
  });
}

void TopAKernel::emit() {
  rowV = lb.mul(k.bid, vN);
  softmax();
  Value tp = lb.max(topP, lb.f32(1e-6));
  Value nS = gather(selectByMass(tp));
  lb.ifThenElse(
      lb.gt(nS, lb.idx(kCap)), [&] { overflow(); },
      [&] {
        sortCandidates(nS);
        // Step 4: the nucleus size, 1 + the entries j >= 1 whose running
        // sum, rounded to binary32, is <= tp (a prefix: the sum rises).
        Value within = scan(
            nS, [&](Value j) { return lb.toF64(probAt(idAt(j))); }, lb.f64(0.0),
            [&](Value j, Value cum, Value acc) {
              Value in = lb.andI(lb.ge(j, lb.idx(1)), lb.le(lb.toF32(cum), tp));
              return lb.select(in, lb.add(acc, lb.f64(1.0)), acc);
            });
        Value n =
            lb.add(lb.idx(1), lb.toIndex(arith::FPToSIOp::create(
                                  b(), loc(), b().getI64Type(), sum(within))));
        if (mode != TopAMode::Off)
          agreement(n);
        barrier(lb);
        finish(n, keepAndCompact(n));
      });
}

gpu::GPUFuncOp getOrBuildTopAKernel(OpBuilder &b, gpu::GPUModuleOp module,
                                    TopAMode mode, Type elem, StringRef name) {
  auto vec = [](Type t) { return MemRefType::get({ShapedType::kDynamic}, t); };
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), idx = b.getIndexType();
  SmallVector<Type> args = {vec(elem), vec(f32), vec(elem), vec(f32), f32,
                            f32,       f32,      f32,       vec(i64), vec(f32),
                            vec(i64),  vec(i64), idx,       idx};
  defineKernel(b, module, name, args, kBlock, "top_a",
               [&](LoopBuilder &lb, Kernel &k) {
                 TopAKernel t{lb, k, mode};
                 t.logits = k.arg(0);
                 t.cons = k.arg(1);
                 t.emb = k.arg(2);
                 t.uniform = k.arg(3);
                 t.topP = k.arg(4);
                 t.lambda = k.arg(5);
                 t.tau = k.arg(6);
                 t.thr = k.arg(7);
                 t.kept = k.arg(8);
                 t.probs = k.arg(9);
                 t.counts = k.arg(10);
                 t.sample = k.arg(11);
                 t.vN = k.arg(12);
                 t.cN = k.arg(13);
                 Type f64 = b.getF64Type(), i32 = b.getI32Type();
                 t.red = shared(b, k, f64, kBlock);
                 t.warpTmp = shared(b, k, f64, kWarps);
                 t.hist = shared(b, k, i32, 256);
                 t.histMass = shared(b, k, f64, 256);
                 t.keys = shared(b, k, i64, kCap);
                 t.agree = shared(b, k, f32, kCap);
                 t.ints = shared(b, k, i32, 4);
                 t.emit();
               });
  return module.lookupSymbol<gpu::GPUFuncOp>(name);
}

struct TopAToGPU : public OpConversionPattern<TopAOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TopAOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type elem = op.getLogits().getType().getElementType();
    if (op.getEmbedding().getType().getElementType() != elem ||
        !op.getConsensus().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(
          op, "the GPU kernel takes logits and embedding of one element type "
              "and an f32 consensus");
    int m = static_cast<int>(op.getMode());
    std::string name = rt::topAEntry(m, elem.isF32() ? 0 : 1);
    gpu::GPUModuleOp module = getOrCreateKernelModule(op);
    gpu::GPUFuncOp kernel =
        getOrBuildTopAKernel(rewriter, module, op.getMode(), elem, name);
    LoopBuilder lb(rewriter, loc);
    Value one = lb.idx(1);
    SmallVector<Value> args = {flatten(rewriter, loc, a.getLogits()),
                               flatten(rewriter, loc, a.getConsensus()),
                               flatten(rewriter, loc, a.getEmbedding()),
                               a.getUniform(),
                               a.getTopP(),
                               a.getLambda(),
                               a.getTau(),
                               a.getThreshold(),
                               flatten(rewriter, loc, a.getKept()),
                               flatten(rewriter, loc, a.getProbs()),
                               flatten(rewriter, loc, a.getCounts()),
                               a.getSample(),
                               lb.dim(a.getLogits(), 1),
                               lb.dim(a.getEmbedding(), 1)};
    gpu::LaunchFuncOp::create(
        rewriter, loc, kernel,
        gpu::KernelDim3{lb.dim(a.getLogits(), 0), one, one},
        gpu::KernelDim3{lb.idx(kBlock), one, one}, Value(), args);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::proteus::populateProteusTopAToGPUPatterns(
    RewritePatternSet &patterns) {
  patterns.add<TopAToGPU>(patterns.getContext());
}
