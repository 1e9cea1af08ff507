#!/bin/sh
# Prepares, here (no GPU needed), everything scripts/gpu_check.sh runs on the
# GPU machine, in one ignored folder that the device call carries:
#   .device/bin/      gpu_attention_check, proteus_rt_tests and its test doubles,
#                     proteus-tune-measure (scripts/tune.sh)
#   .device/lib/      libproteus_rt.so.0; fallback/ libstdc++ and libgcc_s of
#                     this toolchain, used only where the machine's are older
#   .device/bundles/  the check bundles of scripts/gpu_bundles.sh
#   .device/golden/   the golden cases (../shared/golden does not travel)
#   .device/golden-work/, golden-top-a/  proteus-run --golden's bundles and
#                     the top_a cases of ../shared/golden-next
#   .device/pack.tar.xz  all of the above in one archive, which the device
#                     call carries and scripts/gpu_check.sh unpacks
# Other folders of .device (bench/, tune/, tuned/ of the scripts that make
# them) are left as they are.
#
#   scripts/prepare_device.sh [--build DIR] [--out DIR] [--no-build]
# (also: ninja -C build proteus-device-carry)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build
out=$repo/.device
do_build=1
while [ $# -gt 0 ]; do
  case $1 in
  --build) build=$2; shift 2 ;;
  --out) out=$2; shift 2 ;;
  --no-build) do_build=0; shift ;;
  *) echo "usage: $0 [--build DIR] [--out DIR] [--no-build]" >&2; exit 2 ;;
  esac
done
golden=${PROTEUS_GOLDEN_DIR:-$repo/../shared/golden}
limit_mib=60

if [ $do_build = 1 ]; then
  ninja -C "$build" -j"${JOBS:-2}" proteus-compile proteus_gpu_attention_check \
    proteus_gpu_layer_check proteus-run proteus_rt_tests proteus-tune-measure
fi
tests=$build/runtime/test
for f in "$build/bin/proteus-compile" "$tests/gpu_attention_check" \
  "$tests/gpu_layer_check" "$build/bin/proteus-run" \
  "$tests/proteus_rt_tests" "$build/lib/libproteus_rt.so.0"; do
  [ -e "$f" ] || { echo "prepare_device: $f is missing (build first)" >&2; exit 1; }
done
[ -d "$golden" ] || { echo "prepare_device: no golden folder at $golden" >&2; exit 1; }

# Only what this script makes is replaced: bench/ (scripts/bench_bundles.sh),
# tune/ and tuned/ (scripts/tune.sh) and a database carried for a resumed
# measurement stay.
rm -rf "$out/bin" "$out/lib" "$out/bundles" "$out/golden" "$out/golden-work" \
  "$out/golden-work.log" "$out/golden-top-a" "$out/COMMIT"
mkdir -p "$out/bin" "$out/lib/fallback" "$out/golden"
# The layer bundle with SASS (sm_90, sm_90a) for scripts/first_plan.sh.
GPU_BUNDLES_SASS=auto "$repo/scripts/gpu_bundles.sh" "$build/bin/proteus-compile" "$out/bundles"
# The layer golden cases' bundles, compiled here into proteus-run's work
# folder, where proteus-run on the GPU machine (no compiler) finds them. PTX
# only (the driver JITs it): cubins would triple their size past the carry
# limit, and first-plan checks SASS.
export PROTEUS_SASS=none
"$build/bin/proteus-run" --golden "$golden" --compiler "$build/bin/proteus-compile" \
  --work "$out/golden-work" >"$out/golden-work.log" 2>&1 ||
  { echo "prepare_device: proteus-run --golden failed here (see $out/golden-work.log)" >&2; exit 1; }
# The top_a cases of ../golden-next and their bundles, likewise.
next=$(dirname "$golden")/golden-next
if ls -d "$next"/top_a_* >/dev/null 2>&1; then
  mkdir -p "$out/golden-top-a"
  cp -R "$next"/top_a_* "$out/golden-top-a/"
  "$build/bin/proteus-run" --golden "$out/golden-top-a" --compiler "$build/bin/proteus-compile" \
    --work "$out/golden-work" >>"$out/golden-work.log" 2>&1 ||
    { echo "prepare_device: proteus-run --golden (top_a) failed here (see $out/golden-work.log)" >&2; exit 1; }
fi
rm -rf "$out/golden-work/configs"
cp "$build/bin/proteus-run" "$tests/gpu_layer_check" "$out/bin/"
cp "$tests/gpu_attention_check" "$tests/proteus_rt_tests" \
  "$tests"/libproteus_*_testdouble.so "$out/bin/"
# Measurement programs, where built.
[ -x "$build/bin/jit_cache" ] && cp "$build/bin/jit_cache" "$out/bin/"
[ -x "$build/bin/proteus-tune-measure" ] &&
  cp "$build/bin/proteus-tune-measure" "$out/bin/"
cp -L "$build/lib/libproteus_rt.so.0" "$out/lib/"
for lib in libstdc++.so.6 libgcc_s.so.1; do
  path=$(${CXX:-c++} -print-file-name=$lib)
  [ -e "$path" ] && cp -L "$path" "$out/lib/fallback/"
done
cp -R "$golden"/. "$out/golden/"
git -C "$repo" describe --always --dirty >"$out/COMMIT" 2>/dev/null || true

# One xz archive of it all (PTX compresses ~8x): the device call carries
# 64 MiB with the working tree, the folders themselves ~180 MiB.
# scripts/gpu_check.sh unpacks it on the GPU machine.
mkdir -p "$out/golden-top-a"
parts="bin lib bundles golden golden-work golden-top-a COMMIT"
rm -f "$out/pack.tar.xz"
tar -C "$out" -cf - $parts | xz -T0 -6 >"$out/pack.tar.xz.tmp"
mv "$out/pack.tar.xz.tmp" "$out/pack.tar.xz"
mib() { echo $((($(du -sbc "$@" | tail -1 | cut -f1) + 1048575) / 1048576)); }
size=$(mib "$out/pack.tar.xz")
echo "prepare_device: $out/pack.tar.xz, ${size} MiB, of:"
(cd "$out" && du -sh $parts | sed 's/^/  /')
if [ "$size" -gt $limit_mib ]; then
  echo "prepare_device: the archive is over ${limit_mib} MiB; the device call carries 64 MiB with the working tree" >&2
  exit 1
fi
cat <<MSG
prepare_device: run on the GPU machine with
  carry: [".device/pack.tar.xz"]   command: scripts/gpu_check.sh [STEP ...]
  (other scripts' folders travel beside it: [".device/top_a", "third_party_ref"]
  for bench_top_a.sh, [".device/bench", "third_party_ref"] for bench.sh,
  [".device/python"] for python_device.sh)
MSG
