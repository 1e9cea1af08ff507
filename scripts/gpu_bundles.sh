#!/bin/sh
# Compiles the bundles that runtime/test/gpu_attention_check runs on the GPU:
# one per head dim D (d_model = 8 D, h_total 8, settings alpha 0 and 1, with
# candidate budgets chosen so that the anchors, the collapse onto token 0,
# the truncation to L and a T-dependent L all occur at the checked lengths),
# the reference benchmark's setting for --time, and a prototype-piece bundle
# (each query's warp builds its list in shared memory), and INT8 bundles
# (max and percentile scales) for the quantizing kernels.
#
# d16 carries SASS for sm_90a as well, so that the checks load a real cubin
# (the fake driver's sm_90 in CTest, the GPU's where it is an sm_90); layer
# carries what $GPU_BUNDLES_SASS asks (scripts/prepare_device.sh: auto, for
# scripts/first_plan.sh; default none); the others PTX only (ptxas takes
# seconds a module).
#
#   scripts/gpu_bundles.sh PROTEUS_COMPILE OUTDIR [NAME ...]
# With names, only those bundles (the CTest of gpu_attention_check needs the
# attention ones, not layer, h16 and h32).
set -eu
export PROTEUS_SASS=none
compile=${1:?usage: gpu_bundles.sh PROTEUS_COMPILE OUTDIR}
out=${2:?usage: gpu_bundles.sh PROTEUS_COMPILE OUTDIR}
mkdir -p "$out"
shift 2
only=" $* "

bundle() { # name alphas config-json [proteus-compile options]
  name=$1 alphas=$2 config=$3
  shift 3
  [ "$only" = "  " ] || case $only in *" $name "*) ;; *) return 0 ;; esac
  printf '%s\n' "$config" >"$out/$name.json"
  rm -rf "${out:?}/$name"
  "$compile" --config "$out/$name.json" --alpha "$alphas" -o "$out/$name" "$@" >/dev/null
  rm -f "$out/$name.json"
  echo "gpu_bundles: $out/$name (alpha $alphas${*:+, $*}): $config"
}

bundle d16 0,1 '{"d_model": 128, "h_total": 8, "linear_window_base": 64,
  "linear_anchor_stride": 32, "linear_L_base": 256, "linear_L_min": 32,
  "linear_L_max": 256}' --sass sm_90a
bundle d32 0,1 '{"d_model": 256, "h_total": 8, "linear_window_base": 128,
  "linear_anchor_stride": 16, "linear_L_base": 96, "linear_L_min": 16,
  "linear_L_max": 96}'
bundle d64 0,1 '{"d_model": 512, "h_total": 8}'
bundle d128 0,1 '{"d_model": 1024, "h_total": 8, "linear_window_base": 256,
  "linear_anchor_stride": 64, "linear_L_base": 16, "linear_L_min": 64,
  "linear_L_max": 1024, "linear_L_schedule": "sqrt"}'
# REFERENCE.md 9.1 at alpha 1: 32 heads of 16, window 512, anchors every 256,
# L 2048 (683 anchors).
bundle bench 1 '{"d_model": 512, "h_total": 32, "attn_gates": 64,
  "h_active_max": 32, "linear_window_base": 512, "linear_anchor_stride": 256,
  "linear_L_base": 2048, "linear_L_min": 128, "linear_L_max": 2048}'
# The routed layer with everything on: token selection (with a threshold),
# prototypes (routing blend and EMA), biases; the in-kernel candidate rule.
layer='{"d_model": 128, "h_total": 8, "attn_gates": 16,
  "token_sparse": true, "token_keep_ratio_base": 0.5, "token_keep_threshold": 0.3,
  "token_keep_guard": 4, "proto_enabled": true, "bias": true,
  "linear_window_base": 64, "linear_anchor_stride": 32, "linear_L_base": 256,
  "linear_L_min": 32, "linear_L_max": 256}'
bundle layer 0,0.25,0.5,0.75,1 "$layer" --sass "${GPU_BUNDLES_SASS:-none}"
# Its PTX-only twin (the same PTX), for the JIT's first plan beside the
# cubins' (scripts/first_plan.sh).
if [ "${GPU_BUNDLES_SASS:-none}" != none ]; then
  bundle layer-ptx 0,0.25,0.5,0.75,1 "$layer" --sass none
fi
# INT8 fake quantization of the shortlist's q, k, v (max mode), in-kernel in
# the layer's and the primitive rule kernels.
bundle int8 0,1 '{"d_model": 128, "h_total": 8, "quantize_sparse_int8": true,
  "token_sparse": true, "token_keep_ratio_base": 0.5,
  "linear_window_base": 64, "linear_anchor_stride": 32, "linear_L_base": 256,
  "linear_L_min": 32, "linear_L_max": 256}'
# The same with percentile scales (torch.quantile of |x| per row), D 32,
# for the primitive kernels' checks.
bundle int8p 1 '{"d_model": 256, "h_total": 8, "quantize_sparse_int8": true,
  "quantize_sparse_int8_mode": "percentile",
  "quantize_sparse_int8_percentile": 0.99, "linear_window_base": 128,
  "linear_anchor_stride": 16, "linear_L_base": 96, "linear_L_min": 16,
  "linear_L_max": 96}'
# More heads for the layer checks (issue 5: H 8, 16 and 32), with token
# selection and prototypes on.
bundle h16 0,1 '{"d_model": 512, "h_total": 16, "attn_gates": 16,
  "h_active_max": 16, "token_sparse": true, "token_keep_ratio_base": 0.5,
  "proto_enabled": true, "linear_window_base": 64, "linear_anchor_stride": 32,
  "linear_L_base": 256, "linear_L_min": 32, "linear_L_max": 256}'
bundle h32 0,1 '{"d_model": 512, "h_total": 32, "attn_gates": 32,
  "h_active_max": 32, "token_sparse": true, "token_keep_ratio_base": 0.5,
  "proto_enabled": true, "linear_window_base": 64, "linear_anchor_stride": 32,
  "linear_L_base": 256, "linear_L_min": 32, "linear_L_max": 256}'
bundle proto 0,0.5,1 '{"d_model": 128, "h_total": 8, "linear_use_proto": true,
  "linear_piece_local_frac": 0.5, "linear_piece_anchor_frac": 0.3,
  "linear_piece_proto_frac": 0.2, "proto_enabled": true}'
