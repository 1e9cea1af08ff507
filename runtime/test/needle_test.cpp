//===- needle_test.cpp - Needle, jigsaw and recall on compiled kernels ----===//
//
// The reference's "needle in a haystack" and "jigsaw" checks
// (REFERENCE.md 9.2), which it only prints, turned into assertions. Every
// number comes from the kernels of a bundle that the real proteus-compile
// builds when the test starts (PROTEUS_COMPILE, else the compiler of this
// build): token selection through prt_select_tokens, candidate lists through
// prt_shortlist, attention through prt_shortlist_attention. The test only
// fabricates importance (0.05 N(0,1) plus boosts at chosen positions) and
// checks properties of what the kernels return.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/contract.h"
#include "proteus_rt/proteus_rt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <random>
#include <set>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <vector>

extern char **environ;

using namespace proteus_rt;

namespace {

constexpr int64_t kT = 8192;
constexpr int64_t kGuard = 8;
constexpr double kKeepRatio = 0.02; // ~164 of 8192 tokens kept
constexpr int64_t kNeedle = 5231;   // the reference script's needle index
constexpr double kNoise = 0.05;

/// The layer configuration of the bundle: token selection with a fixed 2%
/// keep ratio and guard 8, and all three candidate pieces (local window,
/// anchors, prototype salience, which needs prototypes enabled). The layer
/// itself is not run; it is small so that the bundle (CPU library only,
/// `--arch none`) compiles in about a second.
const char *kConfigJson = R"({
  "d_model": 16, "h_total": 2, "attn_gates": 4,
  "h_active_min": 1, "h_active_max": 2, "small_seq_dense": 8,
  "seq_low": 8, "seq_high": 64,
  "linear_use_local": true, "linear_use_anchors": true, "linear_use_proto": true,
  "linear_piece_local_frac": 0.6, "linear_piece_anchor_frac": 0.3,
  "linear_piece_proto_frac": 0.1,
  "token_sparse": true, "token_keep_ratio_base": 0.02,
  "linear_token_keep_schedule": "fixed", "linear_token_keep_ratio_min": 0.02,
  "token_keep_guard": 8, "token_keep_threshold": 0.0, "proto_enabled": true
})";

/// Standard normal draws from a seeded mt19937 (Box-Muller on 24-bit
/// uniforms, so the haystacks are the same with every standard library).
class Normal {
public:
  explicit Normal(uint32_t seed) : rng_(seed) {}
  double operator()() {
    double u1 = (static_cast<double>(rng_() >> 8) + 1.0) / 16777217.0;
    double u2 = static_cast<double>(rng_() >> 8) / 16777216.0;
    return std::sqrt(-2.0 * std::log(u1)) *
           std::cos(2.0 * 3.14159265358979323846 * u2);
  }

private:
  std::mt19937 rng_;
};

/// 0.05 N(0,1) importance of length kT for `seed`.
std::vector<float> haystack(uint32_t seed) {
  Normal n(seed);
  std::vector<float> v(kT);
  for (float &x : v)
    x = static_cast<float>(kNoise * n());
  return v;
}

/// B haystacks (seeds seed, seed + 1, ...) rounded to halves of the noise's
/// sigma: about 9 distinct values, so most entries are tied.
std::vector<float> tiedHaystacks(int64_t B, uint32_t seed) {
  std::vector<float> v;
  for (int64_t b = 0; b < B; ++b)
    for (float x : haystack(seed + static_cast<uint32_t>(b)))
      v.push_back(std::round(x / kNoise * 2.0f) / 2.0f);
  return v;
}

#define ASSERT_OK(call)                                                        \
  do {                                                                         \
    prt_status got_ = (call);                                                  \
    ASSERT_EQ(got_, PRT_OK)                                                    \
        << #call << ": " << prt_status_name(got_) << ": " << prt_last_error(); \
  } while (0)

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

