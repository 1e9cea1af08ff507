//===- LayerKernels.cpp - The GPU layer kernels of contract.h -------------===//
//
// Routing, gating and selection run the same per-token bodies as the CPU
// loops (ProteusToSCF/Primitives.h), one thread per token, with binary64
// reductions in the same order, and DeviceMath for exp/sin/cos: the GPU layer
// reproduces the CPU path's routing bit for bit in almost every case, so
// token masks, head choices and modes agree exactly. The projections (which
// decide nothing) are tiled fp32 GEMMs with RoPE, bias and the token mask in
// their epilogues. Reductions over T
// (head mass, token counts, prototype sums) are block-wide trees of fixed
// shape and the selections are rank-based, so two calls give bit-identical
// results. Token selection is a radix select over the 32-bit order-preserving
// keys of the importances (four 8-bit passes, one block per batch item) with
// ties to the lower index.
//
//===----------------------------------------------------------------------===//

#include "LayerKernels.h"
#include "KernelSupport.h"

#include "../ProteusToSCF/Primitives.h"
#include "DeviceMath.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "proteus/Conversion/Passes.h"
#include "proteus_rt/contract.h"

#include <charconv>
#include <cmath>
#include <tuple>

using namespace mlir;
using namespace mlir::proteus;
namespace rt = proteus_rt;

//===----------------------------------------------------------------------===//
// Kernel building (KernelSupport.h)
//===----------------------------------------------------------------------===//

void mlir::proteus::defineKernel(
    OpBuilder &b, gpu::GPUModuleOp module, StringRef name, ArrayRef<Type> args,
    int64_t block, StringRef spec,
    function_ref<void(LoopBuilder &, Kernel &)> body) {
  if (module.lookupSymbol<gpu::GPUFuncOp>(name))
    return;
  Location loc = module.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({static_cast<int32_t>(block), 1, 1}));
  fn->setAttr("proteus.specialization", b.getStringAttr(spec));
  b.setInsertionPointToStart(&fn.getBody().front());
  static const DeviceMath math;
  LoopBuilder lb(b, loc, &math);
  Kernel k{fn, gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x),
           gpu::BlockIdOp::create(b, loc, gpu::Dimension::x)};
  body(lb, k);
  gpu::ReturnOp::create(b, loc);
}

Value mlir::proteus::shared(OpBuilder &b, Kernel &k, Type elem, int64_t n) {
  auto type = MemRefType::get(
      {n}, elem, AffineMap(),
      gpu::AddressSpaceAttr::get(b.getContext(),
                                 gpu::GPUDialect::getWorkgroupAddressSpace()));
  Value buffer = k.fn.addWorkgroupAttribution(type, k.fn.getLoc());
  k.fn.setWorkgroupAttributionAttr(k.fn.getNumWorkgroupAttributions() - 1,
                                   "llvm.align", b.getI64IntegerAttr(16));
  return buffer;
}

void mlir::proteus::barrier(LoopBuilder &lb) {
  gpu::BarrierOp::create(lb.builder(), lb.getLoc());
}

Value mlir::proteus::blockReduce(LoopBuilder &lb, Value smem, Value tid,
                                 Value v, int64_t block,
                                 function_ref<Value(Value, Value)> combine) {
  lb.store(v, smem, tid);
  barrier(lb);
  for (int64_t s = block / 2; s >= 1; s /= 2) {
    lb.ifThen(lb.lt(tid, lb.idx(s)), [&] {
      lb.store(
          combine(lb.load(smem, tid), lb.load(smem, lb.add(tid, lb.idx(s)))),
          smem, tid);
    });
    barrier(lb);
  }
  Value r = lb.load(smem, lb.idx(0));
  barrier(lb);
  return r;
}

namespace {

constexpr int64_t kBlock = rt::kGpuLayerBlock;
constexpr int64_t kSelectBlock = rt::kGpuSelectBlock;

/// The row-major view of a flat kernel argument with the given sizes.
Value view(LoopBuilder &lb, Value flat, ArrayRef<OpFoldResult> sizes) {
  OpBuilder &b = lb.builder();
  int64_t rank = static_cast<int64_t>(sizes.size());
  SmallVector<OpFoldResult> strides(rank);
  SmallVector<int64_t> shape, staticStrides(rank);
  OpFoldResult stride = b.getIndexAttr(1);
  for (int64_t i = rank - 1; i >= 0; --i) {
    strides[i] = stride;
    std::optional<int64_t> s = getConstantIntValue(stride);
    staticStrides[i] = s ? *s : ShapedType::kDynamic;
    std::optional<int64_t> n = getConstantIntValue(sizes[i]);
    if (s && n)
      stride = b.getIndexAttr(*s * *n);
    else
      stride =
          lb.mul(getValueOrCreateConstantIndexOp(b, lb.getLoc(), stride),
                 getValueOrCreateConstantIndexOp(b, lb.getLoc(), sizes[i]));
  }
  for (OpFoldResult s : sizes) {
    std::optional<int64_t> n = getConstantIntValue(s);
    shape.push_back(n ? *n : ShapedType::kDynamic);
  }
  Type elem = cast<MemRefType>(flat.getType()).getElementType();
  auto type = MemRefType::get(
      shape, elem, StridedLayoutAttr::get(b.getContext(), 0, staticStrides));
  return memref::ReinterpretCastOp::create(b, lb.getLoc(), type, flat,
                                           b.getIndexAttr(0), sizes, strides);
}

Value blockSum(LoopBuilder &lb, Value smem, Value tid, Value v, int64_t block) {
  return blockReduce(lb, smem, tid, v, block,
                     [&](Value a, Value b) { return lb.add(a, b); });
}

/// In place exclusive prefix sum of smem[0..n) by thread 0, then a barrier.
void exclusiveScan(LoopBuilder &lb, Value smem, Value tid, int64_t n) {
  lb.ifThen(lb.eq(tid, lb.idx(0)), [&] {
    lb.forAcc1(lb.idx(0), lb.idx(n), lb.i64(0), [&](Value i, Value run) {
      Value c = lb.load(smem, i);
      lb.store(run, smem, i);
      return lb.add(run, c);
    });
  });
  barrier(lb);
}

/// Thread i of the grid, as an index.
Value globalId(LoopBuilder &lb, Kernel &k, int64_t block) {
  return lb.add(lb.mul(k.bid, lb.idx(block)), k.tid);
}

Value ceilDiv(LoopBuilder &lb, Value a, int64_t b) {
  return lb.div(lb.add(a, lb.idx(b - 1)), lb.idx(b));
}

/// ceil(a / b) for b >= 1 known only at run time.
Value ceilDiv(LoopBuilder &lb, Value a, Value b) {
  return lb.div(lb.sub(lb.add(a, b), lb.idx(1)), b);
}

/// The order key (i32) of the rank-th largest (1-based, 1 <= rank <= n)
/// of keyAt(0 .. n), by radix select: four 8-bit passes from the top over
/// a block-wide 256-bin histogram, `prefix` holding the digits found and
/// `remaining` the rank left; every thread gets both (remaining: how many
/// of the keys equal to the result the rank reaches, as i64). `hist` (i32,
/// 256) and `scalars` (i64, 2) are workgroup buffers; block >= 256.
std::pair<Value, Value> radixSelect(LoopBuilder &lb, Value tid, int64_t block,
                                    Value n, Value rank,
                                    function_ref<Value(Value)> keyAt,
                                    Value hist, Value scalars) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Type i64 = b.getI64Type();
  Type i32 = b.getI32Type();
  Value zero = lb.idx(0), one = lb.idx(1);
  Value prefix = arith::ConstantIntOp::create(b, loc, i32, 0);
  Value remaining = rank;
  for (int64_t pass = 0; pass < 4; ++pass) {
    int64_t shift = 24 - 8 * pass;
    uint32_t high = pass == 0 ? 0u : (0xFFFFFFFFu << (32 - 8 * pass));
    Value highMask =
        arith::ConstantIntOp::create(b, loc, i32, static_cast<int32_t>(high));
    lb.ifThen(lb.lt(tid, lb.idx(256)), [&] {
      lb.store(arith::ConstantIntOp::create(b, loc, i32, 0), hist, tid);
    });
    barrier(lb);
    scf::ForOp::create(
        b, loc, tid, lb.max(n, tid), lb.idx(block), ValueRange{},
        [&](OpBuilder &, Location, Value t, ValueRange) {
          Value key = keyAt(t);
          Value match =
              lb.eq(arith::AndIOp::create(b, loc, key, highMask), prefix);
          lb.ifThen(match, [&] {
            Value digit = arith::AndIOp::create(
                b, loc,
                arith::ShRUIOp::create(
                    b, loc, key,
                    arith::ConstantIntOp::create(b, loc, i32, shift)),
                arith::ConstantIntOp::create(b, loc, i32, 255));
            memref::AtomicRMWOp::create(
                b, loc, arith::AtomicRMWKind::addi,
                arith::ConstantIntOp::create(b, loc, i32, 1), hist,
                ValueRange{lb.toIndex(digit)});
          });
          scf::YieldOp::create(b, loc);
        });
    barrier(lb);
    lb.ifThen(lb.eq(tid, zero), [&] {
      // Walk the digits from 255 down to the one holding the rank.
      auto st = lb.forAcc(
          zero, lb.idx(256),
          ValueRange{lb.i64(0), lb.boolean(false), lb.i64(0), remaining},
          [&](Value j, ValueRange s) {
            Value digit = lb.sub(lb.idx(255), j);
            Value cnt =
                arith::ExtSIOp::create(b, loc, i64, lb.load(hist, digit));
            Value hit =
                lb.andI(lb.notI(s[1]), lb.ge(lb.add(s[0], cnt), remaining));
            return SmallVector<Value>{
                lb.select(lb.orI(s[1], hit), s[0], lb.add(s[0], cnt)),
                lb.orI(s[1], hit), lb.select(hit, lb.toI64(digit), s[2]),
                lb.select(hit, lb.sub(remaining, s[0]), s[3])};
          });
      lb.store(st[2], scalars, zero);
      lb.store(st[3], scalars, one);
    });
    barrier(lb);
    Value digit = arith::TruncIOp::create(b, loc, i32, lb.load(scalars, zero));
    remaining = lb.load(scalars, one);
    barrier(lb);
    prefix = arith::OrIOp::create(
        b, loc, prefix,
        arith::ShLIOp::create(
            b, loc, digit, arith::ConstantIntOp::create(b, loc, i32, shift)));
  }
  return {prefix, remaining};
}

