//===- config_schedule_test.cpp - Config JSON and the schedule vs golden --===//
//
// The host schedule (schedule.h, makeBudget) against every golden schedule
// case, exactly, and against the host-visible facts of the golden layer
// cases; the golden-key config mapping, its errors and its round trip.
//
//===----------------------------------------------------------------------===//

#include "test_util.h"

#include "proteus_rt/config_json.h"

#include <gtest/gtest.h>

using namespace proteus_rt;
using namespace proteus_rt::test;
using nlohmann::json;

namespace {

/// Every case folder of `kind` in the golden folder, sorted by name.
std::vector<std::pair<std::string, json>> goldenCases(const std::string &kind) {
  std::vector<std::pair<std::string, json>> out;
  for (const auto &entry : fs::directory_iterator(goldenDir())) {
    fs::path file = entry.path() / "case.json";
    if (!fs::exists(file))
      continue;
    json doc = json::parse(readFile(file.string()));
    if (doc.value("kind", "") == kind)
      out.emplace_back(entry.path().filename().string(), doc);
  }
  std::sort(out.begin(), out.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  return out;
}

#define SKIP_WITHOUT_GOLDEN()                                                  \
  if (!fs::is_directory(goldenDir()))                                          \
  GTEST_SKIP() << "golden vectors not found at " << goldenDir()                \
               << " (set PROTEUS_GOLDEN_DIR)"

Config parsed(const json &cfg) {
  Config c;
  std::string error;
  EXPECT_TRUE(parseConfigJson(cfg.dump(), c, error)) << error;
  EXPECT_EQ(validateConfig(c), "");
  return c;
}

} // namespace

TEST(GoldenSchedule, EveryValueExact) {
  SKIP_WITHOUT_GOLDEN();
  auto cases = goldenCases("schedule");
  ASSERT_GE(cases.size(), 5u) << "too few schedule cases in " << goldenDir();
  for (const auto &[name, doc] : cases) {
    SCOPED_TRACE(name);
    const Config c = parsed(doc["config"]);
    int checked = 0;
    for (const json &row : doc["rows"]) {
      const int64_t T = row["T"].get<int64_t>();
      SCOPED_TRACE("T = " + std::to_string(T));
      EXPECT_EQ(alphaRamp(c, T), row["alpha_ramp"].get<double>());
      EXPECT_EQ(kDense(c, T), row["k_dense"].get<int64_t>());
      EXPECT_EQ(keepRatioLin(c, T), row["keep_ratio_lin"].get<double>());
      for (const json &ba : row["by_alpha"]) {
        const double alpha = ba["alpha"].get<double>();
        SCOPED_TRACE("alpha = " + formatDouble(alpha));
        CandidateBudget b = candidateBudget(c, T, alpha);
        EXPECT_EQ(b.effective_L, ba["effective_L"].get<int64_t>());
        EXPECT_EQ(b.window, ba["window"].get<int64_t>());
        EXPECT_EQ(b.local_cap, ba["local_cap"].get<int64_t>());
        EXPECT_EQ(b.anchor_cap, ba["anchor_cap"].get<int64_t>());
        EXPECT_EQ(b.proto_cap, ba["proto_cap"].get<int64_t>());
        if (ba.contains("keep_ratio")) {
          if (c.token_sparse)
            EXPECT_EQ(keepRatio(c, alpha, T), ba["keep_ratio"].get<double>());
          else
            EXPECT_TRUE(ba["keep_ratio"].is_null());
        }
        ++checked;
      }
    }
    EXPECT_GT(checked, 0);
  }
}

// What the host decides for each golden layer call: alpha (ramp, override,
// hysteresis), the stored alpha, the keep ratio and the shortlist budgets.
TEST(GoldenSchedule, LayerCasesHostSchedule) {
  SKIP_WITHOUT_GOLDEN();
  auto cases = goldenCases("layer");
  ASSERT_GE(cases.size(), 10u);
  for (const auto &[name, doc] : cases) {
    SCOPED_TRACE(name);
    const Config c = parsed(doc["config"]);
    const auto &shape = doc["tensors"]["x"]["shape"];
    const int64_t B = shape[0].get<int64_t>(), T = shape[1].get<int64_t>();
    const double prev =
        doc.contains("prev_alpha") && !doc["prev_alpha"].is_null()
            ? doc["prev_alpha"].get<double>()
            : -1.0;
    const double override = doc["alpha_override"].is_null()
                                ? -1.0
                                : doc["alpha_override"].get<double>();
    const double alpha = alphaRamp(c, T, prev, override);
    HostSchedule s = makeBudget(c, B, T, alpha, false);
    const bool fast = s.budget[kBudgetFastPath] != 0;
    EXPECT_EQ(fast, doc["sparse_state"]["mode"] == "dense_fastpath");
    if (doc.contains("alpha_used")) {
      EXPECT_EQ(fast ? std::max(prev, 0.0) : alpha,
                doc["alpha_used"].get<double>());
    }
    if (doc.contains("keep_ratio_runtime")) {
      if (c.token_sparse && !fast)
        EXPECT_EQ(s.keep_ratio, doc["keep_ratio_runtime"].get<double>());
      else
        EXPECT_TRUE(doc["keep_ratio_runtime"].is_null());
    }
    if (doc["sparse_state"]["mode"] == "shortlist") {
      EXPECT_EQ(s.budget[kBudgetEffectiveL],
                doc["stats"]["linear_L"].get<int64_t>());
      EXPECT_EQ(s.budget[kBudgetWindow],
                doc["stats"]["linear_window"].get<int64_t>());
    }
  }
}

TEST(ConfigJson, DefaultsAndRoundTrip) {
  Config c;
  std::string error;
  ASSERT_TRUE(parseConfigJson("{}", c, error)) << error;
  EXPECT_EQ(configToJson(c), configToJson(Config{}));

  c.d_model = 256;
  c.h_total = 16;
  c.has_dense_threshold = true;
  c.dense_threshold = 0.3;
  c.L_schedule = LSchedule::MemCap;
  c.mem_budget_mb = 12.5;
  c.keep_schedule = KeepSchedule::Log;
  c.mode_setting = ModeSetting::Subquad;
  c.int8_mode = Int8Mode::Percentile;
  c.piece_local_frac = 0.6666666666666667;
  Config back;
  ASSERT_TRUE(parseConfigJson(configToJson(c), back, error)) << error;
  EXPECT_EQ(configToJson(back), configToJson(c));
  EXPECT_EQ(back.piece_local_frac, 0.6666666666666667);
  EXPECT_EQ(back.L_schedule, LSchedule::MemCap);
  EXPECT_EQ(back.mem_budget_mb, 12.5);
  EXPECT_TRUE(back.has_dense_threshold);
}

TEST(ConfigJson, GoldenNamesMapToFields) {
  Config c;
  std::string error;
  ASSERT_TRUE(parseConfigJson(R"({"attn_gates": 32, "linear_window_base": 40,
      "linear_anchor_stride": 12, "token_keep_ratio_base": 0.6,
      "_dense_threshold": null, "linear_L_schedule": "sqrt",
      "quantize_sparse_int8": true, "quantize_sparse_int8_mode": "percentile",
      "quantize_sparse_int8_percentile": 0.999, "memory_enabled": false,
      "linear_mem_budget_mb": null, "linear_latency_budget_ms": null,
      "d_model": 128, "h_total": 8, "d_head": 16})",
                              c, error))
      << error;
  EXPECT_EQ(c.gates, 32);
  EXPECT_EQ(c.window_base, 40);
  EXPECT_EQ(c.anchor_stride, 12);
  EXPECT_EQ(c.keep_ratio_base, 0.6);
  EXPECT_FALSE(c.has_dense_threshold);
  EXPECT_EQ(c.L_schedule, LSchedule::Sqrt);
  EXPECT_TRUE(c.quantize_int8);
  EXPECT_EQ(c.int8_mode, Int8Mode::Percentile);
  EXPECT_EQ(c.int8_percentile, 0.999);
}

