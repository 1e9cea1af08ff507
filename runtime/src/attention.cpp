//===- attention.cpp - Attention primitives: dense CPU, GPU launches ------===//
//
// prt_dense_attention runs the bundle's CPU library. prt_gpu_* launch the
// attention kernels of a setting's PTX module (contract.h, "GPU kernels") on
// device buffers. Everything that can be checked without a GPU is checked
// before the context is asked for one, so an argument error reads the same on
// every machine; the device pointers are then checked against the driver's
// allocation ranges, and only then is anything launched.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "raw_enum.h"

#include <cinttypes>
#include <cstdio>
#include <limits>

using namespace proteus_rt;

namespace {

std::string str(int64_t v) { return std::to_string(v); }

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
  return buf;
}

bool validDtype(int t) {
  return t == PRT_DTYPE_F32 || t == PRT_DTYPE_BF16 || t == PRT_DTYPE_F16;
}

/// What both GPU entry points check before they need a GPU.
void checkGpuCommon(const BundleImpl &b, int64_t setting, int dtype, int64_t R,
                    int64_t T, int64_t D) {
  const Manifest &m = b.manifest;
  if (!validDtype(dtype))
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.dtype is " + std::to_string(dtype) +
             ", not PRT_DTYPE_F32, PRT_DTYPE_BF16 or PRT_DTYPE_F16");
  if (setting < 0 || setting >= static_cast<int64_t>(m.settings.size()))
    fail(PRT_ERR_NOT_FOUND,
         "args.setting is " + str(setting) + "; the bundle has " +
             str(static_cast<int64_t>(m.settings.size())) + " setting(s)");
  if (R < 1 || T < 1 || D < 1)
    fail(PRT_ERR_SHAPE, "args.R, args.T and args.D must be >= 1 (are " +
                            str(R) + ", " + str(T) + ", " + str(D) + ")");
  (void)elements({R, T, D}, "q (R, T, D)");
  if (D != m.config.headDim())
    fail(PRT_ERR_SHAPE, "args.D is " + str(D) +
                            ", but the bundle's kernels are specialized for "
                            "its head dim " +
                            str(m.config.headDim()) + " (d_model " +
                            str(m.config.d_model) + " / h_total " +
                            str(m.config.h_total) + ")");
  if (m.ptxArchs.empty())
    fail(PRT_ERR_UNSUPPORTED,
         "bundle " + b.dir + " has no PTX" +
             (m.gpuNote.empty() ? std::string(" (proteus-compile --arch none?)")
                                : " (gpu_note: " + m.gpuNote + ")"));
}

/// The context of the bundle, which must use the GPU.
ContextImpl &needGpu(const BundleImpl &b, const char *entry) {
  ContextImpl &ctx = *b.context;
  if (!ctx.gpu())
    fail(PRT_ERR_UNSUPPORTED, std::string(entry) +
                                  " needs a GPU context; this one uses the "
                                  "CPU (" +
                                  ctx.info.reason + ")");
  return ctx;
}

/// Budget slots the rule kernel takes, in its parameter order.
constexpr BudgetSlot kRuleSlots[] = {kBudgetEffectiveL, kBudgetWindow,
                                     kBudgetLocalCap, kBudgetAnchorCap};
const char *slotName(BudgetSlot s) {
  switch (s) {
  case kBudgetEffectiveL:
    return "kBudgetEffectiveL";
  case kBudgetWindow:
    return "kBudgetWindow";
  case kBudgetLocalCap:
    return "kBudgetLocalCap";
  case kBudgetAnchorCap:
    return "kBudgetAnchorCap";
  default:
    return "?";
  }
}

/// The rule form's budget: this bundle's length, made for T, and equal to the
/// setting's own budgets (the kernel holds those that the setting fixed as
/// constants, so any other value would be half ignored).
void checkRuleBudget(const BundleImpl &b, int64_t setting,
                     const int64_t *budget, int64_t size, int64_t T) {
  checkBudget(b, budget, size, T);
  const Manifest &m = b.manifest;
  if (budget[kBudgetEffectiveL] < 1 || budget[kBudgetWindow] < 1 ||
      budget[kBudgetLocalCap] < 0 || budget[kBudgetAnchorCap] < 0)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "the budget's L " + str(budget[kBudgetEffectiveL]) + " and window " +
             str(budget[kBudgetWindow]) + " must be >= 1, its local cap " +
             str(budget[kBudgetLocalCap]) + " and anchor cap " +
             str(budget[kBudgetAnchorCap]) + " >= 0");
  // The mem_cap L schedule depends on the batch and the last top-k, which
  // the call does not know; only the other schedules can be recomputed.
  if (m.config.L_schedule == LSchedule::MemCap)
    return;
  const Setting &s = m.settings[static_cast<size_t>(setting)];
  Config c = m.config;
  c.keep_ratio_base = s.density;
  const std::vector<int64_t> own = makeBudget(c, 1, T, s.alpha, false).budget;
  for (BudgetSlot slot : kRuleSlots) {
    if (budget[slot] != own[slot])
      fail(PRT_ERR_INVALID_ARGUMENT,
           std::string("budget[") + slotName(slot) + "] is " +
               str(budget[slot]) + ", but setting " + str(setting) +
               " (alpha " + formatDouble(s.alpha) + ") at T = " + str(T) +
               " has " + str(own[slot]) +
               ": pass the setting's budget (prt_plan_budget)");
  }
}

