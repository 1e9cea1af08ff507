//===- schedule.h - Proteus schedule math (shared contract) -----*- C++ -*-===//
//
// The host-side schedule of a Proteus layer: the configuration, the alpha
// ramp with hysteresis, the head budget curve k(T), the token keep ratio
// r(alpha, T) and the candidate budgets of REFERENCE.md section 4.3.
//
// This header is the single implementation shared by the compiler (which folds
// it into #proteus.budget when T is static) and by the runtime (which
// evaluates it at plan time). It is header-only, C++17, and depends on the
// standard library alone. Arithmetic is binary64 with the reference's
// rounding: round-half-to-even where the reference calls round(), truncation
// toward zero where it calls int().
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_SCHEDULE_H
#define PROTEUS_RT_SCHEDULE_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace proteus_rt {

enum class LSchedule : int32_t { Fixed = 0, Sqrt = 1, Log = 2, MemCap = 3 };
enum class KeepSchedule : int32_t { Fixed = 0, Sqrt = 1, Log = 2 };
enum class ModeSetting : int32_t { Auto = 0, Linear = 1, Subquad = 2 };
enum class Int8Mode : int32_t { Max = 0, Percentile = 1 };

/// Every knob of one Proteus layer (SPEC.md section 1), with the reference's
/// resolved values (REFERENCE.md section 1). Field names follow the
/// reference's attribute names used by golden/README.md.
struct Config {
  int64_t d_model = 512;
  int64_t h_total = 8;
  int64_t gates = 16;
  int64_t h_active_min = 2;
  int64_t h_active_max = 8;
  double h_active_curve = 0.25;
  int64_t seq_low = 64;
  int64_t seq_high = 256;
  int64_t small_seq_dense = 32;
  double dense_alpha_cutoff = 0.0;
  bool has_dense_threshold = false;
  double dense_threshold = 0.0;
  bool force_dense_when_full = false;
  double router_top_p = 0.9;
  int64_t linear_head_k = 2;
  int64_t linear_switch_ctx = 20000;
  int64_t window_base = 512;
  int64_t anchor_stride = 256;
  bool use_local = true;
  bool use_anchors = true;
  bool use_proto = false;
  double piece_local_frac = 2.0 / 3.0;
  double piece_anchor_frac = 1.0 / 3.0;
  double piece_proto_frac = 0.0;
  int64_t L_base = 512;
  int64_t L_min = 64;
  int64_t L_max = 512;
  LSchedule L_schedule = LSchedule::Fixed;
  double L_scale = 1.0;
  double mem_budget_mb = 0.0; ///< only for LSchedule::MemCap; 0 = no budget
  bool token_sparse = false;
  double keep_ratio_base = 1.0;
  KeepSchedule keep_schedule = KeepSchedule::Sqrt;
  double keep_ratio_min = 0.2;
  int64_t keep_ratio_ref = 2048;
  int64_t keep_guard = 1;
  int64_t keep_min = 0;
  double keep_threshold = 0.0;
  bool proto_enabled = false;
  double proto_decay = 0.97;
  double proto_threshold = 0.25;
  double proto_blend = 0.6;
  double proto_temp = 0.2;
  double proto_usage_boost = 0.0;
  bool use_rope = true;
  double rope_base = 10000.0;
  bool bias = false;
  ModeSetting mode_setting = ModeSetting::Auto;
  bool quantize_int8 = false;
  Int8Mode int8_mode = Int8Mode::Max;
  double int8_percentile = 1.0;

  int64_t headDim() const { return h_total > 0 ? d_model / h_total : 0; }
};

/// Python's round() on a double: round half to even.
inline double roundHalfEven(double v) { return std::nearbyint(v); }

/// Python's int() on a double: truncation toward zero, saturated to the
/// int64 range (NaN gives 0) so that the conversion is always defined.
inline int64_t truncToInt(double v) {
  if (!(v == v))
    return 0;
  if (v >= 9223372036854775807.0)
    return INT64_MAX;
  if (v <= -9223372036854775808.0)
    return INT64_MIN;
  return static_cast<int64_t>(v);
}

inline int64_t clampI(int64_t v, int64_t lo, int64_t hi) {
  return std::max(lo, std::min(hi, v));
}

