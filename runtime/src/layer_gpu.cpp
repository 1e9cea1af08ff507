//===- layer_gpu.cpp - The layer on the GPU: scratch and launch sequence --===//
//
// A GPU plan of a bundle with "gpu_layer" owns the device scratch of the
// layer, sized once for (B, T_max), and launches the setting's layer kernels
// in the order contract.h gives ("The layer on the GPU"). A call allocates
// nothing and waits for nothing: the scalars the kernels decide (k, N, the
// mode) stay in the device stats vector; only a caller asking for the stats
// gets one device-to-host copy after the launches.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

using namespace proteus_rt;

namespace {

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The kernels a routed call may launch, for `c` (contract.h).
std::vector<std::string> layerKernels(const Config &c, bool shortlist) {
  std::vector<std::string> k = {"proteus_route_logits",
                                "proteus_route",
                                "proteus_head_mass",
                                "proteus_gate",
                                "proteus_top_k",
                                "proteus_pack_count",
                                "proteus_pack_scan",
                                "proteus_pack_write",
                                "proteus_project",
                                "proteus_combine",
                                "proteus_fill_zero_f32",
                                "proteus_dense_attention_f32",
                                "proteus_layer_dense_attention_f32"};
  if (shortlist)
    k.push_back("proteus_layer_shortlist_attention_f32");
  if (shortlist && !c.quantize_int8)
    k.push_back("proteus_project_q");
  if (shortlist && c.quantize_int8)
    k.push_back("proteus_int8_scales_f32");
  if (c.proto_enabled)
    for (const char *n :
         {"proteus_route_prep", "proteus_route_scale", "proteus_proto_mass",
          "proteus_proto_partial", "proteus_proto_update"})
      k.push_back(n);
  if (c.token_sparse)
    k.push_back("proteus_select_tokens");
  return k;
}

} // namespace

namespace proteus_rt {

struct GpuLayer {
  ContextImpl *ctx = nullptr;
  BundleImpl *bundle = nullptr;
  int64_t setting = 0;
  Config config;
  int64_t B = 0, Tmax = 0;
  std::vector<cu::DevicePtr> owned;
  int64_t bytes = 0;
  /// PROTEUS_PROFILE set (not "" or "0"): every call times each kernel with
  /// events and prints the times to stderr (this synchronises).
  bool profile = false;
  /// The budget the device copy holds (host memory that outlives the copy).
  std::vector<int64_t> uploaded;
  cu::DevicePtr gates = 0, heads = 0, sim = 0, importance = 0, mask = 0,
                mass = 0, rowMask = 0, rowCount = 0, offsets = 0, packedRow = 0,
                packedToken = 0, q = 0, k = 0, v = 0, o = 0, protoNorm = 0,
                usageSoft = 0, protoMass = 0, protoPart = 0, budget = 0,
                state = 0, dummy = 0, scaled = 0, dots = 0, int8Scales = 0;

  cu::DevicePtr alloc(int64_t bytes) {
    cu::DevicePtr p = 0;
    ctx->check(ctx->cuda->memAlloc(
                   &p, static_cast<size_t>(std::max<int64_t>(bytes, 256))),
               "cuMemAlloc (GPU layer scratch)");
    owned.push_back(p);
    this->bytes += std::max<int64_t>(bytes, 256);
    return p;
  }

