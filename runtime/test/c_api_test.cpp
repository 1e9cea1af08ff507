//===- c_api_test.cpp - The C API: plans, the layer, primitives, errors ---===//
//
// Drives proteus_rt.h on bundles built around the reference-kernels test
// double: every error path returns its status and a message that says what
// is wrong; the successful paths pass the plan's budget and shapes through.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include "proteus_rt/config_json.h"
#include "proteus_rt/proteus_rt.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <dlfcn.h>
#include <link.h>
#include <random>
#include <thread>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

/// A small configuration: C = 32, H = 4, G = 8, fast path up to T = 8.
json smallConfig() {
  return {{"d_model", 32},
          {"h_total", 4},
          {"attn_gates", 8},
          {"h_active_min", 1},
          {"h_active_max", 4},
          {"small_seq_dense", 8},
          {"seq_low", 8},
          {"seq_high", 64},
          {"linear_window_base", 8},
          {"linear_anchor_stride", 4},
          {"linear_L_base", 16},
          {"linear_L_min", 8},
          {"linear_L_max", 16},
          {"linear_switch_ctx", 256}};
}

/// Random weights and input for the small configuration.
struct LayerData {
  explicit LayerData(int64_t B, int64_t T, int64_t C = 32, int64_t G = 8)
      : x(static_cast<size_t>(B * T * C)), wQkv(static_cast<size_t>(3 * C * C)),
        bQkv(static_cast<size_t>(3 * C)), wProj(static_cast<size_t>(C * C)),
        bProj(static_cast<size_t>(C)), wRouter(static_cast<size_t>(G * C)),
        protos(static_cast<size_t>(G * C)), usage(static_cast<size_t>(G), 0.1f),
        conf(static_cast<size_t>(G), 0.5f), y(x.size(), NAN),
        mask(static_cast<size_t>(B * T), 7),
        importance(static_cast<size_t>(B * T)) {
    std::mt19937 rng(42);
    std::normal_distribution<float> n(0.0f, 0.3f);
    for (auto *v : {&x, &wQkv, &bQkv, &wProj, &bProj, &wRouter, &protos})
      for (float &f : *v)
        f = n(rng);
    args = prt_layer_args{};
    args.B = B;
    args.T = T;
    args.x = x.data();
    args.w_qkv = wQkv.data();
    args.b_qkv = bQkv.data();
    args.w_proj = wProj.data();
    args.b_proj = bProj.data();
    args.w_router = wRouter.data();
    args.prototypes = protos.data();
    args.usage = usage.data();
    args.confidence = conf.data();
    args.y = y.data();
    args.token_mask = mask.data();
    args.importance = importance.data();
    args.stats = &stats;
  }
  std::vector<float> x, wQkv, bQkv, wProj, bProj, wRouter, protos, usage, conf,
      y;
  std::vector<int8_t> mask;
  std::vector<float> importance;
  prt_layer_stats stats{};
  prt_layer_args args{};
};

class CApiTest : public ::testing::Test {
protected:
  void SetUp() override {
    prt_context_options o;
    ASSERT_OK(prt_context_options_init(&o));
    o.backend = PRT_BACKEND_CPU;
    ASSERT_OK(prt_context_create(&ctx, &o));
  }
  void TearDown() override {
    prt_plan_destroy(plan);
    prt_bundle_close(bundle);
    prt_context_destroy(ctx);
  }
  /// Writes a bundle with `spec` under the temp folder and opens it.
  void open(const BundleSpec &spec, const std::string &name = "bundle") {
    makeBundle(tmp / name, spec);
    prt_bundle_close(bundle);
    bundle = nullptr;
    ASSERT_OK(prt_bundle_open(ctx, (tmp / name).c_str(), &bundle));
  }
  BundleSpec small(std::vector<std::pair<double, double>> settings = {
                       {0.0, 1.0}}) {
    BundleSpec s;
    s.config = smallConfig();
    s.settings = std::move(settings);
    return s;
  }
  prt_plan_options options(int64_t B, int64_t T) {
    prt_plan_options o;
    EXPECT_EQ(prt_plan_options_init(&o), PRT_OK);
    o.B = B;
    o.T = T;
    return o;
  }
  /// The globals of the test double loaded for the open bundle (from a
  /// memfd, so found through one of its entry points' link map).
  template <typename T> T *doubleGlobal(const char *name) {
    void *entry = bundle->impl->cpuSymbol(kShortlistEntry);
    Dl_info info;
    struct link_map *map = nullptr;
    EXPECT_NE(::dladdr1(entry, &info, reinterpret_cast<void **>(&map),
                        RTLD_DL_LINKMAP),
              0);
    return map ? static_cast<T *>(::dlsym(map, name)) : nullptr;
  }