/// The in-kernel rule exists unless the configuration needs what it lacks:
/// the prototype piece keeps each query's list in shared memory.
void checkRuleOnGpu(const BundleImpl &b) {
  const Config &c = b.manifest.config;
  if (!c.use_proto || c.L_max <= kGpuProtoPieceMaxL)
    return;
  fail(PRT_ERR_UNSUPPORTED,
       "the in-kernel candidate rule has no GPU kernel for this configuration "
       "(the prototype piece with L_max " +
           std::to_string(c.L_max) + " > " +
           std::to_string(kGpuProtoPieceMaxL) + ")" +
           (b.manifest.gpuNote.empty() ? std::string()
                                       : "; gpu_note: " + b.manifest.gpuNote) +
           "; materialise the candidates (prt_shortlist) and pass them");
}

/// Device scratch for the calls on one stream, allocated and freed in stream
/// order (cuMemAllocAsync / cuMemFreeAsync): the free is queued behind the
/// kernels that use it, on every path out of the call.
struct StreamScratch {
  ContextImpl &ctx;
  cu::Stream stream;
  cu::DevicePtr ptr = 0;
  StreamScratch(ContextImpl &ctx, prt_stream s)
      : ctx(ctx), stream(reinterpret_cast<cu::Stream>(s)) {}
  StreamScratch(const StreamScratch &) = delete;
  StreamScratch &operator=(const StreamScratch &) = delete;
  void allocate(int64_t bytes, const char *what) {
    ctx.check(ctx.cuda->memAllocAsync(&ptr, static_cast<size_t>(bytes), stream),
              (std::string("cuMemAllocAsync (") + what + ")").c_str());
  }
  ~StreamScratch() {
    if (ptr)
      (void)ctx.cuda->memFreeAsync(ptr, stream);
  }
};

/// Copies `n` int64 from the device.
std::vector<int64_t> download(ContextImpl &ctx, uint64_t ptr, int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  if (n > 0)
    ctx.check(ctx.cuda->memcpyDtoH(v.data(), ptr,
                                   static_cast<size_t>(n) * sizeof(int64_t)),
              "cuMemcpyDtoH (check_indices)");
  return v;
}

void checkIndicesOnHost(ContextImpl &ctx,
                        const prt_gpu_shortlist_attention_args &a) {
  ctx.check(ctx.cuda->streamSynchronize(reinterpret_cast<cu::Stream>(a.stream)),
            "cuStreamSynchronize (check_indices)");
  std::vector<int64_t> rows = download(ctx, a.packed_row, a.N);
  std::vector<int64_t> toks = download(ctx, a.packed_token, a.N);
  checkRange(rows.data(), a.N, 0, a.R, "args.packed_row", "R");
  checkRange(toks.data(), a.N, 0, a.T, "args.packed_token", "T");
  if (!a.candidates)
    return;
  std::vector<int64_t> lens = download(ctx, a.lengths, a.N);
  checkRange(lens.data(), a.N, 1, a.L + 1, "args.lengths", "L + 1");
  std::vector<int64_t> cand = download(ctx, a.candidates, a.N * a.L);
  for (int64_t n = 0; n < a.N; ++n) {
    for (int64_t j = 0; j < lens[static_cast<size_t>(n)]; ++j) {
      int64_t v = cand[static_cast<size_t>(n * a.L + j)];
      if (v < 0 || v >= a.T)
        fail(PRT_ERR_INVALID_ARGUMENT,
             "args.candidates[" + str(n) + ", " + str(j) + "] = " + str(v) +
                 " is outside [0, T = " + str(a.T) + ")");
    }
  }
}

} // namespace

