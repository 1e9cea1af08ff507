//===- ProteusToGPU.cpp - Proteus attention to GPU kernels ----------------===//
//
// Lowers proteus.shortlist_attention and proteus.dense_attention to
// gpu.launch_func of kernels in one gpu.module. Every specialization fact of a
// setting (element type, head dim, anchor stride, candidate pieces, scale) is
// a compile-time constant of its kernel; the T-dependent budgets are kernel
// arguments. The op's #proteus.tile (else the kernel's default) lays the
// kernel out; AttentionTiles.cpp says what each field means per kernel and
// which tiles are valid.
//
// Kernel shape: one warp per query. The warp splits into P = 32 / G groups of
// G lanes (the tile's `lanes`); each group scores `unroll` candidates at a
// time (each lane holds D / G dims of q and of the fp32 accumulator), keeps an
// online softmax, and the groups merge with a log-sum-exp reduction at the
// end. Candidates come from a materialised list, from the candidate rule
// evaluated in closed form per index (no list is ever built), or from the
// causal prefix. bf16/f16 dense attention runs on tensor cores instead, and
// so does the bf16/f16 rule kernel's local band where 16 packed queries are
// consecutive tokens of one row (emitBand).
//
//===----------------------------------------------------------------------===//

#include "../ProteusToSCF/LoopBuilder.h"
#include "../ProteusToSCF/Primitives.h"
#include "KernelSpec.h"
#include "KernelSupport.h"
#include "LayerKernels.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"
#include "proteus/Conversion/Passes.h"
#include "proteus/Dialect/Proteus/ProteusOps.h"
#include "proteus_rt/contract.h"

#include <cmath>
#include <limits>

namespace mlir::proteus {
#define GEN_PASS_DEF_CONVERTPROTEUSTOGPUPASS
#include "proteus/Conversion/Passes.h.inc"
} // namespace mlir::proteus

using namespace mlir;
using namespace mlir::proteus;

gpu::GPUModuleOp mlir::proteus::getOrCreateKernelModule(Operation *op) {
  return op->getParentOfType<ModuleOp>().lookupSymbol<gpu::GPUModuleOp>(
      "proteus_kernels");
}

Value mlir::proteus::flatten(OpBuilder &b, Location loc, Value mem) {
  auto type = cast<MemRefType>(mem.getType());
  if (type.getRank() == 1)
    return mem;
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return memref::CollapseShapeOp::create(b, loc, mem,
                                         ArrayRef<ReassociationIndices>{all});
}

namespace {

constexpr int64_t kWarpsPerBlock = proteus_rt::kGpuAttentionBlock / 32;
/// Packed queries per tensor-core band (the rows of an m16n8k16 tile).
constexpr int64_t kBandQueries = 16;

/// Closed form of the candidate rule (REFERENCE.md 5.1) for local + anchor
/// pieces: the sorted distinct union is [0 if anchors collapsed onto it] ++
/// [anchors outside the local window, ascending] ++ [local window ending at t],
/// truncated to the L smallest.
struct RuleCandidates {
  Value count, anchorsBefore, zeroFirst, iMax, localStart;

  static RuleCandidates build(LoopBuilder &lb, const KernelSpec &s, Value t,
                              Value seqLen, Value effL, Value window,
                              Value localCap, Value anchorCap) {
    Value zero = lb.idx(0), one = lb.idx(1), tp1 = lb.add(t, one);
    // Local window (t is always a candidate, even with the local piece off).
    Value nl = one;
    if (s.useLocal) {
      Value w = lb.min(lb.min(window, effL), localCap);
      nl = lb.select(lb.gt(localCap, zero), lb.min(tp1, w), zero);
      nl = lb.max(nl, one);
    }
    RuleCandidates r;
    r.localStart = lb.sub(tp1, nl);
    r.zeroFirst = lb.boolean(false);
    r.iMax = zero;
    Value nAnchor = zero;
    if (s.useAnchors && s.stride > 0) {
      Value st = lb.idx(s.stride);
      Value m = lb.min(lb.min(anchorCap, effL), lb.max(one, seqLen));
      m = lb.select(lb.gt(anchorCap, zero), m, zero);
      // Anchors t - i*s with i in [iMin, iMax] lie in [0, localStart).
      Value iMin = lb.add(lb.div(lb.sub(nl, one), st), one);
      r.iMax = lb.min(m, lb.div(t, st));
      nAnchor = lb.max(lb.sub(lb.add(r.iMax, one), iMin), zero);
      // Negative anchors collapse onto 0 unless 0 is already a candidate.
      Value collapsed = lb.gt(lb.mul(m, st), t);
      Value zeroExact =
          lb.andI(lb.eq(lb.rem(t, st), zero), lb.ge(m, lb.div(t, st)));
      Value zeroLocal = lb.eq(r.localStart, zero);
      r.zeroFirst = lb.andI(collapsed, lb.notI(lb.orI(zeroExact, zeroLocal)));
      nAnchor = lb.add(nAnchor, lb.select(r.zeroFirst, one, zero));
    }
    r.anchorsBefore = nAnchor;
    r.count = lb.min(lb.add(nAnchor, nl), effL);
    return r;
  }

