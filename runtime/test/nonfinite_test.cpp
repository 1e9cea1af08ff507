//===- nonfinite_test.cpp - NaN and Inf through the compiled CPU layer ----===//
//
// The documented result of a NaN or an Inf in x or in the weights
// (docs/DESIGN-NOTES.md, "Non-finite input"): the call completes with PRT_OK,
// the non-finite values propagate to the outputs they reach (IEEE), and every
// selection stays a valid one (k within [1, H], a 0/1 token mask with at
// least the guard kept per item, packed pairs within B*H*T). Never a hang
// (CTest's timeout) and never an access outside the buffers: every buffer
// ends at a page boundary followed by a PROT_NONE page, so an overrun by the
// kernels faults.
//
// The bundle comes from the real proteus-compile (like needle_test).
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/proteus_rt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char **environ;

namespace {

constexpr int64_t kC = 32, kH = 4, kG = 4, kB = 2, kT = 96;
const char *kConfigJson = R"({
  "d_model": 32, "h_total": 4, "attn_gates": 4,
  "h_active_min": 1, "h_active_max": 4, "small_seq_dense": 8,
  "seq_low": 8, "seq_high": 64, "linear_window_base": 8,
  "linear_anchor_stride": 8, "linear_L_base": 24, "linear_L_min": 8,
  "linear_L_max": 24, "linear_use_proto": true,
  "linear_piece_local_frac": 0.5, "linear_piece_anchor_frac": 0.3,
  "linear_piece_proto_frac": 0.2, "token_sparse": true,
  "token_keep_ratio_base": 0.5, "token_keep_guard": 4,
  "proto_enabled": true, "bias": true
})";

/// n floats that end exactly at a page followed by a PROT_NONE page.
class Guarded {
public:
  explicit Guarded(size_t n) : n_(n) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t bytes = (n * sizeof(float) + page - 1) / page * page;
    size_ = bytes + page;
    base_ = static_cast<char *>(::mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (base_ == MAP_FAILED)
      std::abort();
    ::mprotect(base_ + bytes, page, PROT_NONE);
    data_ = reinterpret_cast<float *>(base_ + bytes - n * sizeof(float));
  }
  ~Guarded() { ::munmap(base_, size_); }
  Guarded(const Guarded &) = delete;
  Guarded &operator=(const Guarded &) = delete;
  float *data() { return data_; }
  float &operator[](size_t i) { return data_[i]; }
  size_t size() const { return n_; }

private:
  size_t n_, size_;
  char *base_;
  float *data_;
};

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

class NonFiniteTest : public ::testing::TestWithParam<const char *> {
protected:
  static void SetUpTestSuite() {
    const char *env = std::getenv("PROTEUS_COMPILE");
    const std::string compiler = env && *env ? env : PROTEUS_COMPILE_DEFAULT;
    std::string pattern = "/tmp/prt-nonfinite-XXXXXX";
    if (!::mkdtemp(pattern.data()))
      return;
    dir = pattern;
    if (FILE *f = std::fopen((dir + "/layer.json").c_str(), "w")) {
      std::fputs(kConfigJson, f);
      std::fclose(f);
    }
    compiled = run({compiler, "--config", dir + "/layer.json", "--alpha",
                    "0,0.5,1", "--arch", "none", "-o", dir + "/bundle"}) == 0;
  }
  static void TearDownTestSuite() {
    if (!dir.empty())
      run({"/bin/rm", "-rf", dir});
  }
  static std::string dir;
  static bool compiled;
};
std::string NonFiniteTest::dir;
bool NonFiniteTest::compiled = false;

} // namespace

