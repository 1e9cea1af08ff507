//===- Config.cpp - #proteus.config <-> schedule Config -------------------===//
//
// Field-by-field conversion in the attribute's parameter order.
//
//===----------------------------------------------------------------------===//

#include "proteus/Support/Config.h"

using namespace mlir;
using namespace mlir::proteus;

proteus_rt::Config mlir::proteus::toScheduleConfig(ConfigAttr attr) {
  proteus_rt::Config c;
  c.d_model = attr.getDModel();
  c.h_total = attr.getHTotal();
  c.gates = attr.getGates();
  c.h_active_min = attr.getHActiveMin();
  c.h_active_max = attr.getHActiveMax();
  c.h_active_curve = attr.getHActiveCurve();
  c.seq_low = attr.getSeqLow();
  c.seq_high = attr.getSeqHigh();
  c.small_seq_dense = attr.getSmallSeqDense();
  c.dense_alpha_cutoff = attr.getDenseAlphaCutoff();
  c.has_dense_threshold = attr.getDenseThreshold() != -1.0;
  c.dense_threshold =
      c.has_dense_threshold ? double(attr.getDenseThreshold()) : 0.0;
  c.force_dense_when_full = attr.getForceDenseWhenFull();
  c.router_top_p = attr.getRouterTopP();
  c.linear_head_k = attr.getLinearHeadK();
  c.linear_switch_ctx = attr.getLinearSwitchCtx();
  c.window_base = attr.getWindowBase();
  c.anchor_stride = attr.getAnchorStride();
  c.use_local = attr.getUseLocal();
  c.use_anchors = attr.getUseAnchors();
  c.use_proto = attr.getUseProto();
  c.piece_local_frac = attr.getPieceLocalFrac();
  c.piece_anchor_frac = attr.getPieceAnchorFrac();
  c.piece_proto_frac = attr.getPieceProtoFrac();
  c.L_base = attr.getLBase();
  c.L_min = attr.getLMin();
  c.L_max = attr.getLMax();
  c.L_schedule = static_cast<proteus_rt::LSchedule>(
      static_cast<int32_t>(attr.getLSchedule()));
  c.L_scale = attr.getLScale();
  c.mem_budget_mb = attr.getMemBudgetMb();
  c.token_sparse = attr.getTokenSparse();
  c.keep_ratio_base = attr.getKeepRatioBase();
  c.keep_schedule = static_cast<proteus_rt::KeepSchedule>(
      static_cast<int32_t>(attr.getKeepSchedule()));
  c.keep_ratio_min = attr.getKeepRatioMin();
  c.keep_ratio_ref = attr.getKeepRatioRef();
  c.keep_guard = attr.getKeepGuard();
  c.keep_min = attr.getKeepMin();
  c.keep_threshold = attr.getKeepThreshold();
  c.proto_enabled = attr.getProtoEnabled();
  c.proto_decay = attr.getProtoDecay();
  c.proto_threshold = attr.getProtoThreshold();
  c.proto_blend = attr.getProtoBlend();
  c.proto_temp = attr.getProtoTemp();
  c.proto_usage_boost = attr.getProtoUsageBoost();
  c.use_rope = attr.getUseRope();
  c.rope_base = attr.getRopeBase();
  c.bias = attr.getBias();
  c.mode_setting = static_cast<proteus_rt::ModeSetting>(
      static_cast<int32_t>(attr.getModeSetting()));
  c.quantize_int8 = attr.getQuantizeInt8();
  c.int8_mode = static_cast<proteus_rt::Int8Mode>(
      static_cast<int32_t>(attr.getInt8Mode()));
  c.int8_percentile = attr.getInt8Percentile();
  // The reference clamps the head budget to [1, H] (REFERENCE.md section 1).
  c.h_active_max = std::min(c.h_active_max, c.h_total);
  c.h_active_min = std::min(c.h_active_min, c.h_active_max);
  return c;
}

ConfigAttr mlir::proteus::toConfigAttr(MLIRContext *ctx,
                                       const proteus_rt::Config &c) {
  return ConfigAttr::get(
      ctx, c.d_model, c.h_total, c.gates, c.h_active_min, c.h_active_max,
      c.h_active_curve, c.seq_low, c.seq_high, c.small_seq_dense,
      c.dense_alpha_cutoff, c.has_dense_threshold ? c.dense_threshold : -1.0,
      c.force_dense_when_full, c.router_top_p, c.linear_head_k,
      c.linear_switch_ctx, c.window_base, c.anchor_stride, c.use_local,
      c.use_anchors, c.use_proto, c.piece_local_frac, c.piece_anchor_frac,
      c.piece_proto_frac, c.L_base, c.L_min, c.L_max,
      static_cast<LSchedule>(static_cast<int32_t>(c.L_schedule)), c.L_scale,
      c.mem_budget_mb, c.token_sparse, c.keep_ratio_base,
      static_cast<KeepSchedule>(static_cast<int32_t>(c.keep_schedule)),
      c.keep_ratio_min, c.keep_ratio_ref, c.keep_guard, c.keep_min,
      c.keep_threshold, c.proto_enabled, c.proto_decay, c.proto_threshold,
      c.proto_blend, c.proto_temp, c.proto_usage_boost, c.use_rope, c.rope_base,
      c.bias, static_cast<ModeSetting>(static_cast<int32_t>(c.mode_setting)),
      c.quantize_int8, static_cast<Int8Mode>(static_cast<int32_t>(c.int8_mode)),
      c.int8_percentile);
}

LogicalResult mlir::proteus::verifyConfig(Location loc, ConfigAttr cfg) {
  return ConfigAttr::verifyInvariants(
      [&] { return emitError(loc); }, cfg.getDModel(), cfg.getHTotal(),
      cfg.getGates(), cfg.getHActiveMin(), cfg.getHActiveMax(),
      cfg.getHActiveCurve(), cfg.getSeqLow(), cfg.getSeqHigh(),
      cfg.getSmallSeqDense(), cfg.getDenseAlphaCutoff(),
      cfg.getDenseThreshold(), cfg.getForceDenseWhenFull(), cfg.getRouterTopP(),
      cfg.getLinearHeadK(), cfg.getLinearSwitchCtx(), cfg.getWindowBase(),
      cfg.getAnchorStride(), cfg.getUseLocal(), cfg.getUseAnchors(),
      cfg.getUseProto(), cfg.getPieceLocalFrac(), cfg.getPieceAnchorFrac(),
      cfg.getPieceProtoFrac(), cfg.getLBase(), cfg.getLMin(), cfg.getLMax(),
      cfg.getLSchedule(), cfg.getLScale(), cfg.getMemBudgetMb(),
      cfg.getTokenSparse(), cfg.getKeepRatioBase(), cfg.getKeepSchedule(),
      cfg.getKeepRatioMin(), cfg.getKeepRatioRef(), cfg.getKeepGuard(),
      cfg.getKeepMin(), cfg.getKeepThreshold(), cfg.getProtoEnabled(),
      cfg.getProtoDecay(), cfg.getProtoThreshold(), cfg.getProtoBlend(),
      cfg.getProtoTemp(), cfg.getProtoUsageBoost(), cfg.getUseRope(),
      cfg.getRopeBase(), cfg.getBias(), cfg.getModeSetting(),
      cfg.getQuantizeInt8(), cfg.getInt8Mode(), cfg.getInt8Percentile());
}
