#!/bin/bash
# Runs ON the GPU machine, from the repository root, over the folder that
# scripts/prepare_device.sh made here and the device call carried (.device):
#   check      gpu_attention_check on every bundle and the golden cases
#   unit       the runtime's unit tests (their GPU paths skip elsewhere)
#   memcheck   gpu_attention_check --quick under compute-sanitizer memcheck
#   racecheck  the same under racecheck
#   time       gpu_attention_check --time (shortlist rule and dense kernels)
#   baseline   benchmarks/sdpa_baseline.py: PyTorch SDPA (cuDNN, Flash) on the
#              dense timing's shapes, in the same call, for ratios
#   layer      gpu_layer_check: the whole layer on the GPU vs the CPU layer
#              (every setting, B 1-4, T 1-2048, twice for bit-identity)
#   layer-long the same at T 4096, 16384, 65536 (B 1)
#   layer-golden  proteus-run --golden -v with the bundles prepare_device.sh
#              compiled (layer cases run on the GPU where the bundle has the
#              layer kernels; each case's "backend" line says where)
#   layer-memcheck, layer-racecheck  gpu_layer_check --quick under the sanitizers
#   layer-racecheck-a .. -d  the racecheck in four parts, each inside its
#              280 s: a d16-d128 (--sanitize), b layer, int8 and proto
#              (--quick: 72 cases in 269 s on the H200), c h16 and d h32
#              (--sanitize: a 16-head case takes ~17 s under racecheck)
#   layer-time per-kernel times of one 64K-token call (PROTEUS_PROFILE=1)
#   top-a      proteus-run --golden -v on the top_a cases (../golden-next):
#              the layer's consensus on the GPU, prt_top_a and prt_gpu_top_a
#              against the golden distribution
#   top-a-random  proteus-run --top-a-demo on the GPU: the layer's consensus,
#              then prt_gpu_top_a against prt_top_a on the same random inputs
#              (B 3, V 1000 to 262144, every mode, f32 and bf16, logits of
#              standard deviation 4 and 6: nuclei of 1 to ~1,500; and a flat
#              distribution at V 262144, which the kernel refuses)
#   layer-nonfinite  gpu_layer_check --nonfinite (NaN/Inf in x and the
#              weights, CPU and GPU layer) under compute-sanitizer memcheck
#   first-plan the first plan of a fresh process with an empty cache
#              (scripts/first_plan.sh) on the 5-setting layer bundle, which
#              carries SASS for sm_90 and sm_90a, and on layer-ptx, the same
#              PTX without cubins (the driver's JIT)
#   (the layer steps are not in the default list: name them)
#
#   scripts/gpu_check.sh [STEP ...]      (default: every step, in this order)
#
# Each step has its own time limit (check 240 s, unit 60, memcheck 280,
# racecheck 280, time 180, baseline 90); one device call allows 600 s, so run
#   scripts/gpu_check.sh check unit time baseline    and then
#   scripts/gpu_check.sh memcheck racecheck          on the same machine.
#
# Logs go to $OUT (else .device/logs); the last lines are one summary line
# per step. Exit status: 0 when every step passed. GPU_CHECK_ARGS adds
# arguments to every gpu_attention_check run (e.g. --seed N).
set -uo pipefail
dev=${DEVICE_DIR:-.device}
logs=${OUT:-$dev/logs}
mkdir -p "$logs"
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(check unit memcheck racecheck time baseline)
check=$dev/bin/gpu_attention_check
layer=$dev/bin/gpu_layer_check
b=$dev/bundles
bundles=(--bundle "$b/d16" --bundle "$b/d32" --bundle "$b/d64"
  --bundle "$b/d128" --bundle "$b/proto" --bundle "$b/int8" --bundle "$b/int8p")
layers=("$b/d16" "$b/d32" "$b/d64" "$b/d128" "$b/layer" "$b/int8" "$b/proto"
  "$b/h16" "$b/h32")
read -r -a extra <<<"${GPU_CHECK_ARGS:-}"
bundles+=("${extra[@]}")

# The archive scripts/prepare_device.sh made, where it was carried.
if [ -f "$dev/pack.tar.xz" ] && [ "$dev/pack.tar.xz" -nt "$dev/COMMIT" ]; then
  tar -C "$dev" -xJf "$dev/pack.tar.xz" --touch || exit 2
fi
if [ ! -x "$check" ]; then
  echo "gpu_check: $check is missing: run scripts/prepare_device.sh here and carry .device" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Built on the repository's machine: where this one's libstdc++ is older
# than the binaries need (the loader exits 127), use the carried one.
"$check" >/dev/null 2>&1
if [ $? -eq 127 ]; then
  export LD_LIBRARY_PATH="$dev/lib/fallback:$LD_LIBRARY_PATH"
  echo "gpu_check: using the carried libstdc++ ($dev/lib/fallback)"
fi

{
  echo "commit: $(cat "$dev/COMMIT" 2>/dev/null || echo unknown)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm \
    --format=csv,noheader 2>&1
  command -v compute-sanitizer >/dev/null && compute-sanitizer --version | tail -1
} | tee "$logs/summary.txt"

