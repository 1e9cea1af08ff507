//===- top_a_test.cpp - prt_top_a's checks and the layer's consensus ------===//
//
// The Top-A entry points refuse every bad argument with its status and a
// message before anything runs (the sampler itself is checked against the
// golden cases by proteus-run --golden, and on the GPU by gpu_check.sh's
// top-a steps). The layer's head consensus, from the reference-kernels test
// double, projected by W_proj (+ b_proj) gives y at the same positions.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

class TopATest : public ::testing::Test {
protected:
  static constexpr int64_t C = 32, G = 8;
  void SetUp() override {
    prt_context_options o;
    ASSERT_OK(prt_context_options_init(&o));
    o.backend = PRT_BACKEND_CPU;
    ASSERT_OK(prt_context_create(&ctx, &o));
    BundleSpec spec;
    spec.config = {{"d_model", C},
                   {"h_total", 4},
                   {"attn_gates", G},
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
                   {"linear_switch_ctx", 256},
                   {"bias", true}};
    spec.settings = {{1.0, 1.0}};
    makeBundle(tmp / "bundle", spec);
    ASSERT_OK(prt_bundle_open(ctx, (tmp / "bundle").c_str(), &bundle));
  }
  void TearDown() override {
    prt_bundle_close(bundle);
    prt_context_destroy(ctx);
  }
  /// Valid arguments of a blend call on host buffers: B 2, V 16.
  prt_top_a_args valid() {
    prt_top_a_args a{};
    a.B = 2;
    a.V = 16;
    a.C = C;
    a.dtype = PRT_DTYPE_F32;
    a.logits = logits.data();
    a.consensus = consensus.data();
    a.embedding = embedding.data();
    a.uniform = uniform.data();
    a.mode = PRT_TOP_A_BLEND;
    a.top_p = 0.9;
    a.lambda = 0.5;
    a.tau = 0.7;
    a.kept = kept.data();
    a.probs = probs.data();
    a.counts = counts.data();
    a.sample = sample.data();
    return a;
  }

  TempDir tmp;
  prt_context *ctx = nullptr;
  prt_bundle *bundle = nullptr;
  std::vector<float> logits = std::vector<float>(32, 0.5f),
                     consensus = std::vector<float>(2 * C, 1.0f),
                     embedding = std::vector<float>(16 * C, 1.0f),
                     uniform = {0.25f, 0.75f}, probs = std::vector<float>(32);
  std::vector<int64_t> kept = std::vector<int64_t>(32),
                       counts = std::vector<int64_t>(4),
                       sample = std::vector<int64_t>(2);
};

} // namespace

