//===- layer_gpu_test.cpp - The layer on a GPU plan, through a fake driver ===//
//
// prt_layer_forward on GPU plans without a GPU: the CUDA driver is the fake
// test double (fake_cuda_testdouble.cpp), whose "device" memory is host
// memory and whose layer kernels compute nothing but check their parameters
// and grids against contract.h and are recorded in launch order. The tests
// check what the runtime decides: which backend a plan gets, the refusals
// (no GPU layer in the bundle, a missing kernel, bad arguments) before
// anything is launched, the launch sequence of the routed path and of the
// dense fast path, and that a call allocates nothing and synchronises only
// when it returns the statistics. The kernels' numbers are checked on a GPU
// by gpu_layer_check.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <dlfcn.h>
#include <elf.h>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

/// C = 32, H = 4 (D = 8), G = 8; the fast path up to T = 8.
json plainConfig() {
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

/// Everything a routed call can launch: token selection, prototypes (routing
/// and the EMA), biases.
json fullConfig() {
  json c = plainConfig();
  c["token_sparse"] = true;
  c["token_keep_ratio_base"] = 0.5;
  c["linear_token_keep_ratio_ref"] = 64;
  c["proto_enabled"] = true;
  c["bias"] = true;
  return c;
}

const std::vector<std::string> kLayerKernels = {
    "proteus_route_prep",
    "proteus_route_scale",
    "proteus_route_logits",
    "proteus_route",
    "proteus_select_tokens",
    "proteus_head_mass",
    "proteus_gate",
    "proteus_top_k",
    "proteus_pack_count",
    "proteus_pack_scan",
    "proteus_pack_write",
    "proteus_project",
    "proteus_project_q",
    "proteus_combine",
    "proteus_proto_mass",
    "proteus_proto_partial",
    "proteus_proto_update",
    "proteus_fill_zero_f32",
    "proteus_dense_attention_f32",
    "proteus_layer_dense_attention_f32",
    "proteus_layer_shortlist_attention_f32"};

/// Setting 0: alpha 0 (dense by alpha), setting 1: alpha 1 (shortlist).
const std::vector<std::pair<double, double>> kSettings = {{0.0, 1.0},
                                                          {1.0, 1.0}};

std::vector<std::string> lines(const std::string &text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);)
    out.push_back(l);
  return out;
}

/// Device buffers of one call's arguments, of the sizes the plan needs.
class DeviceArgs {
public:
  DeviceArgs(prt_context *ctx, int64_t B, int64_t T, int64_t C, int64_t G)
      : ctx_(ctx) {
    args.B = B;
    args.T = T;
    args.x = f(B * T * C);
    args.w_qkv = f(3 * C * C);
    args.b_qkv = f(3 * C);
    args.w_proj = f(C * C);
    args.b_proj = f(C);
    args.w_router = f(G * C);
    args.prototypes = f(G * C);
    args.usage = f(G);
    args.confidence = f(G);
    args.y = f(B * T * C);
    args.token_mask = reinterpret_cast<int8_t *>(alloc(B * T));
    args.importance = f(B * T);
  }
  ~DeviceArgs() {
    for (uint64_t p : owned_)
      prt_device_free(ctx_, p);
  }
  prt_layer_args args{};

private:
  uint64_t alloc(int64_t bytes) {
    uint64_t p = 0;
    EXPECT_EQ(prt_device_alloc(ctx_, bytes, &p), PRT_OK) << prt_last_error();
    owned_.push_back(p);
    return p;
  }
  float *f(int64_t n) { return reinterpret_cast<float *>(alloc(n * 4)); }
  prt_context *ctx_;
  std::vector<uint64_t> owned_;
};

