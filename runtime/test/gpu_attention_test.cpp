//===- gpu_attention_test.cpp - prt_gpu_* and events: argument checks -----===//
//
// The GPU attention entry points check everything that needs no GPU before
// they ask for one: these tests drive every such refusal on a CPU context
// (so they read the same on every machine) and end each sequence with the
// refusal of the CPU context itself. The kernels' results are checked on a
// GPU by gpu_attention_check.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include "proteus_rt/config_json.h"

#include <gtest/gtest.h>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

constexpr int64_t kT = 4096;

/// D = 16 (C = 128, H = 8); settings alpha 0 and 1.
json configD16(bool proto = false) {
  json c = {{"d_model", 128}, {"h_total", 8}};
  if (proto) {
    c["linear_use_proto"] = true;
    c["linear_piece_proto_frac"] = 0.2;
    c["linear_piece_local_frac"] = 0.5;
    c["linear_piece_anchor_frac"] = 0.3;
  }
  return c;
}

/// A bundle folder and a CPU context with the bundle open.
class GpuAttentionArgs : public ::testing::Test {
protected:
  void open(const json &config, std::vector<std::string> archs,
            const std::string &gpuNote = "") {
    BundleSpec spec;
    spec.config = config;
    spec.settings = {{0.0, 1.0}, {1.0, 1.0}};
    spec.ptxArchs = std::move(archs);
    makeBundle(dir_.path(), spec);
    if (!gpuNote.empty()) {
      json m = manifestFor(dir_.path(), spec);
      m[kManifestGpuNote] = gpuNote;
      writeManifest(dir_.path(), m);
    }
    prt_context_options o;
    prt_context_options_init(&o);
    o.backend = PRT_BACKEND_CPU;
    ASSERT_EQ(prt_context_create(&ctx_, &o), PRT_OK) << prt_last_error();
    ASSERT_EQ(prt_bundle_open(ctx_, dir_.path().c_str(), &bundle_), PRT_OK)
        << prt_last_error();
    Config c;
    std::string error;
    ASSERT_TRUE(parseConfigJson(config.dump(), c, error)) << error;
    budget_ = makeBudget(c, 1, kT, 1.0, false).budget;
    budgetAlpha0_ = makeBudget(c, 1, kT, 0.0, false).budget;
  }
  void TearDown() override {
    prt_bundle_close(bundle_);
    prt_context_destroy(ctx_);
  }

  /// A rule-form call on setting 1 (alpha 1) with its own budget and
  /// disjoint, aligned (never dereferenced) device addresses.
  prt_gpu_shortlist_attention_args ruleArgs() {
    prt_gpu_shortlist_attention_args a{};
    a.setting = 1;
    a.dtype = PRT_DTYPE_BF16;
    a.R = 4;
    a.T = kT;
    a.D = 16;
    a.q = 0x10000000;
    a.k = 0x20000000;
    a.v = 0x30000000;
    a.out = 0x40000000;
    a.N = 100;
    a.packed_row = 0x50000000;
    a.packed_token = 0x60000000;
    a.budget = budget_.data();
    a.budget_size = static_cast<int64_t>(budget_.size());
    return a;
  }
  prt_gpu_shortlist_attention_args listedArgs() {
    prt_gpu_shortlist_attention_args a = ruleArgs();
    a.budget = nullptr;
    a.budget_size = 0;
    a.L = 64;
    a.candidates = 0x70000000;
    a.lengths = 0x80000000;
    return a;
  }
  prt_gpu_dense_attention_args denseArgs() {
    prt_gpu_dense_attention_args a{};
    a.setting = 0;
    a.dtype = PRT_DTYPE_F32;
    a.R = 2;
    a.T = kT;
    a.D = 16;
    a.q = 0x10000000;
    a.k = 0x20000000;
    a.v = 0x30000000;
    a.out = 0x40000000;
    return a;
  }

  TempDir dir_;
  prt_context *ctx_ = nullptr;
  prt_bundle *bundle_ = nullptr;
  std::vector<int64_t> budget_, budgetAlpha0_;
};