  TempDir tmp;
  prt_context *ctx = nullptr;
  prt_bundle *bundle = nullptr;
  prt_plan *plan = nullptr;
};

} // namespace

TEST(CApi, StatusNamesAndNullArguments) {
  EXPECT_STREQ(prt_status_name(PRT_ERR_SHAPE), "PRT_ERR_SHAPE");
  EXPECT_STREQ(prt_status_name(static_cast<prt_status>(99)), "PRT_ERR_UNKNOWN");
  EXPECT_STATUS(prt_context_create(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "context is NULL");
  EXPECT_STATUS(prt_context_options_init(nullptr), PRT_ERR_INVALID_ARGUMENT,
                "options is NULL");
  EXPECT_STATUS(prt_bundle_open(nullptr, "/x", nullptr),
                PRT_ERR_INVALID_ARGUMENT, "context is NULL");
  EXPECT_STATUS(prt_plan_create(nullptr, nullptr, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "bundle is NULL");
  EXPECT_STATUS(prt_layer_forward(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "plan is NULL");
  EXPECT_STATUS(prt_shortlist(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "bundle is NULL");
  EXPECT_STATUS(prt_shortlist_attention(nullptr, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "bundle is NULL");
  EXPECT_STATUS(prt_select_tokens(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "bundle is NULL");
  EXPECT_STATUS(prt_plan_get_info(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "plan is NULL");
  EXPECT_STATUS(prt_module_load_ptx(nullptr, "x", 1, nullptr, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "module is NULL");
  // Destroying NULL handles is a no-op, and success clears the message.
  EXPECT_EQ(prt_context_destroy(nullptr), PRT_OK);
  EXPECT_STREQ(prt_last_error(), "");
  prt_context_options bad;
  prt_context_options_init(&bad);
  bad.backend = static_cast<prt_backend>(7);
  prt_context *c = nullptr;
  EXPECT_STATUS(prt_context_create(&c, &bad), PRT_ERR_INVALID_ARGUMENT,
                "not AUTO, CPU or GPU");
  EXPECT_EQ(c, nullptr);
}

TEST_F(CApiTest, BundleErrorsComeBackAsStatus) {
  prt_bundle *b = nullptr;
  EXPECT_STATUS(prt_bundle_open(ctx, (tmp / "missing").c_str(), &b),
                PRT_ERR_BUNDLE, "is not a folder");
  EXPECT_EQ(b, nullptr);
  makeBundle(tmp / "bundle", small());
  json m = json::parse(readFile(tmp / "bundle/manifest.json"));
  m["format_version"] = 9;
  writeManifest(tmp / "bundle", m);
  EXPECT_STATUS(prt_bundle_open(ctx, (tmp / "bundle").c_str(), &b),
                PRT_ERR_BUNDLE, "format_version is 9");
}

TEST_F(CApiTest, BundleInfo) {
  open(small({{0.0, 1.0}, {0.5, 0.8}}));
  prt_bundle_info info;
  ASSERT_OK(prt_bundle_get_info(bundle, &info));
  EXPECT_EQ(info.num_settings, 2);
  EXPECT_EQ(info.d_model, 32);
  EXPECT_EQ(info.d_head, 8);
  EXPECT_EQ(info.gates, 8);
  EXPECT_EQ(info.has_cpu_library, 1);
  EXPECT_EQ(info.budget_size, kBudgetSize + 4 + 1);
  double a = 0, d = 0;
  ASSERT_OK(prt_bundle_get_setting(bundle, 1, &a, &d));
  EXPECT_EQ(a, 0.5);
  EXPECT_EQ(d, 0.8);
  EXPECT_STATUS(prt_bundle_get_setting(bundle, 2, &a, &d), PRT_ERR_NOT_FOUND,
                "setting 2 does not exist");
  const char *arch = nullptr;
  EXPECT_STATUS(prt_bundle_get_ptx_arch(bundle, 0, &arch), PRT_ERR_NOT_FOUND,
                "PTX arch 0 does not exist");
  const char *cfg = nullptr;
  ASSERT_OK(prt_bundle_config_json(bundle, &cfg));
  EXPECT_NE(std::string(cfg).find("\"linear_anchor_stride\": 4"),
            std::string::npos)
      << cfg;
}

TEST_F(CApiTest, PlanSettingSelection) {
  open(small({{0.0, 1.0}, {0.5, 1.0}, {1.0, 1.0}, {0.5, 0.6}}));
  prt_plan_options o = options(1, 100);
  prt_plan_info info;

  o.alpha = 0.5;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.setting_index, 1);
  EXPECT_EQ(info.alpha, 0.5);
  EXPECT_EQ(info.density, 1.0);
  prt_plan_destroy(plan);
  plan = nullptr;

  o.density = 0.6;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.setting_index, 3);
  prt_plan_destroy(plan);
  plan = nullptr;

  o.density = 0.7;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
                "no compiled setting has density 0.69999999999999996");
  o.density = 0;
  o.alpha = 0.3;
  EXPECT_STATUS(
      prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
      "alpha 0.29999999999999999 is not a compiled setting; the bundle has "
      "[0] alpha 0 density 1, [1] alpha 0.5 density 1");
  o.alpha = 0.5 + 1e-9;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
                "is not a compiled setting");
  o.alpha = 1.5;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_INVALID_ARGUMENT,
                "options.alpha 1.5 is outside [0, 1]");
  o.alpha = NAN;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_INVALID_ARGUMENT,
                "options.alpha nan");
  EXPECT_EQ(plan, nullptr);

  // Auto: the ramp (seq_low 8, switch 256) rounded to the nearest setting.
  o.alpha = -1;
  Config c;
  std::string error;
  ASSERT_TRUE(parseConfigJson(smallConfig().dump(), c, error));
  for (int64_t T : {9, 100, 160, 255, 300}) {
    o.T = T;
    ASSERT_OK(prt_plan_create(bundle, &o, &plan));
    ASSERT_OK(prt_plan_get_info(plan, &info));
    const double ramp = alphaRamp(c, T);
    EXPECT_EQ(info.alpha_schedule, ramp);
    const double nearest = ramp < 0.25 ? 0.0 : ramp <= 0.75 ? 0.5 : 1.0;
    EXPECT_EQ(info.alpha, nearest) << "T = " << T << " ramp " << ramp;
    EXPECT_EQ(info.alpha_state, ramp);
    prt_plan_destroy(plan);
    plan = nullptr;
  }
  // Hysteresis: an earlier alpha >= 0.95 holds 0.95 from 0.75 * switch on.
  o.T = 200;
  o.prev_alpha = 0.96;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.alpha_schedule, 0.95);
  EXPECT_EQ(info.alpha, 1.0);
}

TEST_F(CApiTest, PlanShapesAndBudget) {
  open(small());
  prt_plan_options o = options(0, 10);
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_INVALID_ARGUMENT,
                "options.B is 0");
  o = options(1, 0);
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_INVALID_ARGUMENT,
                "options.T is 0");
  o = options(1, 64);
  o.T_max = 32;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_SHAPE,
                "options.T_max 32 is below options.T 64");
  o.prev_alpha = 2;
  o.T_max = 0;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_INVALID_ARGUMENT,
                "options.prev_alpha 2");

  o = options(2, 64);
  o.alpha = 0.0;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  prt_plan_info info;
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.backend_reason).find("the context uses the CPU"),
            std::string::npos);
  EXPECT_EQ(info.T_max, 64);
  Config c;
  std::string error;
  ASSERT_TRUE(parseConfigJson(smallConfig().dump(), c, error));
  HostSchedule s = makeBudget(c, 2, 64, 0.0, false);
  EXPECT_EQ(info.effective_L, s.candidates.effective_L);
  EXPECT_EQ(info.window, s.candidates.window);
  EXPECT_EQ(info.k_dense, kDense(c, 64));
  EXPECT_EQ(info.top_k, topkForAdapt(c, 0.0, kDense(c, 64)));
  EXPECT_EQ(info.fast_path, 0);

  int64_t size = 0;
  std::vector<int64_t> budget(4);
  EXPECT_STATUS(prt_plan_budget(plan, budget.data(), 4, &size),
                PRT_ERR_INVALID_ARGUMENT,
                "capacity 4 is below the budget's 19 values");
  EXPECT_EQ(size, static_cast<int64_t>(s.budget.size()));
  budget.resize(static_cast<size_t>(size));
  ASSERT_OK(prt_plan_budget(plan, budget.data(), size, &size));
  EXPECT_EQ(budget, s.budget);
}