class LayerGpu : public ::testing::Test {
protected:
  void SetUp() override {
    fakePath_ = testDouble(PROTEUS_FAKE_CUDA);
    ctx_ = context(PRT_BACKEND_GPU);
    ASSERT_NE(ctx_, nullptr);
    void *h = ::dlopen(fakePath_.c_str(), RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(h, nullptr) << "the fake driver is not loaded: " << fakePath_;
    record_ =
        reinterpret_cast<void (*)()>(::dlsym(h, "proteus_fake_cuda_record"));
    calls_ = reinterpret_cast<const char *(*)()>(
        ::dlsym(h, "proteus_fake_cuda_calls"));
    ASSERT_NE(record_, nullptr);
    ASSERT_NE(calls_, nullptr);
    ::dlclose(h);
  }
  void TearDown() override {
    prt_plan_destroy(plan_);
    prt_bundle_close(bundle_);
    prt_context_destroy(ctx_);
  }

  prt_context *context(prt_backend backend) {
    prt_context_options o;
    prt_context_options_init(&o);
    o.backend = backend;
    o.cuda_library = fakePath_.c_str();
    o.disable_disk_cache = 1;
    prt_context *c = nullptr;
    EXPECT_EQ(prt_context_create(&c, &o), PRT_OK) << prt_last_error();
    return c;
  }

  /// A bundle with the CPU test double and, for sm_90, modules whose entries
  /// are `kernels`; "gpu_layer" and "gpu_note" as given.
  /// A bundle whose PTX declares `kernels` (with `params[k]` parameters
  /// where given, else none: the fake driver then checks the contract's plain
  /// parameter list).
  std::string writeBundle(const std::string &name, const json &config,
                          const std::vector<std::string> &kernels,
                          bool gpuLayer, const std::string &note = "",
                          const std::map<std::string, int> &params = {}) {
    BundleSpec spec;
    spec.config = config;
    spec.settings = kSettings;
    spec.ptxArchs = {"sm_90"};
    const std::string dir = tmp_ / name;
    makeBundle(dir, spec);
    std::string ptx = "// fake PTX: the entries the fake driver reads\n";
    for (const std::string &k : kernels) {
      ptx += ".visible .entry " + k + "(\n";
      auto it = params.find(k);
      for (int i = 0; it != params.end() && i < it->second; ++i)
        ptx += "  .param .u64 " + k + "_param_" + std::to_string(i) +
               (i + 1 < it->second ? ",\n" : "\n");
      ptx += ")\n";
    }
    for (size_t s = 0; s < kSettings.size(); ++s)
      writeFile(dir + "/" + ptxFile("sm_90", static_cast<int64_t>(s)),
                ptx + ptxFingerprintDirective(
                          fingerprintOf(spec, static_cast<int64_t>(s))));
    json m = manifestFor(dir, spec);
    if (gpuLayer)
      m[kManifestGpuLayer] = true;
    if (!note.empty())
      m[kManifestGpuNote] = note;
    writeManifest(dir, m);
    return dir;
  }

  void open(const std::string &dir, prt_context *ctx = nullptr) {
    prt_plan_destroy(plan_);
    plan_ = nullptr;
    prt_bundle_close(bundle_);
    bundle_ = nullptr;
    ASSERT_OK(prt_bundle_open(ctx ? ctx : ctx_, dir.c_str(), &bundle_));
  }

  /// Replaces plan_ with a plan of `setting` for (B, T); the status.
  prt_status tryPlan(int64_t setting, int64_t B, int64_t T, int64_t Tmax = 0,
                     bool update = false) {
    prt_plan_destroy(plan_);
    plan_ = nullptr;
    prt_plan_options o;
    prt_plan_options_init(&o);
    o.B = B;
    o.T = T;
    o.T_max = Tmax;
    o.alpha = kSettings[static_cast<size_t>(setting)].first;
    o.update_prototypes = update ? 1 : 0;
    return prt_plan_create(bundle_, &o, &plan_);
  }

  prt_plan_info plan(int64_t setting, int64_t B, int64_t T, int64_t Tmax = 0,
                     bool update = false) {
    prt_plan_info info{};
    EXPECT_EQ(tryPlan(setting, B, T, Tmax, update), PRT_OK) << prt_last_error();
    if (plan_)
      prt_plan_get_info(plan_, &info);
    return info;
  }

  /// Runs `args` while the fake driver records; returns what it saw.
  std::vector<std::string> forward(const prt_layer_args &args,
                                   prt_status expected = PRT_OK,
                                   const std::string &part = "") {
    record_();
    EXPECT_STATUS(prt_layer_forward(plan_, &args), expected, part);
    return lines(calls_());
  }

  /// The kernel launches among recorded calls.
  static std::vector<std::string>
  launches(const std::vector<std::string> &calls) {
    std::vector<std::string> out;
    for (const std::string &c : calls)
      if (c.rfind("proteus_", 0) == 0)
        out.push_back(c);
    return out;
  }

  TempDir tmp_;
  std::string fakePath_;
  prt_context *ctx_ = nullptr;
  prt_bundle *bundle_ = nullptr;
  prt_plan *plan_ = nullptr;
  void (*record_)() = nullptr;
  const char *(*calls_)() = nullptr;
};

TEST_F(LayerGpu, BundleWithoutGpuLayerIsRefused) {
  const std::string note = "no GPU layer: head dim 12";
  open(writeBundle("old", plainConfig(), kLayerKernels, false, note));
  prt_plan_info info = plan(1, 1, 64);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  EXPECT_NE(std::string(info.backend_reason).find("gpu_layer"),
            std::string::npos)
      << info.backend_reason;
  DeviceArgs d(ctx_, 1, 64, 32, 8);
  std::vector<std::string> calls =
      forward(d.args, PRT_ERR_UNSUPPORTED, "gpu_layer is absent or false");
  EXPECT_NE(std::string(prt_last_error()).find("gpu_note: " + note),
            std::string::npos)
      << prt_last_error();
  EXPECT_TRUE(calls.empty()) << calls_();

  // AUTO runs such a bundle on its CPU library and says why.
  prt_context *autoCtx = context(PRT_BACKEND_AUTO);
  open(tmp_ / "old", autoCtx);
  info = plan(1, 1, 64);
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.backend_reason).find("no GPU layer kernels"),
            std::string::npos)
      << info.backend_reason;
  prt_plan_destroy(plan_);
  plan_ = nullptr;
  prt_bundle_close(bundle_);
  bundle_ = nullptr;
  prt_context_destroy(autoCtx);
}

