//===- gpu_layer_check.cpp - The GPU layer vs the CPU layer ---------------===//
//
// Runs the whole layer of compiled bundles on the GPU (prt_layer_forward on a
// GPU plan) and on the CPU (the same bundle's CPU library) on fresh random
// inputs of many shapes, for every setting, and compares: y and importance
// within 1e-4 relative L2, the token mask exactly, the mode, top-k, k_adapt
// and the packed count exactly, and the prototype state after the EMA when
// the call updates it. Every GPU call runs twice and must give bit-identical
// y. Outputs are poisoned (NaN, 2) before every call.
//
//   gpu_layer_check [--long | --quick | --sanitize] [--time T] BUNDLE...
//
// --long checks T = 4096, 16384 and 65536 (B = 1) instead, on each bundle's
// last setting only (the CPU reference's dense attention and O(T^2) token
// selection make the others take hours), --quick a few small shapes (for the
// sanitizers), --sanitize fewer still for racecheck, where a case of 16 heads
// takes ~17 s: T 7 (the fast path), 65 and 300, and where the bundle has
// prototypes only the call with the EMA (it launches every kernel the call
// without it does, and the EMA's); --time T runs one call at T with
// PROTEUS_PROFILE-style per-kernel timings printed by the runtime. Links
// proteus_rt alone. Exit code: 0 all passed, 1 a check failed, 2 bad usage,
// 77 no GPU.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

void must(prt_status s, const std::string &what) {
  if (s != PRT_OK)
    throw std::runtime_error(what + ": " + prt_status_name(s) + ": " +
                             prt_last_error());
}

double relL2(const std::vector<float> &a, const std::vector<float> &b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    num += d * d;
    den += static_cast<double>(b[i]) * b[i];
  }
  if (std::isnan(num))
    return NAN;
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

/// Device copies of host vectors, freed at scope end.
class Device {
public:
  explicit Device(prt_context *ctx) : ctx_(ctx) {}
  ~Device() {
    for (uint64_t p : owned_)
      prt_device_free(ctx_, p);
  }
  template <typename T> T *put(const std::vector<T> &v) {
    uint64_t d = 0;
    const int64_t bytes = static_cast<int64_t>(v.size() * sizeof(T));
    must(prt_device_alloc(ctx_, std::max<int64_t>(bytes, 1), &d),
         "prt_device_alloc");
    owned_.push_back(d);
    if (bytes)
      must(prt_memcpy_htod(ctx_, d, v.data(), bytes), "prt_memcpy_htod");
    return reinterpret_cast<T *>(d);
  }
  template <typename T> void get(std::vector<T> &v, const T *d) {
    must(prt_memcpy_dtoh(ctx_, v.data(), reinterpret_cast<uint64_t>(d),
                         static_cast<int64_t>(v.size() * sizeof(T))),
         "prt_memcpy_dtoh");
  }

private:
  prt_context *ctx_;
  std::vector<uint64_t> owned_;
};

/// What the check needs to know of a bundle.
struct BundleInfo {
  int64_t d_model = 0, gates = 0, settings = 0;
  bool bias = false, proto_enabled = false, int8 = false;
};

BundleInfo bundleInfo(prt_bundle *b) {
  prt_bundle_info i;
  must(prt_bundle_get_info(b, &i), "prt_bundle_get_info");
  const char *text = nullptr;
  must(prt_bundle_config_json(b, &text), "prt_bundle_config_json");
  const nlohmann::json cfg = nlohmann::json::parse(text);
  BundleInfo bi;
  bi.d_model = i.d_model;
  bi.gates = i.gates;
  bi.settings = i.num_settings;
  bi.bias = cfg.value("bias", false);
  bi.proto_enabled = cfg.value("proto_enabled", false);
  bi.int8 = cfg.value("quantize_sparse_int8", false);
  return bi;
}

struct Inputs {
  std::vector<float> x, wQkv, bQkv, wProj, bProj, wRouter, protos, usage, conf;
};

struct Outputs {
  std::vector<float> y, importance, protos, usage, conf;
  std::vector<int8_t> mask;
  prt_layer_stats stats{};
};

