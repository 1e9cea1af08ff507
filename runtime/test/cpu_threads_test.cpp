//===- cpu_threads_test.cpp - The CPU layer is the same on any thread count
//===//
//
// Neither the CPU path's parallel loops (prt_context_options.cpu_threads)
// nor the CPU library's instruction set (proteus-compile --cpu) may change a
// bit of the layer's outputs: the real proteus-compile builds two small
// bundles, each for x86-64-v3 and for the x86-64 baseline, when the test
// starts (PROTEUS_COMPILE, else the compiler of this build), and every output
// of the layer (y, the token mask, importance and the updated prototypes,
// usage and confidence) from contexts of 1, 2 and 3 threads and from the
// baseline library is compared with memcmp on random inputs of several shapes
// and settings: T of 1 and not divisible by any block size, B > 1, dense and
// shortlist attention, token selection, prototypes and the prototype
// candidate piece, bias, the prototype update.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <vector>

extern char **environ;

namespace {

/// Prototypes with the usage boost, token selection, all three candidate
/// pieces, bias; C = 32, H = 4 (D = 8), G = 8.
const char *kProtoConfig = R"({
  "d_model": 32, "h_total": 4, "attn_gates": 8,
  "h_active_min": 1, "h_active_max": 4, "small_seq_dense": 4,
  "seq_low": 8, "seq_high": 64, "linear_switch_ctx": 256,
  "linear_window_base": 8, "linear_anchor_stride": 4,
  "linear_L_base": 24, "linear_L_min": 8, "linear_L_max": 24,
  "linear_use_local": true, "linear_use_anchors": true, "linear_use_proto": true,
  "linear_piece_local_frac": 0.5, "linear_piece_anchor_frac": 0.25,
  "linear_piece_proto_frac": 0.25,
  "token_sparse": true, "token_keep_ratio_base": 0.5,
  "linear_token_keep_schedule": "fixed", "linear_token_keep_ratio_min": 0.5,
  "token_keep_guard": 3, "proto_enabled": true, "proto_usage_boost": 0.15,
  "bias": true
})";

/// No prototypes or token selection, 3 heads of 16 (C = 48, G = 6).
const char *kPlainConfig = R"({
  "d_model": 48, "h_total": 3, "attn_gates": 6,
  "h_active_min": 1, "h_active_max": 3, "small_seq_dense": 4,
  "seq_low": 8, "seq_high": 64, "linear_switch_ctx": 256,
  "linear_window_base": 16, "linear_anchor_stride": 8,
  "linear_L_base": 32, "linear_L_min": 16, "linear_L_max": 32
})";

/// Runs `argv` and returns its exit status (-1 if it could not start).
int run(const std::vector<std::string> &argv) {
  std::vector<char *> args;
  for (const std::string &a : argv)
    args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0)
    return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

/// Everything one layer call writes.
struct Outputs {
  std::vector<float> y, importance, protos, usage, conf;
  std::vector<int8_t> mask;
};

class CpuThreadsTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    const char *env = std::getenv("PROTEUS_COMPILE");
    const std::string compiler = env && *env ? env : PROTEUS_COMPILE_DEFAULT;
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/prt-threads-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      setupError = "mkdtemp failed for " + pattern;
      return;
    }
    dir = pattern;
    for (auto [name, json] :
         {std::pair{"proto", kProtoConfig}, std::pair{"plain", kPlainConfig}}) {
      const std::string cfg = dir + "/" + name + ".json";
      if (FILE *f = std::fopen(cfg.c_str(), "w")) {
        std::fputs(json, f);
        std::fclose(f);
      }
      for (const char *isa : {"x86-64-v3", "x86-64"}) {
        const std::string out =
            dir + "/" + name + (std::string(isa) == "x86-64" ? "-base" : "");
        if (int rc = run({compiler, "--config", cfg, "--alpha", "0,1", "--arch",
                          "none", "--cpu", isa, "-o", out});
            rc != 0) {
          setupError =
              compiler + " --cpu " + isa + " exited with " + std::to_string(rc);
          return;
        }
      }
    }
  }

  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ec);
  }

  void SetUp() override { ASSERT_TRUE(setupError.empty()) << setupError; }

  /// One layer call of bundle `name` at `alpha` on a context of `threads`
  /// threads, on inputs drawn from `seed`.
  static Outputs forward(const std::string &name, int threads, double alpha,
                         int64_t B, int64_t T, int64_t C, int64_t G,
                         bool update, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.0f, 0.5f);
    auto draw = [&](int64_t count) {
      std::vector<float> v(static_cast<size_t>(count));
      for (float &f : v)
        f = n(rng);
      return v;
    };
    std::vector<float> x = draw(B * T * C), wQkv = draw(3 * C * C),
                       bQkv = draw(3 * C), wProj = draw(C * C), bProj = draw(C),
                       wRouter = draw(G * C);
    Outputs o;
    o.protos = draw(G * C);
    o.usage = draw(G);
    o.conf = draw(G);
    for (float &u : o.usage)
      u = std::abs(u);
    o.y.assign(static_cast<size_t>(B * T * C), NAN);
    o.importance.assign(static_cast<size_t>(B * T), NAN);
    o.mask.assign(static_cast<size_t>(B * T), 7);

    prt_context_options co;
    prt_context_options_init(&co);
    co.backend = PRT_BACKEND_CPU;
    co.cpu_threads = threads;
    prt_context *ctx = nullptr;
    prt_bundle *bundle = nullptr;
    prt_plan *plan = nullptr;
    prt_plan_options po;
    prt_plan_options_init(&po);
    po.B = B;
    po.T = T;
    po.alpha = alpha;
    po.update_prototypes = update ? 1 : 0;
    prt_layer_args a{};
    a.B = B;
    a.T = T;
    a.x = x.data();
    a.w_qkv = wQkv.data();
    a.b_qkv = bQkv.data();
    a.w_proj = wProj.data();
    a.b_proj = bProj.data();
    a.w_router = wRouter.data();
    a.prototypes = o.protos.data();
    a.usage = o.usage.data();
    a.confidence = o.conf.data();
    a.y = o.y.data();
    a.token_mask = o.mask.data();
    a.importance = o.importance.data();
    const std::string path = dir + "/" + name;
    EXPECT_EQ(prt_context_create(&ctx, &co), PRT_OK) << prt_last_error();
    EXPECT_EQ(prt_bundle_open(ctx, path.c_str(), &bundle), PRT_OK)
        << prt_last_error();
    EXPECT_EQ(prt_plan_create(bundle, &po, &plan), PRT_OK) << prt_last_error();
    EXPECT_EQ(prt_layer_forward(plan, &a), PRT_OK) << prt_last_error();
    prt_plan_destroy(plan);
    prt_bundle_close(bundle);
    prt_context_destroy(ctx);
    return o;
  }

  /// 1, 2 and 3 threads, and the baseline library on 1, give the same bytes.
  static void expectSame(const std::string &name, double alpha, int64_t B,
                         int64_t T, int64_t C, int64_t G, bool update) {
    SCOPED_TRACE(name + " alpha " + std::to_string(alpha) + " B " +
                 std::to_string(B) + " T " + std::to_string(T));
    const uint32_t seed = static_cast<uint32_t>(B * 1000 + T);
    Outputs one = forward(name, 1, alpha, B, T, C, G, update, seed);
    for (auto [bundle, threads] : {std::pair{name, 2}, std::pair{name, 3},
                                   std::pair{name + "-base", 1}}) {
      SCOPED_TRACE(bundle + ", " + std::to_string(threads) + " threads");
      Outputs many = forward(bundle, threads, alpha, B, T, C, G, update, seed);
      auto same = [](const auto &u, const auto &v) {
        return u.size() == v.size() &&
               std::memcmp(u.data(), v.data(), u.size() * sizeof(u[0])) == 0;
      };
      EXPECT_TRUE(same(one.y, many.y)) << "y";
      EXPECT_TRUE(same(one.mask, many.mask)) << "token mask";
      EXPECT_TRUE(same(one.importance, many.importance)) << "importance";
      EXPECT_TRUE(same(one.protos, many.protos)) << "prototypes";
      EXPECT_TRUE(same(one.usage, many.usage)) << "usage";
      EXPECT_TRUE(same(one.conf, many.conf)) << "confidence";
    }
  }

  static std::string dir, setupError;
};

std::string CpuThreadsTest::dir;
std::string CpuThreadsTest::setupError;

TEST_F(CpuThreadsTest, PrototypesAndTokenSelection) {
  for (double alpha : {0.0, 1.0})
    for (auto [B, T] :
         {std::pair<int64_t, int64_t>{1, 1}, {1, 97}, {2, 301}, {3, 1000}})
      expectSame("proto", alpha, B, T, 32, 8, /*update=*/T > 1);
}

TEST_F(CpuThreadsTest, PlainLayer) {
  for (double alpha : {0.0, 1.0})
    for (auto [B, T] : {std::pair<int64_t, int64_t>{1, 5}, {2, 131}, {1, 777}})
      expectSame("plain", alpha, B, T, 48, 6, /*update=*/false);
}

TEST_F(CpuThreadsTest, NegativeThreadCountIsRejected) {
  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = PRT_BACKEND_CPU;
  co.cpu_threads = -1;
  prt_context *ctx = nullptr;
  EXPECT_EQ(prt_context_create(&ctx, &co), PRT_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(prt_last_error()).find("cpu_threads"),
            std::string::npos)
      << prt_last_error();
  EXPECT_EQ(ctx, nullptr);
}

} // namespace
