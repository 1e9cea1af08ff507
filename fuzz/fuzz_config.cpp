//===- fuzz_config.cpp - Fuzz target: config JSON, validator, schedule ----===//
//
// libFuzzer entry point. Any text goes through the config reader; a
// configuration the validator accepts must round-trip through configToJson,
// match its own fingerprint, and keep every schedule formula in range for
// every T a call may have (B * T * C <= 2^50). A violated property traps.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/bundle_integrity.h"
#include "proteus_rt/config_json.h"
#include "proteus_rt/schedule.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace proteus_rt;

namespace {

void require(bool ok) {
  if (!ok)
    __builtin_trap();
}

void checkSchedule(const Config &c, int64_t T, double alpha) {
  const CandidateBudget b =
      candidateBudget(c, T, alpha, c.h_active_max, /*batch=*/1);
  require(b.effective_L >= c.L_min && b.effective_L <= c.L_max);
  require(b.window >= 1 && b.window <= b.effective_L);
  require(b.local_cap >= 0 && b.anchor_cap >= 0 && b.proto_cap >= 0);
  const int64_t k = kDense(c, T);
  require(k >= c.h_active_min && k <= c.h_active_max);
  const double r = keepRatio(c, alpha, T);
  require(r >= 0.0 && r <= 1.0);
  const int64_t keep = tokenKeepCount(c, r, T);
  require(keep >= 1 && keep <= T);
  require(topkForAdapt(c, alpha, k) >= 1);
  const double a = alphaRamp(c, T, alpha, -1.0);
  require(a >= 0.0 && a <= 1.0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  Config c;
  std::string error;
  if (!parseConfigJson(text, c, error) || !validateConfig(c).empty())
    return 0;
  Config back;
  require(parseConfigJson(configToJson(c), back, error));
  require(configToJson(back) == configToJson(c));
  const SettingList settings = {{0.5, c.keep_ratio_base}};
  require(fingerprintMismatch(bundleFingerprint(c, settings, 0), c, settings, 0)
              .empty());
  const int64_t maxT = (int64_t(1) << 50) / c.d_model;
  for (int64_t T : {int64_t(1), int64_t(2), int64_t(63), int64_t(4097),
                    int64_t(1) << 20, maxT})
    for (double alpha : {0.0, 0.3, 1.0})
      checkSchedule(c, T, alpha);
  return 0;
}
