#!/bin/sh
# The first plan of a fresh process with an empty cache: runs proteus-run on
# each bundle RUNS times (default 5), each in a new process with a new, empty
# PROTEUS_CACHE_DIR, and prints every run's startup line (context, bundle
# open, first plan in ms) and what the plan loaded (a bundle's cubin, or its
# PTX through the driver's JIT), then the median first plan per bundle. Pass
# a bundle with SASS and its PTX-only twin (scripts/gpu_bundles.sh makes
# layer and layer-ptx from one configuration: the same PTX) to compare the
# cubin load with the JIT on the same kernels. (A copy with the cubins taken
# out of its manifest would fail the manifest's integrity check.)
#
#   scripts/first_plan.sh PROTEUS_RUN BUNDLE [BUNDLE ...]
# (on the GPU machine: scripts/gpu_check.sh first-plan)
set -u
run=${1:?usage: first_plan.sh PROTEUS_RUN BUNDLE [BUNDLE ...]}
shift
runs=${RUNS:-5}
failed=0
list="$*"
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
exit $failed
