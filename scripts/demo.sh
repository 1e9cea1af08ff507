#!/usr/bin/env bash
# The main job on a default: compile the default Proteus layer (d_model 512,
# 8 heads) for five alpha settings into a bundle, show what was produced, and
# run it on the CPU path when proteus-run is built.
set -euo pipefail
build=${1:-build}
out="$build/demo-bundle"
rm -rf "$out"
if [ ! -x "$build/bin/proteus-compile" ]; then
  echo "proteus-compile is not built (it needs the runtime's config reader): nothing to run yet."
  exit 1
fi
echo "== proteus-compile: default configuration, alpha 0,0.25,0.5,0.75,1 =="
"$build/bin/proteus-compile" --alpha 0,0.25,0.5,0.75,1 -o "$out" --dump-stages "$out/stages"
echo
echo "== what was produced =="
find "$out" -type f -printf '%8s bytes  %p\n' | sort -k3
echo
echo "== the specialized budgets (#proteus.budget per setting) =="
grep -o '#proteus.budget<[^>]*>' "$out/stages/0-proteus.mlir"
echo
if [ -x "$build/bin/proteus-run" ]; then
  echo "== proteus-run: one layer call on the CPU path (B 1, T 4096, alpha from the T ramp) =="
  "$build/bin/proteus-run" --bundle "$out" --B 1 --T 4096 --backend cpu --repeat 2
else
  echo "proteus-run is not built yet: the bundle above is what the runtime loads."
fi
echo "The ptx/sm_90 files above hold each setting's GPU kernels: the whole layer and the attention"
echo "primitives (check them with ptxas -arch=sm_90). On a machine with an NVIDIA GPU,"
echo "  $build/bin/proteus-run --bundle $out --backend gpu"
echo "runs the layer there (this machine: the CPU backend above)."
