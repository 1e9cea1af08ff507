//===- top_a_demo.cpp - proteus-run --top-a-demo --------------------------===//

#include "top_a_demo.h"

#include "layer_buffers.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <numeric>
#include <random>
#include <vector>

namespace proteus_run {
namespace {

const char *modeName(prt_top_a_mode m) {
  return m == PRT_TOP_A_OFF      ? "off"
         : m == PRT_TOP_A_FILTER ? "filter"
                                 : "blend";
}

/// The sampler's outputs for B rows.
struct Sampled {
  std::vector<int64_t> kept, counts, sample;
  std::vector<float> probs;
  void size(int64_t B, int64_t V) {
    kept.assign(static_cast<size_t>(B * V), -9);
    probs.assign(static_cast<size_t>(B * V), NAN);
    counts.assign(static_cast<size_t>(B * 2), -9);
    sample.assign(static_cast<size_t>(B), -9);
  }
};

/// The bf16 bit pattern of v, rounded to nearest even (NaN kept a NaN).
uint16_t toBf16(float v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof(bits));
  if (std::isnan(v))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float v = 0;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

/// How many tokens, in descending probability order, the GPU kernel's
/// candidates hold: until their mass exceeds top_p + 1e-6 (binary64 here).
int64_t candidates(const float *logits, int64_t V, double topP) {
  std::vector<double> p(logits, logits + V);
  const double m = *std::max_element(p.begin(), p.end());
  double s = 0;
  for (double &x : p)
    s += (x = std::exp(x - m));
  std::sort(p.begin(), p.end(), std::greater<double>());
  double cum = 0;
  int64_t n = 0;
  while (n < V && cum <= std::max(topP, 1e-6) + 1e-6)
    cum += p[static_cast<size_t>(n++)] / s;
  return n;
}

/// prt_gpu_top_a on device copies of `a`'s inputs (host `logits` and
/// `embedding` of a.dtype's element size); true when every row agrees with
/// the CPU's result `cpu` (kept, counts and sample exactly, probs within
/// 1e-6), or is a row the kernel refuses (counts -1) whose candidates do not
/// fit kGpuTopAMaxCandidates (2048; 16 either side are not judged).
template <typename E>
bool gpuAgrees(prt_context *ctx, prt_bundle *bundle, prt_top_a_args a,
               const std::vector<E> &logits, const std::vector<float> &logitsF,
               const std::vector<float> &consensus,
               const std::vector<E> &embedding,
               const std::vector<float> &uniform, const Sampled &cpu) {
  Sampled gpu;
  gpu.size(a.B, a.V);
  a.logits = logits.data();
  a.embedding = embedding.data();
  a.consensus = consensus.data();
  a.uniform = uniform.data();
  a.kept = gpu.kept.data();
  a.probs = gpu.probs.data();
  a.counts = gpu.counts.data();
  a.sample = gpu.sample.data();
  runGpuTopA(ctx, bundle, a);
  bool ok = true;
  const size_t V = static_cast<size_t>(a.V);
  for (size_t b = 0; b < static_cast<size_t>(a.B); ++b) {
    if (gpu.counts[2 * b] == -1) {
      const int64_t n = candidates(&logitsF[b * V], a.V, a.top_p);
      const bool fair = n > 2048 - 16;
      std::printf("gpu row %zu: refused (%lld candidates by the host's count): "
                  "%s\n",
                  b, static_cast<long long>(n),
                  fair ? "as documented" : "WRONG, they fit");
      ok = ok && fair;
      continue;
    }
    double err = 0;
    for (size_t j = 0; j < V; ++j)
      err = std::max(err, std::fabs(static_cast<double>(gpu.probs[b * V + j]) -
                                    cpu.probs[b * V + j]));
    const bool same =
        std::equal(&gpu.kept[b * V], &gpu.kept[b * V] + V, &cpu.kept[b * V]) &&
        gpu.counts[2 * b] == cpu.counts[2 * b] &&
        gpu.counts[2 * b + 1] == cpu.counts[2 * b + 1] &&
        gpu.sample[b] == cpu.sample[b];
    std::printf("gpu row %zu: kept, counts and sample %s the CPU's, probs max "
                "abs difference %.1e\n",
                b, same ? "equal" : "DIFFER from", err);
    ok = ok && same && err <= 1e-6;
  }
  return ok;
}

} // namespace

void runGpuTopA(prt_context *ctx, prt_bundle *bundle,
                const prt_top_a_args &host) {
  const int64_t es = prt_dtype_size(host.dtype), B = host.B, V = host.V,
                C = host.C;
  struct Buffer {
    const void *src;
    void *dst;
    int64_t bytes;
    uint64_t dev = 0;
  };
  std::vector<Buffer> bufs = {{host.logits, nullptr, B * V * es},
                              {host.consensus, nullptr, B * C * 4},
                              {host.embedding, nullptr, V * C * es},
                              {host.uniform, nullptr, B * 4},
                              {nullptr, host.kept, B * V * 8},
                              {nullptr, host.probs, B * V * 4},
                              {nullptr, host.counts, B * 2 * 8},
                              {nullptr, host.sample, B * 8}};
  auto release = [&] {
    for (Buffer &f : bufs)
      if (f.dev)
        prt_device_free(ctx, f.dev);
  };
  try {
    for (Buffer &f : bufs) {
      mustSucceed(prt_device_alloc(ctx, f.bytes, &f.dev), "prt_device_alloc");
      if (f.src)
        mustSucceed(prt_memcpy_htod(ctx, f.dev, f.src, f.bytes),
                    "prt_memcpy_htod");
    }
    auto ptr = [&](size_t i) { return reinterpret_cast<void *>(bufs[i].dev); };
    prt_top_a_args a = host;
    a.logits = ptr(0);
    a.consensus = static_cast<const float *>(ptr(1));
    a.embedding = ptr(2);
    a.uniform = static_cast<const float *>(ptr(3));
    a.kept = static_cast<int64_t *>(ptr(4));
    a.probs = static_cast<float *>(ptr(5));
    a.counts = static_cast<int64_t *>(ptr(6));
    a.sample = static_cast<int64_t *>(ptr(7));
    a.stream = nullptr;
    mustSucceed(prt_gpu_top_a(bundle, &a), "prt_gpu_top_a");
    for (Buffer &f : bufs)
      if (f.dst)
        mustSucceed(prt_memcpy_dtoh(ctx, f.dst, f.dev, f.bytes),
                    "prt_memcpy_dtoh");
  } catch (...) {
    release();
    throw;
  }
  release();
}

int runTopADemo(const TopADemoOptions &o) {
  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = o.backend;
  prt_context *ctx = nullptr;
  prt_bundle *bundle = nullptr;
  prt_plan *plan = nullptr;
  int code = 1;
  try {
    mustSucceed(prt_context_create(&ctx, &co), "prt_context_create");
    mustSucceed(prt_bundle_open(ctx, o.bundle.c_str(), &bundle),
                "prt_bundle_open");
    prt_bundle_info bn;
    mustSucceed(prt_bundle_get_info(bundle, &bn), "prt_bundle_get_info");
    prt_plan_options po;
    prt_plan_options_init(&po);
    po.B = o.B;
    po.T = o.T;
    mustSucceed(prt_plan_create(bundle, &po, &plan), "prt_plan_create");
    prt_plan_info pi;
    mustSucceed(prt_plan_get_info(plan, &pi), "prt_plan_get_info");
    const bool gpu = pi.backend == PRT_BACKEND_GPU;
    const int64_t B = o.B, T = o.T, C = bn.d_model, G = bn.gates, V = o.V;

    std::mt19937_64 rng(o.seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](std::vector<float> &v, int64_t n, float scale) {
      v.resize(static_cast<size_t>(n));
      for (float &f : v)
        f = normal(rng) * scale;
    };
    const float w = 1.0f / std::sqrt(static_cast<float>(C));
    Sampled cpu;
    std::vector<float> consensus, logits, embedding, uniform;
    {
      LayerBuffers io(ctx, gpu);
      fill(io.x, B * T * C, 1.0f);
      fill(io.wQkv, 3 * C * C, w);
      fill(io.bQkv, 3 * C, 0.02f);
      fill(io.wProj, C * C, w);
      fill(io.bProj, C, 0.02f);
      fill(io.wRouter, G * C, w);
      fill(io.protos, G * C, 1.0f);
      io.usage.assign(static_cast<size_t>(G), 0.0f);
      io.conf.assign(static_cast<size_t>(G), 1.0f);
      io.consensusMode = 1;
      io.prepare(B, T, C);
      prt_layer_stats st{};
      const prt_layer_args a = io.args(&st);
      mustSucceed(prt_layer_forward(plan, &a), "prt_layer_forward");
      io.fetch();
      consensus = io.consensus;
      std::printf(
          "layer (%s): B %lld, T %lld, C %lld, mode %s; head "
          "consensus at the last position, |c| of row 0 %.4g\n",
          gpu ? "gpu" : "cpu", static_cast<long long>(B),
          static_cast<long long>(T), static_cast<long long>(C), st.mode_name,
          std::sqrt(std::inner_product(consensus.begin(), consensus.begin() + C,
                                       consensus.begin(), 0.0)));
    }
    // Random logits (scale 5: a nucleus of about a hundred tokens at V 128K)
    // and embedding, rounded to bf16 with --top-a-dtype bf16.
    fill(logits, B * V, static_cast<float>(o.logitScale));
    fill(embedding, V * C, 1.0f);
    const bool bf16 = o.dtype == PRT_DTYPE_BF16;
    std::vector<uint16_t> logitsH, embeddingH;
    if (bf16) {
      for (float &v : logits)
        logitsH.push_back(toBf16(v)), v = fromBf16(logitsH.back());
      for (float &v : embedding)
        embeddingH.push_back(toBf16(v)), v = fromBf16(embeddingH.back());
    }
    uniform.assign(static_cast<size_t>(B), o.uniform);
    cpu.size(B, V);
    prt_top_a_args a{};
    a.B = B;
    a.V = V;
    a.C = C;
    a.dtype = o.dtype;
    a.logits = bf16 ? static_cast<const void *>(logitsH.data()) : logits.data();
    a.consensus = consensus.data();
    a.embedding =
        bf16 ? static_cast<const void *>(embeddingH.data()) : embedding.data();
    a.uniform = uniform.data();
    a.mode = o.mode;
    a.top_p = o.topP;
    a.lambda = o.lambda;
    a.tau = o.tau;
    a.threshold = o.threshold;
    a.kept = cpu.kept.data();
    a.probs = cpu.probs.data();
    a.counts = cpu.counts.data();
    a.sample = cpu.sample.data();
    const auto t0 = std::chrono::steady_clock::now();
    mustSucceed(prt_top_a(bundle, &a), "prt_top_a");
    const double ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - t0)
                          .count();
    std::printf("prt_top_a (CPU library): %.2f ms for B %lld, V %lld\n", ms,
                static_cast<long long>(B), static_cast<long long>(V));
    for (int64_t b = 0; b < B; ++b) {
      const int64_t k = cpu.counts[2 * b + 1];
      std::printf(
          "row %lld (%s, %s, top_p %g, lambda %g, tau %g): nucleus %lld, "
          "kept %lld, sample %lld (u = %g); most probable:",
          static_cast<long long>(b), prt_dtype_name(o.dtype), modeName(o.mode),
          o.topP, o.lambda, o.tau, static_cast<long long>(cpu.counts[2 * b]),
          static_cast<long long>(k), static_cast<long long>(cpu.sample[b]),
          o.uniform);
      for (int64_t j = 0; j < std::min<int64_t>(k, 5); ++j)
        std::printf(" %lld (%.4f)", static_cast<long long>(cpu.kept[b * V + j]),
                    cpu.probs[b * V + j]);
      std::printf("\n");
    }
    code = 0;
    if (gpu && !(bf16 ? gpuAgrees(ctx, bundle, a, logitsH, logits, consensus,
                                  embeddingH, uniform, cpu)
                      : gpuAgrees(ctx, bundle, a, logits, logits, consensus,
                                  embedding, uniform, cpu)))
      code = 1;
  } catch (const std::exception &e) {
    std::cerr << "proteus-run: " << e.what() << "\n";
    code = 1;
  }
  prt_plan_destroy(plan);
  prt_bundle_close(bundle);
  prt_context_destroy(ctx);
  return code;
}

} // namespace proteus_run