  /// The j-th candidate (j < count).
  Value at(LoopBuilder &lb, const KernelSpec &s, Value t, Value j) const {
    Value one = lb.idx(1), zero = lb.idx(0);
    Value local = lb.add(localStart, lb.sub(j, anchorsBefore));
    if (!(s.useAnchors && s.stride > 0))
      return local;
    Value z = lb.select(zeroFirst, one, zero);
    Value i = lb.sub(iMax, lb.sub(j, z));
    Value anchor = lb.select(lb.andI(zeroFirst, lb.eq(j, zero)), zero,
                             lb.sub(t, lb.mul(i, lb.idx(s.stride))));
    return lb.select(lb.lt(j, anchorsBefore), anchor, local);
  }
};

/// The kernel of `module` specialized exactly as `sig`, or null with `name`
/// set to a free symbol: a module normally holds one setting, so names are
/// role + type, and a second specialization of a role gets a numeric suffix.
gpu::GPUFuncOp findKernel(gpu::GPUModuleOp module, const std::string &base,
                          StringRef sig, std::string &name) {
  name = base;
  for (int i = 1;; ++i) {
    auto existing = module.lookupSymbol<gpu::GPUFuncOp>(name);
    if (!existing)
      return nullptr;
    auto prior = existing->getAttrOfType<StringAttr>("proteus.specialization");
    if (prior && prior.getValue() == sig)
      return existing;
    name = base + "_" + std::to_string(i);
  }
}

/// Butterfly exchange across the warp.
Value shuffleXor(OpBuilder &b, Location loc, Value x, int64_t offset) {
  return gpu::ShuffleOp::create(b, loc, x, static_cast<int32_t>(offset), 32,
                                gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

/// bar.warp.sync over the whole warp: a lane's shared-memory stores before it
/// are seen by every lane after it.
void syncWarp(OpBuilder &b, Location loc) {
  NVVM::SyncWarpOp::create(
      b, loc, arith::ConstantIntOp::create(b, loc, b.getI32Type(), -1));
}

/// 2^x in one ex2.approx instruction (no libdevice needed).
Value exp2Approx(OpBuilder &b, Location loc, Value x) {
  return LLVM::CallIntrinsicOp::create(
             b, loc, b.getF32Type(),
             b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"), ValueRange{x})
      .getResult(0);
}

/// mma.sync m16n8k16 with bf16/f16 operands and fp32 accumulators, and the
/// packing of two values into one 32-bit operand register. Fragment layouts
/// follow the PTX ISA (lane / 4 = g rows, lane % 4 = column pairs).
struct Mma16816 {
  OpBuilder &b;
  Location loc;
  Type elem;

  /// The 16 bits of `x` (rounded to `elem` first when it is f32), in an i32.
  Value bits(Value x) const {
    Type i16 = b.getI16Type(), i32 = b.getI32Type();
    if (x.getType() == b.getF32Type())
      x = arith::TruncFOp::create(b, loc, elem, x);
    Value h = arith::BitcastOp::create(b, loc, i16, x);
    return arith::ExtUIOp::create(b, loc, i32, h);
  }
  /// One operand register: `lo` in the low half, `hi` in the high half.
  Value pack(Value lo, Value hi) const {
    Type i32 = b.getI32Type();
    Value hiS = arith::ShLIOp::create(
        b, loc, bits(hi), arith::ConstantIntOp::create(b, loc, i32, 16));
    Value p = arith::OrIOp::create(b, loc, hiS, bits(lo));
    if (elem.isBF16())
      return p;
    return LLVM::BitcastOp::create(b, loc, VectorType::get({2}, elem), p);
  }
  /// D = A B + C: A row-major 16 x 16 (4 registers), B column-major 16 x 8
  /// (2), C and D 16 x 8 in fp32 (4 each).
  SmallVector<Value, 4> operator()(ArrayRef<Value> aRegs, ArrayRef<Value> bRegs,
                                   ArrayRef<Value> c) const {
    Type f32 = b.getF32Type();
    auto structTy =
        LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
    NVVM::MMATypes ptxType =
        elem.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    auto op = NVVM::MmaOp::create(
        b, loc, structTy, aRegs, bRegs, c, {16, 8, 16}, std::nullopt,
        std::nullopt, std::array<NVVM::MMATypes, 2>{ptxType, ptxType},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    SmallVector<Value, 4> res;
    for (int64_t i = 0; i < 4; ++i)
      res.push_back(LLVM::ExtractValueOp::create(b, loc, op.getResult(),
                                                 ArrayRef<int64_t>{i}));
    return res;
  }
};

/// Whether the flattened buffers `mems` all start on a `bytes` boundary: the
/// runtime guarantees element alignment only, so a kernel with vector loads
/// keeps a scalar copy of its body for buffers that are not aligned for them.
Value allAligned(LoopBuilder &lb, ArrayRef<Value> mems, int64_t bytes) {
  OpBuilder &b = lb.builder();
  Location loc = lb.getLoc();
  Value ok = lb.boolean(true);
  for (Value mem : mems) {
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, mem);
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem);
    int64_t es = cast<MemRefType>(mem.getType()).getElementTypeBitWidth() / 8;
    Value addr = lb.add(base, lb.mul(meta.getOffset(), lb.idx(es)));
    ok = lb.andI(ok, lb.eq(lb.rem(addr, lb.idx(bytes)), lb.idx(0)));
  }
  return ok;
}

/// Builds the kernel for `spec` (its tile, else the default) into `module`
/// (once) and returns it.
gpu::GPUFuncOp getOrBuildKernel(OpBuilder &b, gpu::GPUModuleOp module,
                                KernelSpec spec) {
  spec.withDefaultTile(b.getContext());
  std::string sig = spec.signature(), name;
  if (gpu::GPUFuncOp existing = findKernel(module, spec.name(), sig, name))
    return existing;
  Location loc = module.getLoc();
  MLIRContext *ctx = b.getContext();
  Type idx = b.getIndexType(), i64 = b.getI64Type(), f32 = b.getF32Type();
  int64_t dyn = ShapedType::kDynamic;
  auto vec = [&](Type t) { return MemRefType::get({dyn}, t); };
  // Arguments: q, k, v, [packed_row, packed_token], [candidates, lengths], out,
  // then n (queries), T, [L (list width) | L, window, local_cap, anchor_cap].
  SmallVector<Type> args = {vec(spec.elem), vec(spec.elem), vec(spec.elem)};
  if (spec.source != CandidateSource::Causal)
    args.append({vec(i64), vec(i64)});
  if (spec.source == CandidateSource::Listed)
    args.append({vec(i64), vec(i64)});
  args.push_back(vec(spec.elem));
  if (spec.controlled)
    args.push_back(vec(i64));
  if (spec.int8)
    args.push_back(vec(f32));
  if (!spec.controlled || spec.source == CandidateSource::Causal)
    args.push_back(idx);
  args.push_back(idx);
  if (spec.source == CandidateSource::Listed)
    args.push_back(idx);
  if (spec.source == CandidateSource::Rule)
    args.append({idx, idx, idx, idx});
  if (spec.useProto) {
    args.append({vec(f32), idx});
    if (spec.heads == 0) // the primitive op's R / B
      args.push_back(idx);
  }

  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = gpu::GPUFuncOp::create(b, loc, name, b.getFunctionType(args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({32 * kWarpsPerBlock, 1, 1}));
  fn->setAttr("proteus.specialization", b.getStringAttr(sig));
  // With the band, ptxas's own register budget for this kernel (64) spilled
  // the f16 kernel at D 16. The band's O takes D / 2 registers per lane and
  // Q's fragments D / 4: a cap of 128 at D <= 32 (93-121 used: 4-5 blocks
  // of 128 threads per SM), 255 above.
  if (spec.bandTensorCores())
    fn->setAttr(NVVM::NVVMDialect::getMaxnregAttrName(),
                b.getI32IntegerAttr(spec.headDim <= 32 ? 128 : 255));
  // The prototype piece: each warp's candidate list, picks, 256-bin
  // histogram and list length in shared memory.
  Value sList, sPicks, sHist, sCount;
  if (spec.useProto) {
    auto shared = [&](int64_t n) {
      return fn.addWorkgroupAttribution(
          MemRefType::get(
              {n}, b.getI32Type(), AffineMap(),
              gpu::AddressSpaceAttr::get(
                  ctx, gpu::GPUDialect::getWorkgroupAddressSpace())),
          loc);
    };
    sList = shared(kWarpsPerBlock * spec.maxL);
    sPicks = shared(kWarpsPerBlock * spec.maxL);
    sHist = shared(kWarpsPerBlock * 256);
    sCount = shared(kWarpsPerBlock);
  }
  b.setInsertionPointToStart(&fn.getBody().front());
  LoopBuilder lb(b, loc);
  auto a = fn.getArguments();
  unsigned ai = 0;
  Value q = a[ai++], k = a[ai++], v = a[ai++], prow, ptok, cand, lens;
  if (spec.source != CandidateSource::Causal) {
    prow = a[ai++];
    ptok = a[ai++];
  }
  if (spec.source == CandidateSource::Listed) {
    cand = a[ai++];
    lens = a[ai++];
  }
  Value out = a[ai++], state, nQ, scales;
  if (spec.controlled)
    state = a[ai++];
  if (spec.int8)
    scales = a[ai++];
  if (!spec.controlled || spec.source == CandidateSource::Causal)
    nQ = a[ai++];
  Value seqLen = a[ai++];
  Value width, effL, window, localCap, anchorCap;
  if (spec.source == CandidateSource::Listed)
    width = a[ai++];
  if (spec.source == CandidateSource::Rule) {
    // A static budget of the setting is a constant of the kernel.
    auto pick = [&](int64_t staticValue) {
      Value arg = a[ai++];
      return staticValue >= 0 ? lb.idx(staticValue) : arg;
    };
    effL = pick(spec.effL);
    window = pick(spec.window);
    localCap = pick(spec.localCap);
    anchorCap = pick(spec.anchorCap);
  }
  Value sim, protoCap, heads;
  if (spec.useProto) {
    sim = a[ai++];
    Value arg = a[ai++];
    protoCap = spec.protoCap >= 0 ? lb.idx(spec.protoCap) : arg;
    heads = spec.heads > 0 ? lb.idx(spec.heads) : a[ai++];
  }

  // The tile's lane layout: G lanes share a candidate, each holding E = D / G
  // dims, so a warp scores P = 32 / G candidates per step with log2(G)
  // shuffles, and each group U (unroll) candidates, whose gathers are all
  // issued before the math. With vector V = 1 a group's lanes interleave
  // (lane l holds dims l, l + G, ...: each load instruction of the group reads
  // consecutive elements); with V > 1 lane l holds dims [l E, l E + E),
  // loaded V at a time where q, k and v are aligned for it.
  const TileAttr tile = spec.tile;
  const int64_t d = spec.headDim, g = tile.getLanes(), p = 32 / g, e = d / g,
                u = tile.getUnroll(), vw = tile.getVector(),
                es = spec.elem.getIntOrFloatBitWidth() / 8;
  Value zero = lb.idx(0), dI = lb.idx(d);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = lb.div(tid, lb.idx(32)), lane = lb.rem(tid, lb.idx(32));
  Value sub = lb.div(lane, lb.idx(g)), sl = lb.rem(lane, lb.idx(g));
  Value qi = lb.add(lb.mul(bid, lb.idx(kWarpsPerBlock)), warp);
  auto dimOf = [&](int64_t i) {
    return vw == 1 ? lb.add(sl, lb.idx(i * g))
                   : lb.add(lb.mul(sl, lb.idx(e)), lb.idx(i));
  };
  auto shflXor = [&](Value x, int64_t off) {
    return shuffleXor(b, loc, x, off);
  };
  // Scores are kept in base 2 (s * log2(e)) so that the softmax exponentials
  // are single ex2.approx instructions and need no libdevice.
  float scale = static_cast<float>(M_LOG2E / std::sqrt(static_cast<double>(d)));
  auto ex2 = [&](Value x) { return exp2Approx(b, loc, x); };
  Value negInf = lb.f32(-std::numeric_limits<float>::infinity());

  // `vec`: the loads of this copy of the body are V-element vectors.
  auto emitQuery = [&](Value r, Value t, bool vec) {
    // INT8 fake quantization (REFERENCE.md 6.4): clamp(rint(x / s), +-127) s
    // with the row's scale, in binary32 like the CPU path; rint by the
    // 1.5 * 2^23 trick (|x / s| <= 127 after the clamp), so no libdevice.
    SmallVector<Value, 3> rowScale;
    if (spec.int8)
      for (int64_t w = 0; w < 3; ++w)
        rowScale.push_back(
            lb.load(scales, lb.add(lb.mul(r, lb.idx(3)), lb.idx(w))));
    auto quant = [&](int64_t which, Value x) {
      if (!spec.int8)
        return x;
      Value s = rowScale[which];
      Value qv = lb.min(lb.max(lb.div(x, s), lb.f32(-127.0)), lb.f32(127.0));
      Value magic = lb.f32(12582912.0);
      qv = lb.sub(lb.add(qv, magic), magic);
      return lb.mul(qv, s);
    };
    // The E dims of the row starting at element `base` that this lane holds,
    // in f32 (which: 0 q, 1 k, 2 v).
    auto loadSlice = [&](int64_t which, Value mem, Value base) {
      SmallVector<Value> xs;
      if (!vec) {
        for (int64_t i = 0; i < e; ++i)
          xs.push_back(
              quant(which, lb.toF32(lb.load(mem, lb.add(base, dimOf(i))))));
        return xs;
      }
      Value start = lb.add(base, dimOf(0));
      auto type = VectorType::get({vw}, spec.elem);
      for (int64_t c = 0; c < e; c += vw) {
        Value x = vector::LoadOp::create(b, loc, type, mem,
                                         ValueRange{lb.add(start, lb.idx(c))},
                                         false, llvm::MaybeAlign(vw * es));
        for (int64_t i = 0; i < vw; ++i)
          xs.push_back(
              quant(which, lb.toF32(vector::ExtractOp::create(b, loc, x, i))));
      }
      return xs;
    };
    Value qBase = lb.mul(lb.add(lb.mul(r, seqLen), t), dI);
    Value rowBase = lb.mul(r, seqLen);
    SmallVector<Value> qreg = loadSlice(0, q, qBase);

    Value count;
    RuleCandidates rule;
    if (spec.source == CandidateSource::Listed)
      count = lb.toIndex(lb.load(lens, qi));
    else if (spec.source == CandidateSource::Causal)
      count = lb.add(t, lb.idx(1));
    else if (spec.useProto) {
      // Lane 0 builds the query's list with the CPU path's rule (Primitives:
      // the same merge of local, anchors, picks and t), the picks by a
      // serial exact top-c over the batch item's salience; the warp then
      // attends over the list.
      Value listBase = lb.mul(warp, lb.idx(spec.maxL));
      syncWarp(b, loc);
      lb.ifThen(lb.eq(lane, zero), [&] {
        CandidateRule cr{
            spec.useLocal, spec.useAnchors, true,     spec.stride, seqLen,
            effL,          window,          localCap, anchorCap,   protoCap,
            Value(),       Value(),         sPicks};
        cr.picksBase = listBase;
        Value batch = lb.div(r, heads);
        Value simBase = lb.mul(batch, seqLen);
        Value n = emitCandidates(
            lb, cr, t, batch, sList, listBase, [&](Value nProto) {
              emitTopCAscending(
                  lb,
                  [&](Value pos) {
                    return orderKey(lb, lb.load(sim, lb.add(simBase, pos)));
                  },
                  t, nProto, sHist, lb.mul(warp, lb.idx(256)), sPicks,
                  listBase);
            });
        lb.store(lb.toInt(n, b.getI32Type()), sCount, warp);
      });
      syncWarp(b, loc);
      count = lb.toIndex(lb.load(sCount, warp));
    } else {
      rule = RuleCandidates::build(lb, spec, t, seqLen, effL, window, localCap,
                                   anchorCap);
      count = rule.count;
    }
    auto candidateAt = [&](Value j) -> Value {
      if (spec.source == CandidateSource::Listed)
        return lb.toIndex(lb.load(cand, lb.add(lb.mul(qi, width), j)));
      if (spec.useProto)
        return lb.toIndex(
            lb.load(sList, lb.add(lb.mul(warp, lb.idx(spec.maxL)), j)));
      if (spec.source == CandidateSource::Causal)
        return j;
      return rule.at(lb, spec, t, j);
    };

    // Online softmax over the candidates, P * U at a time (warp-uniform trip
    // count).
    SmallVector<Value> init = {negInf, lb.f32(0.0)};
    for (int64_t i = 0; i < e; ++i)
      init.push_back(lb.f32(0.0));
    auto state = scf::ForOp::create(
        b, loc, zero, count, lb.idx(p * u), init,
        [&](OpBuilder &, Location, Value j0, ValueRange st) {
          SmallVector<Value> valid, kBase;
          for (int64_t uu = 0; uu < u; ++uu) {
            Value j = lb.add(lb.add(j0, lb.idx(uu * p)), sub);
            Value ok = lb.lt(j, count);
            Value c = lb.select(
                ok, candidateAt(lb.min(j, lb.sub(count, lb.idx(1)))), t);
            valid.push_back(ok);
            kBase.push_back(lb.mul(lb.add(rowBase, c), dI));
          }
          SmallVector<SmallVector<Value>> kx, vx;
          for (int64_t uu = 0; uu < u; ++uu)
            kx.push_back(loadSlice(1, k, kBase[uu]));
          for (int64_t uu = 0; uu < u; ++uu)
            vx.push_back(loadSlice(2, v, kBase[uu]));
          SmallVector<Value> s;
          Value m = st[0], mNew = st[0];
          for (int64_t uu = 0; uu < u; ++uu) {
            Value dot = lb.f32(0.0);
            for (int64_t i = 0; i < e; ++i)
              dot = lb.add(dot, lb.mul(qreg[i], kx[uu][i]));
            for (int64_t off = g / 2; off >= 1; off /= 2)
              dot = lb.add(dot, shflXor(dot, off));
            s.push_back(
                lb.select(valid[uu], lb.mul(dot, lb.f32(scale)), negInf));
            mNew = lb.max(mNew, s.back());
          }
          Value corr =
              lb.select(lb.eq(m, mNew), lb.f32(1.0), ex2(lb.sub(m, mNew)));
          SmallVector<Value> next = {mNew, lb.mul(st[1], corr)};
          for (int64_t i = 0; i < e; ++i)
            next.push_back(lb.mul(st[2 + i], corr));
          for (int64_t uu = 0; uu < u; ++uu) {
            Value pr =
                lb.select(valid[uu], ex2(lb.sub(s[uu], mNew)), lb.f32(0.0));
            next[1] = lb.add(next[1], pr);
            for (int64_t i = 0; i < e; ++i)
              next[2 + i] = lb.add(next[2 + i], lb.mul(pr, vx[uu][i]));
          }
          scf::YieldOp::create(b, loc, next);
        });
    SmallVector<Value> st(state.getResults());
    // Merge the P groups (log-sum-exp).
    for (int64_t off = g; off < 32; off *= 2) {
      Value mo = shflXor(st[0], off), lo = shflXor(st[1], off);
      Value mNew = lb.max(st[0], mo);
      Value ca =
          lb.select(lb.eq(st[0], mNew), lb.f32(1.0), ex2(lb.sub(st[0], mNew)));
      Value cb = lb.select(lb.eq(mo, mNew), lb.f32(1.0), ex2(lb.sub(mo, mNew)));
      SmallVector<Value> merged = {mNew,
                                   lb.add(lb.mul(st[1], ca), lb.mul(lo, cb))};
      for (int64_t i = 0; i < e; ++i) {
        Value ao = shflXor(st[2 + i], off);
        merged.push_back(lb.add(lb.mul(st[2 + i], ca), lb.mul(ao, cb)));
      }
      st = merged;
    }
    lb.ifThen(lb.eq(sub, zero), [&] {
      for (int64_t i = 0; i < e; ++i) {
        Value o = lb.div(st[2 + i], st[1]);
        if (spec.elem != f32)
          o = arith::TruncFOp::create(b, loc, spec.elem, o);
        lb.store(o, out, lb.add(qBase, dimOf(i)));
      }
    });
  };
  // The local band on tensor cores (spec.bandTensorCores(); DESIGN-NOTES):
  // the warp's 16 packed queries are the consecutive tokens t0 .. t0 + 15 of
  // row r. Lane (g, tq) holds fragment rows g and g + 8 (queries t0 + g and
  // t0 + g + 8) and, of each row, the dims 8n + 2tq + {0, 1} of the fp32
  // output (the m16n8 accumulator layout). A query's candidates are its
  // anchors (and 0 where they collapse onto it), then its window
  // [localStart, localStart + count - anchorsBefore); the windows of the 16
  // queries lie in [localStart(t0), t0 + 15]. The anchors are scored on CUDA
  // cores (each lane its D / 4 dims, summed over the quad), the band in
  // blocks of 16 keys by S = Q K^T and O += P V on tensor cores with the keys
  // outside a query's window masked; one online softmax (base 2) per query
  // over both.
  auto emitBand = [&](Value r, Value t0) {
    const Mma16816 mma{b, loc, spec.elem};
    const int64_t dn = d / 8;
    Value g4 = lb.div(lane, lb.idx(4)), tq = lb.rem(lane, lb.idx(4));
    Value tq2 = lb.mul(tq, lb.idx(2));
    Value rowBase = lb.mul(r, seqLen), lastT = lb.sub(seqLen, lb.idx(1));
    Value zf = lb.f32(0.0);
    Value tok[2] = {lb.add(t0, g4), lb.add(t0, lb.add(g4, lb.idx(8)))};
    RuleCandidates rule[2];
    Value lo[2], hi[2], nAnchor[2];
    for (int h = 0; h < 2; ++h) {
      rule[h] = RuleCandidates::build(lb, spec, tok[h], seqLen, effL, window,
                                      localCap, anchorCap);
      nAnchor[h] = lb.min(rule[h].anchorsBefore, rule[h].count);
      lo[h] = rule[h].localStart;
      hi[h] = lb.add(lo[h], lb.max(lb.sub(rule[h].count, nAnchor[h]), zero));
    }
    auto at = [&](Value mem, Value token, Value col) {
      return lb.load(mem, lb.add(lb.mul(lb.add(rowBase, token), dI), col));
    };
    // The lane's output dims of n-tile n: 8n + 2tq + j.
    auto dimAt = [&](int64_t n, int64_t j) {
      return lb.add(lb.idx(n * 8 + j), tq2);
    };
    // State: m and l of rows g and g + 8 (l: this lane's share, summed over
    // the quad at the end), then o[n * 4 + h * 2 + j].
    SmallVector<Value> st = {negInf, negInf, zf, zf};
    for (int64_t i = 0; i < dn * 4; ++i)
      st.push_back(zf);
    // The online softmax step of row h for scores `s` (already masked to
    // -inf) whose row maximum is mRow: rescales the row's l and o; returns
    // the weights (0 where masked) and stores the new maximum.
    auto rescale = [&](int h, Value mRow, SmallVectorImpl<Value> &state) {
      Value mNew = lb.max(state[h], mRow);
      Value corr = lb.select(lb.eq(state[h], mNew), lb.f32(1.0),
                             ex2(lb.sub(state[h], mNew)));
      state[h] = mNew;
      state[2 + h] = lb.mul(state[2 + h], corr);
      for (int64_t n = 0; n < dn; ++n)
        for (int64_t j = 0; j < 2; ++j) {
          Value &o = state[4 + n * 4 + h * 2 + j];
          o = lb.mul(o, corr);
        }
      return mNew;
    };
    auto weight = [&](Value s, Value mNew) {
      return lb.select(lb.eq(s, negInf), zf, ex2(lb.sub(s, mNew)));
    };

    // 1. The anchors, up to the warp's most (a uniform trip count); q is
    // read again per anchor (from cache) rather than held beside O.
    {
      Value most = lb.toInt(lb.max(nAnchor[0], nAnchor[1]), b.getI32Type());
      for (int64_t off = 1; off < 32; off *= 2)
        most = lb.max(most, shflXor(most, off));
      auto loop = scf::ForOp::create(
          b, loc, zero, lb.toIndex(most), lb.idx(1), st,
          [&](OpBuilder &, Location, Value j, ValueRange cur) {
            SmallVector<Value> next(cur.begin(), cur.end());
            for (int h = 0; h < 2; ++h) {
              Value ok = lb.lt(j, nAnchor[h]);
              Value c = lb.select(
                  ok,
                  rule[h].at(
                      lb, spec, tok[h],
                      lb.min(j, lb.max(lb.sub(nAnchor[h], lb.idx(1)), zero))),
                  tok[h]);
              Value dot = zf;
              SmallVector<Value> vv;
              for (int64_t n = 0; n < dn; ++n)
                for (int64_t j2 = 0; j2 < 2; ++j2) {
                  dot =
                      lb.add(dot, lb.mul(lb.toF32(at(q, tok[h], dimAt(n, j2))),
                                         lb.toF32(at(k, c, dimAt(n, j2)))));
                  vv.push_back(lb.toF32(at(v, c, dimAt(n, j2))));
                }
              dot = lb.add(dot, shflXor(dot, 1));
              dot = lb.add(dot, shflXor(dot, 2));
              Value sc = lb.select(ok, lb.mul(dot, lb.f32(scale)), negInf);
              Value mNew = rescale(h, sc, next);
              Value pr = weight(sc, mNew);
              next[2 + h] =
                  lb.add(next[2 + h], lb.select(lb.eq(tq, zero), pr, zf));
              for (int64_t n = 0; n < dn; ++n)
                for (int64_t j2 = 0; j2 < 2; ++j2) {
                  Value &o = next[4 + n * 4 + h * 2 + j2];
                  o = lb.add(o, lb.mul(pr, vv[n * 2 + j2]));
                }
            }
            scf::YieldOp::create(b, loc, next);
          });
      st.assign(loop.getResults().begin(), loop.getResults().end());
    }

    // 2. The band: Q's A fragments for the whole walk.
    SmallVector<std::array<Value, 4>> qf;
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      Value c = lb.add(lb.idx(ks * 16), tq2), c1 = lb.add(c, lb.idx(1));
      Value c8 = lb.add(c, lb.idx(8)), c9 = lb.add(c, lb.idx(9));
      qf.push_back({mma.pack(at(q, tok[0], c), at(q, tok[0], c1)),
                    mma.pack(at(q, tok[1], c), at(q, tok[1], c1)),
                    mma.pack(at(q, tok[0], c8), at(q, tok[0], c9)),
                    mma.pack(at(q, tok[1], c8), at(q, tok[1], c9))});
    }
    Value bandLo = RuleCandidates::build(lb, spec, t0, seqLen, effL, window,
                                         localCap, anchorCap)
                       .localStart;
    Value blocks =
        lb.div(lb.add(lb.sub(t0, bandLo), lb.idx(16 + 15)), lb.idx(16));
    auto key = [&](Value x) { return lb.min(x, lastT); };
    auto loop = scf::ForOp::create(
        b, loc, zero, blocks, lb.idx(1), st,
        [&](OpBuilder &, Location, Value i, ValueRange cur) {
          SmallVector<Value> next(cur.begin(), cur.end());
          Value kb = lb.add(bandLo, lb.mul(i, lb.idx(16)));
          // S = Q K^T of keys kb .. kb + 15 (two n-tiles of 8), scaled to base
          // 2, each entry outside its query's window at -inf.
          std::array<Value, 4> sv[2];
          Value mt[2] = {negInf, negInf};
          for (int64_t nt = 0; nt < 2; ++nt) {
            Value kr = key(lb.add(lb.add(kb, lb.idx(nt * 8)), g4));
            SmallVector<Value, 4> acc = {zf, zf, zf, zf};
            for (int64_t ks = 0; ks < d / 16; ++ks) {
              Value c = lb.add(lb.idx(ks * 16), tq2);
              Value c8 = lb.add(c, lb.idx(8));
              Value b0 =
                  mma.pack(at(k, kr, c), at(k, kr, lb.add(c, lb.idx(1))));
              Value b1 =
                  mma.pack(at(k, kr, c8), at(k, kr, lb.add(c8, lb.idx(1))));
              acc = mma(qf[ks], {b0, b1}, acc);
            }
            for (int64_t j = 0; j < 4; ++j) {
              int h = j / 2;
              Value col = lb.add(lb.add(lb.add(kb, lb.idx(nt * 8)), tq2),
                                 lb.idx(j & 1));
              Value in = lb.andI(lb.ge(col, lo[h]), lb.lt(col, hi[h]));
              sv[nt][j] = lb.select(in, lb.mul(acc[j], lb.f32(scale)), negInf);
              mt[h] = lb.max(mt[h], sv[nt][j]);
            }
          }
          Value mNew[2];
          for (int h = 0; h < 2; ++h) {
            mt[h] = lb.max(mt[h], shflXor(mt[h], 1));
            mt[h] = lb.max(mt[h], shflXor(mt[h], 2));
            mNew[h] = rescale(h, mt[h], next);
          }
          // The weights, rounded to the operand type before they are summed,
          // so that l is the sum of the weights P V multiplies.
          for (int64_t nt = 0; nt < 2; ++nt)
            for (int64_t j = 0; j < 4; ++j) {
              Value pr = weight(sv[nt][j], mNew[j / 2]);
              pr = lb.toF32(arith::TruncFOp::create(b, loc, spec.elem, pr));
              sv[nt][j] = pr;
              next[2 + j / 2] = lb.add(next[2 + j / 2], pr);
            }
          // O += P V: the S fragments of the two n-tiles form P's A operand.
          Value aRegs[4] = {
              mma.pack(sv[0][0], sv[0][1]), mma.pack(sv[0][2], sv[0][3]),
              mma.pack(sv[1][0], sv[1][1]), mma.pack(sv[1][2], sv[1][3])};
          Value kv = lb.add(kb, tq2);
          Value k0 = key(kv), k1 = key(lb.add(kv, lb.idx(1))),
                k8 = key(lb.add(kv, lb.idx(8))),
                k9 = key(lb.add(kv, lb.idx(9)));
          for (int64_t n = 0; n < dn; ++n) {
            Value col = lb.add(lb.idx(n * 8), g4);
            Value b0 = mma.pack(at(v, k0, col), at(v, k1, col));
            Value b1 = mma.pack(at(v, k8, col), at(v, k9, col));
            auto res =
                mma(aRegs, {b0, b1}, ArrayRef<Value>(next).slice(4 + n * 4, 4));
            for (int64_t j = 0; j < 4; ++j)
              next[4 + n * 4 + j] = res[j];
          }
          scf::YieldOp::create(b, loc, next);
        });
    st.assign(loop.getResults().begin(), loop.getResults().end());
    for (int h = 0; h < 2; ++h) {
      Value l = lb.add(st[2 + h], shflXor(st[2 + h], 1));
      l = lb.add(l, shflXor(l, 2));
      for (int64_t n = 0; n < dn; ++n)
        for (int64_t j = 0; j < 2; ++j) {
          Value o = lb.div(st[4 + n * 4 + h * 2 + j], l);
          lb.store(arith::TruncFOp::create(b, loc, spec.elem, o), out,
                   lb.add(lb.mul(lb.add(rowBase, tok[h]), dI), dimAt(n, j)));
        }
    }
  };
  // Whether the warp's 16 packed queries from n0 are consecutive tokens of
  // one row (warp-uniform: an AND over the lanes by shuffles).
  auto consecutive = [&](Value n0) {
    Type i32 = b.getI32Type();
    Value n = lb.add(n0, lb.rem(lane, lb.idx(kBandQueries)));
    Value inRange = lb.lt(n, nQ);
    Value nc = lb.min(n, lb.sub(nQ, lb.idx(1)));
    Value ok = lb.andI(
        inRange,
        lb.andI(lb.eq(lb.load(prow, nc), lb.load(prow, n0)),
                lb.eq(lb.load(ptok, nc),
                      lb.add(lb.load(ptok, n0),
                             lb.toInt(lb.sub(nc, n0), b.getI64Type())))));
    auto c32 = [&](int64_t x) {
      return arith::ConstantIntOp::create(b, loc, i32, x);
    };
    Value flag = lb.select(ok, c32(1), c32(0));
    for (int64_t off = 1; off < 32; off *= 2)
      flag = lb.min(flag, shflXor(flag, off));
    return lb.eq(flag, c32(1));
  };
  // A layer kernel runs only in its own mode (stats[kStatsMode]).
  Value shortlistMode =
      lb.i64(static_cast<int64_t>(proteus_rt::Mode::Shortlist));
  Value mine = lb.boolean(true);
  if (spec.controlled) {
    Value mode = lb.load(state, lb.idx(proteus_rt::kStatsMode));
    mine = spec.source == CandidateSource::Causal ? lb.ne(mode, shortlistMode)
                                                  : lb.eq(mode, shortlistMode);
  }
  auto body = [&](bool vec) {
    if (spec.controlled && spec.source != CandidateSource::Causal) {
      // Grid-stride over the N packed queries the layer found on the device.
      lb.ifThen(mine, [&] {
        Value n = lb.toIndex(lb.load(state, lb.idx(proteus_rt::kStatsPacked)));
        Value grid = gpu::GridDimOp::create(b, loc, gpu::Dimension::x);
        Value step = lb.mul(grid, lb.idx(kWarpsPerBlock));
        scf::ForOp::create(b, loc, qi, lb.max(n, qi), step, ValueRange{},
                           [&](OpBuilder &, Location, Value i, ValueRange) {
                             emitQuery(lb.toIndex(lb.load(prow, i)),
                                       lb.toIndex(lb.load(ptok, i)), vec);
                             scf::YieldOp::create(b, loc);
                           });
      });
    } else if (spec.source == CandidateSource::Causal) {
      // One block per (row, tile of kGpuDenseTile queries); each warp walks
      // its share of the tile.
      const int64_t perWarp = proteus_rt::kGpuDenseTile / kWarpsPerBlock;
      Value tiles =
          lb.div(lb.add(seqLen, lb.idx(proteus_rt::kGpuDenseTile - 1)),
                 lb.idx(proteus_rt::kGpuDenseTile));
      Value r = lb.div(bid, tiles);
      Value t0 =
          lb.add(lb.mul(lb.rem(bid, tiles), lb.idx(proteus_rt::kGpuDenseTile)),
                 lb.mul(warp, lb.idx(perWarp)));
      lb.ifThen(mine, [&] {
        lb.forLoop(zero, lb.idx(perWarp), [&](Value qq) {
          Value t = lb.add(t0, qq);
          lb.ifThen(lb.lt(t, seqLen), [&] { emitQuery(r, t, vec); });
        });
      });
    } else {
      lb.ifThen(lb.lt(qi, nQ), [&] {
        emitQuery(lb.toIndex(lb.load(prow, qi)), lb.toIndex(lb.load(ptok, qi)),
                  vec);
      });
    }
  };
  // The body once, or twice for the buffers' alignment (vector loads).
  auto bodies = [&] {
    if (vw == 1)
      body(false);
    else
      lb.ifThenElse(
          allAligned(lb, {q, k, v}, vw * es), [&] { body(true); },
          [&] { body(false); });
  };
  if (spec.bandTensorCores()) {
    // One warp per packed query; where the 16 queries of the warp's group
    // n0 .. n0 + 15 are consecutive tokens of one row, warp n0 attends all
    // of them through the band and the other 15 return.
    Value n0 = lb.sub(qi, lb.rem(qi, lb.idx(kBandQueries)));
    lb.ifThen(lb.lt(qi, nQ), [&] {
      lb.ifThenElse(
          consecutive(n0),
          [&] {
            lb.ifThen(lb.eq(qi, n0), [&] {
              emitBand(lb.toIndex(lb.load(prow, n0)),
                       lb.toIndex(lb.load(ptok, n0)));
            });
          },
          bodies);
    });
  } else {
    bodies();
  }
  gpu::ReturnOp::create(b, loc);
  (void)ctx;
  return fn;
}

/// Dense causal attention for bf16/f16 on tensor cores (mma.sync m16n8k16,
/// fp32 accumulation). One block per (row, tile of kGpuDenseTile queries);
/// each warp owns 16 queries; the block stages K and V tiles of block_n keys
/// in shared memory (rows padded by `pad` elements), up to its last query:
/// S = Q K^T and O += P V on tensor cores, the online softmax (base 2) on the
/// accumulator fragments, whose layout is reused as the A operand of P V.
/// With two stages the loads of the next tile are issued before the current
/// tile's math and stored into the other buffer after it (one barrier per
/// tile instead of two). With vector V > 1 the tiles are staged V elements
/// per load and the K fragments read as 32-bit pairs. Fragment layouts follow
/// the PTX ISA for m16n8k16 (g = lane / 4 rows, tq = lane % 4 column pairs).
gpu::GPUFuncOp buildTensorCoreDense(OpBuilder &b, gpu::GPUModuleOp module,
                                    KernelSpec spec) {
  spec.withDefaultTile(b.getContext());
  const Type elem = spec.elem;
  const int64_t d = spec.headDim;
  std::string sig = spec.signature(), name;
  if (gpu::GPUFuncOp existing = findKernel(module, spec.name(), sig, name))
    return existing;
  Location loc = module.getLoc();
  MLIRContext *ctx = b.getContext();
  Type idx = b.getIndexType(), i32 = b.getI32Type();
  auto vec = MemRefType::get({ShapedType::kDynamic}, elem);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto fn = gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType({vec, vec, vec, vec, idx, idx}, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr({32 * kWarpsPerBlock, 1, 1}));
  fn->setAttr("proteus.specialization", b.getStringAttr(sig));
  // K and V tiles in shared memory, shared by the block's warps, `stages`
  // buffers of kTile rows each; padded rows (the default: 8 elements, 16
  // bytes) make a fragment's 8 rows x 4 column pairs hit 32 distinct banks.
  const TileAttr tileAttr = spec.tile;
  const int64_t tile = proteus_rt::kGpuDenseTile, kTile = tileAttr.getBlockN(),
                nTiles = kTile / 8, stages = tileAttr.getStages(),
                vw = tileAttr.getVector(), pitch = d + tileAttr.getPad(),
                buf = kTile * pitch, es = elem.getIntOrFloatBitWidth() / 8,
                threads = 32 * kWarpsPerBlock;
  auto smemType =
      MemRefType::get({stages * buf}, elem, AffineMap(),
                      gpu::AddressSpaceAttr::get(
                          ctx, gpu::GPUDialect::getWorkgroupAddressSpace()));
  Value sK = fn.addWorkgroupAttribution(smemType, loc);
  Value sV = fn.addWorkgroupAttribution(smemType, loc);
  // 16-byte aligned, for the vector stores of the staging.
  for (unsigned i = 0; i < 2; ++i)
    fn.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  b.setInsertionPointToStart(&fn.getBody().front());
  LoopBuilder lb(b, loc);
  Value q = fn.getArgument(0), k = fn.getArgument(1), v = fn.getArgument(2),
        out = fn.getArgument(3), seqLen = fn.getArgument(5);
  Value zero = lb.idx(0), dI = lb.idx(d), lastT = lb.sub(seqLen, lb.idx(1));
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value warp = lb.div(tid, lb.idx(32)), lane = lb.rem(tid, lb.idx(32));
  Value g = lb.div(lane, lb.idx(4)),
        tq2 = lb.mul(lb.rem(lane, lb.idx(4)), lb.idx(2));
  Value tiles = lb.div(lb.add(seqLen, lb.idx(tile - 1)), lb.idx(tile));
  Value rowBase = lb.mul(lb.div(bid, tiles), seqLen);
  Value q0 = lb.add(lb.mul(lb.rem(bid, tiles), lb.idx(tile)),
                    lb.mul(warp, lb.idx(16)));
  Value rowA = lb.add(q0, g), rowB = lb.add(rowA, lb.idx(8));

  auto at = [&](Value mem, Value token, Value col) {
    Value i = lb.add(lb.mul(lb.add(rowBase, lb.min(token, lastT)), dI), col);
    return lb.load(mem, i);
  };
  const Mma16816 mma{b, loc, elem};
  auto pack = [&](Value lo, Value hi) { return mma.pack(lo, hi); };
  auto shflXor = [&](Value x, int64_t off) {
    return shuffleXor(b, loc, x, off);
  };
  auto ex2 = [&](Value x) { return exp2Approx(b, loc, x); };

  // Staging: chunk c of a tile is V consecutive elements of one key row.
  auto vecType = VectorType::get({vw}, elem);
  auto chunkAt = [&](Value c, Value kb) {
    Value e0 = lb.mul(c, lb.idx(vw));
    Value row = lb.div(e0, dI), col = lb.rem(e0, dI);
    Value src = lb.add(
        lb.mul(lb.add(rowBase, lb.min(lb.add(kb, row), lastT)), dI), col);
    Value dst = lb.add(lb.mul(row, lb.idx(pitch)), col);
    return std::pair<Value, Value>{src, dst};
  };
  // V elements of `mem` from element `i`: one vector load (`vec`: k and v
  // are aligned for it), else scalar loads.
  auto loadChunk = [&](Value mem, Value i, bool vec) -> Value {
    if (vw == 1)
      return lb.load(mem, i);
    if (vec)
      return vector::LoadOp::create(b, loc, vecType, mem, ValueRange{i}, false,
                                    llvm::MaybeAlign(vw * es));
    SmallVector<Value> xs;
    for (int64_t c = 0; c < vw; ++c)
      xs.push_back(lb.load(mem, lb.add(i, lb.idx(c))));
    return vector::FromElementsOp::create(b, loc, vecType, xs);
  };
  auto storeChunk = [&](Value x, Value mem, Value i) {
    if (vw == 1)
      lb.store(x, mem, i);
    else
      vector::StoreOp::create(b, loc, x, mem, ValueRange{i}, false,
                              llvm::MaybeAlign(vw * es));
  };
  // Two stages: each thread's share of a tile (chunks / threads chunks of k
  // and of v) is loaded into registers, then stored after the math.
  const int64_t perThread = kTile * d / vw / threads;
  auto prefetch = [&](Value kb, bool vec) {
    SmallVector<Value> regs;
    for (Value mem : {k, v})
      for (int64_t j = 0; j < perThread; ++j)
        regs.push_back(loadChunk(
            mem, chunkAt(lb.add(tid, lb.idx(j * threads)), kb).first, vec));
    return regs;
  };
  auto commit = [&](ArrayRef<Value> regs, Value base) {
    for (int64_t j = 0; j < perThread; ++j) {
      Value dst =
          lb.add(base, chunkAt(lb.add(tid, lb.idx(j * threads)), zero).second);
      storeChunk(regs[j], sK, dst);
      storeChunk(regs[perThread + j], sV, dst);
    }
  };

  // The kernel body; with vector staging it is emitted twice, for k and v
  // aligned for vector loads (`vec`) and not (the runtime checks element
  // alignment only). Branching once keeps the two load forms apart, where a
  // branch per load lets LLVM merge them into the weaker one.
  auto body = [&](bool vec) {
    // Q fragments (A operand), kept for the whole walk.
    SmallVector<std::array<Value, 4>> qf;
    for (int64_t ks = 0; ks < d / 16; ++ks) {
      Value c = lb.add(lb.idx(ks * 16), tq2), c1 = lb.add(c, lb.idx(1));
      Value c8 = lb.add(c, lb.idx(8)), c9 = lb.add(c, lb.idx(9));
      qf.push_back({pack(at(q, rowA, c), at(q, rowA, c1)),
                    pack(at(q, rowB, c), at(q, rowB, c1)),
                    pack(at(q, rowA, c8), at(q, rowA, c9)),
                    pack(at(q, rowB, c8), at(q, rowB, c9))});
    }
    float scale =
        static_cast<float>(M_LOG2E / std::sqrt(static_cast<double>(d)));
    Value negInf = lb.f32(-std::numeric_limits<float>::infinity()),
          zf = lb.f32(0.0);
    // Block-uniform walk (the barriers need every warp): keys up to the tile's
    // last query; a warp's keys past its own queries are masked.
    Value blockStart = lb.mul(lb.rem(bid, tiles), lb.idx(tile));
    Value keyEnd = lb.min(seqLen, lb.add(blockStart, lb.idx(tile)));
    Value keyTiles = lb.div(lb.add(keyEnd, lb.idx(kTile - 1)), lb.idx(kTile));
    const int64_t dn = d / 8;
    SmallVector<Value> init = {negInf, negInf, zf, zf};
    for (int64_t i = 0; i < dn * 4; ++i)
      init.push_back(zf);
    if (stages == 2) {
      commit(prefetch(zero, vec), zero);
      gpu::BarrierOp::create(b, loc);
    }
    auto loop = scf::ForOp::create(
        b, loc, zero, keyTiles, lb.idx(1), init,
        [&](OpBuilder &, Location, Value kt, ValueRange st) {
          Value kb = lb.mul(kt, lb.idx(kTile)), cur = zero;
          SmallVector<Value> ahead;
          if (stages == 1) {
            gpu::BarrierOp::create(b, loc);
            auto stage = scf::ForOp::create(b, loc, tid, lb.idx(kTile * d / vw),
                                            lb.idx(threads));
            {
              OpBuilder::InsertionGuard g2(b);
              b.setInsertionPointToStart(stage.getBody());
              auto [src, dst] = chunkAt(stage.getInductionVar(), kb);
              storeChunk(loadChunk(k, src, vec), sK, dst);
              storeChunk(loadChunk(v, src, vec), sV, dst);
            }
            gpu::BarrierOp::create(b, loc);
          } else {
            // Tile kt is in buffer kt % 2; tile kt + 1 goes to the other one,
            // which every warp finished reading before the last barrier.
            ahead = prefetch(lb.add(kb, lb.idx(kTile)), vec);
            cur = lb.mul(lb.rem(kt, lb.idx(2)), lb.idx(buf));
          }
          auto offset = [&](Value key, Value col) {
            return lb.add(cur,
                          lb.add(lb.mul(lb.sub(key, kb), lb.idx(pitch)), col));
          };
          auto sat = [&](Value mem, Value key, Value col) {
            return lb.load(mem, offset(key, col));
          };
          // K's B-operand pair (col, col + 1) of `key`: two 16-bit loads, or
          // one 32-bit load with vector staging.
          auto pairK = [&](Value key, Value col) -> Value {
            if (vw == 1)
              return pack(sat(sK, key, col),
                          sat(sK, key, lb.add(col, lb.idx(1))));
            Value x = vector::LoadOp::create(b, loc, VectorType::get({2}, elem),
                                             sK, ValueRange{offset(key, col)},
                                             false, llvm::MaybeAlign(2 * es));
            if (elem.isBF16())
              return LLVM::BitcastOp::create(b, loc, i32, x);
            return x;
          };
          // S = Q K^T (scaled to base 2), causal and tail masked.
          SmallVector<std::array<Value, 4>> sv;
          for (int64_t nt = 0; nt < nTiles; ++nt) {
            Value key = lb.add(lb.add(kb, lb.idx(nt * 8)), g);
            SmallVector<Value, 4> acc = {zf, zf, zf, zf};
            for (int64_t ks = 0; ks < d / 16; ++ks) {
              Value c = lb.add(lb.idx(ks * 16), tq2);
              Value b0 = pairK(key, c), b1 = pairK(key, lb.add(c, lb.idx(8)));
              acc = mma(qf[ks], {b0, b1}, acc);
            }
            std::array<Value, 4> s4;
            for (int64_t j = 0; j < 4; ++j) {
              Value row = j < 2 ? rowA : rowB;
              Value col = lb.add(lb.add(lb.add(kb, lb.idx(nt * 8)), tq2),
                                 lb.idx(j & 1));
              Value masked = lb.orI(lb.gt(col, row), lb.ge(col, seqLen));
              s4[j] = lb.select(masked, negInf, lb.mul(acc[j], lb.f32(scale)));
            }
            sv.push_back(s4);
          }
          // Online softmax per row (rows g and g + 8), quad-reduced maxima.
          Value mt[2] = {negInf, negInf};
          for (auto &s4 : sv)
            for (int64_t j = 0; j < 4; ++j)
              mt[j / 2] = lb.max(mt[j / 2], s4[j]);
          Value mNew[2], corr[2], lNew[2];
          for (int h = 0; h < 2; ++h) {
            mt[h] = lb.max(mt[h], shflXor(mt[h], 1));
            mt[h] = lb.max(mt[h], shflXor(mt[h], 2));
            mNew[h] = lb.max(st[h], mt[h]);
            corr[h] = lb.select(lb.eq(st[h], mNew[h]), lb.f32(1.0),
                                ex2(lb.sub(st[h], mNew[h])));
            lNew[h] = lb.mul(st[2 + h], corr[h]);
          }
          for (auto &s4 : sv)
            for (int64_t j = 0; j < 4; ++j) {
              s4[j] = ex2(lb.sub(s4[j], mNew[j / 2]));
              lNew[j / 2] = lb.add(lNew[j / 2], s4[j]);
            }
          SmallVector<Value> o;
          for (int64_t i = 0; i < dn * 4; ++i)
            o.push_back(lb.mul(st[4 + i], corr[(i % 4) / 2]));
          // O += P V; the S fragments of key groups 2kk and 2kk+1 form P's A
          // operand.
          for (int64_t kk = 0; kk < kTile / 16; ++kk) {
            auto &lo = sv[2 * kk], &hi = sv[2 * kk + 1];
            Value aRegs[4] = {pack(lo[0], lo[1]), pack(lo[2], lo[3]),
                              pack(hi[0], hi[1]), pack(hi[2], hi[3])};
            Value key = lb.add(lb.add(kb, lb.idx(kk * 16)), tq2);
            Value key1 = lb.add(key, lb.idx(1)), key8 = lb.add(key, lb.idx(8)),
                  key9 = lb.add(key, lb.idx(9));
            for (int64_t n = 0; n < dn; ++n) {
              Value col = lb.add(lb.idx(n * 8), g);
              Value b0 = pack(sat(sV, key, col), sat(sV, key1, col));
              Value b1 = pack(sat(sV, key8, col), sat(sV, key9, col));
              auto res =
                  mma(aRegs, {b0, b1}, ArrayRef<Value>(o).slice(n * 4, 4));
              for (int64_t j = 0; j < 4; ++j)
                o[n * 4 + j] = res[j];
            }
          }
          if (stages == 2) {
            commit(ahead, lb.mul(lb.rem(lb.add(kt, lb.idx(1)), lb.idx(2)),
                                 lb.idx(buf)));
            gpu::BarrierOp::create(b, loc);
          }
          SmallVector<Value> next = {mNew[0], mNew[1], lNew[0], lNew[1]};
          next.append(o.begin(), o.end());
          scf::YieldOp::create(b, loc, next);
        });
    SmallVector<Value> st(loop.getResults());
    Value l[2];
    for (int h = 0; h < 2; ++h) {
      l[h] = lb.add(st[2 + h], shflXor(st[2 + h], 1));
      l[h] = lb.add(l[h], shflXor(l[h], 2));
    }
    for (int h = 0; h < 2; ++h) {
      Value row = h == 0 ? rowA : rowB;
      lb.ifThen(lb.lt(row, seqLen), [&] {
        Value base = lb.mul(lb.add(rowBase, row), dI);
        for (int64_t n = 0; n < dn; ++n)
          for (int64_t j = 0; j < 2; ++j) {
            Value val = lb.div(st[4 + n * 4 + h * 2 + j], l[h]);
            Value col = lb.add(lb.add(lb.idx(n * 8), tq2), lb.idx(j));
            lb.store(arith::TruncFOp::create(b, loc, elem, val), out,
                     lb.add(base, col));
          }
      });
    }
  };
  if (vw == 1)
    body(false);
  else
    lb.ifThenElse(
        allAligned(lb, {k, v}, vw * es), [&] { body(true); },
        [&] { body(false); });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

/// The zero-fill kernel for rows and tokens that are not packed.
gpu::GPUFuncOp getOrBuildFill(OpBuilder &b, gpu::GPUModuleOp module,
                              Type elem) {
  std::string t;
  llvm::raw_string_ostream os(t);
  os << elem;
  std::string name = "proteus_fill_zero_" + t; // contract.h
  if (auto existing = module.lookupSymbol<gpu::GPUFuncOp>(name))
    return existing;
  Location loc = module.getLoc();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(module.getBody());
  auto memTy = MemRefType::get({ShapedType::kDynamic}, elem);
  auto fn = gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType({memTy, b.getIndexType()}, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(&fn.getBody().front());
  LoopBuilder lb(b, loc);
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Value bdim = gpu::BlockDimOp::create(b, loc, gpu::Dimension::x);
  Value i = lb.add(lb.mul(bid, bdim), tid);
  Value zeroV = arith::ConstantOp::create(b, loc, b.getFloatAttr(elem, 0.0));
  lb.ifThen(lb.lt(i, fn.getArgument(1)),
            [&] { lb.store(zeroV, fn.getArgument(0), i); });
  gpu::ReturnOp::create(b, loc);
  return fn;
}

void launch(OpBuilder &b, Location loc, gpu::GPUFuncOp fn, Value items,
            int64_t perBlock, int64_t blockSize, ValueRange args) {
  LoopBuilder lb(b, loc);
  Value blocks = lb.div(lb.add(items, lb.idx(perBlock - 1)), lb.idx(perBlock));
  Value one = lb.idx(1);
  gpu::LaunchFuncOp::create(b, loc, fn, gpu::KernelDim3{blocks, one, one},
                            gpu::KernelDim3{lb.idx(blockSize), one, one},
                            Value(), args);
}

/// Why the tile of attention op `op` does not fit its kernel, or "" (also
/// when the op has no tile or no GPU kernel).
std::string badTile(Operation *op) {
  std::string why;
  FailureOr<KernelSpec> spec = getKernelSpec(op, why);
  if (failed(spec) || !spec->tile)
    return "";
  std::string bad = checkTile(spec->target(), spec->tile);
  if (bad.empty())
    return "";
  std::string tile;
  llvm::raw_string_ostream os(tile);
  os << spec->tile;
  return "tile " + tile + " does not fit kernel " + spec->name() + ": " + bad;
}

/// The kernel spec of an attention op with its tile (the op's, else the
/// kernel's default); a match failure where the op has no GPU kernel (the
/// pass has checked the tiles).
FailureOr<KernelSpec> kernelSpecFor(Operation *op,
                                    ConversionPatternRewriter &rewriter) {
  std::string why;
  FailureOr<KernelSpec> spec = getKernelSpec(op, why);
  if (failed(spec)) {
    (void)rewriter.notifyMatchFailure(op, why);
    return failure();
  }
  spec->withDefaultTile(op->getContext());
  if (std::string bad = checkTile(spec->target(), spec->tile); !bad.empty()) {
    (void)rewriter.notifyMatchFailure(op, bad);
    return failure();
  }
  return spec;
}

struct ShortlistAttentionToGPU
    : public OpConversionPattern<ShortlistAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ShortlistAttentionOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<KernelSpec> spec = kernelSpecFor(op, rewriter);
    if (failed(spec))
      return failure();
    Location loc = op.getLoc();
    gpu::GPUModuleOp module = getOrCreateKernelModule(op);
    gpu::GPUFuncOp kernel = getOrBuildKernel(rewriter, module, *spec);
    gpu::GPUFuncOp fill = getOrBuildFill(rewriter, module, spec->elem);
    LoopBuilder lb(rewriter, loc);
    Value out = flatten(rewriter, loc, a.getOut());
    Value total = lb.dim(out, 0);
    launch(rewriter, loc, fill, total, proteus_rt::kGpuFillBlock,
           proteus_rt::kGpuFillBlock, {out, total});
    SmallVector<Value> args = {
        flatten(rewriter, loc, a.getQ()), flatten(rewriter, loc, a.getK()),
        flatten(rewriter, loc, a.getV()), a.getPackedRow(), a.getPackedToken()};
    if (a.getCandidates())
      args.append({flatten(rewriter, loc, a.getCandidates()), a.getLengths()});
    args.push_back(out);
    Value scales;
    if (spec->int8) {
      // INT8: the per-row scales of q, k and v first, into device scratch.
      gpu::GPUFuncOp scalesFn = getOrBuildInt8Scales(
          rewriter, module, spec->elem, spec->headDim, *op.getQuantize(),
          a.getPercentile().convertToDouble());
      if (!scalesFn) // the pass checked that the module's INT8 ops agree
        return rewriter.notifyMatchFailure(
            op, "the module's INT8 scales kernel is specialized otherwise");
      Value rows = lb.dim(a.getQ(), 0), perRow = lb.mul(rows, lb.idx(3));
      scales =
          gpu::AllocOp::create(
              rewriter, loc,
              MemRefType::get({ShapedType::kDynamic}, rewriter.getF32Type()),
              Type(), ValueRange{}, ValueRange{perRow}, ValueRange{})
              .getMemref();
      launch(rewriter, loc, scalesFn, perRow, 1, proteus_rt::kGpuLayerBlock,
             {args[0], args[1], args[2], scales, rows, lb.dim(a.getQ(), 1)});
      args.push_back(scales);
    }
    args.append({a.getCount(), lb.dim(a.getQ(), 1)});
    if (a.getCandidates())
      args.push_back(lb.dim(a.getCandidates(), 1));
    else
      args.append({a.getBudget()[0], a.getBudget()[1], a.getBudget()[2],
                   a.getBudget()[3]});
    if (spec->useProto) {
      // The scores (B, T), the proto cap, and the rows per batch item.
      args.append({flatten(rewriter, loc, a.getScores()), a.getBudget()[4],
                   lb.div(lb.dim(a.getQ(), 0), lb.dim(a.getScores(), 0))});
    }
    launch(rewriter, loc, kernel, a.getCount(), kWarpsPerBlock,
           32 * kWarpsPerBlock, args);
    if (scales)
      gpu::DeallocOp::create(rewriter, loc, Type(), ValueRange{}, scales);
    rewriter.eraseOp(op);
    return success();
  }
};

struct DenseAttentionToGPU : public OpConversionPattern<DenseAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DenseAttentionOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<KernelSpec> spec = kernelSpecFor(op, rewriter);
    if (failed(spec))
      return failure();
    Location loc = op.getLoc();
    gpu::GPUModuleOp module = getOrCreateKernelModule(op);
    gpu::GPUFuncOp kernel = spec->tensorCores()
                                ? buildTensorCoreDense(rewriter, module, *spec)
                                : getOrBuildKernel(rewriter, module, *spec);
    LoopBuilder lb(rewriter, loc);
    Value rows = lb.dim(a.getQ(), 0), seqLen = lb.dim(a.getQ(), 1);
    Value queries = lb.mul(rows, seqLen);
    Value tiles = lb.div(lb.add(seqLen, lb.idx(proteus_rt::kGpuDenseTile - 1)),
                         lb.idx(proteus_rt::kGpuDenseTile));
    launch(rewriter, loc, kernel, lb.mul(rows, tiles), 1, 32 * kWarpsPerBlock,
           {flatten(rewriter, loc, a.getQ()), flatten(rewriter, loc, a.getK()),
            flatten(rewriter, loc, a.getV()),
            flatten(rewriter, loc, a.getOut()), queries, lb.dim(a.getQ(), 1)});
    rewriter.eraseOp(op);
    return success();
  }
};

/// Discardable attributes the pass puts on a proteus.layer before converting
/// it: the tiles of the module's own primitive attention kernels of the same
/// specialization (tuned by proteus-compile --tuning-db), which the layer's
/// kernels (the same loops, launched under the device's mode) take too.
constexpr llvm::StringLiteral kLayerShortlistTile = "proteus.shortlist_tile";
constexpr llvm::StringLiteral kLayerDenseTile = "proteus.dense_tile";

/// The tile that an attention op of `top` with a tile gives the kernel of
/// `want` (its specialization, element type and source), or null.
TileAttr primitiveTile(ModuleOp top, const KernelSpec &want) {
  TileAttr found;
  top.walk([&](Operation *op) {
    if (found || !isa<ShortlistAttentionOp, DenseAttentionOp>(op))
      return;
    std::string why;
    FailureOr<KernelSpec> spec = getKernelSpec(op, why);
    if (succeeded(spec) && spec->tile && spec->source == want.source &&
        spec->elem == want.elem && spec->setting() == want.setting())
      found = spec->tile;
  });
  return found;
}

/// The attention kernels of a specialized layer, controlled by the device
/// stats: dense always, the in-kernel rule where it runs on the GPU (the
/// prototype piece where its lists fit the 48 KiB of static shared memory;
/// with INT8 it quantizes with proteus_int8_scales' scales, max or
/// percentile).
SmallVector<KernelSpec, 2> layerAttentionSpecs(LayerOp op) {
  ConfigAttr cfg = op.getConfig();
  BudgetAttr budget = op.getBudgetAttr();
  Type f32 = Float32Type::get(op.getContext());
  int64_t d = cfg.getHeadDim();
  SmallVector<KernelSpec, 2> specs;
  KernelSpec dense{CandidateSource::Causal, f32, d};
  dense.controlled = true;
  specs.push_back(dense);
  bool int8 = cfg.getQuantizeInt8();
  // The CPU layer takes the prototype piece only with prototypes on
  // (ProteusDecompose).
  bool proto = cfg.getUseProto() && cfg.getProtoEnabled();
  if (!proto || cfg.getLMax() <= proteus_rt::kGpuProtoPieceMaxL) {
    KernelSpec rule{CandidateSource::Rule,
                    f32,
                    d,
                    static_cast<int64_t>(cfg.getAnchorStride()),
                    cfg.getUseLocal(),
                    cfg.getUseAnchors()};
    rule.controlled = true;
    rule.int8 = int8;
    rule.effL = budget.getEffectiveL();
    rule.window = budget.getWindow();
    rule.localCap = budget.getLocalCap();
    rule.anchorCap = budget.getAnchorCap();
    if (proto) {
      rule.useProto = true;
      rule.heads = cfg.getHTotal();
      rule.maxL = cfg.getLMax();
      rule.protoCap = budget.getProtoCap();
    }
    specs.push_back(rule);
  }
  return specs;
}

/// A specialized proteus.layer becomes its setting's GPU layer kernels: the
/// non-attention kernels of LayerKernels.h, the fill, the plain dense kernel
/// of the fast path, and the attention kernels that read N and the mode from
/// the device stats vector. The runtime launches them in the order contract.h
/// gives, so nothing remains on the host side of this module.
struct LayerToGPU : public OpConversionPattern<LayerOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    BudgetAttr budget = op.getBudgetAttr();
    if (!budget)
      return rewriter.notifyMatchFailure(op, "run -proteus-specialize first");
    ConfigAttr cfg = op.getConfig();
    if (!op.getX().getType().getElementType().isF32())
      return rewriter.notifyMatchFailure(op,
                                         "the GPU layer takes f32 activations");
    if (std::string why = gpuLayerUnsupported(cfg); !why.empty())
      return rewriter.notifyMatchFailure(op, "no GPU layer: " + why);
    gpu::GPUModuleOp module = getOrCreateKernelModule(op);
    Type f32 = rewriter.getF32Type();
    buildLayerKernels(rewriter, module, cfg, budget);
    getOrBuildFill(rewriter, module, f32);
    auto tileOf = [&](const KernelSpec &spec) {
      return op->getAttrOfType<TileAttr>(spec.source == CandidateSource::Causal
                                             ? kLayerDenseTile
                                             : kLayerShortlistTile);
    };
    // The plain dense kernel of the fast path (the module's f32
    // dense_attention kernel where it has one), then the controlled ones.
    KernelSpec plain{CandidateSource::Causal, f32, cfg.getHeadDim()};
    plain.tile = tileOf(plain);
    getOrBuildKernel(rewriter, module, plain);
    for (KernelSpec spec : layerAttentionSpecs(op)) {
      spec.tile = tileOf(spec);
      getOrBuildKernel(rewriter, module, spec);
    }
    rewriter.eraseOp(op);
    return success();
  }
};