TEST(GpuAttentionDtype, NamesAndSizes) {
  EXPECT_STREQ(prt_dtype_name(PRT_DTYPE_F32), "f32");
  EXPECT_STREQ(prt_dtype_name(PRT_DTYPE_BF16), "bf16");
  EXPECT_STREQ(prt_dtype_name(PRT_DTYPE_F16), "f16");
  EXPECT_STREQ(prt_dtype_name(static_cast<prt_dtype>(9)), "unknown");
  EXPECT_EQ(prt_dtype_size(PRT_DTYPE_F32), 4);
  EXPECT_EQ(prt_dtype_size(PRT_DTYPE_BF16), 2);
  EXPECT_EQ(prt_dtype_size(PRT_DTYPE_F16), 2);
  EXPECT_EQ(prt_dtype_size(static_cast<prt_dtype>(9)), 0);
}

TEST_F(GpuAttentionArgs, ShortlistRuleForm) {
  open(configD16(), {"sm_90"});
  auto call = [&](const prt_gpu_shortlist_attention_args &a) {
    return prt_gpu_shortlist_attention(bundle_, &a);
  };
  prt_gpu_shortlist_attention_args a = ruleArgs();
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  EXPECT_STATUS(prt_gpu_shortlist_attention(nullptr, &a),
                PRT_ERR_INVALID_ARGUMENT, "bundle is NULL");
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "args is NULL");

  a = ruleArgs();
  a.dtype = static_cast<prt_dtype>(7);
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.dtype is 7");
  a = ruleArgs();
  a.setting = 2;
  EXPECT_STATUS(call(a), PRT_ERR_NOT_FOUND, "the bundle has 2 setting(s)");
  a = ruleArgs();
  a.D = 32;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "its head dim 16");
  a = ruleArgs();
  a.R = 0;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "must be >= 1");
  a = ruleArgs();
  a.N = -1;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.N is -1");

  // Pointers: null, misaligned, out overlapping an input.
  a = ruleArgs();
  a.k = 0;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.k is 0");
  a = ruleArgs();
  a.packed_token = 0;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.packed_token is 0");
  a = ruleArgs();
  a.N = 0;
  a.packed_row = a.packed_token = 0; // nothing packed: nothing to read
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  a = ruleArgs();
  a.q += 1;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "not aligned to its 2-byte");
  a = ruleArgs();
  a.packed_row += 4;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "not aligned to its 8-byte");
  a = ruleArgs();
  a.out = a.v + 64; // inside v (4 * 4096 * 16 * 2 bytes)
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.out [");
  EXPECT_NE(std::string(prt_last_error()).find("overlaps args.v"),
            std::string::npos)
      << prt_last_error();
  a = ruleArgs();
  a.out = a.v + 4 * kT * 16 * 2; // adjacent is fine
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");

  // The budget: present, of this bundle, for T, and the setting's own.
  a = ruleArgs();
  a.budget = nullptr;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.budget is NULL");
  a = ruleArgs();
  a.budget_size -= 1;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.budget_size");
  a = ruleArgs();
  a.T = kT - 1;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "budget[kBudgetT] is 4096");
  a = ruleArgs();
  a.budget = budgetAlpha0_.data(); // alpha 0's budget for the alpha 1 kernel
  ASSERT_NE(budgetAlpha0_[kBudgetLocalCap], budget_[kBudgetLocalCap]);
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "setting 1 (alpha 1)");
  a.setting = 0;
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  std::vector<int64_t> bad = budget_;
  bad[kBudgetEffectiveL] = 0;
  a = ruleArgs();
  a.budget = bad.data();
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "must be >= 1");
  a = ruleArgs();
  a.lengths = 0x80000000;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "pass both");
}

TEST_F(GpuAttentionArgs, ShortlistListedForm) {
  open(configD16(), {"sm_90"});
  auto call = [&](const prt_gpu_shortlist_attention_args &a) {
    return prt_gpu_shortlist_attention(bundle_, &a);
  };
  prt_gpu_shortlist_attention_args a = listedArgs();
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  a.L = 0;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.L is 0");
  a = listedArgs();
  a.lengths = 0;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.lengths is 0");
  a = listedArgs();
  a.out = a.candidates + 8; // the output may not overlap the index arrays
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "overlaps args.candidates");
  a = listedArgs();
  a.candidates += 2;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.candidates = 0x");
  a = listedArgs();
  a.dtype = PRT_DTYPE_F32;
  a.D = 8;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "its head dim 16");
}