TEST(ConfigJson, ErrorsNameTheKey) {
  struct Case {
    const char *json;
    const char *expect;
  } cases[] = {
      {R"({"d_modle": 4})", "unknown config key 'd_modle'"},
      {R"({"d_model": 64.5})", "'d_model' must be an integer"},
      {R"({"router_top_p": "high"})", "'router_top_p' must be a number"},
      {R"({"bias": 1})", "'bias' must be true or false"},
      {R"({"linear_L_schedule": "cubic"})",
       "'linear_L_schedule' must be one of"},
      {R"({"mode_setting": 2})", "'mode_setting' must be one of"},
      {R"({"_dense_threshold": "x"})",
       "'_dense_threshold' must be null or a number"},
      {R"({"d_head": 32})", "'d_head' is 32 but d_model / h_total"},
      {R"({"memory_enabled": true})", "memory bank is not supported"},
      {R"({"linear_latency_budget_ms": 5})",
       "latency feedback loop is not supported"},
      {R"([1, 2])", "must be a JSON object"},
      {R"({"d_model": )", "not valid JSON"},
  };
  for (const Case &k : cases) {
    Config c;
    std::string error;
    EXPECT_FALSE(parseConfigJson(k.json, c, error)) << k.json;
    EXPECT_NE(error.find(k.expect), std::string::npos) << error;
  }
}