class NeedleTest : public ::testing::Test {
protected:
  /// Compiles the bundle once for the suite; a failure is reported by every
  /// test (SetUp), never skipped.
  static void SetUpTestSuite() {
    const char *env = std::getenv("PROTEUS_COMPILE");
    const std::string compiler = env && *env ? env : PROTEUS_COMPILE_DEFAULT;
    const char *tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/prt-needle-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
      setupError = "mkdtemp failed for " + pattern;
      return;
    }
    dir = pattern;
    const std::string cfg = dir + "/layer.json";
    if (FILE *f = std::fopen(cfg.c_str(), "w")) {
      std::fputs(kConfigJson, f);
      std::fclose(f);
    }
    const std::string out = dir + "/bundle";
    if (int rc = run({compiler, "--config", cfg, "--alpha", "1", "--arch",
                      "none", "-o", out});
        rc != 0) {
      setupError = compiler + " exited with " + std::to_string(rc);
      return;
    }
    prt_context_options o;
    prt_context_options_init(&o);
    o.backend = PRT_BACKEND_CPU;
    prt_plan_options po;
    prt_plan_options_init(&po);
    po.T = kT;
    po.alpha = 1.0;
    prt_plan *plan = nullptr;
    int64_t size = 0;
    if (prt_context_create(&ctx, &o) != PRT_OK ||
        prt_bundle_open(ctx, out.c_str(), &bundle) != PRT_OK ||
        prt_plan_create(bundle, &po, &plan) != PRT_OK ||
        prt_bundle_budget_size(bundle, &size) != PRT_OK) {
      setupError = std::string("runtime: ") + prt_last_error();
      prt_plan_destroy(plan);
      return;
    }
    // The host schedule of the bundle's configuration at T = 8192.
    budget.assign(static_cast<size_t>(size), 0);
    if (prt_plan_budget(plan, budget.data(), size, &size) != PRT_OK)
      setupError = std::string("prt_plan_budget: ") + prt_last_error();
    prt_plan_destroy(plan);
  }

  static void TearDownTestSuite() {
    prt_bundle_close(bundle);
    prt_context_destroy(ctx);
    bundle = nullptr;
    ctx = nullptr;
    std::error_code ec;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ec);
  }

  void SetUp() override { ASSERT_TRUE(setupError.empty()) << setupError; }

  int64_t keep() const { return budget[kBudgetTokenKeep]; }

  /// The compiled token selection on B haystacks of length kT.
  std::vector<int8_t> select(const std::vector<float> &importance) {
    const int64_t B = static_cast<int64_t>(importance.size()) / kT;
    std::vector<int8_t> mask(importance.size(), 7);
    prt_select_tokens_args a{};
    a.B = B;
    a.T = kT;
    a.importance = importance.data();
    a.budget = budget.data();
    a.budget_size = static_cast<int64_t>(budget.size());
    a.token_mask = mask.data();
    EXPECT_EQ(prt_select_tokens(bundle, &a), PRT_OK) << prt_last_error();
    return mask;
  }

  /// What every correct selection of one haystack satisfies: the guard tokens
  /// are kept, between keep and keep + guard tokens are kept, and no dropped
  /// token is more important than a kept token past the guard. Returns ""
  /// or the first violation.
  std::string violation(const float *imp, const int8_t *mask) const {
    int64_t kept = 0;
    float minKept = INFINITY, maxDropped = -INFINITY;
    for (int64_t t = 0; t < kT; ++t) {
      kept += mask[t];
      if (t < kGuard && !mask[t])
        return "guard token " + std::to_string(t) + " dropped";
      if (t >= kGuard && mask[t])
        minKept = std::min(minKept, imp[t]);
      if (!mask[t])
        maxDropped = std::max(maxDropped, imp[t]);
    }
    if (kept < keep() || kept > keep() + kGuard)
      return std::to_string(kept) +
             " tokens kept, outside [keep, keep + guard]";
    if (minKept < maxDropped)
      return "a dropped token (" + std::to_string(maxDropped) +
             ") is more important than a kept one (" + std::to_string(minKept) +
             ")";
    return "";
  }

  struct Candidates {
    std::vector<int64_t> rows, cand, lens;
    int64_t L = 0;
    bool has(size_t n, int64_t pos) const {
      auto first = cand.begin() + static_cast<int64_t>(n) * L;
      return std::find(first, first + lens[n], pos) != first + lens[n];
    }
  };

  /// The compiled candidate rule for queries `rows`, with the prototype
  /// (salience) piece scored by `scores` (B rows of kT) and capped at
  /// `protoCap`; query n belongs to batch item batchIds[n] (all 0 if empty).
  Candidates shortlist(const std::vector<int64_t> &rows,
                       const std::vector<float> &scores, int64_t protoCap,
                       const std::vector<int64_t> &batchIds = {}) {
    std::vector<int64_t> b = budget;
    b[kBudgetProtoCap] = protoCap;
    Candidates c;
    c.rows = rows;
    c.L = b[kBudgetEffectiveL];
    c.cand.assign(rows.size() * static_cast<size_t>(c.L), -1);
    c.lens.assign(rows.size(), -1);
    prt_shortlist_args a{};
    a.N = static_cast<int64_t>(rows.size());
    a.rows = rows.data();
    a.B = static_cast<int64_t>(scores.size()) / kT;
    a.T = kT;
    a.proto_scores = scores.data();
    a.batch_ids = batchIds.empty() ? nullptr : batchIds.data();
    a.budget = b.data();
    a.budget_size = static_cast<int64_t>(b.size());
    a.L = c.L;
    a.candidates = c.cand.data();
    a.lengths = c.lens.data();
    EXPECT_EQ(prt_shortlist(bundle, &a), PRT_OK) << prt_last_error();
    return c;
  }

  /// The compiled shortlist attention of every query of `c` (one row, D = 4)
  /// where the needle's key matches every query strongly (score 20 / sqrt(D)
  /// against 0 for every other key) and only the needle carries a value
  /// (v = e0).
  /// Returns out[t][0] per query: the needle's attention weight, 0 when it
  /// is not a candidate.
  std::vector<float> needleWeight(const Candidates &c, int64_t needle) {
    const int64_t D = 4, N = static_cast<int64_t>(c.rows.size());
    std::vector<float> q(kT * D, 0.0f), k(q.size(), 0.0f), v(q.size(), 0.0f);
    std::vector<float> out(q.size(), NAN);
    for (int64_t t = 0; t < kT; ++t)
      q[t * D] = 1.0f;
    k[needle * D] = 20.0f;
    v[needle * D] = 1.0f;
    std::vector<int64_t> prow(static_cast<size_t>(N), 0);
    prt_shortlist_attention_args a{};
    a.R = 1;
    a.T = kT;
    a.D = D;
    a.q = q.data();
    a.k = k.data();
    a.v = v.data();
    a.N = N;
    a.packed_row = prow.data();
    a.packed_token = c.rows.data();
    a.L = c.L;
    a.candidates = c.cand.data();
    a.lengths = c.lens.data();
    a.out = out.data();
    EXPECT_EQ(prt_shortlist_attention(bundle, &a), PRT_OK) << prt_last_error();
    std::vector<float> w;
    for (int64_t t : c.rows)
      w.push_back(out[t * D]);
    return w;
  }

  static inline std::string setupError, dir;
  static inline prt_context *ctx = nullptr;
  static inline prt_bundle *bundle = nullptr;
  static inline std::vector<int64_t> budget;
};