TEST_F(LayerGpu, MissingKernelIsNamedWithTheNote) {
  const std::string note =
      "the in-kernel candidate rule is CPU-only for the prototype piece";
  std::vector<std::string> kernels = kLayerKernels;
  kernels.pop_back(); // no proteus_layer_shortlist_attention_f32
  const std::string dir =
      writeBundle("rule", plainConfig(), kernels, true, note);
  open(dir);
  // Alpha 1 needs the shortlist kernel.
  prt_plan_info info = plan(1, 1, 64);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU);
  DeviceArgs d(ctx_, 1, 64, 32, 8);
  std::vector<std::string> calls = forward(
      d.args, PRT_ERR_UNSUPPORTED, "proteus_layer_shortlist_attention_f32");
  EXPECT_NE(std::string(prt_last_error()).find("gpu_note: " + note),
            std::string::npos)
      << prt_last_error();
  EXPECT_TRUE(calls.empty()) << calls_();
  // Alpha 0 is dense by alpha: the layer runs without it.
  info = plan(0, 1, 64);
  EXPECT_GT(info.scratch_bytes, 0);
  forward(d.args);

  // AUTO: the CPU library at alpha 1, naming the kernel; the GPU at alpha 0.
  // The missing kernel is found in the PTX's entries, without a failing
  // cuModuleGetFunction (an error under compute-sanitizer).
  prt_context *autoCtx = context(PRT_BACKEND_AUTO);
  open(dir, autoCtx);
  record_();
  info = plan(1, 1, 64);
  EXPECT_EQ(std::string(calls_()).find("cuModuleGetFunction not found"),
            std::string::npos)
      << calls_();
  EXPECT_EQ(info.backend, PRT_BACKEND_CPU);
  EXPECT_NE(std::string(info.backend_reason)
                .find("lacks the layer kernel "
                      "proteus_layer_shortlist_attention_f32"),
            std::string::npos)
      << info.backend_reason;
  info = plan(0, 1, 64);
  EXPECT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  prt_plan_destroy(plan_);
  plan_ = nullptr;
  prt_bundle_close(bundle_);
  bundle_ = nullptr;
  prt_context_destroy(autoCtx);
}