/// Heads up to which proteus_top_k ranks a token's heads in registers.
constexpr int64_t kTopKInRegisters = 64;

struct LayerKernelBuilder {
  OpBuilder &b;
  gpu::GPUModuleOp module;
  ConfigAttr cfg;
  BudgetAttr budget;
  Location loc;
  int64_t c, g, h, d;
  Type f32, f64, i64, i8, idx;

  MemRefType vec(Type t) const {
    return MemRefType::get({ShapedType::kDynamic}, t);
  }
  std::string spec(StringRef role) const {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << role << " C=" << c << " G=" << g << " H=" << h << " D=" << d;
    return s;
  }
  OpFoldResult dyn(Value v) const { return v; }
  OpFoldResult fixed(int64_t v) const { return b.getIndexAttr(v); }

  /// One block per prototype: the row staged in shared memory, its norm
  /// summed by one thread in the CPU loops' order, every column divided by
  /// all threads; block 0 also writes the usage softmax.
  void routePrep() {
    defineKernel(
        b, module, "proteus_route_prep",
        {vec(f32), vec(f32), vec(f32), vec(f32)}, kBlock, spec("route_prep"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value row = shared(b, k, f32, c), div = shared(b, k, f32, 1);
          Value zero = lb.idx(0), base = lb.mul(k.bid, lb.idx(c));
          auto columns = [&](function_ref<void(Value)> body) {
            scf::ForOp::create(
                b, loc, k.tid, lb.max(lb.idx(c), k.tid), lb.idx(kBlock),
                ValueRange{},
                [&](OpBuilder &, Location, Value col, ValueRange) {
                  body(col);
                  scf::YieldOp::create(b, loc);
                });
          };
          columns([&](Value col) {
            lb.store(lb.load(k.arg(0), lb.add(base, col)), row, col);
          });
          barrier(lb);
          lb.ifThen(lb.eq(k.tid, zero), [&] {
            lb.store(
                emitL2Divisor(lb, lb.idx(c),
                              [&](Value col) { return lb.load(row, col); }),
                div, zero);
          });
          barrier(lb);
          Value d = lb.load(div, zero);
          columns([&](Value col) {
            lb.store(lb.div(lb.load(row, col), d), k.arg(2), lb.add(base, col));
          });
          if (cfg.getProtoUsageBoost() > 0.0)
            lb.ifThen(lb.andI(lb.eq(k.bid, zero), lb.eq(k.tid, zero)), [&] {
              emitUsageSoftmax(lb, lb.idx(g), k.arg(1), k.arg(3));
            });
        });
  }

  /// The rest of the routing of one token per thread, from the logits in
  /// `gates` and the prototype dots of the GEMMs.
  void route() {
    SmallVector<Type> args(10, vec(f32));
    args.append({idx, idx});
    defineKernel(
        b, module, "proteus_route", args, kBlock, spec("route"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value bN = k.arg(10), tN = k.arg(11);
          Value i = globalId(lb, k, kBlock);
          lb.ifThen(lb.lt(i, lb.mul(bN, tN)), [&] {
            bool proto = cfg.getProtoEnabled();
            RouteOperands r{
                cfg,
                view(lb, k.arg(0), {dyn(bN), dyn(tN), fixed(c)}),
                view(lb, k.arg(1), {fixed(g), fixed(c)}),
                proto ? view(lb, k.arg(2), {fixed(g), fixed(c)}) : Value(),
                proto && cfg.getProtoUsageBoost() > 0.0 ? k.arg(3) : Value(),
                k.arg(4),
                view(lb, k.arg(5), {dyn(bN), dyn(tN), fixed(g)}),
                view(lb, k.arg(6), {dyn(bN), dyn(tN), fixed(h)}),
                view(lb, k.arg(7), {dyn(bN), dyn(tN)}),
                view(lb, k.arg(8), {dyn(bN), dyn(tN)})};
            r.logitsGiven = true;
            if (proto)
              r.simDots = view(lb, k.arg(9), {dyn(bN), dyn(tN), fixed(g)});
            Value scratch;
            if (proto)
              scratch =
                  memref::AllocaOp::create(b, loc, MemRefType::get({g}, f32));
            emitRouteToken(lb, r, scratch, lb.div(i, tN), lb.rem(i, tN));
          });
        });
  }

  /// x / max(|x|, 1e-6) per token (prototypes only): the left operand of the
  /// similarity GEMM, each element the CPU loops' binary32 quotient.
  void routeScale() {
    // A block per kBlock tokens: their rows pass through shared memory
    // kCols columns at a time (coalesced loads), each thread summing its
    // token's squares in the CPU loops' order; then the block writes the
    // quotients with consecutive threads on consecutive columns.
    constexpr int64_t kCols = 32, pitch = kCols + 1;
    defineKernel(
        b, module, "proteus_route_scale", {vec(f32), vec(f32), idx, idx},
        kBlock, spec("route_scale"), [&](LoopBuilder &lb, Kernel &k) {
          Value tile = shared(b, k, f32, kBlock * pitch);
          Value div = shared(b, k, f32, kBlock);
          Value x = k.arg(0), xs = k.arg(1);
          Value nTok = lb.mul(k.arg(2), k.arg(3)), cI = lb.idx(c);
          Value i0 = lb.mul(k.bid, lb.idx(kBlock));
          auto sums = scf::ForOp::create(
              b, loc, lb.idx(0), cI, lb.idx(kCols), ValueRange{lb.f64(0.0)},
              [&](OpBuilder &, Location, Value c0, ValueRange acc) {
                barrier(lb);
                for (int64_t j = 0; j < kCols; ++j) {
                  Value e = lb.add(k.tid, lb.idx(j * kBlock));
                  Value tok = lb.div(e, lb.idx(kCols));
                  Value col = lb.rem(e, lb.idx(kCols));
                  Value g = lb.add(i0, tok), cc = lb.add(c0, col);
                  lb.ifThen(lb.andI(lb.lt(g, nTok), lb.lt(cc, cI)), [&] {
                    lb.store(lb.load(x, lb.add(lb.mul(g, cI), cc)), tile,
                             lb.add(lb.mul(tok, lb.idx(pitch)), col));
                  });
                }
                barrier(lb);
                Value n = lb.min(lb.idx(kCols), lb.sub(cI, c0));
                Value row = lb.mul(k.tid, lb.idx(pitch));
                scf::YieldOp::create(
                    b, loc,
                    ValueRange{emitSquaresSum(
                        lb, acc[0], lb.idx(0), n, [&](Value col) {
                          return lb.load(tile, lb.add(row, col));
                        })});
              });
          lb.store(emitL2DivisorOf(lb, sums.getResult(0)), div, k.tid);
          barrier(lb);
          Value span =
              lb.mul(lb.min(lb.idx(kBlock), lb.sub(lb.max(nTok, i0), i0)), cI);
          scf::ForOp::create(
              b, loc, k.tid, lb.max(span, k.tid), lb.idx(kBlock), ValueRange{},
              [&](OpBuilder &, Location, Value e, ValueRange) {
                Value tok = lb.div(e, cI);
                Value at = lb.add(lb.mul(i0, cI), e);
                lb.store(lb.div(lb.load(x, at), lb.load(div, tok)), xs, at);
                scf::YieldOp::create(b, loc);
              });
        });
  }