Inputs randomInputs(const BundleInfo &bi, int64_t B, int64_t T, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> n01(0.0f, 1.0f);
  std::uniform_real_distribution<float> u01(0.0f, 1.0f);
  const int64_t C = bi.d_model, G = bi.gates;
  auto normal = [&](int64_t n, float scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float &e : v)
      e = n01(gen) * scale;
    return v;
  };
  const float w = 1.0f / std::sqrt(static_cast<float>(C));
  Inputs in;
  in.x = normal(B * T * C, 1.0f);
  in.wQkv = normal(3 * C * C, w);
  in.bQkv = normal(3 * C, 0.1f);
  in.wProj = normal(C * C, w);
  in.bProj = normal(C, 0.1f);
  in.wRouter = normal(G * C, w);
  in.protos = normal(G * C, 1.0f);
  in.usage.resize(static_cast<size_t>(G));
  in.conf.resize(static_cast<size_t>(G));
  for (auto &e : in.usage)
    e = u01(gen);
  for (auto &e : in.conf)
    e = u01(gen);
  return in;
}

prt_layer_args baseArgs(const BundleInfo &bi, int64_t B, int64_t T) {
  prt_layer_args a{};
  a.B = B;
  a.T = T;
  (void)bi;
  return a;
}

void poison(Outputs &o, int64_t B, int64_t T, int64_t C) {
  o.y.assign(static_cast<size_t>(B * T * C), NAN);
  o.importance.assign(static_cast<size_t>(B * T), NAN);
  o.mask.assign(static_cast<size_t>(B * T), 2);
}

void runCpu(prt_plan *plan, const BundleInfo &bi, const Inputs &in, int64_t B,
            int64_t T, Outputs &o) {
  poison(o, B, T, bi.d_model);
  o.protos = in.protos;
  o.usage = in.usage;
  o.conf = in.conf;
  prt_layer_args a = baseArgs(bi, B, T);
  a.x = in.x.data();
  a.w_qkv = in.wQkv.data();
  a.b_qkv = bi.bias ? in.bQkv.data() : nullptr;
  a.w_proj = in.wProj.data();
  a.b_proj = bi.bias ? in.bProj.data() : nullptr;
  a.w_router = in.wRouter.data();
  if (bi.proto_enabled) {
    a.prototypes = o.protos.data();
    a.usage = o.usage.data();
    a.confidence = o.conf.data();
  }
  a.y = o.y.data();
  a.token_mask = o.mask.data();
  a.importance = o.importance.data();
  a.stats = &o.stats;
  must(prt_layer_forward(plan, &a), "prt_layer_forward (CPU)");
}

void runGpu(prt_context *ctx, prt_plan *plan, const BundleInfo &bi,
            const Inputs &in, int64_t B, int64_t T, Outputs &o) {
  poison(o, B, T, bi.d_model);
  Device d(ctx);
  prt_layer_args a = baseArgs(bi, B, T);
  a.x = d.put(in.x);
  a.w_qkv = d.put(in.wQkv);
  a.b_qkv = bi.bias ? d.put(in.bQkv) : nullptr;
  a.w_proj = d.put(in.wProj);
  a.b_proj = bi.bias ? d.put(in.bProj) : nullptr;
  a.w_router = d.put(in.wRouter);
  float *protos = nullptr, *usage = nullptr, *conf = nullptr;
  if (bi.proto_enabled) {
    a.prototypes = protos = d.put(in.protos);
    a.usage = usage = d.put(in.usage);
    a.confidence = conf = d.put(in.conf);
  }
  float *y = d.put(o.y), *imp = d.put(o.importance);
  int8_t *mask = d.put(o.mask);
  a.y = y;
  a.token_mask = mask;
  a.importance = imp;
  a.stats = &o.stats;
  must(prt_layer_forward(plan, &a), "prt_layer_forward (GPU)");
  d.get(o.y, y);
  d.get(o.importance, imp);
  d.get(o.mask, mask);
  if (bi.proto_enabled) {
    o.protos = in.protos;
    o.usage = in.usage;
    o.conf = in.conf;
    d.get(o.protos, protos);
    d.get(o.usage, usage);
    d.get(o.conf, conf);
  }
}

