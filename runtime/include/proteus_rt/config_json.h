//===- config_json.h - Config <-> JSON with the golden key names -*- C++
//-*-===//
//
// The layer configuration as JSON, with the reference's attribute names used
// by golden/README.md and by a bundle's manifest ("config"). Implemented in
// proteus_rt; the JSON library stays an implementation detail.
//
// Keys (Config field in parentheses where the name differs):
//   d_model, h_total, d_head (checked: d_model / h_total), attn_gates (gates),
//   h_active_min, h_active_max, h_active_curve, seq_low, seq_high,
//   small_seq_dense, dense_alpha_cutoff, _dense_threshold (null or number:
//   has_dense_threshold / dense_threshold), force_dense_when_full,
//   router_top_p, linear_head_k, linear_switch_ctx, linear_window_base
//   (window_base), linear_anchor_stride (anchor_stride), linear_use_local,
//   linear_use_anchors, linear_use_proto, linear_piece_local_frac,
//   linear_piece_anchor_frac, linear_piece_proto_frac, linear_L_base,
//   linear_L_min, linear_L_max, linear_L_schedule ("fixed" | "sqrt" | "log" |
//   "mem_cap"), linear_L_scale, linear_mem_budget_mb (null or number),
//   token_sparse, token_keep_ratio_base (keep_ratio_base),
//   linear_token_keep_schedule ("fixed" | "sqrt" | "log"),
//   linear_token_keep_ratio_min, linear_token_keep_ratio_ref,
//   token_keep_guard, token_keep_min, token_keep_threshold, proto_enabled,
//   proto_decay, proto_threshold, proto_blend, proto_temp, proto_usage_boost,
//   use_rope, rope_base, bias, mode_setting ("auto" | "linear" | "subquad"),
//   quantize_sparse_int8, quantize_sparse_int8_mode ("max" | "percentile"),
//   quantize_sparse_int8_percentile.
// Accepted only when off: memory_enabled (false), linear_latency_budget_ms
// (null). Missing keys keep Config's defaults; any other key is an error.
//
//===----------------------------------------------------------------------===//

#ifndef PROTEUS_RT_CONFIG_JSON_H
#define PROTEUS_RT_CONFIG_JSON_H

#include "proteus_rt/proteus_rt.h"
#include "proteus_rt/schedule.h"

#include <string>

namespace proteus_rt {

/// Parses a JSON object with the keys above into `config` (starting from
/// Config's defaults). Returns false and sets `error` (which key, what was
/// expected, what was found) on a malformed document or value; does not
/// check the configuration's consistency (see validateConfig).
PRT_API bool parseConfigJson(const std::string &text, Config &config,
                             std::string &error);

/// The largest value of any integer configuration key (and of
/// linear_mem_budget_mb and linear_L_scale): with the runtime's bound on a
/// call's sizes (B * T * C <= 2^50) every schedule formula stays in range.
inline constexpr int64_t kMaxConfigInteger = int64_t(1) << 40;
/// The largest configuration file the tools read.
inline constexpr int64_t kMaxConfigFileBytes = int64_t(1) << 20;
/// The largest d_model and attn_gates (weights of d_model^2 elements).
inline constexpr int64_t kMaxConfigDModel = int64_t(1) << 20;

/// Checks the ranges and relations a kernel relies on (d_model % h_total,
/// head budget within [1, H], L_min <= L_max, ratios in range, ...). Returns
/// "" when consistent, else what is wrong.
PRT_API std::string validateConfig(const Config &config);

/// Writes every key above (round-trips through parseConfigJson).
PRT_API std::string configToJson(const Config &config);

} // namespace proteus_rt

#endif // PROTEUS_RT_CONFIG_JSON_H