TEST_F(NeedleTest, ScheduleIsTheIntendedOne) {
  // Guards the premises of the other tests: 2% of 8192, guard 8, all three
  // candidate pieces with a prototype share, selection mode on.
  EXPECT_EQ(budget[kBudgetTokenMode], 2);
  EXPECT_EQ(keep(), std::lround(kKeepRatio * kT));
  EXPECT_EQ(budget[kBudgetGuard], kGuard);
  EXPECT_GT(budget[kBudgetProtoCap], 0);
  EXPECT_GT(budget[kBudgetLocalCap], 0);
  EXPECT_GT(budget[kBudgetAnchorCap], 0);
}

TEST_F(NeedleTest, BoostedNeedleIsRetainedAndAttended) {
  std::vector<float> imp = haystack(0);
  imp[kNeedle] += 5.0f;
  std::vector<int8_t> mask = select(imp);
  ASSERT_EQ(mask[kNeedle], 1) << "the needle was dropped by token selection";
  EXPECT_EQ(violation(imp.data(), mask.data()), "");

  // Every later query has the needle among its candidates through the
  // salience piece (scores = the boosted importance), and attends to it.
  std::vector<int64_t> later;
  for (int64_t t = kNeedle + 1; t < kT; ++t)
    later.push_back(t);
  const int64_t protoCap = budget[kBudgetProtoCap];
  Candidates on = shortlist(later, imp, protoCap);
  std::vector<float> weight = needleWeight(on, kNeedle);
  int64_t missing = 0, weak = 0;
  for (size_t n = 0; n < later.size(); ++n) {
    missing += !on.has(n, kNeedle);
    weak += !(weight[n] > 0.9f);
  }
  EXPECT_EQ(missing, 0) << "queries after the needle without it as candidate";
  EXPECT_EQ(weak, 0) << "queries after the needle with attention weight <= 0.9";

  // Causality: no earlier query sees it.
  Candidates before = shortlist({0, 1000, kNeedle - 1}, imp, protoCap);
  for (size_t n = 0; n < before.rows.size(); ++n)
    EXPECT_FALSE(before.has(n, kNeedle)) << "query " << before.rows[n];

  // Without the salience piece, a far query reaches the needle neither
  // through its local window nor through its anchors: the test can fail.
  Candidates off = shortlist(later, imp, 0);
  int64_t reached = 0;
  for (size_t n = 0; n < later.size(); ++n)
    reached += off.has(n, kNeedle);
  EXPECT_FALSE(off.has(later.size() - 1, kNeedle));
  EXPECT_EQ(needleWeight(off, kNeedle).back(), 0.0f);
  std::printf("needle at %lld: kept by selection; candidate of %lld/%zu later "
              "queries with the salience piece (cap %lld), %lld/%zu without\n",
              (long long)kNeedle, (long long)(later.size() - missing),
              later.size(), (long long)protoCap, (long long)reached,
              later.size());
  EXPECT_LT(reached, static_cast<int64_t>(later.size()) / 2);
}