  /// out[m, g] = f32(sum_c f64(a[m, c]) f64(w[g, c])) over (B*T) x G: the
  /// router logits (a = x, w = W_router) and the prototype dots (a = the
  /// scaled x, w = the normalised prototypes), as a tiled binary64 GEMM that
  /// sums in the CPU loops' order.
  void routeLogits() {
    defineKernel(
        b, module, "proteus_route_logits", {vec(f32), vec(f32), vec(f32), idx},
        kBlock, spec("route_logits"), [&](LoopBuilder &lb, Kernel &k) {
          Value a = k.arg(0), w = k.arg(1), out = k.arg(2), mN = k.arg(3);
          emitTiledGemm(
              lb, k, mN, g, lb.idx(c),
              [&](Value m, Value kk) {
                return lb.load(a, lb.add(lb.mul(m, lb.idx(c)), kk));
              },
              [&](Value n, Value kk) {
                return lb.load(w, lb.add(lb.mul(n, lb.idx(c)), kk));
              },
              [&](Value m, Value n0, ArrayRef<Value> acc) {
                for (int64_t j = 0; j < 4; ++j) {
                  Value n = lb.add(n0, lb.idx(j));
                  auto store = [&] {
                    lb.store(lb.toF32(acc[j]), out,
                             lb.add(lb.mul(m, lb.idx(g)), n));
                  };
                  if (g % 4 == 0)
                    store();
                  else
                    lb.ifThen(lb.lt(n, lb.idx(g)), store);
                }
              },
              f64);
        });
  }

  /// out[j] = sum over the B*T rows of src[row, j] in binary64 (a fixed
  /// tree), divided by B*T when `mean`: one block per column j of `width`.
  void columnSum(StringRef name, int64_t width, bool mean) {
    defineKernel(b, module, name, {vec(f32), vec(f64), idx, idx}, kBlock,
                 spec(name), [&](LoopBuilder &lb, Kernel &k) {
                   Value smem = shared(b, k, f64, kBlock);
                   Value n = lb.mul(k.arg(2), k.arg(3));
                   Value part = stridedSum(lb, k, n, [&](Value i) {
                     return lb.toF64(lb.load(
                         k.arg(0), lb.add(lb.mul(i, lb.idx(width)), k.bid)));
                   });
                   Value total = blockSum(lb, smem, k.tid, part, kBlock);
                   lb.ifThen(lb.eq(k.tid, lb.idx(0)), [&] {
                     lb.store(mean ? lb.div(total, lb.toF64(n)) : total,
                              k.arg(1), k.bid);
                   });
                 });
  }

  /// The mean head probability of every head (the nucleus' input).
  void headMass() { columnSum("proteus_head_mass", h, /*mean=*/true); }

  /// sum over i = tid, tid + block, ... < n of f(i) in binary64.
  Value stridedSum(LoopBuilder &lb, Kernel &k, Value n,
                   function_ref<Value(Value)> f) {
    auto loop = scf::ForOp::create(
        b, loc, k.tid, lb.max(n, k.tid), lb.idx(kBlock), ValueRange{lb.f64(0)},
        [&](OpBuilder &, Location, Value i, ValueRange acc) {
          scf::YieldOp::create(b, loc, ValueRange{lb.add(acc[0], f(i))});
        });
    return loop.getResult(0);
  }

  /// Number of i = tid, tid + block, ... < n with pred(i), as i64.
  Value stridedCount(LoopBuilder &lb, Value tid, Value n, int64_t block,
                     function_ref<Value(Value)> pred) {
    auto loop = scf::ForOp::create(
        b, loc, tid, lb.max(n, tid), lb.idx(block), ValueRange{lb.i64(0)},
        [&](OpBuilder &, Location, Value i, ValueRange acc) {
          Value next = lb.select(pred(i), lb.add(acc[0], lb.i64(1)), acc[0]);
          scf::YieldOp::create(b, loc, ValueRange{next});
        });
    return loop.getResult(0);
  }

  void gate() {
    defineKernel(
        b, module, "proteus_gate", {vec(f64), vec(i64), vec(i64)}, 1,
        spec("gate"), [&](LoopBuilder &lb, Kernel &k) {
          Value mass = k.arg(0), vecB = k.arg(1), state = k.arg(2);
          auto slot = [&](int64_t s) {
            return lb.toIndex(lb.load(vecB, lb.idx(s)));
          };
          Value kd = slot(rt::kBudgetKDense);
          Value kAdapt = kd, nucleus = lb.idx(-1);
          if (cfg.getRouterTopP() > 0.0) {
            Value m =
                memref::AllocaOp::create(b, loc, MemRefType::get({h}, f32));
            lb.forLoop(lb.idx(0), lb.idx(h), [&](Value hh) {
              lb.store(lb.toF32(lb.load(mass, hh)), m, hh);
            });
            std::tie(kAdapt, nucleus) = emitNucleus(
                lb, m, kd, cfg.getRouterTopP(), cfg.getHActiveMin());
          }
          Value topk = lb.load(vecB, lb.add(kAdapt, lb.idx(rt::kBudgetSize)));
          lb.store(topk, state, lb.idx(rt::kStatsTopK));
          lb.store(lb.toI64(nucleus), state, lb.idx(rt::kStatsNucleusK));
          lb.store(lb.toI64(kAdapt), state, lb.idx(rt::kStatsKAdapt));
        });
  }

  void selectTokens() {
    defineKernel(b, module, "proteus_select_tokens",
                 {vec(f32), vec(i8), idx, idx, idx, idx}, kSelectBlock,
                 spec("select_tokens"),
                 [&](LoopBuilder &lb, Kernel &k) { emitSelectTokens(lb, k); });
  }