TEST_F(GpuAttentionArgs, Int8RuleFormHasAKernel) {
  // INT8 quantizes in the rule kernel: the call gets past every argument
  // check to the context (this one uses the CPU).
  json config = configD16();
  config["quantize_sparse_int8"] = true;
  open(config, {"sm_90"});
  prt_gpu_shortlist_attention_args a = ruleArgs();
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, &a), PRT_ERR_UNSUPPORTED,
                "needs a GPU context");
}

TEST_F(GpuAttentionArgs, RuleWithoutGpuKernelQuotesTheNote) {
  const std::string note = "the in-kernel candidate rule is CPU-only for the "
                           "prototype candidate piece with L_max 2048";
  json config = configD16();
  config["linear_use_proto"] = true;
  config["linear_L_max"] = 2048;
  open(config, {"sm_90"}, note);
  prt_gpu_shortlist_attention_args a = ruleArgs();
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, &a), PRT_ERR_UNSUPPORTED,
                "gpu_note: " + note);
  EXPECT_NE(std::string(prt_last_error()).find("L_max 2048 > 1407"),
            std::string::npos)
      << prt_last_error();
  EXPECT_NE(std::string(prt_last_error()).find("prt_shortlist"),
            std::string::npos)
      << prt_last_error();
  // The listed form and dense attention have kernels.
  a = listedArgs();
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, &a), PRT_ERR_UNSUPPORTED,
                "needs a GPU context");
  prt_gpu_dense_attention_args d = denseArgs();
  EXPECT_STATUS(prt_gpu_dense_attention(bundle_, &d), PRT_ERR_UNSUPPORTED,
                "needs a GPU context");
}

TEST_F(GpuAttentionArgs, PrototypePieceTakesTheScores) {
  open(configD16(/*proto=*/true), {"sm_90"});
  auto call = [&](const prt_gpu_shortlist_attention_args &a) {
    return prt_gpu_shortlist_attention(bundle_, &a);
  };
  prt_gpu_shortlist_attention_args a = ruleArgs();
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT,
                "args.proto_scores is 0: the configuration uses the prototype");
  a.proto_scores = 0x90000000;
  a.B = 2; // R = 4: two rows per batch item
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  a.B = 3;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.B is 3, must be >= 1 and divide");
  a.B = 0;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.B is 0");
  a.B = 1;
  a.proto_scores += 2;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "not aligned to its 4-byte");
  a.proto_scores = a.out + 64; // the output may not overlap the scores
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT,
                "overlaps args.proto_scores");
  // The listed form takes none.
  a = listedArgs();
  a.proto_scores = 0x90000000;
  a.B = 1;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT,
                "the listed form takes no scores");
}

TEST_F(GpuAttentionArgs, ScoresWithoutPrototypePieceAreRefused) {
  open(configD16(), {"sm_90"});
  prt_gpu_shortlist_attention_args a = ruleArgs();
  a.proto_scores = 0x90000000;
  a.B = 1;
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, &a),
                PRT_ERR_INVALID_ARGUMENT,
                "the configuration has no prototype piece: leave them 0");
}

TEST_F(GpuAttentionArgs, BundleWithoutPtxQuotesTheNote) {
  const std::string note = "no PTX: head dim 12 (the GPU kernels need D "
                           "dividing 32 or a multiple of 32)";
  open({{"d_model", 96}, {"h_total", 8}}, {}, note);
  prt_gpu_dense_attention_args d = denseArgs();
  d.D = 12;
  EXPECT_STATUS(prt_gpu_dense_attention(bundle_, &d), PRT_ERR_UNSUPPORTED,
                "has no PTX (gpu_note: " + note + ")");
  prt_gpu_shortlist_attention_args a = listedArgs();
  a.D = 12;
  EXPECT_STATUS(prt_gpu_shortlist_attention(bundle_, &a), PRT_ERR_UNSUPPORTED,
                "gpu_note: " + note);
}