TEST_F(NeedleTest, SelectionIsTheRankRuleWrittenOut) {
  // The compiled token selection against SPEC.md section 3 written out: a
  // token is kept when fewer than `need` tokens are ahead of it (greater, or
  // equal at a lower index), or when it is one of the first `guard`. The
  // importances take 9 values (most are tied) and a few are NaN, which no
  // comparison holds for: a NaN has no token ahead of it and is ahead of none.
  constexpr int64_t kB = 2;
  std::vector<float> imp = tiedHaystacks(kB, 31);
  for (int64_t t : std::vector<int64_t>{3, 100, 4000, kT + 17, 2 * kT - 1})
    imp[static_cast<size_t>(t)] = NAN;
  std::vector<int8_t> mask = select(imp);
  const int64_t need = std::min(std::max({keep(), kGuard, int64_t{1}}), kT);
  int64_t wrong = 0;
  std::string first;
  for (int64_t b = 0; b < kB; ++b) {
    const float *row = &imp[static_cast<size_t>(b * kT)];
    for (int64_t t = 0; t < kT; ++t) {
      int64_t rank = 0;
      for (int64_t o = 0; o < kT; ++o)
        rank += row[o] > row[t] || (row[o] == row[t] && o < t);
      const int8_t want = rank < need || t < kGuard;
      const int8_t got = mask[static_cast<size_t>(b * kT + t)];
      if (got != want && wrong++ == 0)
        first = "token " + std::to_string(t) + " of batch item " +
                std::to_string(b) + ": " + std::to_string(got) + ", expected " +
                std::to_string(want);
    }
  }
  EXPECT_EQ(wrong, 0) << "tokens selected against the rule; the first: "
                      << first;
}

TEST_F(NeedleTest, SaliencePieceIsTheTopCWrittenOut) {
  // The compiled salience piece against REFERENCE.md 5.1 written out: for a
  // query at t of batch item b, the top min(t+1, c) positions of 0..t by
  // score (ties to the lower index: the scores take 9 values, so most are
  // tied), merged with the other pieces, distinct, the L smallest. Queries
  // of three batch items interleave, early positions (t+1 < c) included.
  constexpr int64_t kB = 3;
  std::vector<float> scores = tiedHaystacks(kB, 7);
  std::mt19937 rng(11);
  std::vector<int64_t> rows, ids;
  for (int64_t i = 0; i < 600; ++i) {
    int64_t t = i < 40 ? i : static_cast<int64_t>(rng() % kT);
    rows.push_back(t);
    ids.push_back(static_cast<int64_t>(rng() % kB));
  }
  const int64_t protoCap = budget[kBudgetProtoCap];
  Candidates on = shortlist(rows, scores, protoCap, ids);
  Candidates off = shortlist(rows, scores, 0, ids);
  const int64_t L = on.L;
  const int64_t c = std::min({L, protoCap, kT});
  ASSERT_GT(c, 1);
  int64_t wrong = 0;
  std::string first;
  for (size_t n = 0; n < rows.size(); ++n) {
    const int64_t t = rows[n];
    const float *row = &scores[static_cast<size_t>(ids[n] * kT)];
    std::vector<int64_t> order(static_cast<size_t>(t + 1));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return row[a] > row[b]; });
    std::set<int64_t> expect(order.begin(), order.begin() + std::min(t + 1, c));
    auto base = off.cand.begin() + static_cast<int64_t>(n) * L;
    expect.insert(base, base + off.lens[n]);
    std::vector<int64_t> want(expect.begin(), expect.end());
    if (static_cast<int64_t>(want.size()) > L)
      want.resize(static_cast<size_t>(L));
    auto got = on.cand.begin() + static_cast<int64_t>(n) * L;
    if (std::vector<int64_t>(got, got + on.lens[n]) != want) {
      ++wrong;
      if (first.empty())
        first = "query " + std::to_string(t) + " of batch item " +
                std::to_string(ids[n]) + ": " + std::to_string(on.lens[n]) +
                " candidates, expected " + std::to_string(want.size());
    }
  }
  EXPECT_EQ(wrong, 0) << "queries whose candidates differ; the first: "
                      << first;
}

