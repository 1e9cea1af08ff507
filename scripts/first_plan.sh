#!/bin/sh
# The first plan of a fresh process with an empty cache: runs proteus-run on
# each bundle RUNS times (default 5), each in a new process with a new, empty
# PROTEUS_CACHE_DIR, and prints every run's startup line (context, bundle
# open, first plan in ms) and what the plan loaded (a bundle's cubin, or its
# PTX through the driver's JIT), then the median first plan per bundle. A
# bundle with SASS is run again as a PTX-only copy (its manifest without the
# cubins, made with python3), for the JIT's time on the same kernels.
#
#   scripts/first_plan.sh PROTEUS_RUN BUNDLE [BUNDLE ...]
# (on the GPU machine: scripts/gpu_check.sh first-plan)
set -u
run=${1:?usage: first_plan.sh PROTEUS_RUN BUNDLE [BUNDLE ...]}
shift
runs=${RUNS:-5}
failed=0
work=$(mktemp -d)
list=
for bundle in "$@"; do
  list="$list $bundle"
  [ -d "$bundle/sass" ] || continue
  copy=$work/$(basename "$bundle")-ptx-only
  cp -R "$bundle" "$copy" && rm -rf "$copy/sass" &&
    python3 - "$copy/manifest.json" <<'PY' && list="$list $copy"
import json, sys
path = sys.argv[1]
m = json.load(open(path))
m["files"] = {k: v for k, v in m["files"].items() if not k.startswith("sass/")}
json.dump(m, open(path, "w"), indent=2)
PY
done
for bundle in $list; do
  times=
  i=0
  while [ $i -lt "$runs" ]; do
    i=$((i + 1))
    cache=$(mktemp -d)
    log=$(PROTEUS_CACHE_DIR=$cache "$run" --bundle "$bundle" --backend gpu \
      --T 4096 --repeat 1 2>&1)
    rc=$?
    rm -rf "$cache"
    plan=$(printf '%s\n' "$log" | sed -n 's/^plan: backend [a-z]* (\([^;]*\).*/\1/p')
    startup=$(printf '%s\n' "$log" | sed -n 's/^startup: //p')
    if [ $rc -ne 0 ] || [ -z "$startup" ]; then
      echo "first-plan: $bundle run $i FAILED (exit $rc):"
      printf '%s\n' "$log" | tail -5
      failed=1
      continue
    fi
    echo "first-plan: $bundle run $i: $startup ($plan)"
    times="$times $(printf '%s\n' "$startup" | sed -n 's/.*first plan \([0-9.]*\) ms.*/\1/p')"
  done
  [ -n "$times" ] && echo "first-plan: $bundle median first plan $(printf '%s\n' $times | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') ms over $(printf '%s\n' $times | wc -l) runs"
done
rm -rf "$work"
exit $failed