TEST(ConfigJson, ValidateConfigReportsInconsistencies) {
  Config c;
  EXPECT_EQ(validateConfig(c), "");
  c.d_model = 100;
  c.h_total = 8;
  EXPECT_NE(validateConfig(c).find("not a multiple of h_total"),
            std::string::npos);
  c = Config{};
  c.L_min = 600;
  EXPECT_NE(validateConfig(c).find("linear_L_min <= linear_L_max"),
            std::string::npos);
  c = Config{};
  c.h_active_max = 9;
  EXPECT_NE(validateConfig(c).find("exceeds h_total"), std::string::npos);
  c = Config{};
  c.keep_ratio_base = 0.0;
  EXPECT_NE(validateConfig(c).find("density"), std::string::npos);
  c = Config{};
  c.router_top_p = 1.5;
  c.gates = 0;
  std::string both = validateConfig(c);
  EXPECT_NE(both.find("router_top_p"), std::string::npos);
  EXPECT_NE(both.find("attn_gates"), std::string::npos);
}

TEST(ConfigJson, ValidateConfigRejectsWhatWouldOverflow) {
  // Values the schedule arithmetic cannot take are refused, naming the key.
  struct Case {
    const char *json;
    const char *expect;
  };
  const Case cases[] = {
      {R"({"linear_window_base": 9223372036854775807})",
       "linear_window_base = 9223372036854775807 exceeds 1099511627776"},
      {R"({"linear_L_base": 9223372036854775806})", "linear_L_base = "},
      {R"({"linear_L_max": 9223372036854775807})", "linear_L_max = "},
      {R"({"linear_token_keep_ratio_ref": 9223372036854775807})",
       "linear_token_keep_ratio_ref = "},
      {R"({"linear_switch_ctx": 9223372036854775807})", "linear_switch_ctx = "},
      {R"({"seq_high": 9223372036854775807})", "seq_high = "},
      {R"({"d_model": 4611686018427387904, "h_total": 1, "h_active_max": 1,
           "h_active_min": 1, "linear_L_schedule": "mem_cap",
           "linear_mem_budget_mb": 1})",
       "d_model = 4611686018427387904 exceeds"},
      {R"({"linear_L_scale": 1e300})", "linear_L_scale exceeds"},
      {R"({"linear_mem_budget_mb": 1e300})", "linear_mem_budget_mb must be"},
  };
  for (const Case &k : cases) {
    Config c;
    std::string error;
    ASSERT_TRUE(parseConfigJson(k.json, c, error)) << error;
    EXPECT_NE(validateConfig(c).find(k.expect), std::string::npos)
        << k.json << " -> " << validateConfig(c);
  }
}

TEST(Schedule, ExtremesTheValidatorAcceptsStayDefined) {
  // Every integer at the validator's bound, every schedule, the largest T a
  // call may have: the results stay in range (and UBSan, in the sanitizer
  // build, sees no overflow or bad float->int conversion).
  for (LSchedule ls :
       {LSchedule::Fixed, LSchedule::Sqrt, LSchedule::Log, LSchedule::MemCap}) {
    Config c;
    c.d_model = kMaxConfigDModel;
    c.h_total = 1;
    c.h_active_min = c.h_active_max = 1;
    c.window_base = c.L_base = c.L_max = c.seq_high = c.linear_switch_ctx =
        c.keep_ratio_ref = c.keep_min = c.keep_guard = c.linear_head_k =
            c.anchor_stride = kMaxConfigInteger;
    c.L_schedule = ls;
    c.L_scale = static_cast<double>(kMaxConfigInteger);
    c.mem_budget_mb = static_cast<double>(kMaxConfigInteger);
    c.token_sparse = true;
    c.h_active_curve = -1e300;
    ASSERT_EQ(validateConfig(c), "");
    for (int64_t T : {int64_t(1), int64_t(1) << 30, int64_t(1) << 50}) {
      for (double alpha : {0.0, 0.5, 1.0}) {
        CandidateBudget b = candidateBudget(c, T, alpha, 1, 1);
        EXPECT_GE(b.effective_L, c.L_min);
        EXPECT_LE(b.effective_L, c.L_max);
        EXPECT_GE(b.window, 1);
        EXPECT_GE(kDense(c, T), c.h_active_min);
        int64_t keep = tokenKeepCount(c, keepRatio(c, alpha, T), T);
        EXPECT_GE(keep, 1);
        EXPECT_LE(keep, T);
        EXPECT_GE(topkForAdapt(c, alpha, 1), 1);
        double a = alphaRamp(c, T, 0.99, -1.0);
        EXPECT_TRUE(a >= 0.0 && a <= 1.0);
      }
    }
  }
}