TEST_F(LayerGpu, BadArgumentsAreRefusedBeforeAnyLaunch) {
  open(writeBundle("full", fullConfig(), kLayerKernels, true));
  prt_plan_info info = plan(1, 2, 64, 128);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  DeviceArgs d(ctx_, 2, 64, 32, 8);
  auto refused = [&](prt_layer_args a, prt_status status,
                     const std::string &part) {
    std::vector<std::string> calls = forward(a, status, part);
    EXPECT_TRUE(calls.empty()) << part << ":\n" << calls_();
  };
  prt_layer_args a = d.args;
  a.B = 1;
  refused(a, PRT_ERR_SHAPE, "the plan was made for B = 2");
  a = d.args;
  a.T = 0;
  refused(a, PRT_ERR_SHAPE, "args.T is 0");
  a.T = 129;
  refused(a, PRT_ERR_SHAPE, "T_max = 128");
  a = d.args;
  a.x = nullptr;
  refused(a, PRT_ERR_INVALID_ARGUMENT, "args.x is NULL");
  a = d.args;
  a.y = nullptr;
  refused(a, PRT_ERR_INVALID_ARGUMENT, "args.y is NULL");
  a = d.args;
  a.b_proj = nullptr;
  refused(a, PRT_ERR_INVALID_ARGUMENT, "configuration has projection biases");
  a = d.args;
  a.usage = nullptr;
  refused(a, PRT_ERR_INVALID_ARGUMENT, "configuration enables prototypes");
  a = d.args;
  a.y = reinterpret_cast<float *>(reinterpret_cast<uintptr_t>(a.y) + 2);
  refused(a, PRT_ERR_INVALID_ARGUMENT, "not aligned");
  a = d.args;
  a.y = const_cast<float *>(a.x);
  refused(a, PRT_ERR_INVALID_ARGUMENT, "overlaps args.x");
  // Host memory, and an allocation too small for T = 64.
  std::vector<float> host(2 * 64 * 32);
  a = d.args;
  a.x = host.data();
  refused(a, PRT_ERR_INVALID_ARGUMENT, "not device memory");
  DeviceArgs small(ctx_, 2, 32, 32, 8);
  a = d.args;
  a.y = small.args.y;
  refused(a, PRT_ERR_INVALID_ARGUMENT, "bytes short");
  // The same arguments, corrected, run.
  forward(d.args);
}

TEST_F(LayerGpu, RoutedCallLaunchesTheContractSequence) {
  open(writeBundle("full", fullConfig(), kLayerKernels, true));
  // Alpha 1: shortlist; T = 256 selects tokens (keep ratio sqrt(64/256)).
  prt_plan_info info = plan(1, 2, 256, 0, /*update=*/true);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  ASSERT_EQ(info.token_mode, 2);
  ASSERT_EQ(info.update_prototypes, 1);
  DeviceArgs d(ctx_, 2, 256, 32, 8);
  const std::vector<std::string> calls = forward(d.args);
  const std::vector<std::string> expected = {
      "cuMemcpyHtoDAsync",     // the budget vector
      "cuMemsetD8Async 255",   // the stats vector, poisoned
      "proteus_route_prep",    // 1
      "proteus_route_logits",  // 2: x W_router^T
      "proteus_route_scale",   //    x / |x|
      "proteus_route_logits",  //    prototype dots
      "proteus_route",         //
      "proteus_select_tokens", // 3
      "proteus_head_mass",     // 4
      "proteus_gate",          // 5
      "proteus_top_k",         // 6
      "proteus_pack_count",    // 7
      "proteus_pack_scan",     // 8
      "proteus_pack_write",    // 9
      "proteus_project",       // 10 (K, V; Q only in a dense mode)
      "proteus_project_q",     //    Q of the packed pairs
      "proteus_fill_zero_f32", // 11
      "proteus_layer_shortlist_attention_f32",
      "proteus_layer_dense_attention_f32",
      "proteus_combine",       // 12
      "proteus_proto_mass",    // 13
      "proteus_proto_partial", //
      "proteus_proto_update",  //
  };
  EXPECT_EQ(calls, expected) << calls_();
}

// The EMA's chunks: powers of two from 256 to 4096 tokens, at least 64 of
// them once longer than 256 tokens, and never more than the plan holds for a
// longer call (gpuProtoChunksMax is what the plan allocates).
TEST(LayerGpuContract, ProtoChunksFitThePlan) {
  EXPECT_EQ(gpuProtoChunk(1), 256);
  EXPECT_EQ(gpuProtoChunk(16384), 256);
  EXPECT_EQ(gpuProtoChunk(65536), 1024);
  EXPECT_EQ(gpuProtoChunk(524288), 4096);
  int64_t most = 0;
  for (int64_t t = 1; t <= (int64_t(1) << 21); t += 1 + t / 64) {
    const int64_t chunk = gpuProtoChunk(t), chunks = (t + chunk - 1) / chunk;
    ASSERT_TRUE(chunk >= 256 && chunk <= 4096 && (chunk & (chunk - 1)) == 0)
        << t;
    ASSERT_TRUE(chunk == 256 || t / chunk >= 64) << t;
    most = std::max(most, chunks);
    ASSERT_LE(most, gpuProtoChunksMax(t)) << t;
  }
}