summary=()
failed=0
run_step() { # name timeout-seconds command...
  local name=$1 limit=$2
  shift 2
  echo "=== $name: $*"
  local start=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$logs/$name.log"
  local rc=${PIPESTATUS[0]}
  local last
  last=$(grep -E "checks passed|passed, .* failed|PASSED|FAILED TEST|ERROR SUMMARY|cudnn|median first plan" \
    "$logs/$name.log" | tail -2 | tr '\n' ' ')
  [ $rc -eq 124 ] && last="TIMEOUT after ${limit}s; $last"
  [ $rc -eq 0 ] || failed=1
  summary+=("$(printf '%-10s rc=%-3s %4ss  %s' "$name" "$rc" $((SECONDS - start)) "$last")")
}

sanitizer=(compute-sanitizer --error-exitcode 3 --print-limit 20)
for step in "${steps[@]}"; do
  case $step in
  check) run_step check 240 "$check" --require-gpu --golden "$dev/golden" "${bundles[@]}" ;;
  unit) run_step unit 60 env PROTEUS_GOLDEN_DIR="$dev/golden" "$dev/bin/proteus_rt_tests" ;;
  memcheck) run_step memcheck 280 "${sanitizer[@]}" --tool memcheck --leak-check no \
    "$check" --require-gpu --quick --golden "$dev/golden" "${bundles[@]}" ;;
  racecheck) run_step racecheck 280 "${sanitizer[@]}" --tool racecheck \
    "$check" --require-gpu --quick "${bundles[@]}" ;;
  time) run_step time 180 "$check" --time --bench "$b/bench" "${bundles[@]}" ;;
  layer) run_step layer 280 "$layer" "${layers[@]}" ;;
  layer-long) run_step layer-long 280 "$layer" --long "$b/d16" "$b/layer" ;;
  layer-golden) run_step layer-golden 120 "$dev/bin/proteus-run" --golden "$dev/golden" \
    --work "$dev/golden-work" -v ;;
  layer-memcheck) run_step layer-memcheck 280 "${sanitizer[@]}" --tool memcheck --leak-check no \
    "$layer" --quick "${layers[@]}" ;;
  layer-racecheck) run_step layer-racecheck 280 "${sanitizer[@]}" --tool racecheck \
    "$layer" --quick "${layers[@]}" ;;
  layer-racecheck-a) run_step layer-racecheck-a 280 "${sanitizer[@]}" --tool racecheck \
    "$layer" --sanitize "${layers[@]:0:4}" ;;
  layer-racecheck-b) run_step layer-racecheck-b 280 "${sanitizer[@]}" --tool racecheck \
    "$layer" --quick "${layers[@]:4:3}" ;;
  layer-racecheck-c) run_step layer-racecheck-c 280 "${sanitizer[@]}" --tool racecheck \
    "$layer" --sanitize "$b/h16" ;;
  layer-racecheck-d) run_step layer-racecheck-d 280 "${sanitizer[@]}" --tool racecheck \
    "$layer" --sanitize "$b/h32" ;;
  layer-nonfinite) run_step layer-nonfinite 280 "${sanitizer[@]}" --tool memcheck \
    --leak-check no "$layer" --nonfinite "$b/layer" "$b/int8" ;;
  layer-time) run_step layer-time 120 env PROTEUS_PROFILE=1 "$layer" --time 65536 \
    "$b/bench" "$b/layer" ;;
  top-a) run_step top-a 120 "$dev/bin/proteus-run" --golden "$dev/golden-top-a" \
    --work "$dev/golden-work" -v ;;
  top-a-random) run_step top-a-random 280 env RUN="$dev/bin/proteus-run" BUNDLE="$b/d64" \
    bash -c 'ok=0 bad=0
      for V in 1000 32000 131072 262144; do for m in off blend filter; do for t in f32 bf16; do
        for s in 4 6; do
          if "$RUN" --bundle "$BUNDLE" --top-a-demo --backend gpu --B 3 --T 64 --V $V \
            --top-a-mode $m --top-a-dtype $t --logit-scale $s --seed $V; then ok=$((ok + 1))
          else bad=$((bad + 1)); fi
        done
      done; done; done
      # A flat distribution: more than 2048 candidates, refused as documented.
      if "$RUN" --bundle "$BUNDLE" --top-a-demo --backend gpu --T 64 --V 262144 \
        --logit-scale 0.5; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
      echo "$ok checks passed, $bad failed"; [ $bad -eq 0 ]' ;;
  first-plan) run_step first-plan 120 scripts/first_plan.sh "$dev/bin/proteus-run" \
    "$b/layer" "$b/layer-ptx" ;;
  baseline) run_step baseline 90 env PYTHONUNBUFFERED=1 python3 benchmarks/sdpa_baseline.py \
    --heads 8 --dim 64 --T 4096,16384 ;;
  *) echo "gpu_check: unknown step '$step' (check unit memcheck racecheck time baseline layer layer-long layer-golden layer-memcheck layer-racecheck layer-racecheck-a layer-racecheck-b layer-racecheck-c layer-racecheck-d layer-time layer-nonfinite top-a top-a-random first-plan)" >&2; exit 2 ;;
  esac
done

echo
echo "=== summary (logs in $logs)"
printf '%s\n' "${summary[@]}" | tee -a "$logs/summary.txt"
exit $failed
