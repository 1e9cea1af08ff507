//===- TopAKernels.cpp - proteus.top_a on the GPU -------------------------===//
//
// proteus.top_a as the stages of contract.h's kTopAStages, one kernel each
// (all but the last shared by the three modes), with the state between them
// in the kept / probs rows and counts[b][0]:
//  max, hist, gather (V >= kGpuTopAMultiMinV; one block per tile of
//     kGpuTopATile tokens): the tile maxima; each tile's sum of
//     e = exp(logit - max) and a 256-bin histogram of the masses over e's top
//     bits (binary32, per block in shared memory, then added to the row's);
//     the ids of the tokens in the top bins that hold (top_p + 1e-6)(1 + 1e-3)
//     of the mass, and of one bin more: a prefix of the sorted order that
//     contains the nucleus (the margins cover the rounding of the binary32 bin
//     masses);
//  select (one block of kGpuTopABlock threads per row): the candidates as
//     64-bit keys (order key of the probability, then the complemented id) -
//     or, below kGpuTopAMultiMinV or when more than kGpuTopAMaxCandidates
//     were gathered, the smallest prefix holding top_p + 1e-6 of the mass by a
//     radix select over the whole row (four 8-bit passes, binary64 masses) -
//     bitonic-sorted in shared memory, then the running sum in binary64 (a
//     block scan), rounded to binary32 and compared with max(top_p, 1e-6): the
//     nucleus, whose ids go to kept[b][0, n) and n to counts[b][0];
//  agree (blend and filter; one block per nucleus token): the cosine
//     agreement of the token's embedding row with the consensus in fp32 with
//     binary64 dots, to probs[b][j]: only nucleus rows are read;
//  <mode>: the filter and the order-preserving compaction (a block scan) into
//     kept / probs, the final softmax, the inverse-CDF draw, the rest of the
//     scratch to -1 / 0.
// The formulas are the CPU lowering's (ProteusToSCF/TopA.cpp); sums run in
// another order (trees and scans instead of index order).
//
//===----------------------------------------------------------------------===//

#include "TopAKernel.h"

#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"

using namespace mlir;
using namespace mlir::proteus;

namespace mlir::proteus::top_a {

enum class Stage { Max, Hist, Gather, Select, Agree, Last };

static Stage stageOf(const rt::TopAStage &s) {
  if (!s.name)
    return Stage::Last;
  StringRef n(s.name);
  return n == "max"      ? Stage::Max
         : n == "hist"   ? Stage::Hist
         : n == "gather" ? Stage::Gather
         : n == "select" ? Stage::Select
                         : Stage::Agree;
}

//===----------------------------------------------------------------------===//
// max, hist, gather: one block per tile
//===----------------------------------------------------------------------===//

/// The tile's maximum logit; block 0 of the row clears the candidate counter
/// and the histogram; every block writes the final -1 / 0 of its tokens past
/// the scratch.
void TopAKernel::emitMax() {
  Value t = max(stridedAcc(tileLo(), tileHi(), ninf(), [&](Value i, Value a) {
    return lb.max(a, lb.toF64(logitAt(i)));
  }));
  lb.ifThen(atThread0(), [&] { storeF64(t, tileMaxSlot(part)); });
  lb.ifThen(lb.eq(part, lb.idx(0)), [&] {
    lb.ifThen(atThread0(), [&] {
      lb.store(lb.i64(0), kept, keptSlot(lb.idx(rt::kGpuTopACounter)));
    });
    strided(lb.idx(0), lb.idx(kBins),
            [&](Value i) { lb.store(lb.f32(0.0), probs, keptSlot(i)); });
  });
  strided(lb.max(tileLo(), scratchEnd()), tileHi(), [&](Value i) {
    lb.store(lb.i64(-1), kept, keptSlot(i));
    lb.store(lb.f32(0.0), probs, keptSlot(i));
  });
}

/// The tile's sum of e (binary64) and its histogram of masses (binary32),
/// added to the row's.
void TopAKernel::emitHist() {
  Value mass = shared(b(), k, b().getF32Type(), kBins);
  m = tiledMax();
  strided(lb.idx(0), lb.idx(kBins),
          [&](Value i) { lb.store(lb.f32(0.0), mass, i); });
  barrier(lb);
  // Bin 0 (e < 2^-32, most of a peaked row) is left out: a bound that needs
  // it takes every token anyway, and its shared-memory atomics would
  // serialise the block.
  Value t =
      sum(stridedAcc(tileLo(), tileHi(), lb.f64(0.0), [&](Value i, Value a) {
        Value e = expAt(i);
        Value bin = binOf(e);
        lb.ifThen(lb.gt(bin, lb.idx(0)), [&] {
          memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addf,
                                      e, mass, ValueRange{bin});
        });
        return lb.add(a, lb.toF64(e));
      }));
  // sum()'s barriers order the atomics before the reads below.
  lb.ifThen(atThread0(), [&] { storeF64(t, tileSumSlot(part)); });
  strided(lb.idx(0), lb.idx(kBins), [&](Value i) {
    Value v = lb.load(mass, i);
    lb.ifThen(lb.gt(v, lb.f32(0.0)), [&] {
      memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addf, v,
                                  probs, ValueRange{keptSlot(i)});
    });
  });
}

