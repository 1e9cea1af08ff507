//===- config_json.cpp - Config <-> JSON with the golden key names --------===//
//
// One table maps each JSON key to its Config field, so that parsing and
// writing cannot disagree.
//
//===----------------------------------------------------------------------===//

#include "proteus_rt/config_json.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

using nlohmann::json;

namespace proteus_rt {
namespace {

enum class Kind { Int, Double, Bool };

struct Field {
  const char *key;
  Kind kind;
  int64_t Config::*i = nullptr;
  double Config::*d = nullptr;
  bool Config::*b = nullptr;
};

Field intField(const char *k, int64_t Config::*m) {
  return {k, Kind::Int, m, nullptr, nullptr};
}
Field dblField(const char *k, double Config::*m) {
  return {k, Kind::Double, nullptr, m, nullptr};
}
Field boolField(const char *k, bool Config::*m) {
  return {k, Kind::Bool, nullptr, nullptr, m};
}

const std::vector<Field> &fields() {
  static const std::vector<Field> table = {
      intField("d_model", &Config::d_model),
      intField("h_total", &Config::h_total),
      intField("attn_gates", &Config::gates),
      intField("h_active_min", &Config::h_active_min),
      intField("h_active_max", &Config::h_active_max),
      dblField("h_active_curve", &Config::h_active_curve),
      intField("seq_low", &Config::seq_low),
      intField("seq_high", &Config::seq_high),
      intField("small_seq_dense", &Config::small_seq_dense),
      dblField("dense_alpha_cutoff", &Config::dense_alpha_cutoff),
      boolField("force_dense_when_full", &Config::force_dense_when_full),
      dblField("router_top_p", &Config::router_top_p),
      intField("linear_head_k", &Config::linear_head_k),
      intField("linear_switch_ctx", &Config::linear_switch_ctx),
      intField("linear_window_base", &Config::window_base),
      intField("linear_anchor_stride", &Config::anchor_stride),
      boolField("linear_use_local", &Config::use_local),
      boolField("linear_use_anchors", &Config::use_anchors),
      boolField("linear_use_proto", &Config::use_proto),
      dblField("linear_piece_local_frac", &Config::piece_local_frac),
      dblField("linear_piece_anchor_frac", &Config::piece_anchor_frac),
      dblField("linear_piece_proto_frac", &Config::piece_proto_frac),
      intField("linear_L_base", &Config::L_base),
      intField("linear_L_min", &Config::L_min),
      intField("linear_L_max", &Config::L_max),
      dblField("linear_L_scale", &Config::L_scale),
      boolField("token_sparse", &Config::token_sparse),
      dblField("token_keep_ratio_base", &Config::keep_ratio_base),
      dblField("linear_token_keep_ratio_min", &Config::keep_ratio_min),
      intField("linear_token_keep_ratio_ref", &Config::keep_ratio_ref),
      intField("token_keep_guard", &Config::keep_guard),
      intField("token_keep_min", &Config::keep_min),
      dblField("token_keep_threshold", &Config::keep_threshold),
      boolField("proto_enabled", &Config::proto_enabled),
      dblField("proto_decay", &Config::proto_decay),
      dblField("proto_threshold", &Config::proto_threshold),
      dblField("proto_blend", &Config::proto_blend),
      dblField("proto_temp", &Config::proto_temp),
      dblField("proto_usage_boost", &Config::proto_usage_boost),
      boolField("use_rope", &Config::use_rope),
      dblField("rope_base", &Config::rope_base),
      boolField("bias", &Config::bias),
      boolField("quantize_sparse_int8", &Config::quantize_int8),
      dblField("quantize_sparse_int8_percentile", &Config::int8_percentile),
  };
  return table;
}

/// A string-valued enum key: its names in enum order.
template <typename E> struct EnumField {
  const char *key;
  E Config::*member;
  std::vector<const char *> names;
};

const EnumField<LSchedule> kLSchedule{"linear_L_schedule",
                                      &Config::L_schedule,
                                      {"fixed", "sqrt", "log", "mem_cap"}};
const EnumField<KeepSchedule> kKeepSchedule{"linear_token_keep_schedule",
                                            &Config::keep_schedule,
                                            {"fixed", "sqrt", "log"}};
const EnumField<ModeSetting> kModeSetting{
    "mode_setting", &Config::mode_setting, {"auto", "linear", "subquad"}};
const EnumField<Int8Mode> kInt8Mode{
    "quantize_sparse_int8_mode", &Config::int8_mode, {"max", "percentile"}};

std::string typeName(const json &v) { return v.type_name(); }

template <typename E>
bool parseEnum(const EnumField<E> &f, const json &v, Config &c,
               std::string &error) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    for (size_t i = 0; i < f.names.size(); ++i) {
      if (s == f.names[i]) {
        c.*(f.member) = static_cast<E>(i);
        return true;
      }
    }
  }
  std::ostringstream os;
  os << "config key '" << f.key << "' must be one of";
  for (const char *n : f.names)
    os << " \"" << n << "\"";
  os << ", found " << v.dump();
  error = os.str();
  return false;
}