  ~GpuLayer() {
    if (owned.empty())
      return;
    ScopedCuContext scope(*ctx);
    for (cu::DevicePtr p : owned)
      ctx->cuda->memFree(p);
  }
};

void GpuLayerDeleter::operator()(GpuLayer *layer) const { delete layer; }

std::string missingGpuLayerKernel(BundleImpl &bundle, int64_t setting,
                                  const Config &config, bool shortlist) {
  for (const std::string &name : layerKernels(config, shortlist)) {
    try {
      (void)bundle.gpuKernel(setting, name);
    } catch (const Error &e) {
      if (e.status != PRT_ERR_NOT_FOUND)
        throw;
      return name;
    }
  }
  return "";
}

GpuLayerPtr createGpuLayer(BundleImpl &bundle, int64_t setting, const Config &c,
                           int64_t B, int64_t Tmax) {
  GpuLayerPtr L(new GpuLayer);
  L->ctx = bundle.context.get();
  L->bundle = &bundle;
  L->setting = setting;
  L->config = c;
  L->B = B;
  L->Tmax = Tmax;
  const char *prof = std::getenv("PROTEUS_PROFILE");
  L->profile = prof && *prof && std::string(prof) != "0";
  ScopedCuContext scope(*L->ctx);
  const int64_t T = Tmax, C = c.d_model, G = c.gates, H = c.h_total,
                D = c.headDim(), R = B * H;
  const int64_t f = 4, i = 8;
  L->gates = L->alloc(B * T * G * f);
  L->heads = L->alloc(B * T * H * f);
  L->sim = L->alloc(B * T * f);
  L->importance = L->alloc(B * T * f);
  L->mask = L->alloc(B * T);
  L->mass = L->alloc(H * 8);
  L->rowMask = L->alloc(R * T);
  L->rowCount = L->alloc(R * i);
  L->offsets = L->alloc((R + 1) * i);
  L->packedRow = L->alloc(R * T * i);
  L->packedToken = L->alloc(R * T * i);
  L->q = L->alloc(R * T * D * f);
  L->k = L->alloc(R * T * D * f);
  L->v = L->alloc(R * T * D * f);
  L->o = L->alloc(R * T * D * f);
  L->protoNorm = L->alloc(G * C * f);
  if (c.quantize_int8)
    L->int8Scales = L->alloc(R * 3 * f);
  if (c.proto_enabled) {
    L->scaled = L->alloc(B * T * C * f);
    L->dots = L->alloc(B * T * G * f);
  }
  L->usageSoft = L->alloc(G * f);
  L->protoMass = L->alloc(G * 8);
  if (c.proto_enabled)
    L->protoPart = L->alloc(gpuProtoChunksMax(B * T) * G * C * 8);
  L->budget = L->alloc((kBudgetSize + H + 1) * i);
  L->state = L->alloc(kStatsSize * i);
  L->dummy = L->alloc(256);
  return L;
}

int64_t gpuLayerScratchBytes(const GpuLayer &L) { return L.bytes; }

void runGpuLayer(GpuLayer &L, const prt_layer_args &a,
                 const std::vector<int64_t> &budget,
                 std::vector<int64_t> &stats, bool wantStats) {
  ContextImpl &ctx = *L.ctx;
  const Config &c = L.config;
  const int64_t B = a.B, T = a.T, C = c.d_model, G = c.gates, H = c.h_total,
                D = c.headDim(), R = B * H;
  auto dev = [](const void *p) { return reinterpret_cast<uint64_t>(p); };
  const bool proto = c.proto_enabled, bias = c.bias;
  const uint64_t x = dev(a.x), y = dev(a.y);
  const uint64_t mask = a.token_mask ? dev(a.token_mask) : L.mask;
  const uint64_t importance = a.importance ? dev(a.importance) : L.importance;

  std::vector<DeviceBuffer> buffers = {
      {"args.x", x, B * T * C * 4, 4, false},
      {"args.w_qkv", dev(a.w_qkv), 3 * C * C * 4, 4, false},
      {"args.w_proj", dev(a.w_proj), C * C * 4, 4, false},
      {"args.w_router", dev(a.w_router), G * C * 4, 4, false},
      {"args.y", y, B * T * C * 4, 4, true}};
  if (bias) {
    buffers.push_back({"args.b_qkv", dev(a.b_qkv), 3 * C * 4, 4, false});
    buffers.push_back({"args.b_proj", dev(a.b_proj), C * 4, 4, false});
  }
  if (proto) {
    buffers.push_back(
        {"args.prototypes", dev(a.prototypes), G * C * 4, 4, true});
    buffers.push_back({"args.usage", dev(a.usage), G * 4, 4, true});
    buffers.push_back({"args.confidence", dev(a.confidence), G * 4, 4, true});
  }
  if (a.token_mask)
    buffers.push_back({"args.token_mask", mask, B * T, 1, true});
  if (a.importance)
    buffers.push_back({"args.importance", importance, B * T * 4, 4, true});
  if (a.consensus)
    buffers.push_back({"args.consensus", dev(a.consensus),
                       B * (a.consensus_all_positions ? T : 1) * C * 4, 4,
                       true});
  checkBuffers(buffers);

  ScopedCuContext scope(ctx);
  checkAllocations(ctx, buffers);
  prt_stream stream = a.stream;
  auto cuStream = reinterpret_cast<cu::Stream>(stream);
  std::vector<std::pair<std::string, std::pair<cu::Event, cu::Event>>> timed;
  auto run = [&](const std::string &name, int64_t blocks, int64_t threads,
                 KernelParams &p) {
    cu::Event start = nullptr, stop = nullptr;
    if (L.profile) {
      ctx.check(ctx.cuda->eventCreate(&start, cu::kEventDefault),
                "cuEventCreate");
      ctx.check(ctx.cuda->eventCreate(&stop, cu::kEventDefault),
                "cuEventCreate");
      ctx.check(ctx.cuda->eventRecord(start, cuStream), "cuEventRecord");
    }
    launch(ctx, L.bundle->gpuKernel(L.setting, name), blocks, threads, stream,
           p, name);
    if (L.profile) {
      ctx.check(ctx.cuda->eventRecord(stop, cuStream), "cuEventRecord");
      timed.push_back({name, {start, stop}});
    }
  };
  auto memsetBytes = [&](uint64_t ptr, unsigned char value, int64_t bytes) {
    ctx.check(ctx.cuda->memsetD8Async(ptr, value, static_cast<size_t>(bytes),
                                      cuStream),
              "cuMemsetD8Async");
  };
  // The device budget changes only with T: a call at the previous call's T
  // copies nothing from the host (and so can be captured in a CUDA graph).
  if (budget != L.uploaded) {
    L.uploaded = budget;
    ctx.check(ctx.cuda->memcpyHtoDAsync(L.budget, L.uploaded.data(),
                                        L.uploaded.size() * sizeof(int64_t),
                                        cuStream),
              "cuMemcpyHtoDAsync (budget)");
  }
  const int64_t nBudget = static_cast<int64_t>(budget.size());
  const int64_t tokens = B * T, qkv = R * T * D;
  const bool fast = budget[kBudgetFastPath] != 0;
  const bool shortlist = mayShortlist(budget.data());
  const uint64_t bQkv = bias ? dev(a.b_qkv) : L.dummy,
                 bProj = bias ? dev(a.b_proj) : L.dummy;

  // Poisoned (every slot -1), so that a mode the kernels leave unwritten
  // fails the range check of the stats, as on the CPU path; on the fast path
  // too, where proteus_project reads the mode (a previous call's Shortlist
  // would make it leave Q to proteus_project_q).
  memsetBytes(L.state, 0xFF, kStatsSize * 8);
  if (!fast) {
    if (proto) {
      KernelParams p;
      p.memref(dev(a.prototypes), G * C);
      p.memref(dev(a.usage), G);
      p.memref(L.protoNorm, G * C);
      p.memref(L.usageSoft, G);
      run("proteus_route_prep", G, kGpuLayerBlock, p);
    }
    const int64_t logitBlocks =
        ceilDiv(tokens, kGpuGemmTile) * ceilDiv(G, kGpuGemmTile);
    auto logits = [&](uint64_t in, uint64_t w, uint64_t out) {
      KernelParams p;
      p.memref(in, tokens * C);
      p.memref(w, G * C);
      p.memref(out, tokens * G);
      p.index(tokens);
      run("proteus_route_logits", logitBlocks, kGpuLayerBlock, p);
    };
    logits(x, dev(a.w_router), L.gates);
    if (proto) {
      KernelParams p;
      p.memref(x, tokens * C);
      p.memref(L.scaled, tokens * C);
      p.index(B);
      p.index(T);
      run("proteus_route_scale", ceilDiv(tokens, kGpuLayerBlock),
          kGpuLayerBlock, p);
      logits(L.scaled, L.protoNorm, L.dots);
    }
    {
      KernelParams p;
      p.memref(x, tokens * C);
      p.memref(dev(a.w_router), G * C);
      p.memref(proto ? L.protoNorm : L.dummy, proto ? G * C : 1);
      p.memref(proto ? L.usageSoft : L.dummy, proto ? G : 1);
      p.memref(proto ? dev(a.confidence) : L.dummy, proto ? G : 1);
      p.memref(L.gates, tokens * G);
      p.memref(L.heads, tokens * H);
      p.memref(importance, tokens);
      p.memref(proto ? L.sim : L.dummy, proto ? tokens : 1);
      p.memref(proto ? L.dots : L.dummy, proto ? tokens * G : 1);
      p.index(B);
      p.index(T);
      run("proteus_route", ceilDiv(tokens, kGpuLayerBlock), kGpuLayerBlock, p);
    }
    if (budget[kBudgetTokenMode] == 2) {
      KernelParams p;
      p.memref(importance, tokens);
      p.memref(mask, tokens);
      p.index(B);
      p.index(T);
      p.index(budget[kBudgetTokenKeep]);
      p.index(budget[kBudgetGuard]);
      run("proteus_select_tokens", B, kGpuSelectBlock, p);
    } else {
      memsetBytes(mask, 1, tokens);
    }
    {
      KernelParams p;
      p.memref(L.heads, tokens * H);
      p.memref(L.mass, H);
      p.index(B);
      p.index(T);
      run("proteus_head_mass", H, kGpuLayerBlock, p);
    }
    {
      KernelParams p;
      p.memref(L.mass, H);
      p.memref(L.budget, nBudget);
      p.memref(L.state, kStatsSize);
      run("proteus_gate", 1, 1, p);
    }
    {
      KernelParams p;
      p.memref(L.heads, tokens * H);
      p.memref(mask, tokens);
      p.memref(L.state, kStatsSize);
      p.memref(L.rowMask, R * T);
      p.index(B);
      p.index(T);
      run("proteus_top_k", ceilDiv(tokens, kGpuLayerBlock), kGpuLayerBlock, p);
    }
    {
      KernelParams p;
      p.memref(L.rowMask, R * T);
      p.memref(L.rowCount, R);
      p.index(R);
      p.index(T);
      run("proteus_pack_count", R, kGpuLayerBlock, p);
    }
    {
      KernelParams p;
      p.memref(L.rowCount, R);
      p.memref(L.offsets, R + 1);
      p.memref(L.budget, nBudget);
      p.memref(L.state, kStatsSize);
      p.index(R);
      p.index(T);
      run("proteus_pack_scan", 1, 1, p);
    }
    {
      KernelParams p;
      p.memref(L.rowMask, R * T);
      p.memref(L.offsets, R + 1);
      p.memref(L.packedRow, R * T);
      p.memref(L.packedToken, R * T);
      p.index(R);
      p.index(T);
      run("proteus_pack_write", R, kGpuLayerBlock, p);
    }
  } else {
    memsetBytes(mask, 1, tokens);
    memsetBytes(importance, 0, tokens * 4);
  }
  {
    KernelParams p;
    p.memref(x, tokens * C);
    p.memref(dev(a.w_qkv), 3 * C * C);
    p.memref(bQkv, bias ? 3 * C : 1);
    p.memref(L.q, qkv);
    p.memref(L.k, qkv);
    p.memref(L.v, qkv);
    p.memref(L.state, kStatsSize);
    p.index(B);
    p.index(T);
    run("proteus_project",
        ceilDiv(tokens, kGpuProjectTile) * ceilDiv(3 * C, kGpuProjectTile),
        kGpuLayerBlock, p);
  }
  if (!c.quantize_int8 && !fast && shortlist) {
    // Shortlist mode: Q of the packed pairs only (proteus_project skipped
    // the Q columns); the kernel returns at once in the other modes.
    KernelParams p;
    p.memref(x, tokens * C);
    p.memref(dev(a.w_qkv), 3 * C * C);
    p.memref(bQkv, bias ? 3 * C : 1);
    p.memref(L.offsets, R + 1);
    p.memref(L.packedToken, R * T);
    p.memref(L.state, kStatsSize);
    p.memref(L.q, qkv);
    p.index(B);
    p.index(T);
    run("proteus_project_q",
        R * ceilDiv(T, gpuProjectQRows(D)) * ceilDiv(D, gpuProjectQCols(D)),
        kGpuLayerBlock, p);
  }
  const int64_t denseBlocks = R * ceilDiv(T, kGpuDenseTile);
  auto qkvParams = [&](KernelParams &p) {
    p.memref(L.q, qkv);
    p.memref(L.k, qkv);
    p.memref(L.v, qkv);
  };
  if (fast) {
    KernelParams p;
    qkvParams(p);
    p.memref(L.o, qkv);
    p.index(R * T);
    p.index(T);
    run("proteus_dense_attention_f32", denseBlocks, kGpuAttentionBlock, p);
  } else {
    {
      KernelParams p;
      p.memref(L.o, qkv);
      p.index(qkv);
      run("proteus_fill_zero_f32", ceilDiv(qkv, kGpuFillBlock), kGpuFillBlock,
          p);
    }
    if (shortlist) {
      KernelParams p;
      qkvParams(p);
      p.memref(L.packedRow, R * T);
      p.memref(L.packedToken, R * T);
      p.memref(L.o, qkv);
      p.memref(L.state, kStatsSize);
      if (c.quantize_int8)
        p.memref(L.int8Scales, R * 3);
      p.index(T);
      p.index(budget[kBudgetEffectiveL]);
      p.index(budget[kBudgetWindow]);
      p.index(budget[kBudgetLocalCap]);
      p.index(budget[kBudgetAnchorCap]);
      if (c.use_proto && c.proto_enabled) {
        // The prototype piece: each batch item's salience, from proteus_route.
        p.memref(L.sim, tokens);
        p.index(budget[kBudgetProtoCap]);
      }
      if (c.quantize_int8) {
        KernelParams ps;
        qkvParams(ps);
        ps.memref(L.int8Scales, R * 3);
        ps.index(R);
        ps.index(T);
        run("proteus_int8_scales_f32", R * 3, kGpuLayerBlock, ps);
      }
      run("proteus_layer_shortlist_attention_f32", kGpuLayerShortlistBlocks,
          kGpuAttentionBlock, p);
    }
    KernelParams p;
    qkvParams(p);
    p.memref(L.o, qkv);
    p.memref(L.state, kStatsSize);
    p.index(R * T);
    p.index(T);
    run("proteus_layer_dense_attention_f32", denseBlocks, kGpuAttentionBlock,
        p);
  }
  {
    KernelParams p;
    p.memref(L.o, qkv);
    p.memref(dev(a.w_proj), C * C);
    p.memref(bProj, bias ? C : 1);
    p.memref(mask, tokens);
    p.memref(y, tokens * C);
    p.index(B);
    p.index(T);
    run("proteus_combine",
        ceilDiv(tokens, kGpuProjectTile) * ceilDiv(C, kGpuProjectTile),
        kGpuLayerBlock, p);
  }
  if (a.consensus) {
    const int64_t Tc = a.consensus_all_positions ? T : 1;
    KernelParams p;
    p.memref(L.o, qkv);
    p.memref(mask, tokens);
    p.memref(dev(a.consensus), B * Tc * C);
    p.index(B);
    p.index(T);
    p.index(Tc);
    run("proteus_consensus", ceilDiv(B * Tc * C, kGpuLayerBlock),
        kGpuLayerBlock, p);
  }
  if (!fast && budget[kBudgetUpdatePrototypes] != 0) {
    KernelParams pm;
    pm.memref(L.gates, tokens * G);
    pm.memref(L.protoMass, G);
    pm.index(B);
    pm.index(T);
    run("proteus_proto_mass", G, kGpuLayerBlock, pm);
    const int64_t chunk = gpuProtoChunk(tokens),
                  chunks = ceilDiv(tokens, chunk);
    {
      KernelParams p;
      p.memref(x, tokens * C);
      p.memref(L.gates, tokens * G);
      p.memref(L.protoPart, chunks * G * C);
      p.index(B);
      p.index(T);
      p.index(chunk);
      run("proteus_proto_partial",
          ceilDiv(C, kGpuGemmTile) * chunks * ceilDiv(G, kGpuGemmTile),
          kGpuLayerBlock, p);
    }
    KernelParams p;
    p.memref(L.protoMass, G);
    p.memref(L.protoPart, chunks * G * C);
    p.memref(dev(a.prototypes), G * C);
    p.memref(dev(a.usage), G);
    p.memref(dev(a.confidence), G);
    p.index(B);
    p.index(T);
    p.index(chunk);
    run("proteus_proto_update", ceilDiv(G * C, kGpuLayerBlock), kGpuLayerBlock,
        p);
  }

  if (L.profile) {
    double total = 0;
    std::fprintf(stderr, "proteus_rt profile: B %lld T %lld\n",
                 static_cast<long long>(B), static_cast<long long>(T));
    for (auto &[name, ev] : timed) {
      float ms = 0;
      ctx.check(ctx.cuda->eventSynchronize(ev.second), "cuEventSynchronize");
      ctx.check(ctx.cuda->eventElapsedTime(&ms, ev.first, ev.second),
                "cuEventElapsedTime");
      total += ms;
      std::fprintf(stderr, "  %-40s %9.4f ms\n", name.c_str(), ms);
      ctx.cuda->eventDestroy(ev.first);
      ctx.cuda->eventDestroy(ev.second);
    }
    std::fprintf(stderr, "  %-40s %9.4f ms\n", "(sum of kernels)", total);
  }
  stats.assign(kStatsSize, 0);
  if (fast) {
    // What the CPU layer writes on the dense fast path.
    stats[kStatsMode] = static_cast<int64_t>(Mode::DenseFastPath);
    stats[kStatsDenseReason] = 0;
    stats[kStatsTopK] = H;
    stats[kStatsNucleusK] = -1;
    stats[kStatsKAdapt] = H;
    stats[kStatsMaxActiveRows] = T;
    stats[kStatsActiveRows] = R;
    stats[kStatsPacked] = R * T;
  } else if (wantStats) {
    ctx.check(ctx.cuda->streamSynchronize(cuStream),
              "cuStreamSynchronize (layer)");
    ctx.check(ctx.cuda->memcpyDtoH(stats.data(), L.state,
                                   kStatsSize * sizeof(int64_t)),
              "cuMemcpyDtoH (layer stats)");
  }
}

} // namespace proteus_rt