/// The tile's tokens in the bins that hold the bound's mass, and one bin
/// more, appended to the row's candidates (counted past kGpuTopAMaxCandidates
/// too, so that select sees the overflow).
void TopAKernel::emitGather() {
  Value first = shared(b(), k, b().getI32Type(), 4);
  m = tiledMax();
  Value tp = lb.toF64(lb.max(topP, lb.f32(1e-6)));
  Value bound =
      lb.mul(lb.mul(lb.add(tp, lb.f64(1e-6)), lb.f64(1.0 + 1e-3)), tiledSum());
  // Thread j < 256 holds bin 255 - j; the first whose running mass (from the
  // top) reaches the bound: bins >= 255 - j hold it. None (rounding at the
  // total): every bin.
  lb.ifThen(atThread0(), [&] { lb.store(i32c(kBins), first, lb.idx(0)); });
  Value isBin = lb.lt(k.tid, lb.idx(kBins));
  Value bin = lb.sub(lb.idx(kBins - 1), lb.min(k.tid, lb.idx(kBins - 1)));
  Value own =
      lb.select(isBin, lb.toF64(lb.load(probs, keptSlot(bin))), lb.f64(0.0));
  Value before = exclusiveScan(own);
  Value reaches = lb.andI(lb.andI(isBin, lb.lt(before, bound)),
                          lb.ge(lb.add(before, own), bound));
  lb.ifThen(reaches, [&] {
    memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::mins,
                                lb.toInt(k.tid, b().getI32Type()), first,
                                ValueRange{lb.idx(0)});
  });
  barrier(lb);
  Value j = lb.toIndex(lb.load(first, lb.idx(0)));
  // One bin more than the bound needs.
  Value low = lb.select(lb.eq(j, lb.idx(kBins)), lb.idx(0),
                        lb.max(lb.sub(lb.idx(kBins - 2), j), lb.idx(0)));
  strided(tileLo(), tileHi(), [&](Value i) {
    lb.ifThen(lb.ge(binOf(expAt(i)), low), [&] {
      Value slot = memref::AtomicRMWOp::create(
          b(), loc(), arith::AtomicRMWKind::addi, lb.i64(1), kept,
          ValueRange{keptSlot(lb.idx(rt::kGpuTopACounter))});
      lb.ifThen(lb.lt(slot, lb.i64(kCap)), [&] {
        lb.store(lb.toI64(i), kept, candidateSlot(lb.toIndex(slot)));
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// select: one block per row
//===----------------------------------------------------------------------===//

/// The max and sum of the softmax over the whole row.
SmallVector<Value> TopAKernel::rowSoftmax() {
  m = lb.toF32(max(stridedAcc(vN, ninf(), [&](Value i, Value acc) {
    return lb.max(acc, lb.toF64(logitAt(i)));
  })));
  Value sum64 = sum(stridedAcc(vN, lb.f64(0.0), [&](Value i, Value acc) {
    return lb.add(acc, lb.toF64(expAt(i)));
  }));
  return {m, lb.toF32(sum64)};
}

/// The smallest order key K such that the tokens with keys >= K hold at
/// least top_p + 1e-6 of the mass (or every token), as i32.
Value TopAKernel::selectByMass(Value tp) {
  Type i32 = b().getI32Type(), f64 = b().getF64Type();
  Value hist = shared(b(), k, i32, kBins),
        histMass = shared(b(), k, f64, kBins);
  Value bound = lb.add(lb.toF64(tp), lb.f64(1e-6));
  Value zero = lb.idx(0);
  // ints[2]: the prefix found so far; ints[3]: 1 once every remaining token
  // fits under the bound. warpTmp[0]: the mass above the prefix.
  lb.ifThen(atThread0(), [&] {
    lb.store(i32c(0), ints, lb.idx(2));
    lb.store(i32c(0), ints, lb.idx(3));
    lb.store(lb.f64(0.0), warpTmp, zero);
  });
  for (int64_t pass = 0; pass < 4; ++pass) {
    int64_t shift = 24 - 8 * pass;
    uint32_t high = pass == 0 ? 0u : (0xFFFFFFFFu << (32 - 8 * pass));
    Value highMask = i32c(static_cast<int32_t>(high));
    strided(zero, lb.idx(kBins), [&](Value i) {
      lb.store(i32c(0), hist, i);
      lb.store(lb.f64(0.0), histMass, i);
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
    lb.ifThen(atThread0(), [&] {
      Value done = lb.truthy(lb.load(ints, lb.idx(3)));
      // Walk the digits from 255 down, taking whole bins while the mass
      // stays within the bound; the first that does not is descended into.
      auto st = lb.forAcc(
          zero, lb.idx(kBins),
          ValueRange{lb.load(warpTmp, zero), done, lb.i64(0)},
          [&](Value j, ValueRange a) {
            Value digit = lb.sub(lb.idx(kBins - 1), j);
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

/// keys[j] for candidate j: the order key of its probability, then the
/// complemented id (so that the descending sort puts lower ids first).
static Value sortKey(TopAKernel &t, Value key, Value id) {
  LoopBuilder &lb = t.lb;
  Type i64 = t.b().getI64Type();
  Value hi = arith::ShLIOp::create(
      t.b(), t.loc(), arith::ExtUIOp::create(t.b(), t.loc(), i64, key),
      lb.i64(32));
  Value lo = lb.sub(lb.i64(0xFFFFFFFFll), lb.toI64(id));
  return arith::OrIOp::create(t.b(), t.loc(), hi, lo);
}

/// The tokens with order keys >= kMin into keys[] (up to kCap of them);
/// returns how many there are.
Value TopAKernel::gatherRow(Value kMin) {
  Value zero = lb.idx(0);
  lb.ifThen(atThread0(), [&] { lb.store(i32c(0), ints, zero); });
  barrier(lb);
  strided(zero, vN, [&](Value i) {
    Value key = orderKey(lb, probAt(i));
    lb.ifThen(ucmp(arith::CmpIPredicate::uge, key, kMin), [&] {
      Value slot =
          memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::addi,
                                      i32c(1), ints, ValueRange{zero});
      lb.ifThen(lb.lt(lb.toIndex(slot), lb.idx(kCap)), [&] {
        lb.store(sortKey(*this, key, i), keys, lb.toIndex(slot));
      });
    });
  });
  barrier(lb);
  Value nS = lb.toIndex(lb.load(ints, zero));
  barrier(lb);
  return nS;
}

/// The n gathered candidates (n <= kCap) into keys[]; returns n.
Value TopAKernel::loadCandidates(Value n) {
  strided(lb.idx(0), n, [&](Value j) {
    Value id = lb.toIndex(lb.load(kept, candidateSlot(j)));
    lb.store(sortKey(*this, orderKey(lb, probAt(id)), id), keys, j);
  });
  barrier(lb);
  return n;
}

/// Bitonic sort of keys[0 .. nS) descending (padded with zeros to a power of
/// two).
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

/// The nucleus size: 1 + the sorted entries j >= 1 whose running sum, rounded
/// to binary32, is <= tp (a prefix: the sum rises).
Value TopAKernel::nucleus(Value nS, Value tp) {
  Value within = scan(
      nS, [&](Value j) { return lb.toF64(probAt(idAt(j))); }, lb.f64(0.0),
      [&](Value j, Value cum, Value acc) {
        Value in = lb.andI(lb.ge(j, lb.idx(1)), lb.le(lb.toF32(cum), tp));
        return lb.select(in, lb.add(acc, lb.f64(1.0)), acc);
      });
  return lb.add(lb.idx(1), lb.toIndex(arith::FPToSIOp::create(
                               b(), loc(), b().getI64Type(), sum(within))));
}

/// The candidates - gathered by the tile stages, or by a radix select over
/// the row when those are too many or V too small - sorted; the nucleus ids
/// to kept[b][0, n), n (or -1: too many candidates) to counts[b][0].
void TopAKernel::emitSelect() {
  Value tp = lb.max(topP, lb.f32(1e-6));
  Value multi = lb.ge(vN, lb.idx(rt::kGpuTopAMultiMinV));
  // The counter's slot exists from kGpuTopAMultiMinV on.
  Value gathered = lb.load(
      kept, lb.select(multi, keptSlot(lb.idx(rt::kGpuTopACounter)), rowV));
  Value fast = lb.andI(multi, lb.le(gathered, lb.i64(kCap)));
  auto ms = choose(
      fast,
      [&]() -> SmallVector<Value> {
        return {tiledMax(), lb.toF32(tiledSum())};
      },
      [&] { return rowSoftmax(); });
  m = ms[0];
  s = ms[1];
  Value nS = choose(
      fast,
      [&]() -> SmallVector<Value> {
        return {loadCandidates(lb.toIndex(gathered))};
      },
      [&]() -> SmallVector<Value> { return {gatherRow(selectByMass(tp))}; })[0];
  lb.ifThenElse(
      lb.gt(nS, lb.idx(kCap)),
      [&] {
        lb.ifThen(atThread0(),
                  [&] { lb.store(lb.i64(-1), counts, countsSlot(0)); });
      },
      [&] {
        sortCandidates(nS);
        Value n = nucleus(nS, tp);
        strided(lb.idx(0), n, [&](Value j) {
          lb.store(lb.toI64(idAt(j)), kept, keptSlot(j));
        });
        lb.ifThen(atThread0(),
                  [&] { lb.store(lb.toI64(n), counts, countsSlot(0)); });
      });
}

//===----------------------------------------------------------------------===//
// agree: one block per nucleus token
//===----------------------------------------------------------------------===//

/// probs[b][j] = cos(consensus, embedding[id_j]) / max(tau, 1e-5).
void TopAKernel::emitAgree() {
  Value n = lb.toIndex(lb.load(counts, countsSlot(0)));
  auto consAt = [&](Value i) {
    return lb.toF32(lb.load(cons, lb.add(lb.mul(row, cN), i)));
  };
  auto divisor = [&](Value sq) {
    return lb.max(lb.toF32(lb.sqrt(sq)), lb.f32(1e-12));
  };
  lb.ifThen(lb.gt(n, part), [&] {
    Value cDiv = divisor(sum(stridedAcc(cN, lb.f64(0.0), [&](Value i, Value a) {
      Value v = lb.toF64(consAt(i));
      return lb.add(a, lb.mul(v, v));
    })));
    Value tauC = lb.max(tau, lb.f32(1e-5));
    scf::ForOp::create(
        b(), loc(), part, n, lb.idx(rt::kGpuTopAAgreeBlocks), ValueRange{},
        [&](OpBuilder &, Location, Value j, ValueRange) {
          Value base = lb.mul(lb.toIndex(lb.load(kept, keptSlot(j))), cN);
          auto embAt = [&](Value i) {
            return lb.toF32(lb.load(emb, lb.add(base, i)));
          };
          Value eDiv =
              divisor(sum(stridedAcc(cN, lb.f64(0.0), [&](Value i, Value a) {
                Value v = lb.toF64(embAt(i));
                return lb.add(a, lb.mul(v, v));
              })));
          Value dot = sum(stridedAcc(cN, lb.f64(0.0), [&](Value i, Value a) {
            return lb.add(a, lb.mul(lb.toF64(lb.div(embAt(i), eDiv)),
                                    lb.toF64(lb.div(consAt(i), cDiv))));
          }));
          lb.ifThen(atThread0(), [&] {
            lb.store(lb.div(lb.toF32(dot), tauC), probs, keptSlot(j));
          });
          scf::YieldOp::create(b(), loc());
        });
  });
}

//===----------------------------------------------------------------------===//
// <mode>: one block per row
//===----------------------------------------------------------------------===//

/// The kept tokens, in nucleus order, into kept[b, :] and their final logits
/// into probs[b, :]; returns their count.
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
          lb.store(lb.toI64(id), kept, keptSlot(pos));
          lb.store(logit, probs, keptSlot(pos));
        });
        return acc;
      });
  barrier(lb);
  return count(n, keepAt);
}

/// The final softmax over probs[b, 0 .. kN), the rest of the scratch, the
/// counts and the draw.
void TopAKernel::finish(Value n, Value kN) {
  Value zero = lb.idx(0);
  auto fin = [&](Value j) { return lb.load(probs, keptSlot(j)); };
  Value m2 = lb.toF32(max(stridedAcc(kN, ninf(), [&](Value j, Value a) {
    return lb.max(a, lb.toF64(fin(j)));
  })));
  Value s2 = lb.toF32(sum(stridedAcc(kN, lb.f64(0.0), [&](Value j, Value a) {
    return lb.add(a, lb.toF64(lb.exp(lb.sub(fin(j), m2))));
  })));
  strided(zero, kN, [&](Value j) {
    lb.store(lb.div(lb.exp(lb.sub(fin(j), m2)), s2), probs, keptSlot(j));
  });
  strided(kN, scratchEnd(), [&](Value j) {
    lb.store(lb.i64(-1), kept, keptSlot(j));
    lb.store(lb.f32(0.0), probs, keptSlot(j));
  });
  lb.ifThen(atThread0(), [&] {
    lb.store(lb.toInt(lb.sub(kN, lb.idx(1)), b().getI32Type()), ints,
             lb.idx(1));
  });
  barrier(lb);
  auto p = [&](Value j) { return lb.toF64(fin(j)); };
  Value total = sum(stridedAcc(
      kN, lb.f64(0.0), [&](Value j, Value a) { return lb.add(a, p(j)); }));
  Value target = lb.mul(lb.toF64(lb.load(uniform, row)), total);
  // The first position whose running sum exceeds the target.
  scan(kN, p, lb.f64(0.0), [&](Value j, Value cum, Value acc) {
    lb.ifThen(lb.gt(cum, target), [&] {
      memref::AtomicRMWOp::create(b(), loc(), arith::AtomicRMWKind::mins,
                                  lb.toInt(j, b().getI32Type()), ints,
                                  ValueRange{lb.idx(1)});
    });
    return acc;
  });
  barrier(lb);
  lb.ifThen(atThread0(), [&] {
    Value pick = lb.toIndex(lb.load(ints, lb.idx(1)));
    lb.store(lb.load(kept, keptSlot(pick)), sample, row);
    lb.store(lb.toI64(n), counts, countsSlot(0));
    lb.store(lb.toI64(kN), counts, countsSlot(1));
  });
}

/// A row whose candidates do not fit: counts (-1, -1), sample -1, kept -1,
/// probs 0.
void TopAKernel::refuse() {
  strided(lb.idx(0), scratchEnd(), [&](Value j) {
    lb.store(lb.i64(-1), kept, keptSlot(j));
    lb.store(lb.f32(0.0), probs, keptSlot(j));
  });
  lb.ifThen(atThread0(), [&] {
    lb.store(lb.i64(-1), counts, countsSlot(0));
    lb.store(lb.i64(-1), counts, countsSlot(1));
    lb.store(lb.i64(-1), sample, row);
  });
}

/// The nucleus (ids and agreements) into shared memory, then the filter, the
/// softmax and the draw; or the refusal.
void TopAKernel::emitLast() {
  Value n = lb.toIndex(lb.load(counts, countsSlot(0)));
  lb.ifThenElse(
      lb.lt(n, lb.idx(1)), [&] { refuse(); },
      [&] {
        strided(lb.idx(0), n, [&](Value j) {
          lb.store(lb.toInt(lb.load(kept, keptSlot(j)), b().getI32Type()), ids,
                   j);
          if (agree)
            lb.store(lb.load(probs, keptSlot(j)), agree, j);
        });
        barrier(lb);
        finish(n, keepAndCompact(n));
      });
}

/// Defines the kernel of `stage` for (mode, elem) as `name`.
static void buildTopAStage(OpBuilder &b, gpu::GPUModuleOp module,
                           const rt::TopAStage &stage, TopAMode mode, Type elem,
                           StringRef name) {
  auto vec = [](Type t) { return MemRefType::get({ShapedType::kDynamic}, t); };
  Type f32 = b.getF32Type(), f64 = b.getF64Type(), i32 = b.getI32Type(),
       i64 = b.getI64Type(), idx = b.getIndexType();
  SmallVector<Type> args = {vec(elem), vec(f32), vec(elem), vec(f32), f32,
                            f32,       f32,      f32,       vec(i64), vec(f32),
                            vec(i64),  vec(i64), idx,       idx};
  Stage which = stageOf(stage);
  defineKernel(b, module, name, args, stage.threads, "top_a",
               [&](LoopBuilder &lb, Kernel &k) {
                 TopAKernel t{lb, k, mode, stage.threads};
                 Value *params[] = {&t.logits, &t.cons,   &t.emb,    &t.uniform,
                                    &t.topP,   &t.lambda, &t.tau,    &t.thr,
                                    &t.kept,   &t.probs,  &t.counts, &t.sample,
                                    &t.vN,     &t.cN};
                 for (unsigned i = 0; i < std::size(params); ++i)
                   *params[i] = k.arg(i);
                 Value perRow = blocksPerRow(lb, stage, t.vN);
                 t.row = lb.div(k.bid, perRow);
                 t.part = lb.rem(k.bid, perRow);
                 t.rowV = lb.mul(t.row, t.vN);
                 t.red = shared(b, k, f64, 32);
                 if (which == Stage::Select)
                   t.warpTmp = shared(b, k, f64, 32);
                 if (which == Stage::Select || which == Stage::Last)
                   t.ints = shared(b, k, i32, 4);
                 switch (which) {
                 case Stage::Max:
                   return t.emitMax();
                 case Stage::Hist:
                   return t.emitHist();
                 case Stage::Gather:
                   return t.emitGather();
                 case Stage::Select:
                   t.keys = shared(b, k, i64, kCap);
                   return t.emitSelect();
                 case Stage::Agree:
                   return t.emitAgree();
                 case Stage::Last:
                   t.ids = shared(b, k, i32, kCap);
                   if (mode != TopAMode::Off)
                     t.agree = shared(b, k, f32, kCap);
                   return t.emitLast();
                 }
               });
  // One block per SM is all the one-per-row (and one-per-token) stages get:
  // without this, ptxas aims at two and spills to fit 32 registers.
  if (which == Stage::Select || which == Stage::Last || which == Stage::Agree)
    module.lookupSymbol<gpu::GPUFuncOp>(name)->setAttr("nvvm.minctasm",
                                                       b.getI32IntegerAttr(1));
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
    int e = elem.isF32() ? 0 : 1;
    gpu::GPUModuleOp module = getOrCreateKernelModule(op);
    LoopBuilder lb(rewriter, loc);
    Value one = lb.idx(1), vN = lb.dim(a.getLogits(), 1);
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
                               vN,
                               lb.dim(a.getEmbedding(), 1)};
    // The schedule of contract.h, stage by stage.
    for (const rt::TopAStage &stage : rt::kTopAStages) {
      if (stage.agreement && op.getMode() == TopAMode::Off)
        continue;
      std::string name = rt::topAStageEntry(stage, m, e);
      buildTopAStage(rewriter, module, stage, op.getMode(), elem, name);
      auto kernel = module.lookupSymbol<gpu::GPUFuncOp>(name);
      auto launch = [&] {
        Value blocks =
            lb.mul(lb.dim(a.getLogits(), 0), blocksPerRow(lb, stage, vN));
        gpu::LaunchFuncOp::create(
            rewriter, loc, kernel, gpu::KernelDim3{blocks, one, one},
            gpu::KernelDim3{lb.idx(stage.threads), one, one}, Value(), args);
      };
      if (stage.multiOnly)
        lb.ifThen(lb.ge(vN, lb.idx(rt::kGpuTopAMultiMinV)), launch);
      else
        launch();
    }
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace mlir::proteus::top_a

void mlir::proteus::populateProteusTopAToGPUPatterns(
    RewritePatternSet &patterns) {
  patterns.add<top_a::TopAToGPU>(patterns.getContext());
}