struct ConvertProteusToGPUPass
    : public mlir::proteus::impl::ConvertProteusToGPUPassBase<
          ConvertProteusToGPUPass> {
  void runOnOperation() override {
    ModuleOp top = getOperation();
    bool any = false;
    top.walk([&](Operation *op) {
      any |= isa<ShortlistAttentionOp, DenseAttentionOp, LayerOp, TopAOp>(op);
    });
    if (!any)
      return;
    // Every attention op's kernel and tile are checked before anything is
    // converted, each misfit reported once on its op.
    bool misfit = false;
    // One module has one proteus_int8_scales_<type>: the INT8 ops of an
    // element type must agree on what it is specialized for (head dim and
    // scale rule).
    llvm::DenseMap<Type, std::pair<std::string, Operation *>> int8Scales;
    auto checkInt8Scales = [&](Operation *op, Type elem, int64_t d,
                               Int8Mode mode, double p) {
      std::string mine = int8ScalesSpecialization(d, mode, p);
      auto [it, fresh] = int8Scales.try_emplace(elem, mine, op);
      if (fresh || it->second.first == mine)
        return;
      InFlightDiagnostic diag =
          op->emitOpError()
          << "has no GPU kernel: its INT8 scales (" << mine
          << ") differ from those of another op on " << elem << " ("
          << it->second.first
          << "), and a kernel module has one proteus_int8_scales kernel per "
             "element type";
      diag.attachNote(it->second.second->getLoc()) << "the other op";
      misfit = true;
    };
    top.walk([&](Operation *op) {
      if (auto layer = dyn_cast<LayerOp>(op)) {
        ConfigAttr cfg = layer.getConfig();
        if (cfg.getQuantizeInt8())
          checkInt8Scales(op, Float32Type::get(op->getContext()),
                          cfg.getHeadDim(), cfg.getInt8Mode(),
                          cfg.getInt8Percentile());
        return;
      }
      if (!isa<ShortlistAttentionOp, DenseAttentionOp>(op))
        return;
      if (auto sl = dyn_cast<ShortlistAttentionOp>(op);
          sl && sl.getQuantize()) {
        // (A dynamic head dim has no kernel at all: reported below.)
        auto q = cast<MemRefType>(sl.getQ().getType());
        if (!q.isDynamicDim(2))
          checkInt8Scales(op, q.getElementType(), q.getDimSize(2),
                          *sl.getQuantize(),
                          sl.getPercentile().convertToDouble());
      }
      std::string why;
      if (failed(getKernelSpec(op, why))) {
        op->emitOpError() << "has no GPU kernel: " << why;
        misfit = true;
        return;
      }
      if (std::string why = badTile(op); !why.empty()) {
        op->emitOpError() << why;
        misfit = true;
      }
    });
    if (misfit)
      return signalPassFailure();
    // A layer's attention kernels take the tiles of the module's primitive
    // kernels of the same specialization.
    top.walk([&](LayerOp layer) {
      if (!layer.getBudgetAttr())
        return;
      for (const KernelSpec &spec : layerAttentionSpecs(layer))
        if (TileAttr tile = primitiveTile(top, spec))
          layer->setAttr(spec.source == CandidateSource::Causal
                             ? kLayerDenseTile
                             : kLayerShortlistTile,
                         tile);
    });
    if (!top.lookupSymbol<gpu::GPUModuleOp>("proteus_kernels")) {
      OpBuilder b(top.getContext());
      b.setInsertionPointToEnd(top.getBody());
      top->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                   b.getUnitAttr());
      gpu::GPUModuleOp::create(b, top.getLoc(), "proteus_kernels");
    }
    ConversionTarget target(getContext());
    target.addIllegalOp<ShortlistAttentionOp, DenseAttentionOp, LayerOp,
                        TopAOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateProteusToGPUConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void mlir::proteus::populateProteusToGPUConversionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<ShortlistAttentionToGPU, DenseAttentionToGPU, LayerToGPU>(
      patterns.getContext());
  populateProteusTopAToGPUPatterns(patterns);
}