TEST_P(NonFiniteTest, CompletesWithValidSelections) {
  ASSERT_TRUE(compiled) << "proteus-compile failed in " << dir;
  const std::string where = GetParam();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  prt_context *ctx = nullptr;
  prt_context_options co;
  prt_context_options_init(&co);
  co.backend = PRT_BACKEND_CPU;
  ASSERT_EQ(prt_context_create(&ctx, &co), PRT_OK) << prt_last_error();
  prt_bundle *bundle = nullptr;
  ASSERT_EQ(prt_bundle_open(ctx, (dir + "/bundle").c_str(), &bundle), PRT_OK)
      << prt_last_error();
  for (double alpha : {0.0, 0.5, 1.0}) {
    prt_plan_options po;
    prt_plan_options_init(&po);
    po.B = kB;
    po.T = kT;
    po.alpha = alpha;
    prt_plan *plan = nullptr;
    ASSERT_EQ(prt_plan_create(bundle, &po, &plan), PRT_OK) << prt_last_error();
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    auto fill = [&](Guarded &g, float scale) {
      for (size_t i = 0; i < g.size(); ++i)
        g[i] = normal(rng) * scale;
    };
    Guarded x(kB * kT * kC), wQkv(3 * kC * kC), bQkv(3 * kC), wProj(kC * kC),
        bProj(kC), wRouter(kG * kC), protos(kG * kC), usage(kG), conf(kG),
        y(kB * kT * kC), importance(kB * kT);
    const float w = 1.0f / std::sqrt(static_cast<float>(kC));
    fill(x, 1.0f), fill(wQkv, w), fill(bQkv, 0.02f), fill(wProj, w);
    fill(bProj, 0.02f), fill(wRouter, w), fill(protos, 1.0f);
    for (size_t g = 0; g < kG; ++g)
      usage[g] = 1.0f / kG, conf[g] = 0.5f;
    if (where == "x-nan")
      x[kT * kC + 17 * kC + 3] = nan;
    else if (where == "x-inf")
      x[5 * kC] = inf, x[40 * kC + 1] = -inf;
    else if (where == "x-all-nan")
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = nan;
    else if (where == "w-qkv-nan")
      wQkv[kC * kC + 2] = nan;
    else if (where == "w-router-inf")
      wRouter[1] = inf;
    else if (where == "prototypes-nan")
      protos[kC] = nan;
    else if (where == "w-proj-inf") // column 5, head 1's input 9 (D = 8)
      wProj[5 * kC + 9] = inf;
    std::vector<int8_t> mask(kB * kT, -1);
    prt_layer_stats stats{};
    prt_layer_args a{};
    a.B = kB, a.T = kT, a.x = x.data(), a.w_qkv = wQkv.data();
    a.b_qkv = bQkv.data(), a.w_proj = wProj.data(), a.b_proj = bProj.data();
    a.w_router = wRouter.data(), a.prototypes = protos.data();
    a.usage = usage.data(), a.confidence = conf.data(), a.y = y.data();
    a.token_mask = mask.data(), a.importance = importance.data();
    a.stats = &stats;
    ASSERT_EQ(prt_layer_forward(plan, &a), PRT_OK)
        << where << " alpha " << alpha << ": " << prt_last_error();
    EXPECT_GE(stats.top_k, 1) << where;
    EXPECT_LE(stats.top_k, kH) << where;
    EXPECT_GE(stats.packed, 0);
    EXPECT_LE(stats.packed, kB * kH * kT);
    EXPECT_LE(stats.active_rows, kB * kH);
    for (int64_t b = 0; b < kB; ++b) {
      int64_t kept = 0;
      for (int64_t t = 0; t < kT; ++t) {
        const int8_t m = mask[b * kT + t];
        EXPECT_TRUE(m == 0 || m == 1) << where << " mask " << int(m);
        kept += m;
      }
      EXPECT_GE(kept, 4) << where << ": fewer tokens kept than the guard";
    }
    bool anyNonFinite = false;
    for (size_t i = 0; i < y.size(); ++i)
      anyNonFinite |= !std::isfinite(y[i]);
    // Clean input stays finite; poison that reaches y shows there.
    if (where == "clean") {
      EXPECT_FALSE(anyNonFinite);
    }
    if (where == "x-all-nan" || where == "w-qkv-nan") {
      EXPECT_TRUE(anyNonFinite) << where;
    }
    // An Inf in the output projection reaches column 5 of every kept token,
    // through the heads the token does not use too (0 * inf is NaN): the
    // combination may leave a head out only where its weights are finite.
    if (where == "w-proj-inf") {
      for (int64_t i = 0; i < kB * kT; ++i) {
        if (mask[i] == 1) {
          EXPECT_FALSE(std::isfinite(y[i * kC + 5]))
              << where << " alpha " << alpha << " token " << i;
        }
      }
    }
    prt_plan_destroy(plan);
  }
  prt_bundle_close(bundle);
  prt_context_destroy(ctx);
}

INSTANTIATE_TEST_SUITE_P(Inputs, NonFiniteTest,
                         ::testing::Values("clean", "x-nan", "x-inf",
                                           "x-all-nan", "w-qkv-nan",
                                           "w-router-inf", "prototypes-nan",
                                           "w-proj-inf"));
