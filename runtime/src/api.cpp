//===- api.cpp - The proteus_rt C API
//--------------------------------------===//
//
// Every entry point validates its arguments, does its work through the
// internal objects and turns any exception into a status and the thread's
// last-error text: nothing crosses the C boundary but a prt_status.
//
//===----------------------------------------------------------------------===//

#include "internal.h"
#include "raw_enum.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <new>

using namespace proteus_rt;

namespace {

thread_local std::string tlsLastError;

template <typename Body> prt_status guarded(Body &&body) {
  tlsLastError.clear();
  try {
    body();
    return PRT_OK;
  } catch (const Error &e) {
    tlsLastError = e.what();
    return e.status;
  } catch (const std::bad_alloc &) {
    tlsLastError = "out of memory";
    return PRT_ERR_OUT_OF_MEMORY;
  } catch (const std::exception &e) {
    tlsLastError = std::string("internal error: ") + e.what();
    return PRT_ERR_INTERNAL;
  } catch (...) {
    tlsLastError = "internal error: unknown exception";
    return PRT_ERR_INTERNAL;
  }
}

std::string str(int64_t v) { return std::to_string(v); }

std::string listSettings(const Manifest &m) {
  std::string s;
  for (size_t i = 0; i < m.settings.size(); ++i) {
    s += (i ? ", " : "") + std::string("[") + str(static_cast<int64_t>(i)) +
         "] alpha " + formatDouble(m.settings[i].alpha) + " density " +
         formatDouble(m.settings[i].density);
  }
  return s;
}

std::string listArchs(const Manifest &m) {
  if (m.ptxArchs.empty())
    return "none";
  std::string s;
  for (const std::string &a : m.ptxArchs)
    s += (s.empty() ? "" : ", ") + a;
  for (size_t i = 0; i < m.sassArchs.size(); ++i)
    s += (i ? ", " : "; SASS for ") + m.sassArchs[i];
  return s;
}

constexpr int64_t kUnwritten = std::numeric_limits<int64_t>::min();

} // namespace

namespace proteus_rt {

prt_status guardedCall(const std::function<void()> &body) {
  return guarded(body);
}

void need(const void *p, const char *name) {
  if (!p)
    fail(PRT_ERR_INVALID_ARGUMENT, std::string(name) + " is NULL");
}

int64_t elements(std::initializer_list<int64_t> dims, const char *what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > (int64_t(1) << 50) / d))
      fail(PRT_ERR_SHAPE, std::string(what) + " has an impossible size");
    n *= d;
  }
  return n;
}

void checkRange(const int64_t *v, int64_t n, int64_t lo, int64_t hi,
                const char *name, const char *bound) {
  for (int64_t i = 0; i < n; ++i) {
    if (v[i] < lo || v[i] >= hi)
      fail(PRT_ERR_INVALID_ARGUMENT, std::string(name) + "[" + str(i) + "] = " +
                                         str(v[i]) + " is outside [" + str(lo) +
                                         ", " + bound + " = " + str(hi) + ")");
  }
}

ContextImpl &gpuContext(prt_context *context) {
  need(context, "context");
  ContextImpl &ctx = *context->impl;
  if (!ctx.gpu())
    fail(PRT_ERR_UNSUPPORTED,
         std::string("this context uses the CPU backend (") + ctx.info.reason +
             ")");
  return ctx;
}

void checkBudget(const BundleImpl &b, const int64_t *budget, int64_t size,
                 int64_t T) {
  const int64_t expected = kBudgetSize + b.manifest.config.h_total + 1;
  need(budget, "args.budget");
  if (size != expected)
    fail(PRT_ERR_SHAPE, "args.budget_size is " + str(size) +
                            ", this bundle's budget has " + str(expected) +
                            " values (kBudgetSize + H + 1)");
  if (budget[kBudgetT] != T)
    fail(PRT_ERR_SHAPE, "budget[kBudgetT] is " + str(budget[kBudgetT]) +
                            " but args.T is " + str(T));
}

/// A plan: one setting, one (B, T) schedule, the resolved entry point and
/// the scratch a call needs, all made once.
struct PlanImpl {
  std::shared_ptr<BundleImpl> bundle;
  Config config; ///< the bundle's, with keep_ratio_base = setting density
  int64_t B = 1, T = 1, Tmax = 1;
  size_t setting = 0;
  bool updatePrototypes = false;
  HostSchedule schedule;
  prt_plan_info info{};
  LayerFn layer = nullptr;
  std::shared_ptr<LoadedModule> gpuModule;
  GpuLayerPtr gpuLayer;        ///< GPU plans of bundles with "gpu_layer"
  std::string gpuLayerMissing; ///< why a GPU plan has no gpuLayer
  std::mutex mutex;
  std::vector<int8_t> maskScratch;
  std::vector<float> importanceScratch;
  std::vector<int64_t> stats;
  float dummies[5] = {0, 0, 0, 0, 0};
};

