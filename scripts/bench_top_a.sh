#!/bin/bash
# The Top-A benchmark (benchmarks/bench_top_a.py, issue 21) in two halves:
#   scripts/bench_top_a.sh prepare [--build DIR]   here (the compiler's machine):
#       .device/top_a/bundle/  a layer of d_model 4096 (32 heads x 128, 64
#                              gates, alpha 1) whose setting 0 PTX has the
#                              Top-A kernels
#       .device/top_a/lib/     libproteus_rt.so.0 of this build (+ fallback/
#                              libstdc++, libgcc_s of this toolchain)
#     then the dry run (no torch, no GPU).
#   scripts/bench_top_a.sh run [bench_top_a.py flags]   the GPU machine (device
#       call; carry [".device/top_a", "third_party_ref"]): writes $OUT/
#       bench_top_a.json and prints the Markdown table.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/.device/top_a
cmd=${1:-}
shift || true
case $cmd in
prepare)
  build=$repo/build
  [ "${1:-}" = --build ] && build=$2
  compile=$build/bin/proteus-compile
  lib=$build/lib/libproteus_rt.so.0
  for f in "$compile" "$lib"; do
    [ -e "$f" ] || { echo "bench_top_a: $f is missing (build first)" >&2; exit 1; }
  done
  rm -rf "$out"
  mkdir -p "$out/lib/fallback"
  cp -L "$lib" "$out/lib/"
  ln -s libproteus_rt.so.0 "$out/lib/libproteus_rt.so"
  for l in libstdc++.so.6 libgcc_s.so.1; do
    path=$(${CXX:-c++} -print-file-name=$l)
    [ -e "$path" ] && cp -L "$path" "$out/lib/fallback/"
  done
  echo '{"d_model": 4096, "h_total": 32, "attn_gates": 64, "h_active_max": 32}' >"$out/c4096.json"
  "$compile" --config "$out/c4096.json" --alpha 1 --tuning-db none -o "$out/bundle"
  python3 "$repo/benchmarks/bench_top_a.py" --dry-run --bundle "$out/bundle" \
    --lib "$out/lib/libproteus_rt.so"
  du -sh "$out"
  ;;
run)
  export LD_LIBRARY_PATH=$out/lib:${LD_LIBRARY_PATH:-}
  python3 -c 'import ctypes; ctypes.CDLL("libstdc++.so.6")' 2>/dev/null ||
    export LD_LIBRARY_PATH=$out/lib/fallback:$LD_LIBRARY_PATH
  exec python3 "$repo/benchmarks/bench_top_a.py" --bundle "$out/bundle" \
    --lib "$out/lib/libproteus_rt.so" "$@"
  ;;
*)
  echo "usage: $0 prepare [--build DIR] | run [bench_top_a.py flags]" >&2
  exit 2
  ;;
esac