TEST_F(LayerGpu, PrototypePieceGivesTheKernelTheSalience) {
  // The prototype candidate piece: the compiler's shortlist kernel then
  // takes the salience (B*T) and proto_cap after the plain parameters (46 in
  // all, as the PTX declares; the fake driver reads as many and refuses a
  // launch that passes fewer).
  json c = fullConfig();
  c["linear_use_proto"] = true;
  const std::string kernel = "proteus_layer_shortlist_attention_f32";
  open(writeBundle("proto", c, kLayerKernels, true, "", {{kernel, 46}}));
  prt_plan_info info = plan(1, 2, 256, 0, /*update=*/true);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  DeviceArgs d(ctx_, 2, 256, 32, 8);
  const std::vector<std::string> calls = forward(d.args);
  EXPECT_NE(std::find(calls.begin(), calls.end(), kernel), calls.end())
      << calls_();

  // The fake refuses a launch that passes fewer parameters than the PTX
  // declares: the same kernel under a configuration without the piece (the
  // runtime passes the 40 plain ones) is refused.
  open(writeBundle("proto-mismatch", fullConfig(), kLayerKernels, true, "",
                   {{kernel, 46}}));
  info = plan(1, 2, 256, 0, /*update=*/true);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  forward(d.args, PRT_ERR_CUDA, "cuLaunchKernel(" + kernel + ")");
}

TEST_F(LayerGpu, RoutedCallWithoutOptionalPieces) {
  open(writeBundle("plain", plainConfig(), kLayerKernels, true));
  // No prototypes, no token selection: the mask is filled with ones. Alpha
  // 0 is dense by alpha on the device too, so the shortlist kernel, which
  // would return at once, is not launched (a deviation from contract.h's
  // "both", which costs nothing).
  prt_plan_info info = plan(0, 1, 64);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  DeviceArgs d(ctx_, 1, 64, 32, 8);
  d.args.token_mask = nullptr; // the plan's scratch mask
  d.args.importance = nullptr;
  const std::vector<std::string> expected = {
      "cuMemcpyHtoDAsync",     "cuMemsetD8Async 255",
      "proteus_route_logits",  "proteus_route",
      "cuMemsetD8Async 1",     "proteus_head_mass",
      "proteus_gate",          "proteus_top_k",
      "proteus_pack_count",    "proteus_pack_scan",
      "proteus_pack_write",    "proteus_project",
      "proteus_fill_zero_f32", "proteus_layer_dense_attention_f32",
      "proteus_combine"};
  EXPECT_EQ(forward(d.args), expected) << calls_();
  // A T other than the plan's (budgets recomputed) launches the same.
  d.args.T = 40;
  EXPECT_EQ(forward(d.args), expected) << calls_();
}

TEST_F(LayerGpu, FastPathLaunchesProjectDenseCombine) {
  open(writeBundle("full", fullConfig(), kLayerKernels, true));
  prt_plan_info info = plan(1, 2, 8, 64, /*update=*/true);
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  ASSERT_EQ(info.fast_path, 1);
  DeviceArgs d(ctx_, 2, 8, 32, 8);
  prt_layer_stats st{};
  d.args.stats = &st;
  const std::vector<std::string> calls = forward(d.args);
  const std::vector<std::string> expected = {
      "cuMemcpyHtoDAsync",
      "cuMemsetD8Async 255", // the stats vector, poisoned: proteus_project
                             // reads the mode (Q for every pair)
      "cuMemsetD8Async 1",   // token mask = 1
      "cuMemsetD8Async 0",   // importance = 0
      "proteus_project", "proteus_dense_attention_f32", "proteus_combine"};
  EXPECT_EQ(calls, expected) << calls_();
  // The statistics the CPU layer writes on the fast path, from the host.
  EXPECT_STREQ(st.mode_name, "dense_fastpath");
  EXPECT_EQ(st.dense_reason, 0);
  EXPECT_EQ(st.top_k, 4);
  EXPECT_EQ(st.nucleus_k, -1);
  EXPECT_EQ(st.k_adapt, 4);
  EXPECT_EQ(st.max_active_rows, 8);
  EXPECT_EQ(st.active_rows, 2 * 4);
  EXPECT_EQ(st.packed, 2 * 4 * 8);
  EXPECT_EQ(st.setting_index, 1);
}