/// The call's prt_layer_stats from the kStats* vector the layer wrote.
void fillStats(const PlanImpl &p, prt_layer_stats &s) {
  const int64_t mode = p.stats[kStatsMode];
  const int64_t reason = p.stats[kStatsDenseReason];
  if (mode < 0 || mode > static_cast<int64_t>(Mode::Shortlist))
    fail(PRT_ERR_KERNEL, "the layer kernel reported mode " + str(mode) +
                             " (stats[kStatsMode]), which is no Mode");
  if (reason < 0 || reason > static_cast<int64_t>(DenseReason::Full))
    fail(PRT_ERR_KERNEL,
         "the layer kernel reported dense reason " + str(reason) +
             " (stats[kStatsDenseReason]), which is no DenseReason");
  s.mode = mode;
  s.mode_name = modeName(mode);
  s.dense_reason = reason;
  s.dense_reason_name = denseReasonName(reason);
  s.top_k = p.stats[kStatsTopK];
  s.nucleus_k = p.stats[kStatsNucleusK];
  s.k_adapt = p.stats[kStatsKAdapt];
  s.max_active_rows = p.stats[kStatsMaxActiveRows];
  s.active_rows = p.stats[kStatsActiveRows];
  s.packed = p.stats[kStatsPacked];
  s.setting_index = p.info.setting_index;
  s.alpha = p.info.alpha;
}

} // namespace proteus_rt

struct prt_plan {
  std::unique_ptr<proteus_rt::PlanImpl> impl;
};