/// Alpha of REFERENCE.md section 4.1: mode / override / ramp, then the
/// hysteresis with the previous call's alpha (prevAlpha < 0: no history),
/// then the clamp. `override` < 0 means no override.
inline double alphaRamp(const Config &c, int64_t T, double prevAlpha = -1.0,
                        double overrideAlpha = -1.0) {
  int64_t lo = std::max<int64_t>(1, c.seq_low);
  int64_t sw = c.linear_switch_ctx;
  int64_t hi = sw != 0 ? std::max(lo + 1, sw) : std::max(lo + 1, T);
  double a;
  if (c.mode_setting == ModeSetting::Linear)
    a = 1.0;
  else if (c.mode_setting == ModeSetting::Subquad)
    a = 0.0;
  else if (overrideAlpha >= 0.0)
    a = std::min(1.0, std::max(0.0, overrideAlpha));
  else if (T <= lo)
    a = 0.0;
  else if (T >= hi)
    a = 1.0;
  else
    a = static_cast<double>(T - lo) / static_cast<double>(hi - lo);
  if (sw > 0) {
    int64_t holdFrom = std::max<int64_t>(1, truncToInt(0.75 * sw));
    if (prevAlpha >= 0.95 && T >= holdFrom)
      a = std::max(a, 0.95);
    if (T >= sw)
      a = 1.0;
  }
  return std::min(1.0, std::max(0.0, a));
}

/// k_dense(T), REFERENCE.md section 2.8 step 1.
inline int64_t kDense(const Config &c, int64_t T) {
  int64_t hmax = c.h_active_max, hmin = c.h_active_min;
  int64_t k;
  if (T <= c.seq_low) {
    k = hmax;
  } else if (T >= c.seq_high) {
    k = hmin;
  } else {
    double rho =
        static_cast<double>(T - c.seq_low) /
        static_cast<double>(std::max<int64_t>(1, c.seq_high - c.seq_low));
    if (c.h_active_curve != 1.0)
      rho = std::pow(std::min(1.0, std::max(0.0, rho)), c.h_active_curve);
    k = truncToInt(std::floor(static_cast<double>(hmax) -
                              rho * static_cast<double>(hmax - hmin) + 1e-6));
  }
  return clampI(k, hmin, hmax);
}

/// r_lin(T), REFERENCE.md section 3.1 (the base ratio when sparsity is off).
inline double keepRatioLin(const Config &c, int64_t T) {
  double base = c.keep_ratio_base;
  if (!c.token_sparse)
    return base;
  double r;
  switch (c.keep_schedule) {
  case KeepSchedule::Sqrt:
    r = base * std::sqrt(static_cast<double>(c.keep_ratio_ref) /
                         static_cast<double>(T));
    break;
  case KeepSchedule::Log:
    r = base * (std::log2(static_cast<double>(c.keep_ratio_ref + 1)) /
                std::log2(static_cast<double>(T + 1)));
    break;
  default:
    r = base;
  }
  double lo = std::min(base, c.keep_ratio_min);
  return std::min(base, std::max(lo, r));
}

/// r(alpha, T) = clamp((1 - alpha) base + alpha r_lin(T), 0, 1).
inline double keepRatio(const Config &c, double alpha, int64_t T) {
  return std::min(1.0, std::max(0.0, (1.0 - alpha) * c.keep_ratio_base +
                                         alpha * keepRatioLin(c, T)));
}

/// The candidate budgets of REFERENCE.md section 4.3.
struct CandidateBudget {
  int64_t effective_L = 0;
  int64_t window = 0;
  int64_t local_cap = 0;
  int64_t anchor_cap = 0;
  int64_t proto_cap = 0;
};