namespace proteus_rt {

/// Non-null, aligned, and no output overlapping another buffer (the kernels
/// read the inputs while other warps write the output).
void checkBuffers(const std::vector<DeviceBuffer> &buffers) {
  for (const DeviceBuffer &b : buffers) {
    if (b.bytes == 0)
      continue;
    if (b.ptr == 0)
      fail(PRT_ERR_INVALID_ARGUMENT, std::string(b.name) + " is 0 (NULL)");
    if (b.ptr % static_cast<uint64_t>(b.align) != 0)
      fail(PRT_ERR_INVALID_ARGUMENT, std::string(b.name) + " = " + hex(b.ptr) +
                                         " is not aligned to its " +
                                         str(b.align) + "-byte elements");
  }
  for (const DeviceBuffer &o : buffers) {
    if (!o.output || o.bytes == 0)
      continue;
    for (const DeviceBuffer &b : buffers) {
      if (&b == &o || b.bytes == 0)
        continue;
      const uint64_t oEnd = o.ptr + static_cast<uint64_t>(o.bytes);
      const uint64_t bEnd = b.ptr + static_cast<uint64_t>(b.bytes);
      if (o.ptr < bEnd && b.ptr < oEnd)
        fail(PRT_ERR_INVALID_ARGUMENT, std::string(o.name) + " [" + hex(o.ptr) +
                                           ", " + hex(oEnd) + ") overlaps " +
                                           b.name + " [" + hex(b.ptr) + ", " +
                                           hex(bEnd) + ")");
    }
  }
}

/// Every buffer lies inside one allocation the driver knows, from its first
/// byte to its last. (For memory mapped with cuMemMap, e.g. an expandable
/// framework pool, the range is the whole reserved address range.)
void checkAllocations(ContextImpl &ctx,
                      const std::vector<DeviceBuffer> &buffers) {
  for (const DeviceBuffer &b : buffers) {
    if (b.bytes == 0)
      continue;
    cu::DevicePtr start = 0;
    size_t size = 0;
    cu::Result r = ctx.cuda->pointerGetAttribute(
        &start, cu::kPointerAttrRangeStartAddr, b.ptr);
    if (r == cu::kSuccess)
      r = ctx.cuda->pointerGetAttribute(&size, cu::kPointerAttrRangeSize,
                                        b.ptr);
    if (r == cu::kErrorInvalidValue)
      fail(PRT_ERR_INVALID_ARGUMENT,
           std::string(b.name) + " = " + hex(b.ptr) +
               " is not device memory of this context (the CUDA driver "
               "knows no allocation there)");
    ctx.check(r, "cuPointerGetAttribute");
    const uint64_t end = b.ptr + static_cast<uint64_t>(b.bytes);
    const uint64_t allocEnd = start + size;
    if (end > allocEnd)
      fail(PRT_ERR_INVALID_ARGUMENT,
           std::string(b.name) + " needs " + str(b.bytes) + " bytes from " +
               hex(b.ptr) + " but its allocation [" + hex(start) + ", " +
               hex(allocEnd) + ") ends " +
               str(static_cast<int64_t>(end - allocEnd)) + " bytes short");
  }
}

/// Launches `fn` on `stream`; errors of the launch itself are reported here,
/// errors inside the kernel at the next synchronisation.
void launch(ContextImpl &ctx, cu::Function fn, int64_t blocks, int64_t threads,
            prt_stream stream, KernelParams &params, const std::string &name) {
  if (blocks > std::numeric_limits<int32_t>::max())
    fail(PRT_ERR_SHAPE, name + " would need " + str(blocks) +
                            " blocks, more than one launch takes (2^31 - 1)");
  ctx.check(ctx.cuda->launchKernel(fn, static_cast<unsigned>(blocks), 1, 1,
                                   static_cast<unsigned>(threads), 1, 1, 0,
                                   reinterpret_cast<cu::Stream>(stream),
                                   params.pointers(), nullptr),
            ("cuLaunchKernel(" + name + ")").c_str());
}

} // namespace proteus_rt