template <typename E>
void writeEnum(const EnumField<E> &f, const Config &c, json &out) {
  size_t i = static_cast<size_t>(c.*(f.member));
  out[f.key] = i < f.names.size() ? f.names[i] : "unknown";
}

bool parseField(const Field &f, const json &v, Config &c, std::string &error) {
  switch (f.kind) {
  case Kind::Int:
    if (v.is_number_integer()) {
      c.*(f.i) = v.get<int64_t>();
      return true;
    }
    error = std::string("config key '") + f.key +
            "' must be an integer, found " + typeName(v) + " " + v.dump();
    return false;
  case Kind::Double:
    if (v.is_number()) {
      c.*(f.d) = v.get<double>();
      return true;
    }
    error = std::string("config key '") + f.key + "' must be a number, found " +
            typeName(v) + " " + v.dump();
    return false;
  case Kind::Bool:
    if (v.is_boolean()) {
      c.*(f.b) = v.get<bool>();
      return true;
    }
    error = std::string("config key '") + f.key +
            "' must be true or false, found " + v.dump();
    return false;
  }
  return false;
}

/// A key that holds null (unset) or a number.
bool parseNullableNumber(const char *key, const json &v, bool &has,
                         double &value, std::string &error) {
  if (v.is_null()) {
    has = false;
    return true;
  }
  if (v.is_number()) {
    has = true;
    value = v.get<double>();
    return true;
  }
  error = std::string("config key '") + key +
          "' must be null or a number, found " + v.dump();
  return false;
}

} // namespace