TEST_F(LayerGpu, NothingIsAllocatedAndOnlyStatsSynchronise) {
  open(writeBundle("full", fullConfig(), kLayerKernels, true));
  record_();
  plan(1, 1, 256, 1024, /*update=*/true);
  std::vector<std::string> atPlan = lines(calls_());
  EXPECT_NE(std::find(atPlan.begin(), atPlan.end(), "cuMemAlloc"), atPlan.end())
      << "the scratch is allocated with the plan";
  DeviceArgs d(ctx_, 1, 1024, 32, 8);
  for (int64_t T : {256, 1024, 9}) {
    d.args.T = T;
    for (const std::string &c : forward(d.args)) {
      EXPECT_EQ(c.find("cuMemAlloc"), std::string::npos) << "T = " << T;
      EXPECT_EQ(c.find("Synchronize"), std::string::npos) << "T = " << T;
      EXPECT_EQ(c.find("cuMemcpyDtoH"), std::string::npos) << "T = " << T;
    }
  }
  // Asking for the statistics adds one wait and one copy, after the
  // launches. The fake kernels write no statistics: the poisoned mode is
  // caught as it is on the CPU path.
  prt_layer_stats st{};
  d.args.T = 256;
  d.args.stats = &st;
  std::vector<std::string> calls =
      forward(d.args, PRT_ERR_KERNEL, "reported mode -1");
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[calls.size() - 3], "proteus_proto_update");
  EXPECT_EQ(calls[calls.size() - 2], "cuStreamSynchronize");
  EXPECT_EQ(calls.back(), "cuMemcpyDtoH");
  record_();
  prt_plan_destroy(plan_);
  plan_ = nullptr;
  std::vector<std::string> atDestroy = lines(calls_());
  EXPECT_NE(std::find(atDestroy.begin(), atDestroy.end(), "cuMemFree"),
            atDestroy.end());
}

/// The fingerprint the layer bundle `dir`'s PTX of `setting` carries.
std::string ptxFingerprintOf(const std::string &dir, int64_t setting) {
  std::string fingerprint;
  EXPECT_TRUE(ptxFingerprint(readFile(dir + "/" + ptxFile("sm_90", setting)),
                             fingerprint));
  return fingerprint;
}

/// The layer bundle with, beside its sm_90 PTX, a cubin per setting for each
/// of `sass` holding the same kernels and fingerprint (or `cubinBytes` where
/// given).
std::string withCubins(const std::string &dir,
                       const std::vector<std::string> &sass,
                       const std::string &cubinBytes = "") {
  json m = json::parse(readFile(dir + "/" + kManifestFile));
  for (const std::string &arch : sass)
    for (size_t s = 0; s < kSettings.size(); ++s) {
      const int64_t setting = static_cast<int64_t>(s);
      const std::string rel = cubinFile(arch, setting);
      writeFile(dir + "/" + rel,
                cubinBytes.empty()
                    ? fakeCubin(kLayerKernels, 0, ptxFingerprintOf(dir, setting))
                    : cubinBytes);
      m["files"][rel] = {
          {kManifestFileChecksum, checksumOf(dir + "/" + rel)},
          {kManifestFileBytes, readFile(dir + "/" + rel).size()}};
    }
  seal(m);
  writeManifest(dir, m);
  return dir;
}

bool has(const std::vector<std::string> &calls, const std::string &call) {
  return std::find(calls.begin(), calls.end(), call) != calls.end();
}

