//===- top_a.cpp - The Top-A sampler: CPU library and GPU kernels ---------===//
//
// prt_top_a runs the bundle's CPU library entry point of the mode and element
// type (contract.h, topAEntry); prt_gpu_top_a launches the stages of
// kTopAStages from setting 0's PTX module. Both check every argument first,
// with the same messages, before anything runs.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "raw_enum.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

using namespace proteus_rt;

namespace {

std::string str(int64_t v) { return std::to_string(v); }
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

/// The element index of args.dtype in kTopAElems.
int elemIndex(prt_dtype dtype) {
  if (dtype == PRT_DTYPE_F32)
    return 0;
  if (dtype == PRT_DTYPE_BF16)
    return 1;
  fail(PRT_ERR_INVALID_ARGUMENT,
       "args.dtype is " + std::string(prt_dtype_name(dtype)) +
           "; Top-A takes PRT_DTYPE_F32 or PRT_DTYPE_BF16 logits and "
           "embedding");
}

/// Shapes, pointers, the mode and the parameters (not the uniform numbers,
/// which the CPU call checks on the host).
void checkTopAArgs(const prt_top_a_args &a) {
  if (a.B < 1 || a.V < 1 || a.C < 1)
    fail(PRT_ERR_SHAPE, "args.B, args.V and args.C must be >= 1 (are " +
                            str(a.B) + ", " + str(a.V) + ", " + str(a.C) + ")");
  (void)elements({a.B, a.V}, "logits (B, V)");
  (void)elements({a.V, a.C}, "embedding (V, C)");
  // Read as an int: a value outside the enum may not be loaded as one (UB).
  const int mode = rawEnum(a.mode);
  if (mode != PRT_TOP_A_OFF && mode != PRT_TOP_A_BLEND &&
      mode != PRT_TOP_A_FILTER)
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.mode is " + str(mode) +
             ", not PRT_TOP_A_OFF, PRT_TOP_A_BLEND or PRT_TOP_A_FILTER");
  (void)elemIndex(a.dtype);
  need(a.logits, "args.logits");
  need(a.uniform, "args.uniform");
  need(a.kept, "args.kept");
  need(a.probs, "args.probs");
  need(a.counts, "args.counts");
  need(a.sample, "args.sample");
  if (a.mode != PRT_TOP_A_OFF) {
    need(a.consensus, "args.consensus");
    need(a.embedding, "args.embedding");
  }
  if (!(a.top_p >= 0.0 && a.top_p <= 1.0))
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.top_p is " + num(a.top_p) + ", must be in [0, 1]");
  if (!std::isfinite(a.lambda))
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.lambda is " + num(a.lambda) + ", must be finite");
  if (!(a.tau > 0.0) || !std::isfinite(a.tau))
    fail(PRT_ERR_INVALID_ARGUMENT,
         "args.tau is " + num(a.tau) + ", must be positive and finite");
  if (a.mode == PRT_TOP_A_FILTER && std::isnan(a.threshold))
    fail(PRT_ERR_INVALID_ARGUMENT, "args.threshold is NaN (mode filter)");
}

template <typename E>
void runCpuTopA(BundleImpl &b, const prt_top_a_args &a, int elem) {
  auto fn = reinterpret_cast<TopAFn<E>>(
      b.cpuSymbol(topAEntry(static_cast<int>(a.mode), elem)));
  // OFF reads neither consensus nor embedding: 1 x 1 dummies stand in.
  float dummy[1] = {0.0f};
  E dummyE[1] = {};
  const bool off = a.mode == PRT_TOP_A_OFF;
  auto logitsRef = makeMemRef<E, 2>(
      static_cast<E *>(const_cast<void *>(a.logits)), {a.B, a.V});
  auto consRef =
      off ? makeMemRef<float, 2>(dummy, {1, 1})
          : makeMemRef<float, 2>(const_cast<float *>(a.consensus), {a.B, a.C});
  auto embRef =
      off ? makeMemRef<E, 2>(dummyE, {1, 1})
          : makeMemRef<E, 2>(static_cast<E *>(const_cast<void *>(a.embedding)),
                             {a.V, a.C});
  auto uRef = makeMemRef<float, 1>(const_cast<float *>(a.uniform), {a.B});
  auto keptRef = makeMemRef<int64_t, 2>(a.kept, {a.B, a.V});
  auto probsRef = makeMemRef<float, 2>(a.probs, {a.B, a.V});
  auto countsRef = makeMemRef<int64_t, 2>(a.counts, {a.B, 2});
  auto sampleRef = makeMemRef<int64_t, 1>(a.sample, {a.B});
  fn(&logitsRef, &consRef, &embRef, &uRef, static_cast<float>(a.top_p),
     static_cast<float>(a.lambda), static_cast<float>(a.tau),
     static_cast<float>(a.threshold), &keptRef, &probsRef, &countsRef,
     &sampleRef);
}

} // namespace