bool parseConfigJson(const std::string &text, Config &config,
                     std::string &error) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception &e) {
    error = std::string("config is not valid JSON: ") + e.what();
    return false;
  }
  if (!doc.is_object()) {
    error = "config must be a JSON object, found " + typeName(doc);
    return false;
  }
  Config c;
  bool sawDHead = false;
  int64_t dHead = 0;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string &key = it.key();
    const json &v = it.value();
    bool known = false;
    for (const Field &f : fields()) {
      if (key == f.key) {
        if (!parseField(f, v, c, error))
          return false;
        known = true;
        break;
      }
    }
    if (known)
      continue;
    if (key == kLSchedule.key) {
      if (!parseEnum(kLSchedule, v, c, error))
        return false;
    } else if (key == kKeepSchedule.key) {
      if (!parseEnum(kKeepSchedule, v, c, error))
        return false;
    } else if (key == kModeSetting.key) {
      if (!parseEnum(kModeSetting, v, c, error))
        return false;
    } else if (key == kInt8Mode.key) {
      if (!parseEnum(kInt8Mode, v, c, error))
        return false;
    } else if (key == "_dense_threshold") {
      if (!parseNullableNumber("_dense_threshold", v, c.has_dense_threshold,
                               c.dense_threshold, error))
        return false;
    } else if (key == "linear_mem_budget_mb") {
      bool has = false;
      double mb = 0.0;
      if (!parseNullableNumber("linear_mem_budget_mb", v, has, mb, error))
        return false;
      c.mem_budget_mb = has ? mb : 0.0;
    } else if (key == "d_head") {
      if (!v.is_number_integer()) {
        error = "config key 'd_head' must be an integer, found " + v.dump();
        return false;
      }
      sawDHead = true;
      dHead = v.get<int64_t>();
    } else if (key == "memory_enabled") {
      if (!v.is_boolean() || v.get<bool>()) {
        error = "config key 'memory_enabled' must be false: the KV memory bank "
                "is not supported (SPEC.md section 1), found " +
                v.dump();
        return false;
      }
    } else if (key == "linear_latency_budget_ms") {
      if (!v.is_null()) {
        error = "config key 'linear_latency_budget_ms' must be null: the "
                "latency feedback loop is not supported (pass alpha "
                "explicitly), found " +
                v.dump();
        return false;
      }
    } else {
      error = "unknown config key '" + key + "'";
      return false;
    }
  }
  if (sawDHead && (c.h_total <= 0 || c.d_model / c.h_total != dHead)) {
    error = "config key 'd_head' is " + std::to_string(dHead) +
            " but d_model / h_total is " + std::to_string(c.d_model) + " / " +
            std::to_string(c.h_total);
    return false;
  }
  config = c;
  return true;
}