TEST_F(GpuAttentionArgs, Dense) {
  open(configD16(), {"sm_90"});
  auto call = [&](const prt_gpu_dense_attention_args &a) {
    return prt_gpu_dense_attention(bundle_, &a);
  };
  prt_gpu_dense_attention_args a = denseArgs();
  EXPECT_STATUS(call(a), PRT_ERR_UNSUPPORTED, "needs a GPU context");
  EXPECT_STATUS(prt_gpu_dense_attention(bundle_, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "args is NULL");
  a.dtype = static_cast<prt_dtype>(-1);
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.dtype is -1");
  a = denseArgs();
  a.D = 64;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "args.D is 64");
  a = denseArgs();
  a.T = int64_t(1) << 48;
  EXPECT_STATUS(call(a), PRT_ERR_SHAPE, "impossible size");
  a = denseArgs();
  a.out = a.q;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "overlaps args.q");
  a = denseArgs();
  a.v = 0;
  EXPECT_STATUS(call(a), PRT_ERR_INVALID_ARGUMENT, "args.v is 0");
  a = denseArgs();
  a.setting = -1;
  EXPECT_STATUS(call(a), PRT_ERR_NOT_FOUND, "args.setting is -1");
}

TEST_F(GpuAttentionArgs, CpuDenseAttentionArguments) {
  open(configD16(), {});
  std::vector<float> buf(2 * 3 * 16, 0.5f), out(buf.size());
  prt_dense_attention_args a{2,          3,          16,        buf.data(),
                             buf.data(), buf.data(), out.data()};
  a.R = 0;
  EXPECT_STATUS(prt_dense_attention(bundle_, &a), PRT_ERR_SHAPE,
                "must be >= 1");
  a.R = 2;
  a.k = nullptr;
  EXPECT_STATUS(prt_dense_attention(bundle_, &a), PRT_ERR_INVALID_ARGUMENT,
                "args.k is NULL");
  EXPECT_STATUS(prt_dense_attention(nullptr, &a), PRT_ERR_INVALID_ARGUMENT,
                "bundle is NULL");
}

TEST_F(GpuAttentionArgs, StreamsAndEventsNeedAGpu) {
  open(configD16(), {"sm_90"});
  prt_event e = nullptr;
  EXPECT_STATUS(prt_event_create(ctx_, &e), PRT_ERR_UNSUPPORTED, "CPU backend");
  EXPECT_EQ(e, nullptr);
  EXPECT_STATUS(prt_event_create(ctx_, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "event is NULL");
  EXPECT_STATUS(prt_event_record(ctx_, e, nullptr), PRT_ERR_UNSUPPORTED,
                "CPU backend");
  float ms = 0;
  EXPECT_STATUS(prt_event_elapsed_ms(ctx_, e, e, &ms), PRT_ERR_UNSUPPORTED,
                "CPU backend");
  EXPECT_STATUS(prt_stream_synchronize(ctx_, nullptr), PRT_ERR_UNSUPPORTED,
                "CPU backend");
  EXPECT_STATUS(prt_stream_synchronize(nullptr, nullptr),
                PRT_ERR_INVALID_ARGUMENT, "context is NULL");
}

TEST(GpuAttentionManifest, GpuNote) {
  const nlohmann::json base = {
      {"format_version", kBundleFormatVersion},
      {"config", nlohmann::json::object()},
      {"settings", {{{"alpha", 0}, {"density", 1}}}},
      {"files",
       {{"cpu/libproteus_kernels.so",
         {{"xxh3", "0000000000000000"}, {"bytes", 0}}}}}};
  auto with = [&](const nlohmann::json &note) {
    nlohmann::json m = base;
    if (!note.is_null())
      m["gpu_note"] = note;
    seal(m);
    return m.dump();
  };
  Manifest m = parseManifest(with(nullptr), "");
  EXPECT_EQ(m.gpuNote, "");
  m = parseManifest(with("no PTX: why"), "");
  EXPECT_EQ(m.gpuNote, "no PTX: why");
  try {
    parseManifest(with(3), "");
    ADD_FAILURE() << "a numeric gpu_note was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(e.status, PRT_ERR_BUNDLE);
    EXPECT_NE(std::string(e.what()).find("'gpu_note' must be a string"),
              std::string::npos)
        << e.what();
  }
}

} // namespace
