#!/usr/bin/env bash
# Runs the fuzz targets (libFuzzer) over corpora seeded from the tests and
# the golden configurations. Exits non-zero on a crash, a sanitizer report
# (ASan, UBSan), a leak or a timeout; the input that did it is kept under
# <fuzz-build>/artifacts/.
#
#   scripts/fuzz.sh --check  <fuzz-build> <build>   fixed budget (~20 s in all)
#   scripts/fuzz.sh --seconds N <fuzz-build> <build>   N seconds per target
#
# <fuzz-build> holds fuzz_config, fuzz_manifest, fuzz_tuning_db (clang, the
# fuzz/ project); <build> holds bin/proteus-fuzz-mlir (the main build).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=$1
case "$mode" in
--check) budget="config=5 manifest=5 tuning_db=4 mlir=6" ;;
--seconds)
  shift
  n=$1
  budget="config=$n manifest=$n tuning_db=$n mlir=$n"
  ;;
*)
  echo "usage: $0 --check | --seconds N  <fuzz-build> <build>" >&2
  exit 2
  ;;
esac
fuzz_build=$(realpath "$2")
build=$(realpath "$3")
golden=${PROTEUS_GOLDEN_DIR:-$(realpath -m ../shared/golden)}

corpus=$fuzz_build/corpus
seeds=$fuzz_build/seeds
artifacts=$fuzz_build/artifacts
rm -rf "$seeds"
mkdir -p "$corpus" "$seeds" "$artifacts"

# Seeds: the committed ones, the golden configurations, the tests' tuning
# databases, and every lit test's MLIR split at its "// -----" markers.
python3 - "$seeds" "$golden" <<'EOF'
import glob, json, os, shutil, sys
seeds, golden = sys.argv[1], sys.argv[2]
def put(kind, name, text):
    os.makedirs(os.path.join(seeds, kind), exist_ok=True)
    with open(os.path.join(seeds, kind, name), "w") as f:
        f.write(text)
for kind in ("config", "manifest", "tuning_db"):
    for path in glob.glob(f"fuzz/seeds/{kind}/*"):
        put(kind, os.path.basename(path), open(path).read())
for path in sorted(glob.glob(os.path.join(golden, "*", "case.json"))):
    case = json.load(open(path))
    if "config" in case:
        put("config", os.path.basename(os.path.dirname(path)) + ".json",
            json.dumps(case["config"]))
for path in glob.glob("test/Tools/*/Inputs/*.json"):
    put("tuning_db", os.path.basename(path), open(path).read())
for path in sorted(glob.glob("test/**/*.mlir", recursive=True)):
    parts = open(path).read().split("// -----")
    stem = path.replace("/", "_")
    for i, part in enumerate(parts):
        put("mlir", f"{stem}.{i}", part)
EOF

status=0
for entry in $budget; do
  name=${entry%%=*}
  seconds=${entry#*=}
  if [ "$name" = mlir ]; then
    exe=$build/bin/proteus-fuzz-mlir
  else
    exe=$fuzz_build/fuzz_$name
  fi
  if [ ! -x "$exe" ]; then
    echo "fuzz: $name: $exe not built, skipped"
    continue
  fi
  mkdir -p "$corpus/$name"
  log=$fuzz_build/fuzz_$name.log
  # -timeout: an input running longer is a failure; -rss_limit_mb: so is
  # memory growth past 2 GiB. Leaks are reported by ASan (detect_leaks).
  # -keep_seed: the MLIR target has no coverage feedback, so without it
  # libFuzzer would drop every seed as adding nothing.
  if "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -seed=1 -keep_seed=1 -artifact_prefix="$artifacts/$name-" -print_final_stats=1 \
    "$corpus/$name" "$seeds/$name" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $name: $runs inputs in ${seconds} s, no failure"
  else
    echo "fuzz: $name: FAILED (log: $log, input kept in $artifacts)"
    tail -40 "$log"
    status=1
  fi
done
exit $status