extern "C" {

const char *prt_dtype_name(prt_dtype dtype) {
  switch (rawEnum(dtype)) {
  case PRT_DTYPE_F32:
    return "f32";
  case PRT_DTYPE_BF16:
    return "bf16";
  case PRT_DTYPE_F16:
    return "f16";
  }
  return "unknown";
}

int64_t prt_dtype_size(prt_dtype dtype) {
  switch (rawEnum(dtype)) {
  case PRT_DTYPE_F32:
    return 4;
  case PRT_DTYPE_BF16:
  case PRT_DTYPE_F16:
    return 2;
  }
  return 0;
}

prt_status prt_dense_attention(prt_bundle *bundle,
                               const prt_dense_attention_args *args) {
  return guardedCall([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_dense_attention_args &a = *args;
    if (a.R < 1 || a.T < 1 || a.D < 1)
      fail(PRT_ERR_SHAPE, "args.R, args.T and args.D must be >= 1 (are " +
                              str(a.R) + ", " + str(a.T) + ", " + str(a.D) +
                              ")");
    (void)elements({a.R, a.T, a.D}, "q (R, T, D)");
    need(a.q, "args.q");
    need(a.k, "args.k");
    need(a.v, "args.v");
    need(a.out, "args.out");
    auto fn = reinterpret_cast<DenseAttentionFn>(
        bundle->impl->cpuSymbol(kDenseAttentionEntry));
    auto f = [](const float *v) { return const_cast<float *>(v); };
    auto q = makeMemRef<float, 3>(f(a.q), {a.R, a.T, a.D});
    auto k = makeMemRef<float, 3>(f(a.k), {a.R, a.T, a.D});
    auto v = makeMemRef<float, 3>(f(a.v), {a.R, a.T, a.D});
    auto out = makeMemRef<float, 3>(a.out, {a.R, a.T, a.D});
    ScopedCpuPool threads(bundle->impl->context->cpuPool.get());
    fn(&q, &k, &v, &out);
  });
}

prt_status
prt_gpu_shortlist_attention(prt_bundle *bundle,
                            const prt_gpu_shortlist_attention_args *args) {
  return guardedCall([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_gpu_shortlist_attention_args &a = *args;
    BundleImpl &b = *bundle->impl;
    checkGpuCommon(b, a.setting, rawEnum(a.dtype), a.R, a.T, a.D);
    if (a.N < 0)
      fail(PRT_ERR_SHAPE, "args.N is " + str(a.N) + ", must be >= 0");
    const bool listed = a.candidates != 0;
    if (listed) {
      if (a.L < 1)
        fail(PRT_ERR_SHAPE,
             "args.L is " + str(a.L) + ", the candidates' width must be >= 1");
      (void)elements({a.N, a.L}, "candidates (N, L)");
    } else {
      if (a.lengths)
        fail(PRT_ERR_INVALID_ARGUMENT,
             "args.lengths is set but args.candidates is 0: pass both "
             "(listed form) or neither (rule form)");
      checkRuleOnGpu(b);
      checkRuleBudget(b, a.setting, a.budget, a.budget_size, a.T);
    }
    // The prototype piece's scores: rule form only, exactly when the
    // configuration uses the piece.
    const bool proto = !listed && b.manifest.config.use_proto;
    if (proto) {
      if (!a.proto_scores)
        fail(PRT_ERR_INVALID_ARGUMENT,
             "args.proto_scores is 0: the configuration uses the prototype "
             "candidate piece, whose rule picks from the (B, T) scores");
      if (a.B < 1 || a.R % a.B != 0)
        fail(PRT_ERR_SHAPE, "args.B is " + str(a.B) +
                                ", must be >= 1 and divide args.R (" +
                                str(a.R) + ")");
    } else if (a.proto_scores || a.B) {
      fail(PRT_ERR_INVALID_ARGUMENT,
           std::string("args.proto_scores / args.B are set, but ") +
               (listed ? "the listed form takes no scores"
                       : "the configuration has no prototype piece") +
               ": leave them 0");
    }
    const int64_t es = prt_dtype_size(a.dtype);
    const int64_t tensor = a.R * a.T * a.D * es;
    const int64_t idx = a.N * static_cast<int64_t>(sizeof(int64_t));
    std::vector<DeviceBuffer> buffers = {
        {"args.q", a.q, tensor, es, false},
        {"args.k", a.k, tensor, es, false},
        {"args.v", a.v, tensor, es, false},
        {"args.out", a.out, tensor, es, true},
        {"args.packed_row", a.packed_row, idx, 8, false},
        {"args.packed_token", a.packed_token, idx, 8, false}};
    if (listed) {
      buffers.push_back({"args.candidates", a.candidates, idx * a.L, 8, false});
      buffers.push_back({"args.lengths", a.lengths, idx, 8, false});
    }
    if (proto)
      buffers.push_back({"args.proto_scores", a.proto_scores,
                         elements({a.B, a.T}, "proto_scores (B, T)") * 4, 4,
                         false});
    checkBuffers(buffers);

    ContextImpl &ctx = needGpu(b, "prt_gpu_shortlist_attention");
    const std::string t = prt_dtype_name(a.dtype);
    const std::string fillName = "proteus_fill_zero_" + t;
    const std::string name = (listed ? "proteus_shortlist_attention_listed_"
                                     : "proteus_shortlist_attention_") +
                             t;
    cu::Function fill = b.gpuKernel(a.setting, fillName);
    cu::Function attention = nullptr;
    try {
      attention = b.gpuKernel(a.setting, name);
    } catch (const Error &e) {
      if (e.status != PRT_ERR_NOT_FOUND || listed)
        throw;
      fail(PRT_ERR_UNSUPPORTED,
           std::string(e.what()) +
               (b.manifest.gpuNote.empty()
                    ? std::string()
                    : " (gpu_note: " + b.manifest.gpuNote + ")"));
    }
    // INT8 (rule form; REFERENCE.md 6.4): the per-row scales first, into
    // stream-ordered scratch.
    const bool int8 = !listed && b.manifest.config.quantize_int8;
    const std::string scalesName = "proteus_int8_scales_" + t;
    cu::Function scalesFn = int8 ? b.gpuKernel(a.setting, scalesName) : nullptr;
    ScopedCuContext scope(ctx);
    checkAllocations(ctx, buffers);
    if (a.check_indices)
      checkIndicesOnHost(ctx, a);

    const int64_t total = a.R * a.T * a.D;
    KernelParams fp;
    fp.memref(a.out, total);
    fp.index(total);
    launch(ctx, fill, (total + kGpuFillBlock - 1) / kGpuFillBlock,
           kGpuFillBlock, a.stream, fp, fillName);
    if (a.N == 0)
      return;
    StreamScratch scales(ctx, a.stream);
    if (int8) {
      scales.allocate(a.R * 3 * static_cast<int64_t>(sizeof(float)),
                      "INT8 scales");
      KernelParams ps;
      ps.memref(a.q, total);
      ps.memref(a.k, total);
      ps.memref(a.v, total);
      ps.memref(scales.ptr, a.R * 3);
      ps.index(a.R);
      ps.index(a.T);
      launch(ctx, scalesFn, a.R * 3, kGpuLayerBlock, a.stream, ps, scalesName);
    }
    KernelParams p;
    p.memref(a.q, total);
    p.memref(a.k, total);
    p.memref(a.v, total);
    p.memref(a.packed_row, a.N);
    p.memref(a.packed_token, a.N);
    if (listed) {
      p.memref(a.candidates, a.N * a.L);
      p.memref(a.lengths, a.N);
    }
    p.memref(a.out, total);
    if (int8)
      p.memref(scales.ptr, a.R * 3);
    p.index(a.N);
    p.index(a.T);
    if (listed) {
      p.index(a.L);
    } else {
      for (BudgetSlot slot : kRuleSlots)
        p.index(a.budget[slot]);
    }
    if (proto) {
      p.memref(a.proto_scores, a.B * a.T);
      p.index(a.budget[kBudgetProtoCap]);
      p.index(a.R / a.B);
    }
    constexpr int64_t kQueriesPerBlock = kGpuAttentionBlock / 32;
    launch(ctx, attention, (a.N + kQueriesPerBlock - 1) / kQueriesPerBlock,
           kGpuAttentionBlock, a.stream, p, name);
  });
}

prt_status prt_gpu_dense_attention(prt_bundle *bundle,
                                   const prt_gpu_dense_attention_args *args) {
  return guardedCall([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_gpu_dense_attention_args &a = *args;
    BundleImpl &b = *bundle->impl;
    checkGpuCommon(b, a.setting, rawEnum(a.dtype), a.R, a.T, a.D);
    const int64_t es = prt_dtype_size(a.dtype);
    const int64_t tensor = a.R * a.T * a.D * es;
    std::vector<DeviceBuffer> buffers = {{"args.q", a.q, tensor, es, false},
                                         {"args.k", a.k, tensor, es, false},
                                         {"args.v", a.v, tensor, es, false},
                                         {"args.out", a.out, tensor, es, true}};
    checkBuffers(buffers);

    ContextImpl &ctx = needGpu(b, "prt_gpu_dense_attention");
    const std::string name =
        std::string("proteus_dense_attention_") + prt_dtype_name(a.dtype);
    cu::Function fn = b.gpuKernel(a.setting, name);
    ScopedCuContext scope(ctx);
    checkAllocations(ctx, buffers);
    const int64_t total = a.R * a.T * a.D;
    KernelParams p;
    p.memref(a.q, total);
    p.memref(a.k, total);
    p.memref(a.v, total);
    p.memref(a.out, total);
    p.index(a.R * a.T);
    p.index(a.T);
    const int64_t tiles = (a.T + kGpuDenseTile - 1) / kGpuDenseTile;
    launch(ctx, fn, a.R * tiles, kGpuAttentionBlock, a.stream, p, name);
  });
}

} // extern "C"