std::string validateConfig(const Config &c) {
  std::ostringstream os;
  auto bad = [&](const std::string &what) {
    if (os.tellp() > 0)
      os << "; ";
    os << what;
  };
  auto finite = [](double v) { return std::isfinite(v); };
  // Ranges that keep every schedule formula (schedule.h) inside int64 and
  // every float->int conversion defined, for any T the runtime accepts.
  for (const Field &f : fields()) {
    if (f.kind == Kind::Int && c.*(f.i) > kMaxConfigInteger)
      bad(std::string(f.key) + " = " + std::to_string(c.*(f.i)) + " exceeds " +
          std::to_string(kMaxConfigInteger) +
          " (larger values would overflow the schedule arithmetic)");
    if (f.kind == Kind::Double && !finite(c.*(f.d)))
      bad(std::string(f.key) + " must be finite");
  }
  if (c.d_model > kMaxConfigDModel)
    bad("d_model = " + std::to_string(c.d_model) + " exceeds " +
        std::to_string(kMaxConfigDModel));
  if (c.gates > kMaxConfigDModel)
    bad("attn_gates = " + std::to_string(c.gates) + " exceeds " +
        std::to_string(kMaxConfigDModel));
  if (!finite(c.mem_budget_mb) || c.mem_budget_mb > kMaxConfigInteger)
    bad("linear_mem_budget_mb must be finite and at most " +
        std::to_string(kMaxConfigInteger));
  if (c.has_dense_threshold && !finite(c.dense_threshold))
    bad("_dense_threshold must be finite");
  if (finite(c.L_scale) && c.L_scale > kMaxConfigInteger)
    bad("linear_L_scale exceeds " + std::to_string(kMaxConfigInteger));
  if (c.d_model <= 0)
    bad("d_model must be positive (is " + std::to_string(c.d_model) + ")");
  if (c.h_total <= 0)
    bad("h_total must be positive (is " + std::to_string(c.h_total) + ")");
  else if (c.d_model > 0 && c.d_model % c.h_total != 0)
    bad("d_model " + std::to_string(c.d_model) +
        " is not a multiple of h_total " + std::to_string(c.h_total));
  if (c.gates <= 0)
    bad("attn_gates must be positive (is " + std::to_string(c.gates) + ")");
  if (c.h_active_min < 1 || c.h_active_min > c.h_active_max)
    bad("need 1 <= h_active_min <= h_active_max (have " +
        std::to_string(c.h_active_min) + ", " + std::to_string(c.h_active_max) +
        ")");
  if (c.h_total > 0 && c.h_active_max > c.h_total)
    bad("h_active_max " + std::to_string(c.h_active_max) + " exceeds h_total " +
        std::to_string(c.h_total));
  if (c.seq_low < 0 || c.seq_high < c.seq_low)
    bad("need 0 <= seq_low <= seq_high");
  if (c.small_seq_dense < 0)
    bad("small_seq_dense must be >= 0");
  if (!finite(c.router_top_p) || c.router_top_p < 0.0 || c.router_top_p > 1.0)
    bad("router_top_p must be in [0, 1]");
  if (c.linear_head_k < 1)
    bad("linear_head_k must be >= 1");
  if (c.linear_switch_ctx < 0)
    bad("linear_switch_ctx must be >= 0");
  if (c.window_base < 1)
    bad("linear_window_base must be >= 1");
  if (c.anchor_stride < 0)
    bad("linear_anchor_stride must be >= 0");
  if (c.piece_local_frac < 0.0 || c.piece_anchor_frac < 0.0 ||
      c.piece_proto_frac < 0.0)
    bad("linear_piece_*_frac must be >= 0");
  if (c.L_min < 1 || c.L_min > c.L_max)
    bad("need 1 <= linear_L_min <= linear_L_max (have " +
        std::to_string(c.L_min) + ", " + std::to_string(c.L_max) + ")");
  if (!finite(c.L_scale) || c.L_scale <= 0.0)
    bad("linear_L_scale must be positive");
  if (c.mem_budget_mb < 0.0)
    bad("linear_mem_budget_mb must be >= 0");
  if (!finite(c.keep_ratio_base) || c.keep_ratio_base <= 0.0 ||
      c.keep_ratio_base > 1.0)
    bad("token_keep_ratio_base (the density) must be in (0, 1]");
  if (c.keep_ratio_min < 0.0 || c.keep_ratio_min > 1.0)
    bad("linear_token_keep_ratio_min must be in [0, 1]");
  if (c.keep_ratio_ref < 1)
    bad("linear_token_keep_ratio_ref must be >= 1");
  if (c.keep_guard < 0 || c.keep_min < 0)
    bad("token_keep_guard and token_keep_min must be >= 0");
  if (c.proto_enabled && (!finite(c.proto_temp) || c.proto_temp <= 0.0))
    bad("proto_temp must be positive");
  if (c.proto_decay < 0.0 || c.proto_decay > 1.0)
    bad("proto_decay must be in [0, 1]");
  if (c.quantize_int8 && c.int8_mode == Int8Mode::Percentile &&
      (c.int8_percentile <= 0.0 || c.int8_percentile > 1.0))
    bad("quantize_sparse_int8_percentile must be in (0, 1]");
  if (!finite(c.rope_base) || c.rope_base <= 0.0)
    bad("rope_base must be positive");
  return os.str();
}

std::string configToJson(const Config &c) {
  json out = json::object();
  for (const Field &f : fields()) {
    switch (f.kind) {
    case Kind::Int:
      out[f.key] = c.*(f.i);
      break;
    case Kind::Double:
      out[f.key] = c.*(f.d);
      break;
    case Kind::Bool:
      out[f.key] = c.*(f.b);
      break;
    }
  }
  out["d_head"] = c.headDim();
  writeEnum(kLSchedule, c, out);
  writeEnum(kKeepSchedule, c, out);
  writeEnum(kModeSetting, c, out);
  writeEnum(kInt8Mode, c, out);
  out["_dense_threshold"] =
      c.has_dense_threshold ? json(c.dense_threshold) : json();
  out["linear_mem_budget_mb"] =
      c.mem_budget_mb > 0.0 ? json(c.mem_budget_mb) : json();
  return out.dump(2);
}

} // namespace proteus_rt