struct Tally {
  int passed = 0, failed = 0, skipped = 0;
};

void compareCase(const std::string &label, const Outputs &cpu,
                 const Outputs &gpu, const Outputs &again, bool fastPath,
                 bool updated, Tally &tally, double yTolerance) {
  std::string why;
  const double ey = relL2(gpu.y, cpu.y);
  if (!(ey <= yTolerance))
    why += " y";
  const double ei = fastPath ? 0.0 : relL2(gpu.importance, cpu.importance);
  if (!(ei <= 1e-4))
    why += " importance";
  int64_t maskDiff = 0;
  for (size_t i = 0; i < cpu.mask.size(); ++i)
    maskDiff += cpu.mask[i] != gpu.mask[i];
  if (maskDiff)
    why += " token_mask";
  const prt_layer_stats &a = cpu.stats, &b = gpu.stats;
  if (a.mode != b.mode || a.top_k != b.top_k || a.k_adapt != b.k_adapt ||
      a.packed != b.packed || a.nucleus_k != b.nucleus_k ||
      a.active_rows != b.active_rows || a.max_active_rows != b.max_active_rows)
    why += " stats";
  const bool same =
      std::memcmp(gpu.y.data(), again.y.data(), gpu.y.size() * 4) == 0;
  if (!same)
    why += " reproducibility";
  double ep = 0;
  if (updated) {
    ep = std::max({relL2(gpu.protos, cpu.protos), relL2(gpu.usage, cpu.usage),
                   relL2(gpu.conf, cpu.conf)});
    if (!(ep <= 1e-5))
      why += " prototype_state";
  }
  std::printf("%s %s: mode %s/%s, top_k %lld/%lld, packed %lld/%lld, y relL2 "
              "%.2e, importance %.2e, mask diffs %lld, bit-identical %s%s\n",
              why.empty() ? "PASS" : "FAIL", label.c_str(), b.mode_name,
              a.mode_name, static_cast<long long>(b.top_k),
              static_cast<long long>(a.top_k), static_cast<long long>(b.packed),
              static_cast<long long>(a.packed), ey, ei,
              static_cast<long long>(maskDiff), same ? "yes" : "NO",
              updated ? (" , proto state " + std::to_string(ep)).c_str() : "");
  if (!why.empty())
    std::printf("  mismatched:%s\n", why.c_str());
  (why.empty() ? tally.passed : tally.failed)++;
}

struct Shape {
  int64_t B, T;
};

