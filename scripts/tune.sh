#!/bin/sh
# The autotuner on this project's two machines (proteus-tune --help explains
# the tool), for the benchmark configuration: the shortlist kernel of
# scripts/gpu_bundles.sh's `bench` bundle (32 heads of 16, window 512,
# anchors every 256, L 2048, alpha 1) and the dense kernel of its `d64` bundle
# (8 heads of 64), the shortlist kernel in bf16 and f32 (the GPU layer's type;
# its attention kernels take the f32 tiles) and the dense one in bf16
# ($DTYPES and $DENSE_DTYPES to change), for the shape classes the
# timings of scripts/gpu_check.sh `time` fall in (T 4K-524K, B 1).
#
#   here         scripts/tune.sh generate
#                  .device/ (scripts/prepare_device.sh, with
#                  proteus-tune-measure) and the tuning bundles .device/tune/,
#                  also those of the benchmark's layer bundles
#                  (.device/tune/layer-*: their f32 shortlist kernels, and
#                  the f32 dense kernel of the T <= 4K ones;
#                  scripts/bench_bundles.sh --tuning-db uses their entries)
#   GPU machine  scripts/tune.sh measure [proteus-tune-measure options]
#                  the database $OUT/tuning.json (else .device/tuning.json)
#                  and its journal; a run cut off (exit 3 at --time-limit,
#                  540 s by default) continues when .device/ carries the
#                  last run's tuning.json and tuning.json.journal
#   here         scripts/tune.sh bundles DATABASE
#                  the bench and d64 bundles compiled with the database, per
#                  shape class, into .device/tuned/
#   GPU machine  scripts/tune.sh confirm
#                  the tuned bundles checked against their CPU library
#                  (gpu_attention_check), then the default and the tuned
#                  kernels timed in the same call (gpu_attention_check --time)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
dev=${DEVICE_DIR:-$repo/.device}
dtypes=${DTYPES:-bf16,f32}
dense_dtypes=${DENSE_DTYPES:-bf16}
step=${1:-}
[ $# -gt 0 ] && shift

# Each bundle tuned: name, kernels, shape classes, the --tuning-seq-len of
# each class for `bundles`.
shortlist_classes=t4k.b1,t32k.b1
dense_classes=t4k.b1

# The configuration of a compiled bundle (its manifest's "config").
config_of() { # bundle-dir out.json
  python3 -c 'import json, sys
json.dump(json.load(open(sys.argv[1] + "/manifest.json"))["config"], open(sys.argv[2], "w"))' "$1" "$2"
}
alphas_of() { # bundle-dir
  python3 -c 'import json, sys
print(",".join("%r" % s["alpha"] for s in json.load(open(sys.argv[1] + "/manifest.json"))["settings"]))' "$1"
}

# On the GPU machine: the carried runtime, and the carried libstdc++ where
# the machine's is older than the binaries need (as scripts/gpu_check.sh).
device_env() {
  export LD_LIBRARY_PATH="$dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  set +e
  "$dev/bin/proteus-tune-measure" --help >/dev/null 2>&1
  rc=$?
  set -e
  if [ $rc -eq 127 ]; then
    export LD_LIBRARY_PATH="$dev/lib/fallback:$LD_LIBRARY_PATH"
    echo "tune: using the carried libstdc++ ($dev/lib/fallback)"
  fi
}

case $step in
generate)
  ninja -C "$build" -j"${JOBS:-2}" proteus-device-carry proteus-tune
  mkdir -p "$dev/tune"
  config_of "$dev/bundles/bench" "$dev/tune/bench.json"
  config_of "$dev/bundles/d64" "$dev/tune/d64.json"
  "$build/bin/proteus-tune" generate --config "$dev/tune/bench.json" --alpha 1 \
    --kernels shortlist --dtypes "$dtypes" --classes "$shortlist_classes" \
    -o "$dev/tune/bench"
  "$build/bin/proteus-tune" generate --config "$dev/tune/d64.json" --alpha 1 \
    --kernels dense --dtypes "$dense_dtypes" --classes "$dense_classes" \
    -o "$dev/tune/d64"
  # The benchmark's layer bundles (benchmarks/bench_configs.py, as
  # scripts/bench_bundles.sh compiles them): their budgets depend on T, so
  # their shortlist kernels are other specializations than the bench
  # bundle's, and the GPU layer runs them in f32. The T <= 4K ones also
  # their f32 dense kernel: the layer's dense mode (bench_layer.py's
  # proteus-dense, the alpha 0 setting) takes its tile.
  python3 "$repo/benchmarks/bench_configs.py" --write "$dev/tune/layer-configs" |
    while read -r name _ cfg; do
      case $name in *-le4k) classes=t4k.b1 ;; *) classes=t32k.b1 ;; esac
      "$build/bin/proteus-tune" generate --config "$cfg" --alpha 1 \
        --kernels shortlist --dtypes f32 --classes "$classes" \
        -o "$dev/tune/layer-$name"
      case $name in *-le4k)
        "$build/bin/proteus-tune" generate --config "$cfg" --alpha 0 \
          --kernels dense --dtypes f32 --classes t4k.b1 \
          -o "$dev/tune/layer-$name-dense" ;;
      esac
    done
  du -sh "$dev" "$dev/tune"
  cat <<MSG