  void emitSelectTokens(LoopBuilder &lb, Kernel &k) {
    Type i32 = b.getI32Type();
    Value imp = k.arg(0), mask = k.arg(1), tN = k.arg(3), keep = k.arg(4),
          guard = k.arg(5), tid = k.tid;
    Value hist = shared(b, k, i32, 256);
    Value part = shared(b, k, i64, kSelectBlock);
    Value scalars = shared(b, k, i64, 2);
    Value base = lb.mul(k.bid, tN), zero = lb.idx(0), one = lb.idx(1);
    auto impAt = [&](Value t) { return lb.load(imp, lb.add(base, t)); };
    double thrD = cfg.getKeepThreshold();
    Value thr = lb.f32(thrD);
    Value basis = zero;
    if (thrD > 0.0) {
      Value cnt = stridedCount(lb, tid, tN, kSelectBlock,
                               [&](Value t) { return lb.ge(impAt(t), thr); });
      basis = lb.toIndex(blockSum(lb, part, tid, cnt, kSelectBlock));
    }
    Value need = lb.max(lb.max(keep, basis), guard);
    need = lb.min(lb.max(need, one), tN);
    auto writeMask = [&](Value t, Value on) {
      if (thrD > 0.0)
        on = lb.orI(on, lb.ge(impAt(t), thr));
      on = lb.orI(on, lb.lt(t, guard));
      lb.store(lb.select(on, lb.i8(1), lb.i8(0)), mask, lb.add(base, t));
    };
    lb.ifThenElse(
        lb.ge(need, tN),
        [&] {
          scf::ForOp::create(b, loc, tid, lb.max(tN, tid), lb.idx(kSelectBlock),
                             ValueRange{},
                             [&](OpBuilder &, Location, Value t, ValueRange) {
                               writeMask(t, lb.boolean(true));
                               scf::YieldOp::create(b, loc);
                             });
        },
        [&] {
          Value prefix, remaining;
          std::tie(prefix, remaining) = radixSelect(
              lb, tid, kSelectBlock, tN, lb.toI64(need),
              [&](Value t) { return orderKey(lb, impAt(t)); }, hist, scalars);
          // Ties at the kth key go to the lower positions: each thread
          // takes a contiguous chunk and learns how many equal keys lie
          // before it.
          Value chunk = ceilDiv(lb, tN, kSelectBlock);
          Value lo = lb.min(lb.mul(tid, chunk), tN);
          Value hi = lb.min(lb.add(lo, chunk), tN);
          auto isKth = [&](Value t) {
            return lb.eq(orderKey(lb, impAt(t)), prefix);
          };
          Value mine = lb.forAcc1(lo, hi, lb.i64(0), [&](Value t, Value n) {
            return lb.select(isKth(t), lb.add(n, lb.i64(1)), n);
          });
          lb.store(mine, part, tid);
          barrier(lb);
          exclusiveScan(lb, part, tid, kSelectBlock);
          Value before = lb.load(part, tid);
          lb.forAcc1(lo, hi, before, [&](Value t, Value run) {
            Value key = orderKey(lb, impAt(t));
            Value above = arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::ugt, key, prefix);
            Value tie = lb.eq(key, prefix);
            writeMask(t, lb.orI(above, lb.andI(tie, lb.lt(run, remaining))));
            return lb.select(tie, lb.add(run, lb.i64(1)), run);
          });
        });
  }

  void topK() {
    defineKernel(
        b, module, "proteus_top_k",
        {vec(f32), vec(i8), vec(i64), vec(i8), idx, idx}, kBlock, spec("top_k"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value bN = k.arg(4), tN = k.arg(5);
          Value i = globalId(lb, k, kBlock);
          lb.ifThen(lb.lt(i, lb.mul(bN, tN)), [&] {
            Value kk = lb.toIndex(lb.load(k.arg(2), lb.idx(rt::kStatsTopK)));
            Value bb = lb.div(i, tN), t = lb.rem(i, tN);
            if (h > kTopKInRegisters) {
              emitTopKToken(
                  lb, view(lb, k.arg(0), {dyn(bN), dyn(tN), fixed(h)}),
                  view(lb, k.arg(1), {dyn(bN), dyn(tN)}), kk,
                  view(lb, k.arg(3), {dyn(lb.mul(bN, lb.idx(h))), dyn(tN)}), bb,
                  t);
              return;
            }
            // The same rank as emitTopKToken's (the heads ahead of h by
            // aheadDescending), over the token's H probabilities loaded
            // once into registers: H loads and H^2 comparisons instead of
            // H^2 loads.
            SmallVector<Value> p;
            for (int64_t j = 0; j < h; ++j)
              p.push_back(
                  lb.load(k.arg(0), lb.add(lb.mul(i, lb.idx(h)), lb.idx(j))));
            Value on = lb.truthy(lb.load(k.arg(1), i));
            for (int64_t j = 0; j < h; ++j) {
              Value rank = lb.idx(0);
              for (int64_t o = 0; o < h; ++o)
                if (o != j)
                  rank = lb.select(
                      aheadDescending(lb, p[o], lb.idx(o), p[j], lb.idx(j)),
                      lb.add(rank, lb.idx(1)), rank);
              Value row = lb.add(lb.mul(bb, lb.idx(h)), lb.idx(j));
              lb.store(
                  lb.select(lb.andI(lb.lt(rank, kk), on), lb.i8(1), lb.i8(0)),
                  k.arg(3), lb.add(lb.mul(row, tN), t));
            }
          });
        });
  }

  void packCount() {
    defineKernel(b, module, "proteus_pack_count", {vec(i8), vec(i64), idx, idx},
                 kBlock, spec("pack_count"), [&](LoopBuilder &lb, Kernel &k) {
                   Value smem = shared(b, k, i64, kBlock);
                   Value tN = k.arg(3), base = lb.mul(k.bid, tN);
                   Value cnt =
                       stridedCount(lb, k.tid, tN, kBlock, [&](Value t) {
                         return lb.truthy(lb.load(k.arg(0), lb.add(base, t)));
                       });
                   Value total = blockSum(lb, smem, k.tid, cnt, kBlock);
                   lb.ifThen(lb.eq(k.tid, lb.idx(0)),
                             [&] { lb.store(total, k.arg(1), k.bid); });
                 });
  }

  void packScan() {
    defineKernel(
        b, module, "proteus_pack_scan",
        {vec(i64), vec(i64), vec(i64), vec(i64), idx, idx}, 1,
        spec("pack_scan"), [&](LoopBuilder &lb, Kernel &k) {
          Value counts = k.arg(0), offsets = k.arg(1), vecB = k.arg(2),
                state = k.arg(3), rN = k.arg(4), tN = k.arg(5);
          Value zero = lb.idx(0);
          lb.store(lb.i64(0), offsets, zero);
          auto st =
              lb.forAcc(zero, rN, ValueRange{lb.i64(0), lb.i64(0), lb.i64(0)},
                        [&](Value r, ValueRange s) {
                          Value cnt = lb.load(counts, r);
                          Value n = lb.add(s[0], cnt);
                          lb.store(n, offsets, lb.add(r, lb.idx(1)));
                          return SmallVector<Value>{
                              n, lb.max(s[1], cnt),
                              lb.select(lb.gt(cnt, lb.i64(0)),
                                        lb.add(s[2], lb.i64(1)), s[2])};
                        });
          lb.store(st[0], state, lb.idx(rt::kStatsPacked));
          lb.store(st[1], state, lb.idx(rt::kStatsMaxActiveRows));
          lb.store(st[2], state, lb.idx(rt::kStatsActiveRows));
          emitModeDecision(lb, vecB, state, st[0], st[1], st[2], rN, tN);
        });
  }

  /// The mode decision of REFERENCE.md 2.9 as -proteus-decompose emits it
  /// for the CPU layer: alpha, then density, then full.
  void emitModeDecision(LoopBuilder &lb, Value vecB, Value state, Value n,
                        Value maxRows, Value active, Value rN, Value tN) {
    auto slotOn = [&](int64_t s) {
      return lb.ne(lb.load(vecB, lb.idx(s)), lb.i64(0));
    };
    LayerMode mode = budget.getMode();
    Value preferDense =
        mode == LayerMode::Dense
            ? lb.boolean(true)
            : (mode == LayerMode::Shortlist ? lb.boolean(false)
                                            : slotOn(rt::kBudgetPreferDense));
    Value densityHit = lb.boolean(false);
    if (cfg.getDenseThreshold() != -1.0)
      densityHit = lb.ge(lb.div(lb.toF64(maxRows), lb.toF64(lb.toI64(tN))),
                         lb.f64(cfg.getDenseThreshold()));
    Value full = lb.boolean(false);
    if (cfg.getForceDenseWhenFull())
      full = lb.andI(lb.notI(densityHit), lb.eq(n, lb.toI64(lb.mul(rN, tN))));
    Value noDense = mode == LayerMode::Shortlist ? lb.boolean(true)
                                                 : slotOn(rt::kBudgetNoDense);
    Value dense = lb.andI(lb.orI(lb.orI(preferDense, densityHit), full),
                          lb.notI(noDense));
    if (mode == LayerMode::Dense)
      dense = lb.boolean(true);
    if (mode == LayerMode::Shortlist)
      dense = lb.boolean(false);
    auto code = [&](auto v) { return lb.i64(static_cast<int64_t>(v)); };
    Value reason =
        lb.select(preferDense, code(rt::DenseReason::Alpha),
                  lb.select(densityHit, code(rt::DenseReason::Density),
                            lb.select(full, code(rt::DenseReason::Full),
                                      code(rt::DenseReason::None))));
    reason = lb.select(dense, reason, code(rt::DenseReason::None));
    Value allRows = lb.eq(active, lb.toI64(rN));
    Value denseLabel = lb.select(
        preferDense, code(rt::Mode::DenseAlpha),
        lb.select(allRows, code(rt::Mode::Dense), code(rt::Mode::DenseAuto)));
    lb.store(lb.select(dense, denseLabel, code(rt::Mode::Shortlist)), state,
             lb.idx(rt::kStatsMode));
    lb.store(reason, state, lb.idx(rt::kStatsDenseReason));
  }

  void packWrite() {
    defineKernel(
        b, module, "proteus_pack_write",
        {vec(i8), vec(i64), vec(i64), vec(i64), idx, idx}, kBlock,
        spec("pack_write"), [&](LoopBuilder &lb, Kernel &k) {
          Value part = shared(b, k, i64, kBlock);
          Value mask = k.arg(0), tN = k.arg(5), r = k.bid;
          Value base = lb.mul(r, tN);
          Value chunk = ceilDiv(lb, tN, kBlock);
          Value lo = lb.min(lb.mul(k.tid, chunk), tN);
          Value hi = lb.min(lb.add(lo, chunk), tN);
          auto on = [&](Value t) {
            return lb.truthy(lb.load(mask, lb.add(base, t)));
          };
          Value mine = lb.forAcc1(lo, hi, lb.i64(0), [&](Value t, Value n) {
            return lb.select(on(t), lb.add(n, lb.i64(1)), n);
          });
          lb.store(mine, part, k.tid);
          barrier(lb);
          exclusiveScan(lb, part, k.tid, kBlock);
          Value start = lb.add(lb.load(k.arg(1), r), lb.load(part, k.tid));
          lb.forAcc1(lo, hi, lb.toIndex(start), [&](Value t, Value pos) {
            Value active = on(t);
            lb.ifThen(active, [&] {
              lb.store(lb.toI64(r), k.arg(2), pos);
              lb.store(lb.toI64(t), k.arg(3), pos);
            });
            return lb.select(active, lb.add(pos, lb.idx(1)), pos);
          });
        });
  }

  /// A tile x tile block of C[m, n] = sum_k A(m, k) B(n, k) per block of
  /// 256 threads (tile 64 or 128). Thread (ty, tx) of the 16 x 16 grid holds
  /// rows ty*4 + 64i + {0..3} and columns tx*4 + 64j + {0..3} (i, j < tile /
  /// 64) as fp32 accumulators; K in steps of 16 staged in shared memory
  /// (transposed, padded). With `tileN` (4, 8, 16 or 32) the tile is tall
  /// instead: 4096 / tileN rows by tileN columns, a (256 / (tileN / 4)) x
  /// (tileN / 4) grid of 4 x 4 blocks, for N that narrow (`tile` is then
  /// ignored). loadA / loadB are called only in bounds;
  /// `epilogue(m, n0, acc)` gets four consecutive columns n0..n0+3 of row m
  /// (m < M, n0 < N; columns past N exist only when N % 4 != 0, and the
  /// epilogue must skip them). Each accumulator sums its products in k order
  /// from 0 in `accType`: in f64 that is the CPU loops' sum exactly; in f32
  /// with fused multiply-adds. `block` (default: the block index) picks the
  /// tile.
  void emitTiledGemm(LoopBuilder &lb, Kernel &k, Value mN, int64_t nN, Value kN,
                     function_ref<Value(Value, Value)> loadA,
                     function_ref<Value(Value, Value)> loadB,
                     function_ref<void(Value, Value, ArrayRef<Value>)> epilogue,
                     Type accType = Type(), int64_t tile = rt::kGpuGemmTile,
                     Value block = Value(), int64_t tileN = 0) {
    if (!accType)
      accType = f32;
    int64_t colThreads = 16, tileM = tile;
    if (tileN) {
      assert((tileN == 4 || tileN == 8 || tileN == 16 || tileN == 32) &&
             "a tall tile of 4 x 4 blocks");
      colThreads = tileN / 4;
      tileM = 4 * (kBlock / colThreads);
    } else {
      assert((tile == 64 || tile == 128) && "a 16 x 16 grid of 4 x 4 blocks");
      tileN = tile;
    }
    const int64_t rowThreads = kBlock / colThreads;
    const int64_t step = 16, pitchA = tileM + 4, pitchB = tileN + 4;
    const int64_t sideM = tileM / rowThreads, sideN = tileN / colThreads;
    Value sA = shared(b, k, accType, step * pitchA);
    Value sB = shared(b, k, accType, step * pitchB);
    int64_t nBlocks = (nN + tileN - 1) / tileN;
    if (!block)
      block = k.bid;
    Value m0 = lb.mul(lb.div(block, lb.idx(nBlocks)), lb.idx(tileM));
    Value n0 = lb.mul(lb.rem(block, lb.idx(nBlocks)), lb.idx(tileN));
    Value tx = lb.rem(k.tid, lb.idx(colThreads)),
          ty = lb.div(k.tid, lb.idx(colThreads));
    // The tile-relative offset of this thread's i-th row (or column): 4
    // consecutive per 4 * threads (of that side).
    auto offset = [&](Value t4, int64_t i, int64_t threads) {
      return lb.add(lb.mul(t4, lb.idx(4)),
                    lb.idx((i / 4) * 4 * threads + i % 4));
    };
    // Staged elements per thread and K step: A's; B's (fewer in a tall
    // tile, then some threads stage none).
    const int64_t stagesA = tileM * step / kBlock,
                  stagesB = (tileN * step + kBlock - 1) / kBlock;
    Value zf = accType.isF64() ? lb.f64(0.0) : lb.f32(0.0);
    SmallVector<Value> init(sideM * sideN, zf);
    auto loop = scf::ForOp::create(
        b, loc, lb.idx(0), kN, lb.idx(step), init,
        [&](OpBuilder &, Location, Value k0, ValueRange acc) {
          barrier(lb);
          for (int64_t j = 0; j < std::max(stagesA, stagesB); ++j) {
            Value e = lb.add(k.tid, lb.idx(j * kBlock));
            Value row = lb.div(e, lb.idx(step)), kk = lb.rem(e, lb.idx(step));
            Value kIdx = lb.add(k0, kk);
            Value inK = lb.lt(kIdx, kN);
            auto stage = [&](Value smem, int64_t pitch, Value r, Value limit,
                             function_ref<Value(Value, Value)> load) {
              Value dst = lb.add(lb.mul(kk, lb.idx(pitch)), row);
              auto guarded = scf::IfOp::create(b, loc, TypeRange{accType},
                                               lb.andI(inK, lb.lt(r, limit)),
                                               /*withElseRegion=*/true);
              {
                OpBuilder::InsertionGuard g(b);
                b.setInsertionPointToStart(&guarded.getThenRegion().front());
                Value v = load(r, kIdx);
                scf::YieldOp::create(
                    b, loc, accType.isF64() ? lb.toF64(v) : lb.toF32(v));
                b.setInsertionPointToStart(&guarded.getElseRegion().front());
                scf::YieldOp::create(b, loc, zf);
              }
              lb.store(guarded.getResult(0), smem, dst);
            };
            if (j < stagesA)
              stage(sA, pitchA, lb.add(m0, row), mN, loadA);
            if (j >= stagesB)
              continue;
            if ((j + 1) * kBlock <= tileN * step) {
              stage(sB, pitchB, lb.add(n0, row), lb.idx(nN), loadB);
              continue;
            }
            lb.ifThen(lb.lt(e, lb.idx(tileN * step)), [&] {
              stage(sB, pitchB, lb.add(n0, row), lb.idx(nN), loadB);
            });
          }
          barrier(lb);
          SmallVector<Value> next(acc.begin(), acc.end());
          for (int64_t kk = 0; kk < step; ++kk) {
            SmallVector<Value> av, bv;
            for (int64_t i = 0; i < std::max(sideM, sideN); ++i) {
              if (i < sideM)
                av.push_back(lb.load(sA, lb.add(lb.idx(kk * pitchA),
                                                offset(ty, i, rowThreads))));
              if (i < sideN)
                bv.push_back(lb.load(sB, lb.add(lb.idx(kk * pitchB),
                                                offset(tx, i, colThreads))));
            }
            // fp32: fused multiply-adds (the projections decide nothing and
            // a separate multiply and add halve the throughput); binary64:
            // the CPU loops' rounding, product then sum.
            for (int64_t i = 0; i < sideM; ++i)
              for (int64_t j = 0; j < sideN; ++j) {
                Value &a = next[i * sideN + j];
                a = accType.isF64() ? lb.add(a, lb.mul(av[i], bv[j]))
                                    : DeviceMath().fma(b, loc, av[i], bv[j], a);
              }
          }
          scf::YieldOp::create(b, loc, next);
        });
    for (int64_t i = 0; i < sideM; ++i) {
      Value m = lb.add(m0, offset(ty, i, rowThreads));
      for (int64_t j = 0; j < sideN; j += 4) {
        Value n = lb.add(n0, offset(tx, j, colThreads));
        lb.ifThen(lb.andI(lb.lt(m, mN), lb.lt(n, lb.idx(nN))), [&] {
          SmallVector<Value> acc;
          for (int64_t jj = 0; jj < 4; ++jj)
            acc.push_back(loop.getResult(i * sideN + j + jj));
          epilogue(m, n, acc);
        });
      }
    }
  }

  /// Whether the q/k/v projection leaves Q to proteus_project_q in
  /// shortlist mode: not with INT8, whose per-row scales need every q.
  bool gatheredQ() const { return !cfg.getQuantizeInt8(); }

  /// Whether the device stats vector `state` says shortlist mode.
  Value shortlistMode(LoopBuilder &lb, Value state) {
    return lb.eq(lb.load(state, lb.idx(rt::kStatsMode)),
                 lb.i64(static_cast<int64_t>(rt::Mode::Shortlist)));
  }

  /// The projection epilogues' four consecutive columns `v` of W_qkv's
  /// columns col0.. plus the bias, where the layer has one.
  SmallVector<Value> addBias(LoopBuilder &lb, Kernel &k, ArrayRef<Value> v,
                             Value col0) {
    SmallVector<Value> out(v.begin(), v.end());
    if (cfg.getBias())
      for (int64_t j = 0; j < 4; ++j)
        out[j] = lb.add(out[j], lb.load(k.arg(2), lb.add(col0, lb.idx(j))));
    return out;
  }

  /// The interleaved RoPE of four consecutive columns `v` (two pairs) at head
  /// dims dd.. of position t, in binary32 (REFERENCE.md 2.10).
  SmallVector<Value> rope(LoopBuilder &lb, Value invFreq, Value t, Value dd,
                          ArrayRef<Value> v) {
    SmallVector<Value> r(4);
    for (int64_t q = 0; q < 2; ++q) {
      Value i = lb.div(lb.add(dd, lb.idx(2 * q)), lb.idx(2));
      std::tie(r[2 * q], r[2 * q + 1]) = emitRopePair(
          lb, v[2 * q], v[2 * q + 1], lb.mul(lb.toF32(t), lb.load(invFreq, i)));
    }
    return r;
  }

  /// q, k, v = x W_qkv^T (+ b), RoPE on q and k, scattered to (R, T, D): a
  /// 128 x 128 tiled fp32 GEMM over (B*T) x 3C with the bias and rotation in
  /// the epilogue (four consecutive columns hold two interleaved pairs).
  void project() {
    SmallVector<Type> args(6, vec(f32));
    args.append({vec(i64), idx, idx});
    defineKernel(
        b, module, "proteus_project", args, kBlock, spec("project"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value x = k.arg(0), w = k.arg(1), bN = k.arg(7), tN = k.arg(8);
          Value invFreq = ropeTable(lb);
          Value mN = lb.mul(bN, tN);
          // In shortlist mode the blocks of Q columns only return:
          // proteus_project_q computes Q for the packed pairs alone.
          Value skip = lb.boolean(false);
          if (gatheredQ()) {
            const int64_t tile = rt::kGpuProjectTile,
                          colTiles = (3 * c + tile - 1) / tile;
            Value n0 = lb.mul(lb.rem(k.bid, lb.idx(colTiles)), lb.idx(tile));
            skip = lb.andI(shortlistMode(lb, k.arg(6)),
                           lb.le(lb.add(n0, lb.idx(tile)), lb.idx(c)));
          }
          lb.ifThen(lb.notI(skip), [&] {
            emitTiledGemm(
                lb, k, mN, 3 * c, lb.idx(c),
                [&](Value m, Value kk) {
                  return lb.load(x, lb.add(lb.mul(m, lb.idx(c)), kk));
                },
                [&](Value n, Value kk) {
                  return lb.load(w, lb.add(lb.mul(n, lb.idx(c)), kk));
                },
                [&](Value m, Value n0, ArrayRef<Value> acc) {
                  Value part = lb.div(n0, lb.idx(c));
                  Value col = lb.rem(n0, lb.idx(c));
                  Value hh = lb.div(col, lb.idx(d)),
                        dd = lb.rem(col, lb.idx(d));
                  Value bb = lb.div(m, tN), t = lb.rem(m, tN);
                  Value base = lb.mul(
                      lb.add(lb.mul(lb.add(lb.mul(bb, lb.idx(h)), hh), tN), t),
                      lb.idx(d));
                  SmallVector<Value> v = addBias(lb, k, acc, n0);
                  auto store = [&](Value out, ArrayRef<Value> vals) {
                    for (int64_t j = 0; j < 4; ++j)
                      lb.store(vals[j], out,
                               lb.add(base, lb.add(dd, lb.idx(j))));
                  };
                  for (int64_t p = 0; p < 3; ++p)
                    lb.ifThen(lb.eq(part, lb.idx(p)), [&] {
                      if (!invFreq || p == 2) {
                        store(k.arg(3 + p), v);
                        return;
                      }
                      store(k.arg(3 + p), rope(lb, invFreq, t, dd, v));
                    });
                },
                Type(), rt::kGpuProjectTile);
          });
        });
  }

  /// Q of the packed (row, token) pairs alone, in shortlist mode (the other
  /// modes return at once: proteus_project wrote every q): per row r = (b, h)
  /// a tiled fp32 GEMM of its packed pairs' x rows (gathered through
  /// packed_token) by the head's D rows of W_q, block j of row r taking the
  /// row's j-th tile of pairs (blocks past the row's count return), with
  /// proteus_project's epilogue (bias, RoPE). At D <= 32 the tiles are tall,
  /// 4096 / D pairs by the D columns (a 64-column tile would compute 64 / D
  /// times the work); at D >= 64 square, a row's tile of pairs taking
  /// D / kGpuGemmTile blocks. q keeps its (R, T, D) layout; pairs not packed
  /// are not written.
  void projectQ() {
    SmallVector<Type> args = {vec(f32), vec(f32), vec(f32), vec(i64), vec(i64),
                              vec(i64), vec(f32), idx,      idx};
    defineKernel(
        b, module, "proteus_project_q", args, kBlock, spec("project_q"),
        [&](LoopBuilder &lb, Kernel &k) {
          const int64_t rows = rt::gpuProjectQRows(d),
                        cols = rt::gpuProjectQCols(d);
          Value x = k.arg(0), w = k.arg(1), offsets = k.arg(3), ptok = k.arg(4),
                state = k.arg(5), q = k.arg(6), tN = k.arg(8);
          Value invFreq = ropeTable(lb);
          // Tiles of a row: ceil(T / rows) of pairs by colTiles of columns.
          const int64_t colTiles = (d + cols - 1) / cols;
          Value tiles = lb.mul(ceilDiv(lb, tN, rows), lb.idx(colTiles));
          Value r = lb.div(k.bid, tiles), j = lb.rem(k.bid, tiles);
          Value m0 = lb.mul(lb.div(j, lb.idx(colTiles)), lb.idx(rows));
          Value start = lb.toIndex(lb.load(offsets, r));
          Value count =
              lb.sub(lb.toIndex(lb.load(offsets, lb.add(r, lb.idx(1)))), start);
          Value shortlist = shortlistMode(lb, state);
          Value bb = lb.div(r, lb.idx(h)), hh = lb.rem(r, lb.idx(h));
          // The i-th pair of row r: its token, and the offset of its x row.
          auto token = [&](Value i) {
            return lb.toIndex(lb.load(ptok, lb.add(start, i)));
          };
          lb.ifThen(lb.andI(shortlist, lb.lt(m0, count)), [&] {
            emitTiledGemm(
                lb, k, count, d, lb.idx(c),
                [&](Value m, Value kk) {
                  Value row = lb.add(lb.mul(bb, tN), token(m));
                  return lb.load(x, lb.add(lb.mul(row, lb.idx(c)), kk));
                },
                [&](Value n, Value kk) {
                  Value col = lb.add(lb.mul(hh, lb.idx(d)), n);
                  return lb.load(w, lb.add(lb.mul(col, lb.idx(c)), kk));
                },
                [&](Value m, Value n0, ArrayRef<Value> acc) {
                  Value t = token(m);
                  Value base = lb.mul(lb.add(lb.mul(r, tN), t), lb.idx(d));
                  SmallVector<Value> v =
                      addBias(lb, k, acc, lb.add(lb.mul(hh, lb.idx(d)), n0));
                  if (invFreq)
                    v = rope(lb, invFreq, t, n0, v);
                  // D % 4 == 0 (gpuLayerUnsupported): all four columns
                  // exist.
                  for (int64_t jj = 0; jj < 4; ++jj)
                    lb.store(v[jj], q, lb.add(base, lb.add(n0, lb.idx(jj))));
                },
                Type(), rt::kGpuGemmTile, j, d >= 64 ? 0 : d);
          });
        });
  }

  /// base^(-2i/D) for i < D/2 as a constant table, evaluated here with the
  /// host's binary32 powf like the CPU path's; null without RoPE.
  Value ropeTable(LoopBuilder &lb) {
    if (!cfg.getUseRope())
      return Value();
    StringRef name = "proteus_rope_inv_freq";
    auto type = MemRefType::get({d / 2}, f32);
    if (!module.lookupSymbol(name)) {
      SmallVector<float> values;
      float base = static_cast<float>(cfg.getRopeBase());
      for (int64_t i = 0; i < d / 2; ++i)
        values.push_back(
            std::pow(base, -static_cast<float>(2 * i) / static_cast<float>(d)));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      memref::GlobalOp::create(
          b, loc, name, b.getStringAttr("private"), type,
          DenseElementsAttr::get(RankedTensorType::get({d / 2}, f32),
                                 ArrayRef<float>(values)),
          /*constant=*/true, /*alignment=*/nullptr);
    }
    return memref::GetGlobalOp::create(b, loc, type, name);
  }

  /// y = (concat_h o) W_proj^T (+ b) as a tiled fp32 GEMM over (B*T) x C;
  /// a token the mask drops gives exact zeros (then the bias).
  void combine() {
    SmallVector<Type> args = {vec(f32), vec(f32), vec(f32), vec(i8),
                              vec(f32), idx,      idx};
    defineKernel(
        b, module, "proteus_combine", args, kBlock, spec("combine"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value o = k.arg(0), w = k.arg(1), mask = k.arg(3), y = k.arg(4);
          Value bN = k.arg(5), tN = k.arg(6);
          emitTiledGemm(
              lb, k, lb.mul(bN, tN), c, lb.idx(c),
              [&](Value m, Value kk) {
                // Column kk of token m is o[b*H + kk/D, t, kk%D].
                Value bb = lb.div(m, tN), t = lb.rem(m, tN);
                Value row =
                    lb.add(lb.mul(bb, lb.idx(h)), lb.div(kk, lb.idx(d)));
                return lb.load(
                    o, lb.add(lb.mul(lb.add(lb.mul(row, tN), t), lb.idx(d)),
                              lb.rem(kk, lb.idx(d))));
              },
              [&](Value n, Value kk) {
                return lb.load(w, lb.add(lb.mul(n, lb.idx(c)), kk));
              },
              [&](Value m, Value n0, ArrayRef<Value> acc) {
                Value on = lb.truthy(lb.load(mask, m));
                for (int64_t j = 0; j < 4; ++j) {
                  Value n = lb.add(n0, lb.idx(j));
                  Value v = lb.select(on, acc[j], lb.f32(0.0));
                  if (cfg.getBias())
                    v = lb.add(v, lb.load(k.arg(2), n));
                  lb.store(v, y, lb.add(lb.mul(m, lb.idx(c)), n));
                }
              },
              Type(), rt::kGpuProjectTile);
        });
  }

  /// The head consensus of the last Tc positions (REFERENCE.md 2.13), one
  /// thread per element: cons[b, j, col] = o[b*H + col/D, T - Tc + j,
  /// col%D], 0 where the token mask drops the token (contract.h, step 12b).
  void consensus() {
    SmallVector<Type> args = {vec(f32), vec(i8), vec(f32), idx, idx, idx};
    defineKernel(
        b, module, "proteus_consensus", args, kBlock, spec("consensus"),
        [&](LoopBuilder &lb, Kernel &k) {
          Value o = k.arg(0), mask = k.arg(1), cons = k.arg(2);
          Value bN = k.arg(3), tN = k.arg(4), tc = k.arg(5);
          Value i = lb.add(lb.mul(k.bid, lb.idx(kBlock)), k.tid);
          Value cI = lb.idx(c), dI = lb.idx(d);
          lb.ifThen(lb.lt(i, lb.mul(lb.mul(bN, tc), cI)), [&] {
            Value col = lb.rem(i, cI), bj = lb.div(i, cI);
            Value bb = lb.div(bj, tc);
            Value t = lb.add(lb.sub(tN, tc), lb.rem(bj, tc));
            Value row = lb.add(lb.mul(bb, lb.idx(h)), lb.div(col, dI));
            Value v = lb.load(o, lb.add(lb.mul(lb.add(lb.mul(row, tN), t), dI),
                                        lb.rem(col, dI)));
            Value on = lb.truthy(lb.load(mask, lb.add(lb.mul(bb, tN), t)));
            lb.store(lb.select(on, v, lb.f32(0.0)), cons, i);
          });
        });
  }

  void int8Scales() {
    [[maybe_unused]] gpu::GPUFuncOp fn = getOrBuildInt8Scales(
        b, module, f32, d, cfg.getInt8Mode(), cfg.getInt8Percentile());
    assert(fn && "the pass checks that the module's INT8 ops agree");
  }

  /// The gate mass of every gate over the batch (the EMA's weights).
  void protoMass() { columnSum("proteus_proto_mass", g, /*mean=*/false); }

  /// The EMA's gate-weighted sums of x (REFERENCE.md 2.4), sum_t gates[t, g]
  /// x[t, c], as a split-T GEMM in binary64: the tiled GEMM's rows are
  /// (chunk, gate) pairs, chunks of `chunk` tokens (the last argument,
  /// rt::gpuProtoChunk(B*T)) and the gates padded to a whole tile, so that
  /// one block's rows share a chunk; each block writes its chunk's partial
  /// sums part[chunk][g][c], which proteus_proto_update adds in chunk order
  /// (the result does not depend on timing).
  void protoPartial() {
    defineKernel(
        b, module, "proteus_proto_partial",
        {vec(f32), vec(f32), vec(f64), idx, idx, idx}, kBlock,
        spec("proto_partial"), [&](LoopBuilder &lb, Kernel &k) {
          constexpr int64_t tile = rt::kGpuGemmTile;
          const int64_t gPad = (g + tile - 1) / tile * tile,
                        nBlocks = (c + tile - 1) / tile;
          Value x = k.arg(0), gates = k.arg(1), part = k.arg(2);
          Value bt = lb.mul(k.arg(3), k.arg(4)), chunk = k.arg(5);
          Value last = lb.sub(lb.max(bt, lb.idx(1)), lb.idx(1));
          Value mN = lb.mul(ceilDiv(lb, bt, chunk), lb.idx(gPad));
          // The block's chunk (its rows all lie in one).
          Value blockChunk =
              lb.div(lb.mul(lb.div(k.bid, lb.idx(nBlocks)), lb.idx(tile)),
                     lb.idx(gPad));
          auto token = [&](Value ch, Value kk) {
            return lb.add(lb.mul(ch, chunk), kk);
          };
          emitTiledGemm(
              lb, k, mN, c, chunk,
              [&](Value m, Value kk) {
                Value gi = lb.rem(m, lb.idx(gPad));
                Value t = token(lb.div(m, lb.idx(gPad)), kk);
                Value ok = lb.andI(lb.lt(t, bt), lb.lt(gi, lb.idx(g)));
                Value at = lb.add(lb.mul(lb.min(t, last), lb.idx(g)),
                                  lb.min(gi, lb.idx(g - 1)));
                return lb.select(ok, lb.load(gates, at), lb.f32(0.0));
              },
              [&](Value n, Value kk) {
                Value t = token(blockChunk, kk);
                Value at = lb.add(lb.mul(lb.min(t, last), lb.idx(c)), n);
                return lb.select(lb.lt(t, bt), lb.load(x, at), lb.f32(0.0));
              },
              [&](Value m, Value n0, ArrayRef<Value> acc) {
                Value ch = lb.div(m, lb.idx(gPad)),
                      gi = lb.rem(m, lb.idx(gPad));
                lb.ifThen(lb.lt(gi, lb.idx(g)), [&] {
                  Value row =
                      lb.mul(lb.add(lb.mul(ch, lb.idx(g)), gi), lb.idx(c));
                  for (int64_t j = 0; j < 4; ++j) {
                    Value n = lb.add(n0, lb.idx(j));
                    auto store = [&] {
                      lb.store(acc[j], part, lb.add(row, n));
                    };
                    if (c % 4 == 0)
                      store();
                    else
                      lb.ifThen(lb.lt(n, lb.idx(c)), store);
                  }
                });
              },
              f64, tile);
        });
  }

  /// The EMA of REFERENCE.md 2.4: a thread per (gate, column) adds the
  /// chunks' partial sums in chunk order (binary64), then, where the gate's
  /// mass passes 1e-6, p <- decay p + (1 - decay) sum / mass; the gate's
  /// usage and confidence once (column 0's thread).
  void protoUpdate() {
    defineKernel(
        b, module, "proteus_proto_update",
        {vec(f64), vec(f64), vec(f32), vec(f32), vec(f32), idx, idx, idx},
        kBlock, spec("proto_update"), [&](LoopBuilder &lb, Kernel &k) {
          Value mass = k.arg(0), part = k.arg(1), protos = k.arg(2),
                usage = k.arg(3), conf = k.arg(4);
          Value chunks = ceilDiv(lb, lb.mul(k.arg(5), k.arg(6)), k.arg(7));
          Value i = globalId(lb, k, kBlock), zero = lb.idx(0);
          double decay = cfg.getProtoDecay();
          Value dF = lb.f32(decay), od = lb.f32(1.0 - decay),
                thr = lb.f32(1e-6);
          lb.ifThen(lb.lt(i, lb.idx(g * c)), [&] {
            Value gi = lb.div(i, lb.idx(c)), cc = lb.rem(i, lb.idx(c));
            Value m = lb.toF32(lb.load(mass, gi));
            lb.ifThen(lb.gt(m, thr), [&] {
              Value s =
                  lb.forAcc1(zero, chunks, lb.f64(0.0), [&](Value ch, Value a) {
                    return lb.add(
                        a, lb.load(part, lb.add(lb.mul(ch, lb.idx(g * c)), i)));
                  });
              Value mu = lb.toF32(lb.div(s, lb.toF64(m)));
              Value p = lb.load(protos, i);
              lb.store(lb.add(lb.mul(dF, p), lb.mul(od, mu)), protos, i);
            });
            lb.ifThen(lb.eq(cc, zero), [&] {
              Value upd = lb.gt(m, thr);
              Value u = lb.mul(dF, lb.load(usage, gi));
              lb.store(lb.select(upd, lb.add(u, lb.mul(od, m)), u), usage, gi);
              Value cf = lb.mul(dF, lb.load(conf, gi));
              lb.store(lb.select(upd, lb.add(cf, od), cf), conf, gi);
            });
          });
        });
  }
};

} // namespace