TEST_F(CApiTest, FastPathLeavesTheStoredAlpha) {
  open(small({{0.0, 1.0}, {1.0, 1.0}}));
  prt_plan_options o = options(1, 6);
  o.prev_alpha = 0.4;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  prt_plan_info info;
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.fast_path, 1);
  EXPECT_EQ(info.alpha_state, 0.4);
  prt_plan_destroy(plan);
  o.prev_alpha = -1;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.alpha_state, 0.0);
}

TEST_F(CApiTest, MissingCpuLibraryOrSymbolOrWrongTarget) {
  BundleSpec ptxOnly = small();
  ptxOnly.cpuLibrary.clear();
  ptxOnly.ptxArchs = {"sm_90"};
  open(ptxOnly, "ptx-only");
  prt_plan_options o = options(1, 16);
  EXPECT_STATUS(
      prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
      "has no CPU library (manifest.json lists no cpu/libproteus_kernels.so)");
  prt_shortlist_args sa{};
  EXPECT_STATUS(prt_shortlist(bundle, &sa), PRT_ERR_SHAPE,
                "args.B, args.T and args.L");

  BundleSpec noLayer = small();
  noLayer.cpuLibrary = testDouble(PROTEUS_TESTDOUBLE_NOLAYER_KERNELS);
  open(noLayer, "no-layer");
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
                "has no symbol _mlir_ciface_proteus_layer_s0");

  BundleSpec many = small({{0, 1}, {0.2, 1}, {0.4, 1}, {0.6, 1}, {0.8, 1}});
  open(many, "five-settings");
  o.alpha = 0.8;
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_NOT_FOUND,
                "_mlir_ciface_proteus_layer_s4");

  BundleSpec arm = small();
  arm.cpuTarget = "aarch64-unknown-linux-gnu";
  open(arm, "arm");
  o.alpha = -1;
  EXPECT_STATUS(
      prt_plan_create(bundle, &o, &plan), PRT_ERR_UNSUPPORTED,
      "the CPU library targets aarch64-unknown-linux-gnu, this host is x86_64");

  // A file that passes its checksum but is no shared library.
  BundleSpec junk = small();
  junk.cpuLibrary = (tmp / "junk.so");
  writeFile(junk.cpuLibrary, "not an ELF file");
  open(junk, "junk");
  EXPECT_STATUS(prt_plan_create(bundle, &o, &plan), PRT_ERR_BUNDLE,
                "cannot load the CPU library");
  EXPECT_EQ(plan, nullptr);
}