void checkBundle(prt_context *cpuCtx, prt_context *gpuCtx,
                 const std::string &dir, const std::vector<Shape> &shapes,
                 bool lastSettingOnly, bool emaOnly, Tally &tally) {
  prt_bundle *cb = nullptr, *gb = nullptr;
  must(prt_bundle_open(cpuCtx, dir.c_str(), &cb), "prt_bundle_open " + dir);
  must(prt_bundle_open(gpuCtx, dir.c_str(), &gb), "prt_bundle_open " + dir);
  const BundleInfo bi = bundleInfo(cb);
  for (int64_t s = lastSettingOnly ? bi.settings - 1 : 0; s < bi.settings;
       ++s) {
    double alpha = 0, density = 0;
    must(prt_bundle_get_setting(cb, s, &alpha, &density),
         "prt_bundle_get_setting");
    for (const Shape &sh : shapes) {
      for (int update = emaOnly && bi.proto_enabled ? 1 : 0;
           update <= (bi.proto_enabled ? 1 : 0); ++update) {
        char label[256];
        std::snprintf(label, sizeof(label), "%s alpha %.2f B %lld T %lld%s",
                      dir.c_str(), alpha, static_cast<long long>(sh.B),
                      static_cast<long long>(sh.T), update ? " +EMA" : "");
        prt_plan_options o;
        prt_plan_options_init(&o);
        o.B = sh.B;
        o.T = sh.T;
        o.alpha = alpha;
        o.density = density;
        o.update_prototypes = update;
        prt_plan *cp = nullptr, *gp = nullptr;
        must(prt_plan_create(cb, &o, &cp), "prt_plan_create (CPU)");
        if (prt_plan_create(gb, &o, &gp) != PRT_OK) {
          std::printf("SKIP %s: %s\n", label, prt_last_error());
          prt_plan_destroy(cp);
          tally.skipped++;
          continue;
        }
        prt_plan_info info;
        must(prt_plan_get_info(gp, &info), "prt_plan_get_info");
        try {
          const Inputs in =
              randomInputs(bi, sh.B, sh.T, 1000 * s + 7 * sh.T + sh.B);
          Outputs cpu, gpu, again;
          runCpu(cp, bi, in, sh.B, sh.T, cpu);
          runGpu(gpuCtx, gp, bi, in, sh.B, sh.T, gpu);
          runGpu(gpuCtx, gp, bi, in, sh.B, sh.T, again);
          const bool updated = update && info.update_prototypes;
          // INT8: the GPU's fp32 projections differ from the CPU's binary64
          // sums by ~1e-7, which moves a few q/k/v elements across a rounding
          // boundary of the 8-bit grid (one step, 1/127 of the row's max).
          compareCase(label, cpu, gpu, again, info.fast_path != 0, updated,
                      tally, bi.int8 ? 1e-3 : 1e-4);
        } catch (const std::exception &e) {
          // A configuration the GPU layer refuses (the manifest's gpu_note,
          // e.g. the prototype candidate piece) is reported, not failed.
          const bool refused =
              std::strstr(e.what(), "PRT_ERR_UNSUPPORTED") != nullptr;
          std::printf("%s %s: %s\n", refused ? "SKIP" : "FAIL", label,
                      e.what());
          (refused ? tally.skipped : tally.failed)++;
        }
        prt_plan_destroy(cp);
        prt_plan_destroy(gp);
      }
    }
  }
  prt_bundle_close(cb);
  prt_bundle_close(gb);
}

/// "" when a call's outputs are valid selections whatever its input: mask
/// entries 0/1 with at least one token kept per item, top_k in [1, H],
/// packed pairs within B*H*T.
std::string invalidSelections(const Outputs &o, int64_t B, int64_t T,
                              int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    int64_t kept = 0;
    for (int64_t t = 0; t < T; ++t) {
      const int8_t m = o.mask[static_cast<size_t>(b * T + t)];
      if (m != 0 && m != 1)
        return "token_mask holds " + std::to_string(m);
      kept += m;
    }
    if (kept < 1)
      return "no token kept in item " + std::to_string(b);
  }
  if (o.stats.top_k < 1 || o.stats.top_k > H)
    return "top_k " + std::to_string(o.stats.top_k);
  if (o.stats.packed < 0 || o.stats.packed > B * H * T)
    return "packed " + std::to_string(o.stats.packed);
  return "";
}