extern "C" {

const char *prt_version(void) { return PRT_VERSION_STRING; }

const char *prt_status_name(prt_status status) {
  switch (rawEnum(status)) {
  case PRT_OK:
    return "PRT_OK";
  case PRT_ERR_INVALID_ARGUMENT:
    return "PRT_ERR_INVALID_ARGUMENT";
  case PRT_ERR_BUNDLE:
    return "PRT_ERR_BUNDLE";
  case PRT_ERR_NOT_FOUND:
    return "PRT_ERR_NOT_FOUND";
  case PRT_ERR_UNSUPPORTED:
    return "PRT_ERR_UNSUPPORTED";
  case PRT_ERR_CUDA:
    return "PRT_ERR_CUDA";
  case PRT_ERR_SHAPE:
    return "PRT_ERR_SHAPE";
  case PRT_ERR_IO:
    return "PRT_ERR_IO";
  case PRT_ERR_KERNEL:
    return "PRT_ERR_KERNEL";
  case PRT_ERR_OUT_OF_MEMORY:
    return "PRT_ERR_OUT_OF_MEMORY";
  case PRT_ERR_INTERNAL:
    return "PRT_ERR_INTERNAL";
  }
  return "PRT_ERR_UNKNOWN";
}

const char *prt_last_error(void) { return tlsLastError.c_str(); }

//===----------------------------------------------------------------------===//
// Context
//===----------------------------------------------------------------------===//

prt_status prt_context_options_init(prt_context_options *options) {
  return guarded([&] {
    need(options, "options");
    *options = prt_context_options{};
    options->backend = PRT_BACKEND_AUTO;
  });
}

prt_status prt_context_create(prt_context **context,
                              const prt_context_options *options) {
  return guarded([&] {
    need(context, "context");
    *context = nullptr;
    prt_context_options defaults{};
    defaults.backend = PRT_BACKEND_AUTO;
    auto impl = createContext(options ? *options : defaults);
    *context = new prt_context{std::move(impl)};
  });
}

prt_status prt_context_destroy(prt_context *context) {
  return guarded([&] { delete context; });
}

prt_status prt_context_backend(const prt_context *context,
                               prt_backend_info *info) {
  return guarded([&] {
    need(context, "context");
    need(info, "info");
    *info = context->impl->info;
  });
}

prt_status prt_context_cache_dir(const prt_context *context, const char **dir,
                                 const char **why) {
  return guarded([&] {
    need(context, "context");
    need(dir, "dir");
    *dir = context->impl->cacheDir.c_str();
    if (why)
      *why = context->impl->cacheWhy.c_str();
  });
}

//===----------------------------------------------------------------------===//
// Bundles
//===----------------------------------------------------------------------===//

prt_status prt_bundle_open(prt_context *context, const char *dir,
                           prt_bundle **bundle) {
  return guarded([&] {
    need(context, "context");
    need(dir, "dir");
    need(bundle, "bundle");
    *bundle = nullptr;
    auto impl = std::make_shared<BundleImpl>();
    impl->context = context->impl;
    impl->dir = dir;
    while (impl->dir.size() > 1 && impl->dir.back() == '/')
      impl->dir.pop_back();
    impl->manifest = loadManifest(impl->dir);
    *bundle = new prt_bundle{std::move(impl)};
  });
}

prt_status prt_bundle_close(prt_bundle *bundle) {
  return guarded([&] { delete bundle; });
}

prt_status prt_bundle_get_info(const prt_bundle *bundle,
                               prt_bundle_info *info) {
  return guarded([&] {
    need(bundle, "bundle");
    need(info, "info");
    const Manifest &m = bundle->impl->manifest;
    *info = prt_bundle_info{};
    info->format_version = m.formatVersion;
    info->num_settings = static_cast<int64_t>(m.settings.size());
    info->d_model = m.config.d_model;
    info->h_total = m.config.h_total;
    info->d_head = m.config.headDim();
    info->gates = m.config.gates;
    info->has_cpu_library = m.hasCpuLibrary ? 1 : 0;
    info->num_ptx_archs = static_cast<int32_t>(m.ptxArchs.size());
    info->budget_size = kBudgetSize + m.config.h_total + 1;
  });
}

prt_status prt_bundle_get_setting(const prt_bundle *bundle, int64_t index,
                                  double *alpha, double *density) {
  return guarded([&] {
    need(bundle, "bundle");
    const Manifest &m = bundle->impl->manifest;
    if (index < 0 || index >= static_cast<int64_t>(m.settings.size()))
      fail(PRT_ERR_NOT_FOUND, "setting " + str(index) +
                                  " does not exist; the bundle has " +
                                  str(static_cast<int64_t>(m.settings.size())));
    if (alpha)
      *alpha = m.settings[static_cast<size_t>(index)].alpha;
    if (density)
      *density = m.settings[static_cast<size_t>(index)].density;
  });
}

prt_status prt_bundle_get_ptx_arch(const prt_bundle *bundle, int64_t index,
                                   const char **arch) {
  return guarded([&] {
    need(bundle, "bundle");
    need(arch, "arch");
    const Manifest &m = bundle->impl->manifest;
    if (index < 0 || index >= static_cast<int64_t>(m.ptxArchs.size()))
      fail(PRT_ERR_NOT_FOUND, "PTX arch " + str(index) +
                                  " does not exist; the bundle has " +
                                  str(static_cast<int64_t>(m.ptxArchs.size())));
    *arch = m.ptxArchs[static_cast<size_t>(index)].c_str();
  });
}

prt_status prt_bundle_config_json(const prt_bundle *bundle, const char **json) {
  return guarded([&] {
    need(bundle, "bundle");
    need(json, "json");
    *json = bundle->impl->manifest.configJson.c_str();
  });
}

prt_status prt_bundle_budget_size(const prt_bundle *bundle, int64_t *size) {
  return guarded([&] {
    need(bundle, "bundle");
    need(size, "size");
    *size = kBudgetSize + bundle->impl->manifest.config.h_total + 1;
  });
}

//===----------------------------------------------------------------------===//
// Plans
//===----------------------------------------------------------------------===//

prt_status prt_plan_options_init(prt_plan_options *options) {
  return guarded([&] {
    need(options, "options");
    *options = prt_plan_options{};
    options->B = 1;
    options->alpha = -1.0;
    options->prev_alpha = -1.0;
    options->density = 0.0;
  });
}

prt_status prt_plan_create(prt_bundle *bundle, const prt_plan_options *options,
                           prt_plan **plan) {
  return guarded([&] {
    need(bundle, "bundle");
    need(options, "options");
    need(plan, "plan");
    *plan = nullptr;
    const prt_plan_options &o = *options;
    const std::shared_ptr<BundleImpl> &b = bundle->impl;
    const Manifest &m = b->manifest;
    if (o.B < 1)
      fail(PRT_ERR_INVALID_ARGUMENT,
           "options.B is " + str(o.B) + ", must be >= 1");
    if (o.T < 1)
      fail(PRT_ERR_INVALID_ARGUMENT,
           "options.T is " + str(o.T) + ", must be >= 1");
    const int64_t Tmax = o.T_max == 0 ? o.T : o.T_max;
    if (Tmax < o.T)
      fail(PRT_ERR_SHAPE,
           "options.T_max " + str(o.T_max) + " is below options.T " + str(o.T));
    if (std::isnan(o.alpha) || o.alpha > 1.0)
      fail(PRT_ERR_INVALID_ARGUMENT, "options.alpha " + formatDouble(o.alpha) +
                                         " is outside [0, 1] (negative: auto)");
    if (std::isnan(o.prev_alpha) || o.prev_alpha > 1.0)
      fail(PRT_ERR_INVALID_ARGUMENT, "options.prev_alpha " +
                                         formatDouble(o.prev_alpha) +
                                         " is outside [0, 1] (negative: none)");
    if (std::isnan(o.density) || o.density > 1.0)
      fail(PRT_ERR_INVALID_ARGUMENT, "options.density " +
                                         formatDouble(o.density) +
                                         " is above 1 (<= 0: any)");
    (void)elements({o.B, Tmax, m.config.d_model}, "x (B, T_max, C)");

    // The setting: the caller's alpha exactly, or the ramp's nearest.
    constexpr double kTolerance = 1e-12;
    std::vector<size_t> eligible;
    for (size_t i = 0; i < m.settings.size(); ++i)
      if (o.density <= 0.0 ||
          std::fabs(m.settings[i].density - o.density) <= kTolerance)
        eligible.push_back(i);
    if (eligible.empty())
      fail(PRT_ERR_NOT_FOUND, "no compiled setting has density " +
                                  formatDouble(o.density) +
                                  "; the bundle has " + listSettings(m));
    double alphaSchedule;
    size_t setting = eligible.front();
    if (o.alpha >= 0.0) {
      alphaSchedule = o.alpha;
      bool found = false;
      for (size_t i : eligible) {
        if (std::fabs(m.settings[i].alpha - o.alpha) <= kTolerance) {
          setting = i;
          found = true;
          break;
        }
      }
      if (!found)
        fail(PRT_ERR_NOT_FOUND,
             "alpha " + formatDouble(o.alpha) +
                 " is not a compiled setting; the bundle has " +
                 listSettings(m));
    } else {
      alphaSchedule = alphaRamp(m.config, o.T, o.prev_alpha, -1.0);
      double best = std::numeric_limits<double>::infinity();
      for (size_t i : eligible) {
        double d = std::fabs(m.settings[i].alpha - alphaSchedule);
        if (d < best) {
          best = d;
          setting = i;
        }
      }
    }

    auto p = std::make_unique<PlanImpl>();
    p->bundle = b;
    p->config = m.config;
    p->config.keep_ratio_base = m.settings[setting].density;
    p->B = o.B;
    p->T = o.T;
    p->Tmax = Tmax;
    p->setting = setting;
    p->updatePrototypes = o.update_prototypes != 0;
    const double alpha = m.settings[setting].alpha;
    p->schedule = makeBudget(p->config, o.B, o.T, alpha, p->updatePrototypes);
    const std::vector<int64_t> &bv = p->schedule.budget;

    prt_plan_info &info = p->info;
    info.B = o.B;
    info.T = o.T;
    info.T_max = Tmax;
    info.setting_index = static_cast<int64_t>(setting);
    info.alpha = alpha;
    info.alpha_schedule = alphaSchedule;
    info.fast_path = static_cast<int32_t>(bv[kBudgetFastPath]);
    info.alpha_state =
        info.fast_path ? std::max(0.0, o.prev_alpha) : alphaSchedule;
    info.density = m.settings[setting].density;
    info.token_sparse = p->config.token_sparse ? 1 : 0;
    info.keep_ratio = p->schedule.keep_ratio;
    info.prefer_dense = static_cast<int32_t>(bv[kBudgetPreferDense]);
    info.no_dense = static_cast<int32_t>(bv[kBudgetNoDense]);
    info.update_prototypes = static_cast<int32_t>(bv[kBudgetUpdatePrototypes]);
    info.k_dense = bv[kBudgetKDense];
    info.top_k = bv[kBudgetSize + info.k_dense];
    info.token_mode = bv[kBudgetTokenMode];
    info.token_keep = bv[kBudgetTokenKeep];
    info.effective_L = bv[kBudgetEffectiveL];
    info.window = bv[kBudgetWindow];
    info.local_cap = bv[kBudgetLocalCap];
    info.anchor_cap = bv[kBudgetAnchorCap];
    info.proto_cap = bv[kBudgetProtoCap];

    // The backend.
    ContextImpl &ctx = *b->context;
    std::string reason;
    info.backend = PRT_BACKEND_CPU;
    if (!ctx.gpu()) {
      reason =
          std::string("the context uses the CPU (") + ctx.info.reason + ")";
    } else {
      const std::string arch =
          selectPtxArch(m.ptxArchs, ctx.info.cc_major, ctx.info.cc_minor);
      const bool explicitGpu = ctx.requested == PRT_BACKEND_GPU;
      if (arch.empty()) {
        if (explicitGpu || !m.hasCpuLibrary)
          fail(PRT_ERR_UNSUPPORTED,
               "bundle " + b->dir + " has no PTX for " + ctx.info.arch +
                   " (it has: " + listArchs(m) + ")" +
                   (explicitGpu ? "" : " and no CPU library"));
        reason = "the bundle has no PTX for " + std::string(ctx.info.arch) +
                 " (it has: " + listArchs(m) + "); using its CPU library";
      } else if (m.gpuLayer || explicitGpu || !m.hasCpuLibrary) {
        std::string origin;
        p->gpuModule = b->gpuModule(static_cast<int64_t>(setting), &origin);
        info.backend = PRT_BACKEND_GPU;
        reason = origin + " loaded on " + ctx.info.device_name;
        // The shortlist kernel is needed unless alpha alone forces dense.
        const bool shortlist = mayShortlist(bv.data());
        const std::string missing =
            m.gpuLayer
                ? missingGpuLayerKernel(*b, static_cast<int64_t>(setting),
                                        p->config, shortlist)
                : "the manifest has no gpu_layer";
        if (missing.empty()) {
          p->gpuLayer = createGpuLayer(*b, static_cast<int64_t>(setting),
                                       p->config, o.B, Tmax);
          info.scratch_bytes = gpuLayerScratchBytes(*p->gpuLayer);
          reason += "; the layer runs on the GPU";
        } else if (m.gpuLayer && !explicitGpu && m.hasCpuLibrary) {
          info.backend = PRT_BACKEND_CPU;
          p->gpuModule.reset();
          reason = "setting " + str(static_cast<int64_t>(setting)) +
                   "'s PTX lacks the layer kernel " + missing +
                   (m.gpuNote.empty() ? "" : " (gpu_note: " + m.gpuNote + ")") +
                   "; using the bundle's CPU library";
        } else {
          p->gpuLayerMissing =
              m.gpuLayer ? "setting " + str(static_cast<int64_t>(setting)) +
                               "'s PTX lacks the layer kernel " + missing
                         : "the bundle has no GPU layer kernels (manifest "
                           "gpu_layer is absent or false; recompile it with "
                           "this proteus-compile)";
          if (!m.gpuNote.empty())
            p->gpuLayerMissing += " (gpu_note: " + m.gpuNote + ")";
          reason += "; the layer cannot run on the GPU: " + p->gpuLayerMissing;
        }
      } else {
        reason = "the bundle has no GPU layer kernels (manifest gpu_layer is "
                 "absent or false)" +
                 (m.gpuNote.empty() ? std::string()
                                    : " (gpu_note: " + m.gpuNote + ")") +
                 "; using the bundle's CPU library";
      }
    }
    copyString(info.backend_reason, sizeof(info.backend_reason), reason);
    if (info.backend == PRT_BACKEND_CPU) {
      p->layer = reinterpret_cast<LayerFn>(
          b->cpuSymbol(kLayerEntryPrefix + std::to_string(setting)));
      p->maskScratch.assign(static_cast<size_t>(o.B * Tmax), 0);
      p->importanceScratch.assign(static_cast<size_t>(o.B * Tmax), 0.0f);
      p->stats.assign(kStatsSize, kUnwritten);
    }
    *plan = new prt_plan{std::move(p)};
  });
}

prt_status prt_plan_destroy(prt_plan *plan) {
  return guarded([&] { delete plan; });
}

prt_status prt_plan_get_info(const prt_plan *plan, prt_plan_info *info) {
  return guarded([&] {
    need(plan, "plan");
    need(info, "info");
    *info = plan->impl->info;
  });
}

prt_status prt_plan_budget(const prt_plan *plan, int64_t *budget,
                           int64_t capacity, int64_t *size) {
  return guarded([&] {
    need(plan, "plan");
    need(size, "size");
    const std::vector<int64_t> &bv = plan->impl->schedule.budget;
    *size = static_cast<int64_t>(bv.size());
    if (capacity < *size)
      fail(PRT_ERR_INVALID_ARGUMENT, "capacity " + str(capacity) +
                                         " is below the budget's " +
                                         str(*size) + " values");
    need(budget, "budget");
    std::copy(bv.begin(), bv.end(), budget);
  });
}

//===----------------------------------------------------------------------===//
// The layer
//===----------------------------------------------------------------------===//

prt_status prt_layer_forward(prt_plan *plan, const prt_layer_args *args) {
  return guarded([&] {
    need(plan, "plan");
    need(args, "args");
    PlanImpl &p = *plan->impl;
    std::lock_guard<std::mutex> lock(p.mutex);
    if (p.info.backend == PRT_BACKEND_GPU && !p.gpuLayer)
      fail(PRT_ERR_UNSUPPORTED,
           "the layer cannot run on the GPU: " + p.gpuLayerMissing +
               "; use an AUTO or CPU context");
    const prt_layer_args &a = *args;
    const Config &c = p.config;
    if (a.B != p.B)
      fail(PRT_ERR_SHAPE,
           "args.B is " + str(a.B) + ", the plan was made for B = " + str(p.B));
    if (a.T < 1 || a.T > p.Tmax)
      fail(PRT_ERR_SHAPE, "args.T is " + str(a.T) +
                              ", must be in [1, T_max = " + str(p.Tmax) + "]");
    need(a.x, "args.x");
    need(a.w_qkv, "args.w_qkv");
    need(a.w_proj, "args.w_proj");
    need(a.w_router, "args.w_router");
    need(a.y, "args.y");
    if (c.bias) {
      if (!a.b_qkv || !a.b_proj)
        fail(PRT_ERR_INVALID_ARGUMENT,
             std::string(!a.b_qkv ? "args.b_qkv" : "args.b_proj") +
                 " is NULL but the configuration has projection biases");
    }
    if (c.proto_enabled) {
      const char *missing = !a.prototypes   ? "args.prototypes"
                            : !a.usage      ? "args.usage"
                            : !a.confidence ? "args.confidence"
                                            : nullptr;
      if (missing)
        fail(PRT_ERR_INVALID_ARGUMENT,
             std::string(missing) +
                 " is NULL but the configuration enables prototypes");
    }

    std::vector<int64_t> recomputed;
    std::vector<int64_t> *budget = &p.schedule.budget;
    if (a.T != p.T) {
      recomputed =
          makeBudget(c, p.B, a.T, p.info.alpha, p.updatePrototypes).budget;
      budget = &recomputed;
    }
    if (p.gpuLayer) {
      runGpuLayer(*p.gpuLayer, a, *budget, p.stats, a.stats != nullptr);
      if (a.stats)
        fillStats(p, *a.stats);
      return;
    }
    const int64_t B = a.B, T = a.T, C = c.d_model, G = c.gates;
    auto f = [](const float *v) { return const_cast<float *>(v); };
    auto x = makeMemRef<float, 3>(f(a.x), {B, T, C});
    auto wQkv = makeMemRef<float, 2>(f(a.w_qkv), {3 * C, C});
    auto bQkv = c.bias ? makeMemRef<float, 1>(f(a.b_qkv), {3 * C})
                       : makeMemRef<float, 1>(&p.dummies[0], {1});
    auto wProj = makeMemRef<float, 2>(f(a.w_proj), {C, C});
    auto bProj = c.bias ? makeMemRef<float, 1>(f(a.b_proj), {C})
                        : makeMemRef<float, 1>(&p.dummies[1], {1});
    auto wRouter = makeMemRef<float, 2>(f(a.w_router), {G, C});
    const bool proto = c.proto_enabled;
    auto protos = proto ? makeMemRef<float, 2>(a.prototypes, {G, C})
                        : makeMemRef<float, 2>(&p.dummies[2], {1, 1});
    auto usage = proto ? makeMemRef<float, 1>(a.usage, {G})
                       : makeMemRef<float, 1>(&p.dummies[3], {1});
    auto conf = proto ? makeMemRef<float, 1>(a.confidence, {G})
                      : makeMemRef<float, 1>(&p.dummies[4], {1});
    auto budgetRef = makeMemRef<int64_t, 1>(
        budget->data(), {static_cast<int64_t>(budget->size())});
    auto y = makeMemRef<float, 3>(a.y, {B, T, C});
    int8_t *maskData = a.token_mask ? a.token_mask : p.maskScratch.data();
    auto mask = makeMemRef<int8_t, 2>(maskData, {B, T});
    auto importance = makeMemRef<float, 2>(
        a.importance ? a.importance : p.importanceScratch.data(), {B, T});
    std::fill(p.stats.begin(), p.stats.end(), kUnwritten);
    auto stats = makeMemRef<int64_t, 1>(p.stats.data(), {kStatsSize});
    // The consensus of the last Tc positions; B = 0 writes none.
    const int64_t Tc = a.consensus_all_positions ? T : 1;
    auto consensus = a.consensus
                         ? makeMemRef<float, 3>(a.consensus, {B, Tc, C})
                         : makeMemRef<float, 3>(&p.dummies[0], {0, 0, C});

    ScopedCpuPool threads(p.bundle->context->cpuPool.get());
    p.layer(&x, &wQkv, &bQkv, &wProj, &bProj, &wRouter, &protos, &usage, &conf,
            &budgetRef, &y, &mask, &importance, &stats, &consensus);

    if ((*budget)[kBudgetTokenMode] == 0 || (*budget)[kBudgetFastPath] != 0)
      std::fill(maskData, maskData + B * T, int8_t(1));
    if (a.stats)
      fillStats(p, *a.stats);
  });
}

//===----------------------------------------------------------------------===//
// Primitives
//===----------------------------------------------------------------------===//

prt_status prt_shortlist(prt_bundle *bundle, const prt_shortlist_args *args) {
  return guarded([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_shortlist_args &a = *args;
    BundleImpl &b = *bundle->impl;
    if (a.N < 0)
      fail(PRT_ERR_SHAPE, "args.N is " + str(a.N) + ", must be >= 0");
    if (a.B < 1 || a.T < 1 || a.L < 1)
      fail(PRT_ERR_SHAPE, "args.B, args.T and args.L must be >= 1 (are " +
                              str(a.B) + ", " + str(a.T) + ", " + str(a.L) +
                              ")");
    checkBudget(b, a.budget, a.budget_size, a.T);
    if (a.budget[kBudgetEffectiveL] != a.L)
      fail(PRT_ERR_SHAPE, "budget[kBudgetEffectiveL] is " +
                              str(a.budget[kBudgetEffectiveL]) +
                              " but args.L is " + str(a.L));
    (void)elements({a.N, a.L}, "candidates (N, L)");
    (void)elements({a.B, a.T}, "proto_scores (B, T)");
    auto fn = reinterpret_cast<ShortlistFn>(b.cpuSymbol(kShortlistEntry));
    if (a.N == 0)
      return;
    need(a.rows, "args.rows");
    need(a.candidates, "args.candidates");
    need(a.lengths, "args.lengths");
    checkRange(a.rows, a.N, 0, a.T, "args.rows", "T");
    if (a.batch_ids)
      checkRange(a.batch_ids, a.N, 0, a.B, "args.batch_ids", "B");

    std::vector<float> zeroScores;
    std::vector<int64_t> zeroIds;
    float *scores = const_cast<float *>(a.proto_scores);
    if (!scores) {
      zeroScores.assign(static_cast<size_t>(a.B * a.T), 0.0f);
      scores = zeroScores.data();
    }
    int64_t *ids = const_cast<int64_t *>(a.batch_ids);
    if (!ids) {
      zeroIds.assign(static_cast<size_t>(a.N), 0);
      ids = zeroIds.data();
    }
    std::vector<int64_t> budget(a.budget, a.budget + a.budget_size);
    auto rows = makeMemRef<int64_t, 1>(const_cast<int64_t *>(a.rows), {a.N});
    auto scoreRef = makeMemRef<float, 2>(scores, {a.B, a.T});
    auto idRef = makeMemRef<int64_t, 1>(ids, {a.N});
    auto budgetRef = makeMemRef<int64_t, 1>(budget.data(), {a.budget_size});
    auto cand = makeMemRef<int64_t, 2>(a.candidates, {a.N, a.L});
    auto lens = makeMemRef<int64_t, 1>(a.lengths, {a.N});
    std::fill(a.lengths, a.lengths + a.N, kUnwritten);
    ScopedCpuPool threads(b.context->cpuPool.get());
    fn(&rows, &scoreRef, &idRef, &budgetRef, &cand, &lens);
    for (int64_t n = 0; n < a.N; ++n) {
      if (a.lengths[n] < 1 || a.lengths[n] > a.L)
        fail(PRT_ERR_KERNEL, "the shortlist kernel returned lengths[" + str(n) +
                                 "] = " + str(a.lengths[n]) +
                                 ", outside [1, L = " + str(a.L) + "]");
    }
  });
}

prt_status prt_shortlist_attention(prt_bundle *bundle,
                                   const prt_shortlist_attention_args *args) {
  return guarded([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_shortlist_attention_args &a = *args;
    if (a.R < 1 || a.T < 1 || a.D < 1)
      fail(PRT_ERR_SHAPE, "args.R, args.T and args.D must be >= 1 (are " +
                              str(a.R) + ", " + str(a.T) + ", " + str(a.D) +
                              ")");
    if (a.N < 0)
      fail(PRT_ERR_SHAPE, "args.N is " + str(a.N) + ", must be >= 0");
    if (a.N > 0 && a.L < 1)
      fail(PRT_ERR_SHAPE, "args.L is " + str(a.L) + ", must be >= 1");
    (void)elements({a.R, a.T, a.D}, "q (R, T, D)");
    (void)elements({a.N, std::max<int64_t>(a.L, 1)}, "candidates (N, L)");
    need(a.q, "args.q");
    need(a.k, "args.k");
    need(a.v, "args.v");
    need(a.out, "args.out");
    if (a.N > 0) {
      need(a.packed_row, "args.packed_row");
      need(a.packed_token, "args.packed_token");
      need(a.candidates, "args.candidates");
      need(a.lengths, "args.lengths");
      checkRange(a.packed_row, a.N, 0, a.R, "args.packed_row", "R");
      checkRange(a.packed_token, a.N, 0, a.T, "args.packed_token", "T");
      checkRange(a.lengths, a.N, 1, a.L + 1, "args.lengths", "L + 1");
      for (int64_t n = 0; n < a.N; ++n) {
        for (int64_t j = 0; j < a.lengths[n]; ++j) {
          int64_t v = a.candidates[n * a.L + j];
          if (v < 0 || v >= a.T)
            fail(PRT_ERR_INVALID_ARGUMENT,
                 "args.candidates[" + str(n) + ", " + str(j) + "] = " + str(v) +
                     " is outside [0, T = " + str(a.T) + ")");
        }
      }
    }
    auto fn = reinterpret_cast<ShortlistAttentionFn>(
        bundle->impl->cpuSymbol(kShortlistAttentionEntry));
    auto f = [](const float *v) { return const_cast<float *>(v); };
    auto i = [](const int64_t *v) { return const_cast<int64_t *>(v); };
    int64_t none = 0;
    auto q = makeMemRef<float, 3>(f(a.q), {a.R, a.T, a.D});
    auto k = makeMemRef<float, 3>(f(a.k), {a.R, a.T, a.D});
    auto v = makeMemRef<float, 3>(f(a.v), {a.R, a.T, a.D});
    auto rows = makeMemRef<int64_t, 1>(a.N ? i(a.packed_row) : &none, {a.N});
    auto toks = makeMemRef<int64_t, 1>(a.N ? i(a.packed_token) : &none, {a.N});
    auto cand = makeMemRef<int64_t, 2>(a.N ? i(a.candidates) : &none,
                                       {a.N, std::max<int64_t>(a.L, 1)});
    auto lens = makeMemRef<int64_t, 1>(a.N ? i(a.lengths) : &none, {a.N});
    auto out = makeMemRef<float, 3>(a.out, {a.R, a.T, a.D});
    ScopedCpuPool threads(bundle->impl->context->cpuPool.get());
    fn(&q, &k, &v, &rows, &toks, &cand, &lens, &out);
  });
}

prt_status prt_select_tokens(prt_bundle *bundle,
                             const prt_select_tokens_args *args) {
  return guarded([&] {
    need(bundle, "bundle");
    need(args, "args");
    const prt_select_tokens_args &a = *args;
    BundleImpl &b = *bundle->impl;
    if (a.B < 1 || a.T < 1)
      fail(PRT_ERR_SHAPE, "args.B and args.T must be >= 1 (are " + str(a.B) +
                              ", " + str(a.T) + ")");
    const int64_t n = elements({a.B, a.T}, "importance (B, T)");
    checkBudget(b, a.budget, a.budget_size, a.T);
    const int64_t keep = a.budget[kBudgetTokenKeep];
    const int64_t guard = a.budget[kBudgetGuard];
    if (keep < 0)
      fail(PRT_ERR_INVALID_ARGUMENT,
           "budget[kBudgetTokenKeep] is " + str(keep) + ", must be >= 0");
    if (guard < 0 || guard > a.T)
      fail(PRT_ERR_INVALID_ARGUMENT, "budget[kBudgetGuard] is " + str(guard) +
                                         ", outside [0, T = " + str(a.T) + "]");
    need(a.importance, "args.importance");
    need(a.token_mask, "args.token_mask");
    auto fn = reinterpret_cast<SelectTokensFn>(b.cpuSymbol(kSelectTokensEntry));
    std::vector<int64_t> budget(a.budget, a.budget + a.budget_size);
    auto imp =
        makeMemRef<float, 2>(const_cast<float *>(a.importance), {a.B, a.T});
    auto budgetRef = makeMemRef<int64_t, 1>(budget.data(), {a.budget_size});
    auto mask = makeMemRef<int8_t, 2>(a.token_mask, {a.B, a.T});
    // Poisoned, so that an element the kernel leaves unwritten is caught.
    constexpr int8_t kUnwrittenMask = -1;
    std::fill(a.token_mask, a.token_mask + n, kUnwrittenMask);
    ScopedCpuPool threads(b.context->cpuPool.get());
    fn(&imp, &budgetRef, &mask);
    for (int64_t i = 0; i < n; ++i) {
      if (a.token_mask[i] != 0 && a.token_mask[i] != 1)
        fail(PRT_ERR_KERNEL, "the token selection kernel left token_mask[" +
                                 str(i / a.T) + ", " + str(i % a.T) + "] = " +
                                 str(a.token_mask[i]) + ", neither 0 nor 1");
    }
  });
}

//===----------------------------------------------------------------------===//
// Modules and raw launches
//===----------------------------------------------------------------------===//

prt_status prt_module_load_ptx(prt_context *context, const char *ptx,
                               int64_t size, const char *arch,
                               prt_module **module) {
  return guarded([&] {
    need(module, "module");
    *module = nullptr;
    ContextImpl &ctx = gpuContext(context);
    need(ptx, "ptx");
    if (size <= 0)
      fail(PRT_ERR_INVALID_ARGUMENT, "size is " + str(size) + ", must be > 0");
    auto m = std::make_unique<prt_module>();
    m->context = context->impl;
    m->module = ctx.loadPtx(std::string_view(ptx, static_cast<size_t>(size)),
                            arch ? arch : ctx.info.arch, m->info);
    *module = m.release();
  });
}

prt_status prt_module_unload(prt_module *module) {
  return guarded([&] { delete module; });
}

prt_status prt_module_get_info(const prt_module *module,
                               prt_module_info *info) {
  return guarded([&] {
    need(module, "module");
    need(info, "info");
    *info = module->info;
  });
}

prt_status prt_module_get_function(prt_module *module, const char *name,
                                   prt_function *function) {
  return guarded([&] {
    need(module, "module");
    need(name, "name");
    need(function, "function");
    ContextImpl &ctx = *module->context;
    cu::Function fn = nullptr;
    cu::Result r =
        ctx.cuda->moduleGetFunction(&fn, module->module->module, name);
    constexpr cu::Result kErrorNotFound = 500;
    if (r == kErrorNotFound)
      fail(PRT_ERR_NOT_FOUND,
           std::string("the module has no kernel '") + name + "'");
    ctx.check(r, "cuModuleGetFunction");
    *function = reinterpret_cast<prt_function>(fn);
  });
}

prt_status prt_device_alloc(prt_context *context, int64_t bytes,
                            uint64_t *device_ptr) {
  return guarded([&] {
    ContextImpl &ctx = gpuContext(context);
    need(device_ptr, "device_ptr");
    if (bytes <= 0)
      fail(PRT_ERR_INVALID_ARGUMENT,
           "bytes is " + str(bytes) + ", must be > 0");
    ScopedCuContext scope(ctx);
    cu::DevicePtr p = 0;
    ctx.check(ctx.cuda->memAlloc(&p, static_cast<size_t>(bytes)), "cuMemAlloc");
    *device_ptr = p;
  });
}

prt_status prt_device_free(prt_context *context, uint64_t device_ptr) {
  return guarded([&] {
    ContextImpl &ctx = gpuContext(context);
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->memFree(device_ptr), "cuMemFree");
  });
}