prt_status prt_top_a(prt_bundle *bundle, const prt_top_a_args *args) {
  return guardedCall([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_top_a_args &a = *args;
    checkTopAArgs(a);
    for (int64_t b = 0; b < a.B; ++b)
      if (!(a.uniform[b] >= 0.0f && a.uniform[b] < 1.0f))
        fail(PRT_ERR_INVALID_ARGUMENT, "args.uniform[" + str(b) + "] is " +
                                           num(a.uniform[b]) +
                                           ", must be in [0, 1)");
    const int elem = elemIndex(a.dtype);
    // Poisoned, so that an entry the kernel leaves unwritten is caught.
    std::fill(a.counts, a.counts + 2 * a.B, int64_t(-2));
    if (elem == 0)
      runCpuTopA<float>(*bundle->impl, a, elem);
    else
      runCpuTopA<uint16_t>(*bundle->impl, a, elem);
    for (int64_t b = 0; b < a.B; ++b) {
      const int64_t n = a.counts[2 * b], k = a.counts[2 * b + 1];
      if (n < 1 || n > a.V || k < 1 || k > n)
        fail(PRT_ERR_KERNEL, "the Top-A kernel returned nucleus " + str(n) +
                                 " and kept " + str(k) + " for row " + str(b) +
                                 " (V = " + str(a.V) + ")");
    }
  });
}

namespace {
/// An f32 kernel parameter: its bits in the low 4 bytes of the 8-byte slot.
int64_t f32Param(double v) {
  const float f = static_cast<float>(v);
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  return static_cast<int64_t>(bits);
}
} // namespace

prt_status prt_gpu_top_a(prt_bundle *bundle, const prt_top_a_args *args) {
  return guardedCall([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_top_a_args &a = *args;
    checkTopAArgs(a);
    BundleImpl &b = *bundle->impl;
    ContextImpl &ctx = *b.context;
    if (!ctx.gpu())
      fail(PRT_ERR_UNSUPPORTED,
           "prt_gpu_top_a needs a GPU context; this one uses the CPU (" +
               std::string(ctx.info.reason) + ")");
    const int elem = elemIndex(a.dtype);
    const int64_t es = prt_dtype_size(a.dtype);
    const bool off = a.mode == PRT_TOP_A_OFF;
    auto dev = [](const void *p) { return reinterpret_cast<uint64_t>(p); };
    std::vector<DeviceBuffer> buffers = {
        {"args.logits", dev(a.logits), a.B * a.V * es, es, false},
        {"args.uniform", dev(a.uniform), a.B * 4, 4, false},
        {"args.kept", dev(a.kept), a.B * a.V * 8, 8, true},
        {"args.probs", dev(a.probs), a.B * a.V * 4, 4, true},
        {"args.counts", dev(a.counts), a.B * 2 * 8, 8, true},
        {"args.sample", dev(a.sample), a.B * 8, 8, true}};
    if (!off) {
      buffers.push_back(
          {"args.consensus", dev(a.consensus), a.B * a.C * 4, 4, false});
      buffers.push_back(
          {"args.embedding", dev(a.embedding), a.V * a.C * es, es, false});
    }
    checkBuffers(buffers);
    ScopedCuContext scope(ctx);
    checkAllocations(ctx, buffers);
    // Every stage's kernel first, so that a bundle without them fails before
    // anything runs.
    const int mode = static_cast<int>(a.mode);
    struct Launch {
      const TopAStage *stage;
      std::string name;
      cu::Function fn;
    };
    std::vector<Launch> launches;
    for (const TopAStage &stage : kTopAStages)
      if (topAStageRuns(stage, mode, a.V)) {
        std::string name = topAStageEntry(stage, mode, elem);
        cu::Function fn = b.gpuKernel(0, name);
        launches.push_back({&stage, std::move(name), fn});
      }
    KernelParams p;
    p.memref(dev(a.logits), a.B * a.V);
    p.memref(off ? 0 : dev(a.consensus), off ? 0 : a.B * a.C);
    p.memref(off ? 0 : dev(a.embedding), off ? 0 : a.V * a.C);
    p.memref(dev(a.uniform), a.B);
    p.index(f32Param(a.top_p));
    p.index(f32Param(a.lambda));
    p.index(f32Param(a.tau));
    p.index(f32Param(a.threshold));
    p.memref(dev(a.kept), a.B * a.V);
    p.memref(dev(a.probs), a.B * a.V);
    p.memref(dev(a.counts), a.B * 2);
    p.memref(dev(a.sample), a.B);
    p.index(a.V);
    p.index(a.C);
    for (const Launch &l : launches)
      launch(ctx, l.fn, a.B * topABlocksPerRow(*l.stage, a.V), l.stage->threads,
             a.stream, p, l.name);
  });
}