/// NaN and Inf in x and the weights on both paths (no comparison: where a
/// NaN sits in an order differs, DESIGN-NOTES "Hardening"): each call must
/// return PRT_OK with valid selections; under compute-sanitizer memcheck,
/// without an access outside the buffers.
void checkNonFinite(prt_context *cpuCtx, prt_context *gpuCtx,
                    const std::string &dir, const std::vector<Shape> &shapes,
                    Tally &tally) {
  prt_bundle *cb = nullptr, *gb = nullptr;
  must(prt_bundle_open(cpuCtx, dir.c_str(), &cb), "prt_bundle_open " + dir);
  must(prt_bundle_open(gpuCtx, dir.c_str(), &gb), "prt_bundle_open " + dir);
  const BundleInfo bi = bundleInfo(cb);
  prt_bundle_info info;
  must(prt_bundle_get_info(cb, &info), "prt_bundle_get_info");
  const float nan = NAN, inf = INFINITY;
  const char *patterns[] = {"x-nan", "x-inf", "w_qkv-nan", "w_router-inf",
                            "x-all-nan"};
  for (int64_t s = 0; s < bi.settings; ++s) {
    double alpha = 0, density = 0;
    must(prt_bundle_get_setting(cb, s, &alpha, &density),
         "prt_bundle_get_setting");
    for (const Shape &sh : shapes) {
      prt_plan_options o;
      prt_plan_options_init(&o);
      o.B = sh.B, o.T = sh.T, o.alpha = alpha, o.density = density;
      prt_plan *cp = nullptr, *gp = nullptr;
      must(prt_plan_create(cb, &o, &cp), "prt_plan_create (CPU)");
      if (prt_plan_create(gb, &o, &gp) != PRT_OK) {
        std::printf("SKIP %s: %s\n", dir.c_str(), prt_last_error());
        prt_plan_destroy(cp);
        tally.skipped++;
        continue;
      }
      for (const char *p : patterns) {
        Inputs in = randomInputs(bi, sh.B, sh.T, 31 * s + sh.T);
        const std::string what = p;
        if (what == "x-nan")
          in.x[in.x.size() / 2] = nan;
        else if (what == "x-inf")
          in.x.front() = inf, in.x.back() = -inf;
        else if (what == "w_qkv-nan")
          in.wQkv[static_cast<size_t>(bi.d_model * bi.d_model + 1)] = nan;
        else if (what == "w_router-inf")
          in.wRouter[1] = inf;
        else
          std::fill(in.x.begin(), in.x.end(), nan);
        char label[256];
        std::snprintf(label, sizeof(label), "%s alpha %.2f B %lld T %lld %s",
                      dir.c_str(), alpha, static_cast<long long>(sh.B),
                      static_cast<long long>(sh.T), p);
        std::string why;
        try {
          Outputs cpu, gpu;
          runCpu(cp, bi, in, sh.B, sh.T, cpu);
          runGpu(gpuCtx, gp, bi, in, sh.B, sh.T, gpu);
          why = invalidSelections(cpu, sh.B, sh.T, info.h_total);
          if (why.empty())
            why = invalidSelections(gpu, sh.B, sh.T, info.h_total);
          else
            why = "CPU: " + why;
        } catch (const std::exception &e) {
          why = e.what();
        }
        std::printf("%s nonfinite %s%s%s\n", why.empty() ? "PASS" : "FAIL",
                    label, why.empty() ? "" : ": ", why.c_str());
        (why.empty() ? tally.passed : tally.failed)++;
      }
      prt_plan_destroy(cp);
      prt_plan_destroy(gp);
    }
  }
  prt_bundle_close(cb);
  prt_bundle_close(gb);
}

/// One call at (B, T) of the last setting, timed with events; with
/// PROTEUS_PROFILE=1 in the environment the runtime also prints each
/// kernel's time.
void timeBundle(prt_context *gpuCtx, const std::string &dir, int64_t T) {
  prt_bundle *gb = nullptr;
  must(prt_bundle_open(gpuCtx, dir.c_str(), &gb), "prt_bundle_open " + dir);
  const BundleInfo bi = bundleInfo(gb);
  double alpha = 0, density = 0;
  must(prt_bundle_get_setting(gb, bi.settings - 1, &alpha, &density),
       "prt_bundle_get_setting");
  prt_plan_options o;
  prt_plan_options_init(&o);
  o.B = 1;
  o.T = T;
  o.alpha = alpha;
  o.density = density;
  prt_plan *gp = nullptr;
  must(prt_plan_create(gb, &o, &gp), "prt_plan_create");
  prt_plan_info info;
  must(prt_plan_get_info(gp, &info), "prt_plan_get_info");
  const Inputs in = randomInputs(bi, 1, T, 99);
  Outputs out;
  for (int i = 0; i < 3; ++i)
    runGpu(gpuCtx, gp, bi, in, 1, T, out);
  std::printf("time %s alpha %.2f T %lld: mode %s, packed %lld, scratch %.1f "
              "MiB\n",
              dir.c_str(), alpha, static_cast<long long>(T),
              out.stats.mode_name, static_cast<long long>(out.stats.packed),
              info.scratch_bytes / 1048576.0);
  prt_plan_destroy(gp);
  prt_bundle_close(gb);
}

} // namespace