// A device whose exact target has a cubin loads it as it is: no JIT.
TEST_F(LayerGpu, LoadsTheCubinOfTheDevice) {
  const std::string dir =
      withCubins(writeBundle("sass", plainConfig(), kLayerKernels, true),
                 {"sm_90", "sm_90a"});
  open(dir);
  record_();
  prt_plan_info info = plan(1, 1, 64);
  std::vector<std::string> calls = lines(calls_());
  ASSERT_EQ(info.backend, PRT_BACKEND_GPU) << info.backend_reason;
  EXPECT_NE(std::string(info.backend_reason).find("SASS for sm_90a loaded"),
            std::string::npos)
      << info.backend_reason;
  EXPECT_TRUE(has(calls, "cuModuleLoadDataEx cubin")) << calls_();
  EXPECT_FALSE(has(calls, "cuModuleLoadDataEx ptx")) << calls_();
  EXPECT_FALSE(has(calls, "cuLinkComplete")) << calls_();
  DeviceArgs d(ctx_, 1, 64, 32, 8);
  EXPECT_FALSE(launches(forward(d.args)).empty()) << calls_();
}

// Any other device JIT-compiles the PTX; so does one whose cubin the runtime
// or the driver refuses, saying why.
TEST_F(LayerGpu, OtherDevicesAndRefusedCubinsTakeThePtx) {
  // Setting 1's kernels and fingerprint (the plans below are of setting 1),
  // in an image the fake driver refuses.
  std::string broken = fakeCubin(
      kLayerKernels, 0,
      ptxFingerprintOf(writeBundle("signed", plainConfig(), kLayerKernels, true),
                       1));
  broken[offsetof(Elf64_Ehdr, e_shstrndx)] = '\x7f';
  struct Case {
    std::string name, cc, cubin, reason;
  } cases[] = {
      {"blackwell", "10.0", "", "PTX for sm_90 (JIT)"},
      {"not-elf", "9.0", "// PTX, not ELF",
       "the sm_90a cubin was refused: the cubin is not a valid ELF image"},
      {"refused", "9.0", broken,
       "the sm_90a cubin was refused: cuModuleLoadDataEx (sm_90a cubin) "
       "failed"},
  };
  for (const Case &c : cases) {
    const std::string dir =
        withCubins(writeBundle(c.name, plainConfig(), kLayerKernels, true),
                   {"sm_90a"}, c.cubin);
    ::setenv("PROTEUS_FAKE_CUDA_CC", c.cc.c_str(), 1);
    prt_context *ctx = context(PRT_BACKEND_GPU);
    ::unsetenv("PROTEUS_FAKE_CUDA_CC");
    open(dir, ctx);
    record_();
    prt_plan_info info = plan(1, 1, 64);
    std::vector<std::string> calls = lines(calls_());
    EXPECT_EQ(info.backend, PRT_BACKEND_GPU) << c.name;
    EXPECT_NE(std::string(info.backend_reason).find(c.reason),
              std::string::npos)
        << c.name << ": " << info.backend_reason;
    EXPECT_TRUE(has(calls, "cuModuleLoadDataEx ptx")) << c.name << calls_();
    prt_plan_destroy(plan_);
    plan_ = nullptr;
    prt_bundle_close(bundle_);
    bundle_ = nullptr;
    prt_context_destroy(ctx);
  }
}

// A cubin that does not say it was compiled for this bundle's configuration
// and setting is an error, as such a PTX module is: never run, never
// silently replaced.
TEST_F(LayerGpu, CubinsCarryTheirBundlesFingerprint) {
  struct Case {
    std::string name, reason;
    bool sign;
  } cases[] = {
      {"unsigned",
       "sass/sm_90a/s1.cubin declares no proteus_bundle_fingerprint", false},
      {"swapped", "sass/sm_90a/s1.cubin does not match manifest.json: ", true},
  };
  for (const Case &c : cases) {
    const std::string dir =
        writeBundle(c.name, plainConfig(), kLayerKernels, true);
    // Every setting's cubin is setting 0's (signed) or carries nothing.
    withCubins(dir, {"sm_90a"},
               fakeCubin(kLayerKernels, 0,
                         c.sign ? ptxFingerprintOf(dir, 0) : std::string()));
    prt_context *ctx = context(PRT_BACKEND_GPU);
    open(dir, ctx);
    EXPECT_EQ(tryPlan(1, 1, 64), PRT_ERR_BUNDLE) << c.name;
    EXPECT_HAS(std::string(prt_last_error()), c.reason);
    prt_bundle_close(bundle_);
    bundle_ = nullptr;
    prt_context_destroy(ctx);
  }
}

} // namespace