tune: now on the GPU machine (device call carrying .device/bin, .device/lib, .device/tune):
  scripts/tune.sh measure
MSG
  ;;
measure)
  device_env
  out=${OUT:-$dev}
  db=$out/tuning.json
  # Continue the run the last device call cut off.
  if [ "$out" != "$dev" ] && [ -e "$dev/tuning.json.journal" ] &&
    [ ! -e "$db.journal" ]; then
    cp "$dev/tuning.json.journal" "$db.journal"
    [ -e "$dev/tuning.json" ] && cp "$dev/tuning.json" "$db"
    echo "tune: continuing from .device/tuning.json.journal"
  fi
  nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm \
    --format=csv,noheader 2>&1 || true
  "$dev/bin/proteus-tune-measure" --db "$db" --time-limit 540 "$@" \
    "$dev/tune/bench" "$dev/tune/d64" $(ls -d "$dev"/tune/layer-h* 2>/dev/null)
  ;;
bundles)
  db=${1:?usage: scripts/tune.sh bundles DATABASE}
  rm -rf "$dev/tuned"
  mkdir -p "$dev/tuned"
  for spec in bench:t4k:16384 bench:t32k:131072 d64:t4k:16384; do
    name=${spec%%:*}
    rest=${spec#*:}
    class=${rest%%:*}
    T=${rest#*:}
    config_of "$dev/bundles/$name" "$dev/tuned/$name.json"
    "$build/bin/proteus-compile" --config "$dev/tuned/$name.json" \
      --alpha "$(alphas_of "$dev/bundles/$name")" --tuning-db "$db" \
      --tuning-seq-len "$T" -o "$dev/tuned/$name-$class"
  done
  cp "$db" "$dev/tuned/tuning.json"
  cat <<MSG
tune: now on the GPU machine (device call carrying .device/bin, .device/lib, .device/bundles, .device/tuned):
  scripts/tune.sh confirm
MSG
  ;;
confirm)
  device_env
  check=$dev/bin/gpu_attention_check
  t=$dev/tuned
  echo "=== the tuned bundles against their CPU library"
  "$check" --require-gpu --bundle "$t/d64-t4k" --bundle "$t/bench-t4k" \
    --bundle "$t/bench-t32k"
  echo "=== default tiles (scripts/gpu_bundles.sh bundles)"
  "$check" --time --bench "$dev/bundles/bench" --bundle "$dev/bundles/d64"
  echo "=== tuned for 4K-32K tokens (class t4k.b1)"
  "$check" --time --bench "$t/bench-t4k" --bundle "$t/d64-t4k"
  echo "=== tuned for >= 32K tokens (class t32k.b1; dense as for t4k.b1)"
  "$check" --time --bench "$t/bench-t32k" --bundle "$t/d64-t4k"
  ;;
*)
  echo "usage: scripts/tune.sh generate | measure [ARGS] | bundles DATABASE | confirm" >&2
  exit 2
  ;;
esac