int main(int argc, char **argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<std::string> bundles;
  bool longShapes = false, quick = false, sanitize = false, nonfinite = false;
  int64_t timeT = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--long")
      longShapes = true;
    else if (a == "--quick")
      quick = true;
    else if (a == "--sanitize")
      sanitize = true;
    else if (a == "--nonfinite")
      nonfinite = true;
    else if (a == "--time" && i + 1 < argc) {
      char *end = nullptr;
      timeT = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || timeT < 1) {
        std::fprintf(stderr,
                     "gpu_layer_check: --time takes a length T >= 1, got "
                     "'%s'\n",
                     argv[i]);
        return 2;
      }
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: gpu_layer_check [--long | --quick | --sanitize] [--time T] "
          "BUNDLE...\n"
          "Runs each bundle's layer on the GPU and on the CPU on random inputs "
          "and compares them.\n"
          "  (default)   B 1-4, T 1-2048, every setting, with and without the "
          "EMA\n"
          "  --long      T 4096, 16384, 65536 (B 1), last setting only\n"
          "  --quick     T 1, 7, 65, 300 (for compute-sanitizer memcheck)\n"
          "  --sanitize  T 7, 65, 300, only the EMA call where there are "
          "prototypes (racecheck)\n"
          "  --time T    per-kernel times of one call at T (no comparison)\n"
          "  --nonfinite NaN/Inf in x and the weights at T 7, 65 (valid "
          "selections, PRT_OK; for memcheck)\n"
          "Exit: 0 passed, 1 a check failed, 2 bad usage, 77 no GPU.\n");
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "gpu_layer_check: unknown option %s\n", a.c_str());
      return 2;
    } else
      bundles.push_back(a);
  }
  if (bundles.empty()) {
    std::fprintf(stderr,
                 "usage: gpu_layer_check [--long | --quick | --sanitize] "
                 "[--time T] BUNDLE... (--help explains)\n");
    return 2;
  }
  if (int(longShapes) + int(quick) + int(sanitize) + int(nonfinite) > 1) {
    std::fprintf(stderr, "gpu_layer_check: --long, --quick, --sanitize and "
                         "--nonfinite each choose the shapes: give at most "
                         "one\n");
    return 2;
  }
  try {
    prt_context_options co;
    prt_context_options_init(&co);
    co.backend = PRT_BACKEND_CPU;
    prt_context *cpuCtx = nullptr, *gpuCtx = nullptr;
    must(prt_context_create(&cpuCtx, &co), "prt_context_create (CPU)");
    co.backend = PRT_BACKEND_GPU;
    if (prt_context_create(&gpuCtx, &co) != PRT_OK) {
      std::printf("gpu_layer_check: no GPU (%s): skipped\n", prt_last_error());
      return 77;
    }
    if (timeT > 0) {
      for (const std::string &b : bundles)
        timeBundle(gpuCtx, b, timeT);
      return 0;
    }
    std::vector<Shape> shapes = {{1, 1},   {2, 7},    {1, 64},  {4, 65},
                                 {2, 257}, {1, 1024}, {2, 2048}};
    if (longShapes)
      shapes = {{1, 4096}, {1, 16384}, {1, 65536}};
    if (quick)
      shapes = {{1, 1}, {2, 7}, {4, 65}, {1, 300}};
    if (sanitize)
      shapes = {{2, 7}, {4, 65}, {1, 300}};
    Tally tally;
    for (const std::string &b : bundles) {
      if (nonfinite)
        checkNonFinite(cpuCtx, gpuCtx, b, {{2, 7}, {1, 65}}, tally);
      else
        checkBundle(cpuCtx, gpuCtx, b, shapes, longShapes, sanitize, tally);
    }
    std::printf("%d passed, %d failed, %d skipped\n", tally.passed,
                tally.failed, tally.skipped);
    prt_context_destroy(gpuCtx);
    prt_context_destroy(cpuCtx);
    return tally.failed ? 1 : 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "gpu_layer_check: %s\n", e.what());
    return 1;
  }
}
