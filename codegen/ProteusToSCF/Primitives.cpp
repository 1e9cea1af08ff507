//===- Primitives.cpp - Per-element bodies of the Proteus primitives ------===//
//
// Shared by the CPU loops and the GPU layer kernels (Primitives.h).
//
//===----------------------------------------------------------------------===//

#include "Primitives.h"

#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>
#include <tuple>

using namespace mlir;
using namespace mlir::proteus;

namespace mlir::proteus {

LogicalResult requireF32(Operation *op, ConversionPatternRewriter &rewriter) {
  for (Value v : op->getOperands())
    if (auto mt = dyn_cast<MemRefType>(v.getType()))
      if (isa<FloatType>(mt.getElementType()) && !mt.getElementType().isF32())
        return rewriter.notifyMatchFailure(
            op, "the CPU lowering supports f32 operands only");
  return success();
}

/// sum_{i in [lo,hi)} f(i) in binary64.
Value sumF64(LoopBuilder &lb, Value lo, Value hi,
             function_ref<Value(Value)> term) {
  return lb.forAcc1(lo, hi, lb.f64(0.0), [&](Value i, Value acc) {
    return lb.add(acc, lb.toF64(term(i)));
  });
}

/// max_{i in [lo,hi)} f(i), starting from `init`.
Value maxOf(LoopBuilder &lb, Value lo, Value hi, Value init,
            function_ref<Value(Value)> term) {
  return lb.forAcc1(lo, hi, init,
                    [&](Value i, Value acc) { return lb.max(acc, term(i)); });
}

/// In-place softmax over a[base..base+n) of a 1-D-addressed f32 vector given
/// by get/set; binary32 like the reference.
void softmaxF32(LoopBuilder &lb, Value n, function_ref<Value(Value)> get,
                function_ref<void(Value, Value)> set) {
  Value m = maxOf(lb, lb.idx(0), n,
                  lb.f32(-std::numeric_limits<float>::infinity()), get);
  Value s = lb.forAcc1(lb.idx(0), n, lb.f32(0.0), [&](Value i, Value acc) {
    Value e = lb.exp(lb.sub(get(i), m));
    set(i, e);
    return lb.add(acc, e);
  });
  lb.forLoop(lb.idx(0), n, [&](Value i) { set(i, lb.div(get(i), s)); });
}

/// The number of i in [0, n) ahead of `self` in descending order of value,
/// ties to the lower index (SPEC.md section 3): the rank of `self`.
Value aheadDescending(LoopBuilder &lb, Value va, Value ia, Value vb, Value ib) {
  return lb.orI(lb.gt(va, vb), lb.andI(lb.eq(va, vb), lb.lt(ia, ib)));
}

Value rankDescending(LoopBuilder &lb, Value n, Value self, Value selfValue,
                     function_ref<Value(Value)> valueAt) {
  Value one = lb.idx(1);
  return lb.forAcc1(lb.idx(0), n, lb.idx(0), [&](Value o, Value acc) {
    Value ahead = aheadDescending(lb, valueAt(o), o, selfValue, self);
    return lb.select(ahead, lb.add(acc, one), acc);
  });
}

/// Shell sort of mem[0..n) (1-D, any element type) by `less`.
void shellSort(LoopBuilder &lb, Value mem, Value n,
               function_ref<Value(Value, Value)> less, Value base) {
  Value two = lb.idx(2), zero = lb.idx(0);
  auto at = [&](Value i) { return base ? lb.add(base, i) : i; };
  lb.whileLoop(
      ValueRange{lb.div(n, two)},
      [&](ValueRange s) { return lb.gt(s[0], zero); },
      [&](ValueRange s) {
        Value gap = s[0];
        lb.forLoop(gap, n, [&](Value i) {
          Value tmp = lb.load(mem, at(i));
          Value j = lb.whileLoop(
              ValueRange{i},
              [&](ValueRange st) {
                Value jj = st[0];
                Value canMove = lb.ge(jj, gap);
                // Guard the load: index jj - gap is only valid when canMove.
                Value probe = lb.select(canMove, lb.sub(jj, gap), zero);
                return lb.andI(canMove, less(tmp, lb.load(mem, at(probe))));
              },
              [&](ValueRange st) {
                Value jj = st[0];
                lb.store(lb.load(mem, at(lb.sub(jj, gap))), mem, at(jj));
                return SmallVector<Value>{lb.sub(jj, gap)};
              })[0];
          lb.store(tmp, mem, at(j));
        });
        return SmallVector<Value>{lb.div(gap, two)};
      });
}

void mergeSort(LoopBuilder &lb, Value mem, Value tmp, Value n,
               function_ref<Value(Value, Value)> less, Value base) {
  Value zero = lb.idx(0), one = lb.idx(1), two = lb.idx(2);
  auto at = [&](Value i) { return base ? lb.add(base, i) : i; };
  // Bottom-up: runs of `width` merged pairwise into tmp, then copied back.
  lb.whileLoop(
      ValueRange{one}, [&](ValueRange s) { return lb.lt(s[0], n); },
      [&](ValueRange s) {
        Value width = s[0], span = lb.mul(width, two);
        Value pairs = lb.div(lb.add(n, lb.sub(span, one)), span);
        lb.forLoop(zero, pairs, [&](Value pr) {
          Value lo = lb.mul(pr, span);
          Value mid = lb.min(lb.add(lo, width), n);
          Value hi = lb.min(lb.add(lo, span), n);
          // Take from the right run only when it is strictly ahead: stable.
          lb.forAcc(lo, hi, ValueRange{lo, mid}, [&](Value o, ValueRange ij) {
            Value i = ij[0], j = ij[1];
            Value iIn = lb.lt(i, mid), jIn = lb.lt(j, hi);
            Value a = lb.load(mem, at(lb.select(iIn, i, lo)));
            Value b = lb.load(mem, at(lb.select(jIn, j, lo)));
            Value right = lb.andI(jIn, lb.orI(lb.notI(iIn), less(b, a)));
            lb.store(lb.select(right, b, a), tmp, at(o));
            return SmallVector<Value>{lb.select(right, i, lb.add(i, one)),
                                      lb.select(right, lb.add(j, one), j)};
          });
        });
        lb.forLoop(zero, n,
                   [&](Value i) { lb.store(lb.load(tmp, at(i)), mem, at(i)); });
        return SmallVector<Value>{span};
      });
}

//===----------------------------------------------------------------------===//
// Routing and gating
//===----------------------------------------------------------------------===//

Value emitSquaresSum(LoopBuilder &lb, Value acc, Value lo, Value hi,
                     function_ref<Value(Value)> elem) {
  return lb.forAcc1(lo, hi, acc, [&](Value c, Value a) {
    Value v = lb.toF64(elem(c));
    return lb.add(a, lb.mul(v, v));
  });
}

Value emitL2DivisorOf(LoopBuilder &lb, Value squares) {
  return lb.max(lb.toF32(lb.sqrt(squares)), lb.f32(1e-6));
}

Value emitL2Divisor(LoopBuilder &lb, Value cN,
                    function_ref<Value(Value)> elem) {
  return emitL2DivisorOf(lb,
                         emitSquaresSum(lb, lb.f64(0.0), lb.idx(0), cN, elem));
}

void emitUsageSoftmax(LoopBuilder &lb, Value gN, Value usage, Value usageSoft) {
  lb.forLoop(lb.idx(0), gN, [&](Value gi) {
    lb.store(lb.neg(lb.add(lb.load(usage, gi), lb.f32(1e-6))), usageSoft, gi);
  });
  softmaxF32(
      lb, gN, [&](Value i) { return lb.load(usageSoft, i); },
      [&](Value i, Value v) { lb.store(v, usageSoft, i); });
}

void emitRoutePrep(LoopBuilder &lb, ConfigAttr cfg, Value prototypes,
                   Value usage, Value protoNorm, Value usageSoft) {
  Value zero = lb.idx(0), cI = lb.idx(cfg.getDModel()),
        gI = lb.idx(cfg.getGates());
  lb.forLoop(zero, gI, [&](Value gi) {
    Value d = emitL2Divisor(lb, cI, [&](Value c) {
      return lb.load(prototypes, {gi, c});
    });
    lb.forLoop(zero, cI, [&](Value c) {
      lb.store(lb.div(lb.load(prototypes, {gi, c}), d), protoNorm, {gi, c});
    });
  });
  if (usageSoft)
    emitUsageSoftmax(lb, gI, usage, usageSoft);
}

Value emitNormDivisor(LoopBuilder &lb, Value x, Value b, Value t, Value cN) {
  return emitL2Divisor(lb, cN, [&](Value c) { return lb.load(x, {b, t, c}); });
}

void emitRouteToken(LoopBuilder &lb, const RouteOperands &r, Value sc, Value b,
                    Value t) {
  ConfigAttr cfg = r.cfg;
  int64_t g = cfg.getGates(), h = cfg.getHTotal();
  Value zero = lb.idx(0), cI = lb.idx(cfg.getDModel()), gI = lb.idx(g);
  Value eps = lb.f32(1e-6);
  Value x = r.x, gates = r.gates;
  // Router logits and softmax, written into gates[b, t, :].
  if (!r.logitsGiven)
    lb.forLoop(zero, gI, [&](Value gi) {
      Value acc = sumF64(lb, zero, cI, [&](Value c) {
        return lb.mul(lb.toF64(lb.load(x, {b, t, c})),
                      lb.toF64(lb.load(r.wRouter, {gi, c})));
      });
      lb.store(lb.toF32(acc), gates, {b, t, gi});
    });
  auto getG = [&](Value i) { return lb.load(gates, {b, t, i}); };
  auto setG = [&](Value i, Value v) { lb.store(v, gates, {b, t, i}); };
  softmaxF32(lb, gI, getG, setG);

  Value beta, sim;
  if (cfg.getProtoEnabled()) {
    if (r.simDots) {
      lb.forLoop(zero, gI, [&](Value gi) {
        lb.store(lb.load(r.simDots, {b, t, gi}), sc, gi);
      });
    } else {
      Value xd = emitNormDivisor(lb, x, b, t, cI);
      lb.forLoop(zero, gI, [&](Value gi) {
        Value dot = sumF64(lb, zero, cI, [&](Value c) {
          return lb.mul(lb.toF64(lb.div(lb.load(x, {b, t, c}), xd)),
                        lb.toF64(lb.load(r.protoNorm, {gi, c})));
        });
        lb.store(lb.toF32(dot), sc, gi);
      });
    }
    auto getS = [&](Value i) { return lb.load(sc, i); };
    auto setS = [&](Value i, Value v) { lb.store(v, sc, i); };
    sim = maxOf(lb, zero, gI, lb.f32(-std::numeric_limits<float>::infinity()),
                getS);
    Value tau = lb.f32(cfg.getProtoTemp());
    lb.forLoop(zero, gI, [&](Value i) { setS(i, lb.div(getS(i), tau)); });
    softmaxF32(lb, gI, getS, setS);
    // Confidence reweighting.
    Value z = lb.forAcc1(zero, gI, lb.f32(0.0), [&](Value i, Value acc) {
      Value v = lb.mul(getS(i), lb.add(lb.load(r.confidence, i), eps));
      setS(i, v);
      return lb.add(acc, v);
    });
    Value zd = lb.max(z, eps);
    lb.forLoop(zero, gI, [&](Value i) { setS(i, lb.div(getS(i), zd)); });
    double th = cfg.getProtoThreshold();
    Value raw =
        lb.div(lb.sub(sim, lb.f32(th)), lb.f32(std::max(1e-6, 1.0 - th)));
    beta = lb.min(lb.max(raw, lb.f32(0.0)), lb.f32(1.0));
    Value bl = lb.mul(lb.f32(cfg.getProtoBlend()), beta);
    Value oneF = lb.f32(1.0);
    Value zg = lb.forAcc1(zero, gI, lb.f32(0.0), [&](Value i, Value acc) {
      Value v = lb.add(lb.mul(lb.sub(oneF, bl), getG(i)), lb.mul(bl, getS(i)));
      if (r.usageSoft)
        v = lb.add(v,
                   lb.mul(lb.mul(lb.load(r.usageSoft, i), lb.sub(oneF, beta)),
                          lb.f32(cfg.getProtoUsageBoost())));
      v = lb.max(v, lb.f32(0.0));
      setG(i, v);
      return lb.add(acc, v);
    });
    Value zgd = lb.max(zg, eps);
    lb.forLoop(zero, gI, [&](Value i) { setG(i, lb.div(getG(i), zgd)); });
    lb.store(sim, r.sim, {b, t});
  }
  // Token importance.
  Value gmax = maxOf(lb, zero, gI,
                     lb.f32(-std::numeric_limits<float>::infinity()), getG);
  Value imp = gmax;
  if (cfg.getProtoEnabled())
    imp = lb.add(lb.mul(gmax, lb.sub(lb.f32(1.0), beta)), lb.mul(sim, beta));
  lb.store(imp, r.importance, {b, t});
  // Head probabilities: gate g belongs to head min(g*H/G, H-1).
  lb.forLoop(zero, lb.idx(h), [&](Value hi) {
    lb.store(lb.f32(0.0), r.heads, {b, t, hi});
  });
  lb.forLoop(zero, gI, [&](Value gi) {
    Value hi = lb.min(lb.div(lb.mul(gi, lb.idx(h)), gI), lb.idx(h - 1));
    Value cur = lb.load(r.heads, {b, t, hi});
    lb.store(lb.add(cur, getG(gi)), r.heads, {b, t, hi});
  });
}

std::pair<Value, Value> emitNucleus(LoopBuilder &lb, Value m, Value kd,
                                    double topP, int64_t hMin) {
  Value zero = lb.idx(0), one = lb.idx(1), hN = lb.dim(m, 0);
  Value total = lb.forAcc1(zero, hN, lb.f32(0.0), [&](Value h, Value acc) {
    return lb.add(acc, lb.load(m, h));
  });
  shellSort(lb, m, hN, [&](Value x, Value y) { return lb.gt(x, y); });
  Value limit = lb.mul(total, lb.f32(topP));
  auto st = lb.forAcc(
      zero, hN, ValueRange{lb.f32(0.0), zero}, [&](Value h, ValueRange s) {
        Value cs = lb.add(s[0], lb.load(m, h));
        return SmallVector<Value>{
            cs, lb.select(lb.lt(cs, limit), lb.add(s[1], one), s[1])};
      });
  Value keep = lb.select(lb.lt(st[1], hN), lb.add(st[1], one), st[1]);
  keep = lb.max(keep, one);
  Value nucleus = lb.select(lb.le(kd, one), one, lb.min(kd, keep));
  Value kAdapt = lb.max(lb.idx(hMin), lb.min(kd, nucleus));
  return {kAdapt, nucleus};
}

void emitTopKToken(LoopBuilder &lb, Value hp, Value tokenMask, Value k,
                   Value rowMask, Value b, Value t) {
  Value zero = lb.idx(0), hN = lb.dim(hp, 2);
  Value tokenOn = lb.boolean(true);
  if (tokenMask)
    tokenOn = lb.truthy(lb.load(tokenMask, {b, t}));
  lb.forLoop(zero, hN, [&](Value h) {
    Value ph = lb.load(hp, {b, t, h});
    // rank = #heads ahead of h (larger probability, ties to the lower index).
    Value rank = rankDescending(lb, hN, h, ph, [&](Value o) {
      return lb.load(hp, {b, t, o});
    });
    Value on = lb.andI(lb.lt(rank, k), tokenOn);
    Value row = lb.add(lb.mul(b, hN), h);
    lb.store(lb.select(on, lb.i8(1), lb.i8(0)), rowMask, {row, t});
  });
}

//===----------------------------------------------------------------------===//
// Projections and combination
//===----------------------------------------------------------------------===//

void emitProjectPair(LoopBuilder &lb, Value x, Value w, Value bias, Value out,
                     int64_t part, int64_t heads,
                     function_ref<Value(Value)> invFreq, Value b, Value t,
                     Value h, Value i) {
  int64_t cDim = cast<MemRefType>(x.getType()).getDimSize(2);
  int64_t d = cDim / heads;
  Value zero = lb.idx(0), cI = lb.idx(cDim);
  Value row = lb.add(lb.mul(b, lb.idx(heads)), h);
  Value even = lb.mul(i, lb.idx(2)), odd = lb.add(even, lb.idx(1));
  auto column = [&](Value dd) {
    Value col = lb.add(lb.mul(h, lb.idx(d)), dd);
    Value o = lb.add(col, lb.idx(part * cDim));
    Value acc = sumF64(lb, zero, cI, [&](Value c) {
      return lb.mul(lb.toF64(lb.load(x, {b, t, c})),
                    lb.toF64(lb.load(w, {o, c})));
    });
    Value v = lb.toF32(acc);
    if (bias)
      v = lb.add(v, lb.load(bias, o));
    return v;
  };
  Value x0 = column(even);
  if (d % 2 != 0) {
    // Odd head dim (no RoPE): the last pair has one column.
    lb.store(x0, out, {row, t, even});
    lb.ifThen(lb.lt(odd, lb.idx(d)), [&] {
      lb.store(column(odd), out, {row, t, odd});
    });
    return;
  }
  Value x1 = column(odd);
  if (invFreq && part < 2)
    std::tie(x0, x1) =
        emitRopePair(lb, x0, x1, lb.mul(lb.toF32(t), invFreq(i)));
  lb.store(x0, out, {row, t, even});
  lb.store(x1, out, {row, t, odd});
}

void emitCombineElement(LoopBuilder &lb, Value o, Value w, Value bias,
                        Value tokenMask, Value y, Value b, Value t, Value col) {
  int64_t cDim = cast<MemRefType>(y.getType()).getDimSize(2);
  int64_t d = cast<MemRefType>(o.getType()).getDimSize(2), heads = cDim / d;
  Value zero = lb.idx(0), dI = lb.idx(d), hI = lb.idx(heads);
  Value on = lb.boolean(true);
  if (tokenMask)
    on = lb.truthy(lb.load(tokenMask, {b, t}));
  // A masked token contributes exact zeros (then the bias).
  Value acc = lb.forAcc1(zero, hI, lb.f64(0.0), [&](Value h, Value acc0) {
    Value row = lb.add(lb.mul(b, hI), h);
    return lb.add(
        acc0, sumF64(lb, zero, dI, [&](Value dd) {
          Value wv = lb.load(w, {col, lb.add(lb.mul(h, dI), dd)});
          return lb.mul(lb.toF64(lb.load(o, {row, t, dd})), lb.toF64(wv));
        }));
  });
  Value v = lb.select(on, lb.toF32(acc), lb.f32(0.0));
  if (bias)
    v = lb.add(v, lb.load(bias, col));
  lb.store(v, y, {b, t, col});
}

void emitConsensus(LoopBuilder &lb, Value o, Value tokenMask, Value y,
                   Value cons) {
  int64_t cDim = cast<MemRefType>(y.getType()).getDimSize(2);
  int64_t d = cast<MemRefType>(o.getType()).getDimSize(2);
  Value zero = lb.idx(0), dI = lb.idx(d), hI = lb.idx(cDim / d);
  Value tc = lb.dim(cons, 1), t0 = lb.sub(lb.dim(y, 1), tc);
  lb.forLoop(zero, lb.dim(cons, 0), [&](Value b) {
    lb.forLoop(zero, tc, [&](Value j) {
      Value t = lb.add(t0, j);
      Value on =
          tokenMask ? lb.truthy(lb.load(tokenMask, {b, t})) : lb.boolean(true);
      lb.forLoop(zero, lb.idx(cDim), [&](Value col) {
        Value row = lb.add(lb.mul(b, hI), lb.div(col, dI));
        Value v = lb.load(o, {row, t, lb.rem(col, dI)});
        lb.store(lb.select(on, lb.toF32(v), lb.f32(0.0)), cons, {b, j, col});
      });
    });
  });
}

Value emitInt8Scale(LoopBuilder &lb, Value mx, Value av, Value bv, Value w) {
  Value base = mx;
  if (av) {
    Value diff = lb.sub(bv, av);
    Value lowSide = lb.add(av, lb.mul(w, diff));
    Value highSide = lb.sub(bv, lb.mul(diff, lb.sub(lb.f32(1.0), w)));
    base = lb.select(lb.lt(w, lb.f32(0.5)), lowSide, highSide);
    base = lb.select(lb.eq(base, lb.f32(0.0)), mx, base);
  }
  return lb.max(lb.div(base, lb.f32(127.0)), lb.f32(1e-6));
}

Value emitCandidates(LoopBuilder &lb, const CandidateRule &r, Value t,
                     Value batch, Value dst, Value dstBase,
                     function_ref<void(Value)> fillPicks) {
  Value zero = lb.idx(0), one = lb.idx(1);
  auto pickAt = [&](Value i) {
    return r.picksBase ? lb.add(r.picksBase, i) : i;
  };
  Value tp1 = lb.add(t, one);
  // Local window: t-nl+1 .. t.
  Value nLocal = zero;
  if (r.useLocal) {
    Value w = lb.min(lb.min(r.window, r.effL), r.localCap);
    nLocal = lb.select(lb.gt(r.localCap, zero), lb.min(tp1, w), zero);
  }
  // Anchors max(t - j*s, 0), j = m..1 (ascending).
  Value nAnchor = zero, stride = lb.idx(r.stride);
  if (r.useAnchors && r.stride > 0) {
    Value m = lb.min(lb.min(r.anchorCap, r.effL), lb.max(one, r.seqLen));
    nAnchor = lb.select(lb.gt(r.anchorCap, zero), m, zero);
  }
  // Prototype picks: the top-c positions of 0..t by score, ties to the lower
  // index, then sorted by position. Each batch item's positions come sorted
  // by score (r.order, sortProtoOrder); a query's picks are the first c of
  // that order at or before t, since dropping the positions after t keeps
  // the others' order.
  Value nProto = zero;
  if (r.useProto) {
    Value c = lb.min(lb.min(r.effL, r.protoCap), r.seqLen);
    nProto = lb.select(lb.gt(r.protoCap, zero), lb.min(tp1, c), zero);
    lb.ifThen(lb.gt(nProto, zero), [&] {
      if (fillPicks) {
        fillPicks(nProto);
        return;
      }
      Value n = lb.dim(r.scores, 1), rowBase = lb.mul(batch, n);
      // nProto <= t + 1 positions are at or before t: the scan ends.
      Value t64 = lb.toI64(t);
      lb.whileLoop(
          ValueRange{zero, zero},
          [&](ValueRange s) { return lb.lt(s[1], nProto); },
          [&](ValueRange s) {
            Value p = lb.load(r.order, lb.add(rowBase, s[0]));
            Value take = lb.le(p, t64);
            lb.ifThen(take, [&] { lb.store(p, r.picks, pickAt(s[1])); });
            return SmallVector<Value>{lb.add(s[0], one),
                                      lb.select(take, lb.add(s[1], one), s[1])};
          });
      shellSort(
          lb, r.picks, nProto, [&](Value a, Value b) { return lb.lt(a, b); },
          r.picksBase);
    });
  }
  // Merge the four ascending lists (local, anchors, picks, {t}) without
  // duplicates, keeping the L smallest.
  Value big = lb.idx(std::numeric_limits<int64_t>::max());
  Value lastPick = lb.max(lb.sub(nProto, one), zero);
  auto state = lb.whileLoop(
      ValueRange{zero, zero, zero, zero, zero, lb.idx(-1)},
      [&](ValueRange s) {
        Value more = lb.orI(lb.orI(lb.lt(s[0], nLocal), lb.lt(s[1], nAnchor)),
                            lb.orI(lb.lt(s[2], nProto), lb.lt(s[3], one)));
        return lb.andI(more, lb.lt(s[4], r.effL));
      },
      [&](ValueRange s) {
        Value v0 = lb.select(lb.lt(s[0], nLocal),
                             lb.add(lb.sub(tp1, nLocal), s[0]), big);
        Value back = lb.mul(lb.sub(nAnchor, s[1]), stride);
        Value v1 =
            lb.select(lb.lt(s[1], nAnchor), lb.max(lb.sub(t, back), zero), big);
        Value pick =
            lb.toIndex(lb.load(r.picks, pickAt(lb.min(s[2], lastPick))));
        Value v2 = lb.select(lb.lt(s[2], nProto), pick, big);
        Value v3 = lb.select(lb.lt(s[3], one), t, big);
        Value v = lb.min(lb.min(v0, v1), lb.min(v2, v3));
        // Advance exactly one list: the first holding the minimum.
        Value a0 = lb.eq(v0, v);
        Value a1 = lb.andI(lb.notI(a0), lb.eq(v1, v));
        Value a2 = lb.andI(lb.notI(lb.orI(a0, a1)), lb.eq(v2, v));
        Value a3 = lb.notI(lb.orI(lb.orI(a0, a1), a2));
        auto bump = [&](Value i, Value take) {
          return lb.select(take, lb.add(i, one), i);
        };
        Value fresh = lb.ne(v, s[5]);
        lb.ifThen(fresh, [&] {
          lb.store(
              lb.toInt(v, cast<MemRefType>(dst.getType()).getElementType()),
              dst, dstBase ? lb.add(dstBase, s[4]) : s[4]);
        });
        Value count = lb.select(fresh, lb.add(s[4], one), s[4]);
        return SmallVector<Value>{bump(s[0], a0), bump(s[1], a1),
                                  bump(s[2], a2), bump(s[3], a3),
                                  count,          v};
      });
  return state[4];
}

Value orderKey(LoopBuilder &lb, Value v) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Type i32 = b.getI32Type();
  v = lb.select(lb.eq(v, lb.f32(0.0)), lb.f32(0.0), v);
  Value bits = arith::BitcastOp::create(b, loc, i32, v);
  Value neg =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, bits,
                            arith::ConstantIntOp::create(b, loc, i32, 0));
  Value flipped = arith::XOrIOp::create(
      b, loc, bits, arith::ConstantIntOp::create(b, loc, i32, -1));
  Value marked =
      arith::OrIOp::create(b, loc, bits,
                           arith::ConstantIntOp::create(
                               b, loc, i32, static_cast<int32_t>(0x80000000u)));
  return lb.select(neg, flipped, marked);
}