TEST_F(TopATest, RefusesBadArguments) {
  EXPECT_STATUS(prt_top_a(nullptr, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "bundle is NULL");
  EXPECT_STATUS(prt_top_a(bundle, nullptr), PRT_ERR_INVALID_ARGUMENT,
                "args is NULL");
  struct Case {
    std::function<void(prt_top_a_args &)> edit;
    prt_status status;
    const char *message;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const Case cases[] = {
      {[](prt_top_a_args &a) { a.B = 0; }, PRT_ERR_SHAPE,
       "args.B, args.V and args.C must be >= 1 (are 0, 16, 32)"},
      {[](prt_top_a_args &a) { a.V = -1; }, PRT_ERR_SHAPE,
       "args.B, args.V and args.C must be >= 1"},
      {[](prt_top_a_args &a) { a.mode = static_cast<prt_top_a_mode>(7); },
       PRT_ERR_INVALID_ARGUMENT,
       "args.mode is 7, not PRT_TOP_A_OFF, PRT_TOP_A_BLEND or "
       "PRT_TOP_A_FILTER"},
      {[](prt_top_a_args &a) { a.dtype = PRT_DTYPE_F16; },
       PRT_ERR_INVALID_ARGUMENT,
       "args.dtype is f16; Top-A takes PRT_DTYPE_F32 or PRT_DTYPE_BF16"},
      {[](prt_top_a_args &a) { a.logits = nullptr; }, PRT_ERR_INVALID_ARGUMENT,
       "args.logits is NULL"},
      {[](prt_top_a_args &a) { a.uniform = nullptr; }, PRT_ERR_INVALID_ARGUMENT,
       "args.uniform is NULL"},
      {[](prt_top_a_args &a) { a.kept = nullptr; }, PRT_ERR_INVALID_ARGUMENT,
       "args.kept is NULL"},
      {[](prt_top_a_args &a) { a.consensus = nullptr; },
       PRT_ERR_INVALID_ARGUMENT, "args.consensus is NULL"},
      {[](prt_top_a_args &a) { a.embedding = nullptr; },
       PRT_ERR_INVALID_ARGUMENT, "args.embedding is NULL"},
      {[](prt_top_a_args &a) { a.top_p = 1.5; }, PRT_ERR_INVALID_ARGUMENT,
       "args.top_p is 1.5, must be in [0, 1]"},
      {[&](prt_top_a_args &a) { a.lambda = inf; }, PRT_ERR_INVALID_ARGUMENT,
       "args.lambda is inf, must be finite"},
      {[](prt_top_a_args &a) { a.tau = 0.0; }, PRT_ERR_INVALID_ARGUMENT,
       "args.tau is 0, must be positive and finite"},
      {[](prt_top_a_args &a) {
         a.mode = PRT_TOP_A_FILTER;
         a.threshold = std::nan("");
       },
       PRT_ERR_INVALID_ARGUMENT, "args.threshold is NaN (mode filter)"},
  };
  for (const Case &c : cases) {
    prt_top_a_args a = valid();
    c.edit(a);
    EXPECT_STATUS(prt_top_a(bundle, &a), c.status, c.message);
    EXPECT_STATUS(prt_gpu_top_a(bundle, &a), c.status, c.message);
  }
  // The uniform numbers are host values only prt_top_a reads.
  uniform[1] = 1.0f;
  prt_top_a_args a = valid();
  EXPECT_STATUS(prt_top_a(bundle, &a), PRT_ERR_INVALID_ARGUMENT,
                "args.uniform[1] is 1, must be in [0, 1)");
  uniform[1] = 0.75f;
  // Mode off needs neither consensus nor embedding.
  a = valid();
  a.mode = PRT_TOP_A_OFF;
  a.consensus = nullptr;
  a.embedding = nullptr;
  // The test double's library has no Top-A entry point: the symbol is named.
  EXPECT_STATUS(prt_top_a(bundle, &a), PRT_ERR_NOT_FOUND,
                "_mlir_ciface_proteus_top_a_off_f32");
  a.dtype = PRT_DTYPE_BF16;
  EXPECT_STATUS(prt_top_a(bundle, &a), PRT_ERR_NOT_FOUND,
                "_mlir_ciface_proteus_top_a_off_bf16");
  EXPECT_STATUS(prt_gpu_top_a(bundle, &a), PRT_ERR_UNSUPPORTED,
                "prt_gpu_top_a needs a GPU context");
}

TEST_F(TopATest, ConsensusProjectsToY) {
  const int64_t B = 2, T = 12; // above small_seq_dense: the routed path
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 0.3f);
  auto random = [&](size_t size) {
    std::vector<float> v(size);
    for (float &f : v)
      f = n(rng);
    return v;
  };
  std::vector<float> x = random(B * T * C), wQkv = random(3 * C * C),
                     bQkv = random(3 * C), wProj = random(C * C),
                     bProj = random(C), wRouter = random(G * C),
                     y(B * T * C, NAN), last(B * C, NAN), every(B * T * C, NAN);
  prt_plan_options o;
  ASSERT_OK(prt_plan_options_init(&o));
  o.B = B;
  o.T = T;
  prt_plan *plan = nullptr;
  ASSERT_OK(prt_plan_create(bundle, &o, &plan));
  prt_layer_args a{};
  a.B = B;
  a.T = T;
  a.x = x.data();
  a.w_qkv = wQkv.data();
  a.b_qkv = bQkv.data();
  a.w_proj = wProj.data();
  a.b_proj = bProj.data();
  a.w_router = wRouter.data();
  a.y = y.data();
  a.consensus = last.data();
  ASSERT_OK(prt_layer_forward(plan, &a));
  a.consensus = every.data();
  a.consensus_all_positions = 1;
  ASSERT_OK(prt_layer_forward(plan, &a));
  prt_plan_destroy(plan);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      const float *c = &every[(b * T + t) * C];
      if (t == T - 1) {
        for (int64_t j = 0; j < C; ++j)
          EXPECT_EQ(last[b * C + j], c[j]) << "b " << b << " col " << j;
      }
      for (int64_t col = 0; col < C; ++col) {
        double v = bProj[col];
        for (int64_t j = 0; j < C; ++j)
          v += static_cast<double>(wProj[col * C + j]) * c[j];
        EXPECT_NEAR(v, y[(b * T + t) * C + col], 1e-5 * (1 + std::fabs(v)))
            << "b " << b << " t " << t << " col " << col;
      }
    }
  }
}
