//===- Primitives.cpp - Per-element bodies of the Proteus primitives ------===//
//
// Shared by the CPU loops and the GPU layer kernels (Primitives.h).
//
//===----------------------------------------------------------------------===//

#include "Primitives.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::proteus;

namespace mlir::proteus {

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
  if (invFreq && part < 2) {
    // Interleaved RoPE at position t, in binary32.
    Value theta = lb.mul(lb.toF32(t), invFreq(i));
    Value cs = lb.cos(theta), sn = lb.sin(theta);
    Value r0 = lb.sub(lb.mul(x0, cs), lb.mul(x1, sn));
    Value r1 = lb.add(lb.mul(x1, cs), lb.mul(x0, sn));
    x0 = r0;
    x1 = r1;
  }
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

} // namespace mlir::proteus