TEST_F(NeedleTest, JigsawFarApartNeedlesBothSurvive) {
  const int64_t first = 512, second = kT - 341;
  std::vector<float> imp = haystack(1);
  imp[first] += 4.0f;
  imp[second] += 4.5f;
  std::vector<int8_t> mask = select(imp);
  EXPECT_EQ(mask[first], 1) << "needle at " << first << " dropped";
  EXPECT_EQ(mask[second], 1) << "needle at " << second << " dropped";
  EXPECT_EQ(violation(imp.data(), mask.data()), "");
  // The last query sees both pieces of the jigsaw.
  Candidates last = shortlist({kT - 1}, imp, budget[kBudgetProtoCap]);
  EXPECT_TRUE(last.has(0, first));
  EXPECT_TRUE(last.has(0, second));
}

TEST_F(NeedleTest, RecallOverABoostSweep) {
  // The reference's fading sweep: boosts x 20 seeds, the same haystacks for
  // every boost (seed s is batch item s), so recall can only fall as the
  // boost falls.
  const std::vector<double> boosts = {5, 2, 1, 0.5, 0.25, 0.1};
  constexpr int64_t kSeeds = 20;
  std::vector<float> base;
  for (int64_t s = 0; s < kSeeds; ++s) {
    std::vector<float> h = haystack(static_cast<uint32_t>(100 + s));
    base.insert(base.end(), h.begin(), h.end());
  }
  std::vector<double> recall;
  int64_t violations = 0;
  std::string firstViolation;
  std::printf("recall of a needle at %lld (T %lld, keep %lld, guard %lld, "
              "noise %.2f N(0,1), %lld seeds)\n  boost  recall\n",
              (long long)kNeedle, (long long)kT, (long long)keep(),
              (long long)kGuard, kNoise, (long long)kSeeds);
  for (double boost : boosts) {
    std::vector<float> imp = base;
    for (int64_t s = 0; s < kSeeds; ++s)
      imp[s * kT + kNeedle] += static_cast<float>(boost);
    std::vector<int8_t> mask = select(imp);
    int64_t hits = 0;
    for (int64_t s = 0; s < kSeeds; ++s) {
      hits += mask[s * kT + kNeedle];
      if (std::string why = violation(&imp[s * kT], &mask[s * kT]);
          !why.empty()) {
        ++violations;
        firstViolation = firstViolation.empty() ? why : firstViolation;
      }
    }
    recall.push_back(static_cast<double>(hits) / kSeeds);
    std::printf("  %5.2f  %.2f\n", boost, recall.back());
  }
  std::fflush(stdout);
  EXPECT_EQ(violations, 0) << "selections that break the rule; the first: "
                           << firstViolation;
  for (size_t i = 0; i < boosts.size(); ++i) {
    if (boosts[i] >= 1.0) {
      EXPECT_GE(recall[i], 0.95) << "boost " << boosts[i];
    }
    if (i > 0) {
      EXPECT_LE(recall[i], recall[i - 1])
          << "recall rose from boost " << boosts[i - 1] << " to " << boosts[i];
    }
  }
  // The weakest needle sits at the keep boundary (~2.05 sigma of the noise):
  // it is lost for some seeds, so the sweep does reach the fading regime.
  EXPECT_GE(recall.front(), recall.back());
  EXPECT_LE(recall.back(), 0.9);
}

} // namespace
