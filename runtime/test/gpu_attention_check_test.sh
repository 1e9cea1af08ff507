#!/bin/sh
# CTest driver of gpu_attention_check where no GPU is needed: compiles the
# bundles, runs the check on the real driver (its CPU part where there is no
# GPU: exit 77; everything where there is one), then the whole --quick check
# and --time through the fake CUDA driver test double, which emulates the
# kernels of contract.h, so that the check's GPU paths run everywhere.
#   gpu_attention_check_test.sh GPU_BUNDLES_SH PROTEUS_COMPILE OUTDIR CHECK GOLDEN FAKE_CUDA
set -u
bundles_sh=$1 compile=$2 out=$3 check=$4 golden=$5 fake=$6
sh "$bundles_sh" "$compile" "$out" d16 d32 d64 d128 proto bench int8 int8p \
  >/dev/null || exit 1
set -- --bundle "$out/d16" --bundle "$out/d32" --bundle "$out/d64" \
  --bundle "$out/d128" --bundle "$out/proto" --bundle "$out/int8" \
  --bundle "$out/int8p"
# The golden attention cases when the golden folder is there (a clone without
# ../shared skips them, visibly).
g=
if [ -d "$golden" ]; then
  g=$golden
else
  echo "gpu_attention_check_test: no golden folder at $golden: golden cases skipped"
fi

"$check" --quick ${g:+--golden "$g"} "$@" >"$out/check.log" 2>&1
real=$?
tail -2 "$out/check.log"
[ $real -eq 0 ] || [ $real -eq 77 ] || { echo "check failed (log: $out/check.log)"; exit 1; }

# The fake driver learns each module's head dim, anchor stride and INT8
# scale rule (max, or the percentile).
modules=
for b in d16 d32 d64 d128 proto bench int8 int8p; do
  m="$out/$b/manifest.json"
  d=$(sed -n 's/.*"d_head": \([0-9]*\).*/\1/p' "$m")
  s=$(sed -n 's/.*"linear_anchor_stride": \([0-9]*\).*/\1/p' "$m")
  q=
  if grep -q '"quantize_sparse_int8": true' "$m"; then
    q=:max
    if grep -q '"quantize_sparse_int8_mode": "percentile"' "$m"; then
      q=:$(sed -n 's/.*"quantize_sparse_int8_percentile": \([0-9.e-]*\).*/\1/p' "$m")
    fi
  fi
  # The fake device is an sm_90: the runtime loads a bundle's sm_90a (else
  # sm_90) cubin where it has one, the PTX elsewhere.
  for f in "$out/$b"/ptx/sm_90/*.ptx "$out/$b"/sass/*/*.cubin; do
    [ -e "$f" ] && modules="$modules${modules:+,}$f=$d:$s$q"
  done
done
export PROTEUS_FAKE_CUDA_MODULES="$modules" PROTEUS_DISABLE_CACHE=1
"$check" --quick --require-gpu --cuda-library "$fake" ${g:+--golden "$g"} "$@" \
  >"$out/fake-check.log" 2>&1
rc=$?
grep -E "^FAIL|checks passed" "$out/fake-check.log" | tail -40
[ $rc -eq 0 ] || { echo "fake-driver check failed (log: $out/fake-check.log)"; exit 1; }
"$check" --quick --time --time-runs 1 --time-max-t 512 --bench "$out/bench" \
  --cuda-library "$fake" "$@" \
  >"$out/fake-time.log" 2>&1
rc=$?
tail -12 "$out/fake-time.log"
[ $rc -eq 0 ] || { echo "fake-driver --time failed (log: $out/fake-time.log)"; exit 1; }
exit 0
