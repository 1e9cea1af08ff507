#!/bin/bash
# Prepares, here (no GPU needed), what benchmarks/bench_layer.py runs on the GPU
# machine, and measures the compiler's cold compile time:
#   .device/bench/bundles/<name>/  the bundles of benchmarks/bench_configs.py
#                                  (2 configurations x 2 T brackets, alpha
#                                  settings 0, 0.25, 0.5, 0.75, 1 each)
#   .device/bench/lib/             libproteus_rt.so.0 of this build; fallback/
#                                  libstdc++ and libgcc_s of this toolchain
#   .device/bench/compile.json     cold compile time (each a fresh
#                                  proteus-compile process) of one setting and
#                                  of the 5-setting bundle of h32d16-gt4k,
#                                  --repeat runs each, and of every bundle
#
#   scripts/bench_bundles.sh [--build DIR] [--out DIR] [--repeat N]
#                            [--tuning-db FILE]
# With --tuning-db the bundles take the tuned tiles of that database
# (scripts/tune.sh), the T <= 4K bundles those of shape class t4k, the others
# those of t32k; without it, proteus-compile's default database, if any.
# It needs only a build (prepare_device.sh leaves .device/bench alone). The
# device call carries .device/bench (and third_party_ref for the reference):
# benchmarks/README.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build
out=$repo/.device/bench
repeat=3
tuning=()
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --repeat) repeat=$2; shift 2 ;;
  --tuning-db) tuning=(--tuning-db "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"); shift 2 ;;
  *) echo "usage: $0 [--build DIR] [--out DIR] [--repeat N] [--tuning-db FILE]" >&2; exit 2 ;;
  esac
done
compile=$build/bin/proteus-compile
lib=$build/lib/libproteus_rt.so.0
for f in "$compile" "$lib"; do
  [ -e "$f" ] || { echo "bench_bundles: $f is missing (build first)" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/bundles" "$out/configs" "$out/lib/fallback" "$out/tmp"
cp -L "$lib" "$out/lib/"
for l in libstdc++.so.6 libgcc_s.so.1; do
  path=$(${CXX:-c++} -print-file-name=$l)
  [ -e "$path" ] && cp -L "$path" "$out/lib/fallback/"
done

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# compile_ms CONFIG ALPHAS DIR: prints the wall time of one proteus-compile;
# fails (and the caller with it) when the compile fails.
compile_ms() {
  local start seq=131072
  [[ $3 == *-le4k ]] && seq=4096
  start=$(now_ms)
  "$compile" --config "$1" --alpha "$2" ${tuning[@]+"${tuning[@]}"} \
    --tuning-seq-len "$seq" -o "$3" >/dev/null || {
    echo "bench_bundles: proteus-compile --config $1 --alpha $2 failed" >&2
    return 1
  }
  echo $(($(now_ms) - start))
}

# The load when compiling starts (compile times on a shared machine vary with it).
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "0 0 0")
times=$out/tmp/times.tsv
: >"$times"
while read -r name alphas config; do
  ms=$(compile_ms "$config" "$alphas" "$out/bundles/$name") || exit 1
  printf 'bundle\t%s\t%s\t%s\n' "$name" "$alphas" "$ms" >>"$times"
  echo "bench_bundles: $out/bundles/$name (alpha $alphas) in $ms ms"
done < <(python3 "$repo/benchmarks/bench_configs.py" --write "$out/configs")

cold=$out/configs/h32d16-gt4k.json
for i in $(seq "$repeat"); do
  ms=$(compile_ms "$cold" 1 "$out/tmp/one") || exit 1
  printf 'one\t%s\n' "$ms" >>"$times"
  ms=$(compile_ms "$cold" 0,0.25,0.5,0.75,1 "$out/tmp/five") || exit 1
  printf 'five\t%s\n' "$ms" >>"$times"
done

python3 - "$times" "$out" "$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)" \
  $load <<'PY'
"""Writes compile.json from the measured times."""
import json, os, platform, sys

times, out, commit, load = sys.argv[1], sys.argv[2], sys.argv[3], [float(v) for v in sys.argv[4:7]]
cpu = "unknown"
if os.path.exists("/proc/cpuinfo"):
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
host = {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(), "load_avg": load}
result = {"commit": commit, "host": host,
          "cold_config": "h32d16-gt4k", "one_setting_ms": [], "five_settings_ms": [], "bundles": {}}
for row in (line.rstrip("\n").split("\t") for line in open(times)):
    if row[0] == "bundle":
        manifest = json.load(open(os.path.join(out, "bundles", row[1], "manifest.json")))
        result["bundles"][row[1]] = {"alphas": row[2], "compile_ms": int(row[3]),
                                     "gpu_layer": manifest.get("gpu_layer", False),
                                     "gpu_note": manifest.get("gpu_note", "")}
    else:
        result["one_setting_ms" if row[0] == "one" else "five_settings_ms"].append(int(row[1]))
with open(os.path.join(out, "compile.json"), "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
print("bench_bundles: one setting", result["one_setting_ms"], "ms; five settings",
      result["five_settings_ms"], "ms")
PY
rm -rf "$out/tmp"
echo "bench_bundles: $(du -sh "$out" | cut -f1) in $out"