std::string mlir::proteus::gpuLayerUnsupported(ConfigAttr cfg) {
  int64_t d = cfg.getHeadDim();
  if (d > 32 ? d % 32 != 0 : 32 % d != 0)
    return "head dim " + std::to_string(d) +
           " (the GPU kernels need D dividing 32 or a multiple of 32)";
  if (d % 4 != 0)
    return "head dim " + std::to_string(d) +
           " (the projection epilogues take four columns of one head)";
  return "";
}

std::string mlir::proteus::int8ScalesSpecialization(int64_t d, Int8Mode mode,
                                                    double p) {
  std::string spec = "int8_scales D=" + std::to_string(d);
  if (mode == Int8Mode::Max)
    return spec + " max";
  // The shortest form that reads back as p: two percentiles differ here
  // exactly when they differ.
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof(buf), p).ptr;
  return spec + " percentile=" + std::string(buf, end);
}

/// Per-row INT8 scales of q, k and v (REFERENCE.md 6.4), block r*3 + w
/// for row r of tensor w: the row's max |x|, or in percentile mode
/// torch.quantile's rank p (n - 1) in binary32 with the two neighbouring
/// order statistics found by radix select (the CPU path sorts; the values
/// are the same elements, so the scale is the CPU's bit for bit).
gpu::GPUFuncOp mlir::proteus::getOrBuildInt8Scales(OpBuilder &b,
                                                   gpu::GPUModuleOp module,
                                                   Type elem, int64_t d,
                                                   Int8Mode mode, double p) {
  std::string t;
  llvm::raw_string_ostream(t) << elem;
  std::string name = "proteus_int8_scales_" + t; // contract.h
  bool percentile = mode == Int8Mode::Percentile;
  std::string spec = int8ScalesSpecialization(d, mode, p);
  if (auto existing = module.lookupSymbol<gpu::GPUFuncOp>(name)) {
    auto had = existing->getAttrOfType<StringAttr>("proteus.specialization");
    return had && had.getValue() == spec ? existing : gpu::GPUFuncOp();
  }
  Location loc = module.getLoc();
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), idx = b.getIndexType();
  auto vec = [](Type e) { return MemRefType::get({ShapedType::kDynamic}, e); };
  defineKernel(
      b, module, name, {vec(elem), vec(elem), vec(elem), vec(f32), idx, idx},
      kBlock, spec, [&](LoopBuilder &lb, Kernel &k) {
        Value smem = shared(b, k, f32, kBlock);
        Value tN = k.arg(5), n = lb.mul(tN, lb.idx(d));
        Value r = lb.div(k.bid, lb.idx(3)), which = lb.rem(k.bid, lb.idx(3));
        Value base = lb.mul(r, n);
        auto absAt = [&](Value i) {
          Value at = lb.add(base, i);
          Value x = lb.select(lb.eq(which, lb.idx(0)),
                              lb.toF32(lb.load(k.arg(0), at)),
                              lb.select(lb.eq(which, lb.idx(1)),
                                        lb.toF32(lb.load(k.arg(1), at)),
                                        lb.toF32(lb.load(k.arg(2), at))));
          return lb.select(lb.lt(x, lb.f32(0.0)), lb.neg(x), x);
        };
        auto loop = scf::ForOp::create(
            b, loc, k.tid, lb.max(n, k.tid), lb.idx(kBlock),
            ValueRange{lb.f32(0.0)},
            [&](OpBuilder &, Location, Value i, ValueRange acc) {
              scf::YieldOp::create(b, loc,
                                   ValueRange{lb.max(acc[0], absAt(i))});
            });
        Value mx = blockReduce(lb, smem, k.tid, loop.getResult(0), kBlock,
                               [&](Value a, Value c) { return lb.max(a, c); });
        Value av, bv, w;
        if (percentile) {
          Type i32 = b.getI32Type();
          Value hist = shared(b, k, i32, 256);
          Value scalars = shared(b, k, i64, 2);
          // rank >= 0: floor by truncation, ceil by one more where rank
          // has a fraction (both exact: floor(rank) < 2^24 or rank is
          // an integer).
          Value rank = lb.mul(lb.f32(p), lb.toF32(lb.sub(n, lb.idx(1))));
          Value loI = arith::FPToSIOp::create(b, loc, i64, rank);
          Value loF = arith::SIToFPOp::create(b, loc, f32, loI);
          Value frac = lb.gt(rank, loF);
          Value hiI = lb.select(frac, lb.add(loI, lb.i64(1)), loI);
          Value nI = lb.toI64(n);
          auto kth = [&](Value ascending) {
            // The ascending-th smallest (0-based) is the (n - it)-th
            // largest; a key of a value >= 0 is its bits with the top one
            // set.
            Value key = radixSelect(
                            lb, k.tid, kBlock, n, lb.sub(nI, ascending),
                            [&](Value i) { return orderKey(lb, absAt(i)); },
                            hist, scalars)
                            .first;
            Value bits = arith::AndIOp::create(
                b, loc, key,
                arith::ConstantIntOp::create(b, loc, i32, 0x7FFFFFFF));
            return arith::BitcastOp::create(b, loc, f32, bits).getResult();
          };
          av = kth(loI);
          bv = kth(hiI);
          w = lb.sub(rank, loF);
        }
        lb.ifThen(lb.eq(k.tid, lb.idx(0)), [&] {
          lb.store(emitInt8Scale(lb, mx, av, bv, w), k.arg(3), k.bid);
        });
      });
  return module.lookupSymbol<gpu::GPUFuncOp>(name);
}

void mlir::proteus::buildLayerKernels(OpBuilder &b, gpu::GPUModuleOp module,
                                      ConfigAttr cfg, BudgetAttr budget) {
  LayerKernelBuilder k{b,
                       module,
                       cfg,
                       budget,
                       module.getLoc(),
                       cfg.getDModel(),
                       cfg.getGates(),
                       cfg.getHTotal(),
                       cfg.getHeadDim(),
                       b.getF32Type(),
                       b.getF64Type(),
                       b.getI64Type(),
                       b.getI8Type(),
                       b.getIndexType()};
  if (cfg.getProtoEnabled()) {
    k.routePrep();
    k.routeScale();
  }
  k.routeLogits();
  k.route();
  if (cfg.getTokenSparse())
    k.selectTokens();
  k.headMass();
  k.gate();
  k.topK();
  k.packCount();
  k.packScan();
  k.packWrite();
  k.project();
  if (k.gatheredQ())
    k.projectQ();
  k.combine();
  k.consensus();
  if (cfg.getQuantizeInt8())
    k.int8Scales();
  if (cfg.getProtoEnabled()) {
    k.protoMass();
    k.protoPartial();
    k.protoUpdate();
  }
}