void emitTopCAscending(LoopBuilder &lb, function_ref<Value(Value)> keyAt,
                       Value t, Value c, Value hist, Value hBase, Value picks,
                       Value pBase) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Type i32 = b.getI32Type();
  auto i32c = [&](int64_t v) {
    return arith::ConstantIntOp::create(b, loc, i32, v).getResult();
  };
  Value zero = lb.idx(0), one = lb.idx(1), tp1 = lb.add(t, one);
  Value bins = lb.idx(256);
  Value prefix = i32c(0), remaining = c;
  for (int64_t pass = 0; pass < 4; ++pass) {
    int64_t shift = 24 - 8 * pass;
    uint32_t high = pass == 0 ? 0u : (0xFFFFFFFFu << (32 - 8 * pass));
    Value highMask = i32c(static_cast<int32_t>(high));
    lb.forLoop(zero, bins,
               [&](Value j) { lb.store(i32c(0), hist, lb.add(hBase, j)); });
    lb.forLoop(zero, tp1, [&](Value p) {
      Value key = keyAt(p);
      lb.ifThen(lb.eq(arith::AndIOp::create(b, loc, key, highMask), prefix),
                [&] {
                  Value digit = arith::AndIOp::create(
                      b, loc, arith::ShRUIOp::create(b, loc, key, i32c(shift)),
                      i32c(255));
                  Value at = lb.add(hBase, lb.toIndex(digit));
                  lb.store(lb.add(lb.load(hist, at), i32c(1)), hist, at);
                });
    });
    // The digit, from 255 down, whose bin holds the remaining rank.
    auto st = lb.forAcc(
        zero, bins, ValueRange{zero, lb.boolean(false), zero, remaining},
        [&](Value j, ValueRange s) {
          Value digit = lb.sub(lb.idx(255), j);
          Value cnt = lb.toIndex(lb.load(hist, lb.add(hBase, digit)));
          Value hit =
              lb.andI(lb.notI(s[1]), lb.ge(lb.add(s[0], cnt), remaining));
          return SmallVector<Value>{
              lb.select(lb.orI(s[1], hit), s[0], lb.add(s[0], cnt)),
              lb.orI(s[1], hit), lb.select(hit, digit, s[2]),
              lb.select(hit, lb.sub(remaining, s[0]), s[3])};
        });
    remaining = st[3];
    prefix = arith::OrIOp::create(
        b, loc, prefix,
        arith::ShLIOp::create(b, loc, lb.toInt(st[2], i32), i32c(shift)));
  }
  // prefix: the c-th largest key; remaining: how many keys equal to it are
  // taken (the lowest positions first).
  lb.forAcc(zero, tp1, ValueRange{zero, zero}, [&](Value p, ValueRange s) {
    Value key = keyAt(p);
    Value above =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, key, prefix);
    Value tie = lb.eq(key, prefix);
    Value take = lb.orI(above, lb.andI(tie, lb.lt(s[1], remaining)));
    lb.ifThen(take, [&] {
      lb.store(lb.toInt(p, cast<MemRefType>(picks.getType()).getElementType()),
               picks, lb.add(pBase, s[0]));
    });
    return SmallVector<Value>{lb.select(take, lb.add(s[0], one), s[0]),
                              lb.select(tie, lb.add(s[1], one), s[1])};
  });
}

std::pair<Value, Value> emitRopePair(LoopBuilder &lb, Value x0, Value x1,
                                     Value theta) {
  return emitRopeRotate(lb, x0, x1, lb.cos(theta), lb.sin(theta));
}

std::pair<Value, Value> emitRopeRotate(LoopBuilder &lb, Value x0, Value x1,
                                       Value cs, Value sn) {
  return {lb.sub(lb.mul(x0, cs), lb.mul(x1, sn)),
          lb.add(lb.mul(x1, cs), lb.mul(x0, sn))};
}

} // namespace mlir::proteus