/// `kLast` and `batch` are used by the mem_cap L schedule only.
inline CandidateBudget candidateBudget(const Config &c, int64_t T, double alpha,
                                       int64_t kLast = 1, int64_t batch = 1) {
  double Lb = static_cast<double>(std::max<int64_t>(1, c.L_base));
  double bv = Lb;
  switch (c.L_schedule) {
  case LSchedule::Sqrt:
    bv = Lb * std::sqrt(static_cast<double>(T));
    break;
  case LSchedule::Log:
    bv = Lb * std::log2(static_cast<double>(T + 1));
    break;
  case LSchedule::MemCap:
    if (c.mem_budget_mb > 0.0) {
      // In binary64: the product of four sizes can exceed int64.
      double denom = static_cast<double>(std::max<int64_t>(1, kLast)) *
                     static_cast<double>(batch) * static_cast<double>(T) *
                     static_cast<double>(c.headDim()) * 8.0;
      int64_t capped =
          truncToInt(std::floor(c.mem_budget_mb * 1048576.0 / denom));
      bv = static_cast<double>(std::max<int64_t>(1, std::min(capped, c.L_max)));
    }
    break;
  default:
    break;
  }
  CandidateBudget b;
  int64_t eff1 = clampI(truncToInt(std::ceil(c.L_scale * std::max(1.0, bv))),
                        c.L_min, c.L_max);
  int64_t win1 = std::min(c.window_base, eff1);
  int64_t denseCap = clampI(
      std::min(T, std::max(c.L_min, c.window_base + T / 32)), c.L_min, c.L_max);
  b.effective_L =
      clampI(truncToInt(alpha * static_cast<double>(eff1) +
                        (1.0 - alpha) * static_cast<double>(denseCap)),
             c.L_min, c.L_max);
  int64_t winDense =
      std::max<int64_t>(1, std::min(T, std::max(c.window_base, T / 8)));
  b.window = clampI(truncToInt(alpha * static_cast<double>(win1) +
                               (1.0 - alpha) * static_cast<double>(winDense)),
                    1, b.effective_L);

  const bool en[3] = {c.use_local, c.use_anchors, c.use_proto};
  const double dense[3] = {en[0] ? 0.85 : 0.0, en[1] ? 0.10 : 0.0,
                           en[2] ? 0.05 : 0.0};
  const double target[3] = {en[0] ? c.piece_local_frac : 0.0,
                            en[1] ? c.piece_anchor_frac : 0.0,
                            en[2] ? c.piece_proto_frac : 0.0};
  double w[3];
  double sum = 0.0;
  for (int i = 0; i < 3; ++i) {
    w[i] = (1.0 - alpha) * dense[i] + alpha * target[i];
    sum += w[i];
  }
  if (sum > 0.0) {
    for (double &wi : w)
      wi /= sum;
  } else {
    w[0] = 1.0;
    w[1] = w[2] = 0.0;
  }
  w[2] = en[2] ? std::max(0.0, 1.0 - w[0] - w[1]) : 0.0;

  int64_t effL = b.effective_L;
  int64_t caps[3];
  int64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    caps[i] =
        en[i] ? truncToInt(roundHalfEven(static_cast<double>(effL) * w[i])) : 0;
    total += caps[i];
  }
  if (total > effL) {
    int64_t oldTotal = total;
    total = 0;
    for (int64_t &ci : caps) {
      ci = truncToInt(
          std::floor(static_cast<double>(ci) * static_cast<double>(effL) /
                     static_cast<double>(oldTotal)));
      total += ci;
    }
  }
  if (total < effL) {
    int64_t rem = effL - total;
    for (int i = 0; i < 3 && rem > 0; ++i) {
      if (en[i]) {
        ++caps[i];
        --rem;
      }
    }
    if (rem > 0) {
      for (int i = 0; i < 3; ++i) {
        if (en[i]) {
          caps[i] += rem;
          break;
        }
      }
    }
  }
  int64_t local = std::min(caps[0], b.window);
  if (local <= 0 && effL > 0 && en[0])
    local = std::min(b.window, std::max<int64_t>(1, effL / 4));
  b.local_cap = en[0] ? local : 0;
  b.anchor_cap = caps[1];
  b.proto_cap = caps[2];
  return b;
}

/// topk(alpha) for a given k_adapt: min(k, max(1, round((1-a) k + a k_lin))).
inline int64_t topkForAdapt(const Config &c, double alpha, int64_t kAdapt) {
  int64_t kLin = std::max<int64_t>(1, std::min(kAdapt, c.linear_head_k));
  int64_t blended =
      truncToInt(roundHalfEven((1.0 - alpha) * static_cast<double>(kAdapt) +
                               alpha * static_cast<double>(kLin)));
  return std::min(kAdapt, std::max<int64_t>(1, blended));
}

/// Number of tokens kept per batch item by token selection (REFERENCE.md
/// section 3.2): round_half_even(r * T) in binary32, raised to the minimum
/// keep and the guard, clamped to [1, T].
inline int64_t tokenKeepCount(const Config &c, double r, int64_t T) {
  int64_t guard = std::min(c.keep_guard, T);
  int64_t minKeep = std::max(std::min(c.keep_min, T), guard);
  float prod = static_cast<float>(r) * static_cast<float>(T);
  int64_t k = truncToInt(std::nearbyint(prod));
  if (minKeep > 0)
    k = std::max(k, minKeep);
  return clampI(k, 1, T);
}

} // namespace proteus_rt

#endif // PROTEUS_RT_SCHEDULE_H
