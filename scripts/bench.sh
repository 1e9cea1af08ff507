#!/bin/bash
# Runs ON the GPU machine, from the repository root: the layer side by side
# (issue 7) in one process, then its table and plot. Uses what
# scripts/bench_bundles.sh made here in .device/bench (bundles, runtime
# library, compile times) and, when carried, the reference implementation in
# third_party_ref/Proteus-Attention (or $PROTEUS_REFERENCE_DIR).
#
#   scripts/bench.sh [--quick] [other benchmarks/bench_layer.py arguments]
#
# Writes to $OUT (else .device/bench/results): bench_layer.json (rewritten
# after every measurement, so a cut-off run keeps its rows), bench_layer.log,
# and report.py's <date>-<card>-layer.{md,png,json}. The harness gets
# BENCH_TIMEOUT seconds (default 540, inside one device call's 600); the
# report is made from whatever it measured. Exit status: the harness's.
set -uo pipefail
dev=${PROTEUS_BENCH_DIR:-.device/bench}
out=${OUT:-$dev/results}
lib=$dev/lib/libproteus_rt.so.0
mkdir -p "$out"

if [ ! -e "$lib" ]; then
  echo "bench: $lib is missing: run scripts/bench_bundles.sh here and carry .device/bench" >&2
  exit 2
fi
# Built on the repository's machine: where this one's libstdc++ is older than
# the library needs, load the carried one (before torch loads the system's).
loads() { python3 -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1])' "$lib" 2>/dev/null; }
if ! loads; then
  export LD_LIBRARY_PATH="$dev/lib/fallback${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  loads && echo "bench: using the carried libstdc++ ($dev/lib/fallback)"
fi
if [ -z "${PROTEUS_REFERENCE_DIR:-}" ] && [ -d third_party_ref/Proteus-Attention/src ]; then
  export PROTEUS_REFERENCE_DIR=$PWD/third_party_ref/Proteus-Attention
fi
export PROTEUS_BENCH_DIR=$dev PYTHONUNBUFFERED=1

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm \
  --format=csv,noheader 2>&1 | tee "$out/summary.txt"
python3 -c 'import torch, sys; print("torch", torch.__version__, "cuda", torch.version.cuda)
for m in ("triton", "matplotlib", "numpy"):
    try: print(m, __import__(m).__version__)
    except ImportError: print(m, "missing")' 2>&1 | tee -a "$out/summary.txt"

start=$SECONDS
timeout "${BENCH_TIMEOUT:-540}" python3 benchmarks/bench_layer.py \
  --json "$out/bench_layer.json" "$@" 2>&1 | tee "$out/bench_layer.log"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 124 ] && echo "bench: TIMEOUT after ${BENCH_TIMEOUT:-540} s; reporting what was measured"
echo "bench: harness rc=$rc in $((SECONDS - start)) s"

if [ -e "$out/bench_layer.json" ]; then
  python3 benchmarks/report.py "$out/bench_layer.json" --out-dir "$out" | tee -a "$out/summary.txt"
  md=$(ls -t "$out"/*-layer.md 2>/dev/null | head -1)
  [ -n "$md" ] && sed -n '/^## Goals/,/^## h/p' "$md" | sed '$d'
fi
exit "$rc"