TEST_F(CApiTest, GpuOnlyCallsOnACpuContext) {
  prt_module *m = nullptr;
  EXPECT_STATUS(prt_module_load_ptx(ctx, "x", 1, "sm_90", &m),
                PRT_ERR_UNSUPPORTED, "this context uses the CPU backend");
  uint64_t p = 0;
  EXPECT_STATUS(prt_device_alloc(ctx, 16, &p), PRT_ERR_UNSUPPORTED,
                "CPU backend");
  EXPECT_STATUS(prt_memcpy_htod(ctx, 0, &p, 8), PRT_ERR_UNSUPPORTED,
                "CPU backend");
  int64_t g[3] = {1, 1, 1};
  EXPECT_STATUS(prt_launch(ctx, nullptr, g, g, 0, nullptr), PRT_ERR_UNSUPPORTED,
                "CPU backend");
}

TEST_F(CApiTest, LayerForwardPassesPlanAndShapes) {
  json cfg = smallConfig();
  cfg["token_sparse"] = true;
  cfg["token_keep_ratio_base"] = 0.5;
  BundleSpec spec = small({{0.0, 0.5}});
  spec.config = cfg;
  open(spec);
  prt_plan_options o = options(2, 24);
  o.T_max = 40;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  prt_plan_info info;
  ASSERT_OK(prt_plan_get_info(plan, &info));
  EXPECT_EQ(info.token_mode, 2);
  EXPECT_EQ(info.token_keep, 12);

  LayerData d(2, 24);
  ASSERT_OK(prt_layer_forward(plan, &d.args));
  for (float v : d.y)
    ASSERT_TRUE(std::isfinite(v));
  EXPECT_STREQ(d.stats.mode_name, modeName(d.stats.mode));
  EXPECT_EQ(d.stats.setting_index, 0);
  int kept = 0;
  for (int8_t m : d.mask) {
    ASSERT_TRUE(m == 0 || m == 1);
    kept += m;
  }
  // 12 by importance per batch item, plus the guard token when not among them.
  EXPECT_GE(kept, 2 * 12);
  EXPECT_LE(kept, 2 * 13);
  auto *last = doubleGlobal<int64_t>("proteus_testdouble_last_budget");
  ASSERT_NE(last, nullptr);
  std::vector<int64_t> budget(19);
  int64_t size = 0;
  ASSERT_OK(prt_plan_budget(plan, budget.data(), 19, &size));
  EXPECT_TRUE(std::equal(budget.begin(), budget.end(), last));

  // A shorter call recomputes the budget for its T at the plan's alpha.
  LayerData shorter(2, 30);
  ASSERT_OK(prt_layer_forward(plan, &shorter.args));
  EXPECT_EQ(last[kBudgetT], 30);
  EXPECT_EQ(last[kBudgetTokenKeep], 15);

  // Optional outputs may be NULL.
  d.args.token_mask = nullptr;
  d.args.importance = nullptr;
  d.args.stats = nullptr;
  ASSERT_OK(prt_layer_forward(plan, &d.args));
}