prt_status prt_memcpy_htod(prt_context *context, uint64_t dst, const void *src,
                           int64_t bytes) {
  return guarded([&] {
    ContextImpl &ctx = gpuContext(context);
    need(src, "src");
    if (bytes < 0)
      fail(PRT_ERR_INVALID_ARGUMENT, "bytes is " + str(bytes));
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->memcpyHtoD(dst, src, static_cast<size_t>(bytes)),
              "cuMemcpyHtoD");
  });
}

prt_status prt_memcpy_dtoh(prt_context *context, void *dst, uint64_t src,
                           int64_t bytes) {
  return guarded([&] {
    ContextImpl &ctx = gpuContext(context);
    need(dst, "dst");
    if (bytes < 0)
      fail(PRT_ERR_INVALID_ARGUMENT, "bytes is " + str(bytes));
    ScopedCuContext scope(ctx);
    ctx.check(ctx.cuda->memcpyDtoH(dst, src, static_cast<size_t>(bytes)),
              "cuMemcpyDtoH");
  });
}

prt_status prt_launch(prt_context *context, prt_function function,
                      const int64_t grid[3], const int64_t block[3],
                      int64_t shared_bytes, void **params) {
  return guarded([&] {
    ContextImpl &ctx = gpuContext(context);
    need(function, "function");
    need(grid, "grid");
    need(block, "block");
    for (int d = 0; d < 3; ++d) {
      if (grid[d] < 1 || grid[d] > std::numeric_limits<int32_t>::max() ||
          block[d] < 1 || block[d] > 1024)
        fail(PRT_ERR_INVALID_ARGUMENT,
             "grid[" + str(d) + "] = " + str(grid[d]) + " and block[" + str(d) +
                 "] = " + str(block[d]) +
                 " must be in [1, 2^31) and [1, 1024]");
    }
    if (shared_bytes < 0 || shared_bytes > std::numeric_limits<int32_t>::max())
      fail(PRT_ERR_INVALID_ARGUMENT, "shared_bytes is " + str(shared_bytes));
    ScopedCuContext scope(ctx);
    auto u = [](int64_t v) { return static_cast<unsigned>(v); };
    ctx.check(ctx.cuda->launchKernel(reinterpret_cast<cu::Function>(function),
                                     u(grid[0]), u(grid[1]), u(grid[2]),
                                     u(block[0]), u(block[1]), u(block[2]),
                                     u(shared_bytes), nullptr, params, nullptr),
              "cuLaunchKernel");
    ctx.check(ctx.cuda->ctxSynchronize(), "the kernel (cuCtxSynchronize)");
  });
}

} // extern "C"