TEST_F(CApiTest, LayerForwardArgumentErrors) {
  json cfg = smallConfig();
  cfg["bias"] = true;
  cfg["proto_enabled"] = true;
  BundleSpec spec = small();
  spec.config = cfg;
  open(spec);
  prt_plan_options o = options(1, 16);
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  LayerData d(1, 16);
  prt_layer_args a = d.args;
  a.B = 2;
  EXPECT_STATUS(prt_layer_forward(plan, &a), PRT_ERR_SHAPE,
                "args.B is 2, the plan was made for B = 1");
  a = d.args;
  a.T = 17;
  EXPECT_STATUS(prt_layer_forward(plan, &a), PRT_ERR_SHAPE,
                "args.T is 17, must be in [1, T_max = 16]");
  a.T = 0;
  EXPECT_STATUS(prt_layer_forward(plan, &a), PRT_ERR_SHAPE, "args.T is 0");
  a = d.args;
  a.x = nullptr;
  EXPECT_STATUS(prt_layer_forward(plan, &a), PRT_ERR_INVALID_ARGUMENT,
                "args.x is NULL");
  a = d.args;
  a.y = nullptr;
  EXPECT_STATUS(prt_layer_forward(plan, &a), PRT_ERR_INVALID_ARGUMENT,
                "args.y is NULL");
  a = d.args;
  a.b_proj = nullptr;
  EXPECT_STATUS(
      prt_layer_forward(plan, &a), PRT_ERR_INVALID_ARGUMENT,
      "args.b_proj is NULL but the configuration has projection biases");
  a = d.args;
  a.confidence = nullptr;
  EXPECT_STATUS(
      prt_layer_forward(plan, &a), PRT_ERR_INVALID_ARGUMENT,
      "args.confidence is NULL but the configuration enables prototypes");
  EXPECT_STATUS(prt_layer_forward(plan, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "args is NULL");
  ASSERT_OK(prt_layer_forward(plan, &d.args));
}

TEST_F(CApiTest, KernelReportingNonsenseIsAnError) {
  open(small());
  prt_plan_options o = options(1, 16);
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  LayerData d(1, 16);
  ASSERT_OK(prt_layer_forward(plan, &d.args));
  auto *forced = doubleGlobal<int64_t>("proteus_testdouble_forced_mode");
  ASSERT_NE(forced, nullptr);
  *forced = 42;
  EXPECT_STATUS(prt_layer_forward(plan, &d.args), PRT_ERR_KERNEL,
                "the layer kernel reported mode 42");
  *forced = -1;
}

TEST_F(CApiTest, PrototypesAreFrozenUnlessAsked) {
  json cfg = smallConfig();
  cfg["proto_enabled"] = true;
  BundleSpec spec = small({{1.0, 1.0}});
  spec.config = cfg;
  open(spec);
  for (int update : {0, 1}) {
    prt_plan_options o = options(1, 32);
    o.update_prototypes = update;
    prt_plan_destroy(plan);
    ASSERT_OK(prt_plan_create(bundle, &o, &plan));
    prt_plan_info info;
    ASSERT_OK(prt_plan_get_info(plan, &info));
    EXPECT_EQ(info.update_prototypes, update);
    LayerData d(1, 32);
    const std::vector<float> before = d.protos, usageBefore = d.usage;
    ASSERT_OK(prt_layer_forward(plan, &d.args));
    EXPECT_EQ(d.protos != before, update == 1);
    EXPECT_EQ(d.usage != usageBefore, update == 1);
  }
}

TEST_F(CApiTest, ShortlistPrimitive) {
  open(small());
  int64_t size = 0;
  ASSERT_OK(prt_bundle_budget_size(bundle, &size));
  std::vector<int64_t> budget(static_cast<size_t>(size), 0);
  budget[kBudgetT] = 20;
  budget[kBudgetEffectiveL] = 6;
  budget[kBudgetWindow] = 3;
  budget[kBudgetLocalCap] = 3;
  budget[kBudgetAnchorCap] = 2;
  const std::vector<int64_t> rows = {0, 5, 19};
  std::vector<int64_t> cand(3 * 6, -9), lens(3, -9);
  prt_shortlist_args a{};
  a.N = 3;
  a.rows = rows.data();
  a.B = 1;
  a.T = 20;
  a.budget = budget.data();
  a.budget_size = size;
  a.L = 6;
  a.candidates = cand.data();
  a.lengths = lens.data();
  ASSERT_OK(prt_shortlist(bundle, &a));
  // Local window 3 and anchors every 4 (two of them), the query itself.
  EXPECT_EQ(lens, (std::vector<int64_t>{1, 5, 5}));
  EXPECT_EQ(std::vector<int64_t>(cand.begin() + 6, cand.begin() + 11),
            (std::vector<int64_t>{0, 1, 3, 4, 5}));
  EXPECT_EQ(std::vector<int64_t>(cand.begin() + 12, cand.begin() + 17),
            (std::vector<int64_t>{11, 15, 17, 18, 19}));

  prt_shortlist_args b = a;
  b.budget_size = size - 1;
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_SHAPE,
                "args.budget_size is 18, this bundle's budget has 19 values");
  b = a;
  b.T = 21;
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_SHAPE,
                "budget[kBudgetT] is 20 but args.T is 21");
  b = a;
  b.L = 5;
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_SHAPE,
                "budget[kBudgetEffectiveL] is 6 but args.L is 5");
  const std::vector<int64_t> badRows = {0, 20, 3};
  b = a;
  b.rows = badRows.data();
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.rows[1] = 20 is outside [0, T = 20)");
  const std::vector<int64_t> badIds = {0, 0, 1};
  b = a;
  b.batch_ids = badIds.data();
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.batch_ids[2] = 1 is outside [0, B = 1)");
  b = a;
  b.lengths = nullptr;
  EXPECT_STATUS(prt_shortlist(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.lengths is NULL");
  b = a;
  b.N = 0;
  b.rows = nullptr;
  EXPECT_EQ(prt_shortlist(bundle, &b), PRT_OK) << prt_last_error();
}

TEST_F(CApiTest, SelectTokensPrimitive) {
  open(small());
  int64_t size = 0;
  ASSERT_OK(prt_bundle_budget_size(bundle, &size));
  std::vector<int64_t> budget(static_cast<size_t>(size), 0);
  const int64_t B = 2, T = 6;
  budget[kBudgetT] = T;
  budget[kBudgetTokenKeep] = 2;
  budget[kBudgetGuard] = 1;
  const std::vector<float> imp = {0.1f, 0.9f, 0.2f, 0.9f, 0.8f, 0.0f,
                                  0.5f, 0.1f, 0.1f, 0.1f, 0.1f, 0.3f};
  std::vector<int8_t> mask(B * T, 7);
  prt_select_tokens_args a{};
  a.B = B;
  a.T = T;
  a.importance = imp.data();
  a.budget = budget.data();
  a.budget_size = size;
  a.token_mask = mask.data();
  ASSERT_OK(prt_select_tokens(bundle, &a));
  // Top 2 (the tie at 0.9 and nothing else), the guard token 0; for the
  // second item token 0 is both.
  EXPECT_EQ(mask, (std::vector<int8_t>{1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 1}));

  prt_select_tokens_args b = a;
  b.budget_size = size + 1;
  EXPECT_STATUS(prt_select_tokens(bundle, &b), PRT_ERR_SHAPE,
                "this bundle's budget has " + std::to_string(size));
  b = a;
  b.T = 5;
  EXPECT_STATUS(prt_select_tokens(bundle, &b), PRT_ERR_SHAPE,
                "budget[kBudgetT] is 6 but args.T is 5");
  b = a;
  b.importance = nullptr;
  EXPECT_STATUS(prt_select_tokens(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.importance is NULL");
  b = a;
  b.token_mask = nullptr;
  EXPECT_STATUS(prt_select_tokens(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.token_mask is NULL");
  budget[kBudgetGuard] = T + 1;
  EXPECT_STATUS(prt_select_tokens(bundle, &a), PRT_ERR_INVALID_ARGUMENT,
                "budget[kBudgetGuard] is 7, outside [0, T = 6]");
  budget[kBudgetGuard] = 1;
  budget[kBudgetTokenKeep] = -1;
  EXPECT_STATUS(prt_select_tokens(bundle, &a), PRT_ERR_INVALID_ARGUMENT,
                "budget[kBudgetTokenKeep] is -1, must be >= 0");
}

TEST_F(CApiTest, ShortlistAttentionPrimitive) {
  open(small());
  const int64_t R = 2, T = 4, D = 2, L = 2;
  std::vector<float> q(R * T * D, 0.0f), k(q.size(), 0.0f), v(q.size());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(i);
  std::vector<float> out(q.size(), NAN);
  const std::vector<int64_t> prow = {1}, ptok = {3}, cand = {0, 2}, lens = {2};
  prt_shortlist_attention_args a{};
  a.R = R;
  a.T = T;
  a.D = D;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.N = 1;
  a.packed_row = prow.data();
  a.packed_token = ptok.data();
  a.L = L;
  a.candidates = cand.data();
  a.lengths = lens.data();
  a.out = out.data();
  ASSERT_OK(prt_shortlist_attention(bundle, &a));
  // Equal scores: the mean of v[1, 0] and v[1, 2]; every other row zero.
  EXPECT_FLOAT_EQ(out[(1 * T + 3) * D + 0],
                  (v[(T + 0) * D] + v[(T + 2) * D]) / 2);
  EXPECT_EQ(out[0], 0.0f);

  prt_shortlist_attention_args b = a;
  const std::vector<int64_t> badCand = {0, 4};
  b.candidates = badCand.data();
  EXPECT_STATUS(prt_shortlist_attention(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.candidates[0, 1] = 4 is outside [0, T = 4)");
  const std::vector<int64_t> zero = {0};
  b = a;
  b.lengths = zero.data();
  EXPECT_STATUS(prt_shortlist_attention(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.lengths[0] = 0 is outside [1, L + 1 = 3)");
  const std::vector<int64_t> row2 = {2};
  b = a;
  b.packed_row = row2.data();
  EXPECT_STATUS(prt_shortlist_attention(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.packed_row[0] = 2 is outside [0, R = 2)");
  b = a;
  b.D = 0;
  EXPECT_STATUS(prt_shortlist_attention(bundle, &b), PRT_ERR_SHAPE,
                "must be >= 1");
  b = a;
  b.out = nullptr;
  EXPECT_STATUS(prt_shortlist_attention(bundle, &b), PRT_ERR_INVALID_ARGUMENT,
                "args.out is NULL");
}

TEST_F(CApiTest, HandlesOutliveTheirParents) {
  open(small());
  prt_plan_options o = options(1, 16);
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  ASSERT_OK(prt_bundle_close(bundle));
  bundle = nullptr;
  ASSERT_OK(prt_context_destroy(ctx));
  ctx = nullptr;
  LayerData d(1, 16);
  ASSERT_OK(prt_layer_forward(plan, &d.args));
}

TEST_F(CApiTest, OnePlanFromManyThreads) {
  open(small());
  prt_plan_options o = options(1, 16);
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  std::vector<std::thread> threads;
  std::vector<prt_status> results(4, PRT_ERR_INTERNAL);
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] {
      LayerData d(1, 16);
      results[i] = prt_layer_forward(plan, &d.args);
    });
  for (auto &t : threads)
    t.join();
  for (prt_status s : results)
    EXPECT_EQ(s, PRT_OK);
}

TEST_F(CApiTest, CppWrapper) {
  makeBundle(tmp / "bundle", small());
  prt::Context context(PRT_BACKEND_CPU);
  EXPECT_EQ(context.backend().backend, PRT_BACKEND_CPU);
  prt::Bundle b(context, tmp / "bundle");
  EXPECT_EQ(b.info().d_model, 32);
  prt_plan_options o = prt::Plan::defaults();
  o.T = 16;
  prt::Plan p(b, o);
  EXPECT_EQ(p.budget().size(), 19u);
  LayerData d(1, 16);
  prt_layer_stats s = p.forward(d.args);
  EXPECT_STREQ(s.mode_name, modeName(s.mode));
  try {
    prt::Bundle missing(context, tmp / "nope");
    FAIL() << "opened a missing bundle";
  } catch (const prt::Error &e) {
    EXPECT_EQ(e.status(), PRT_ERR_BUNDLE);
    EXPECT_NE(std::string(e.what()).find("PRT_ERR_BUNDLE: bundle"),
              std::string::npos);
  }
}
