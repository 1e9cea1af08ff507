#!/bin/sh
# The proteus package's tests on the GPU machine (torch there, no compiler,
# no internet), in two steps:
#   scripts/python_device.sh prepare [BUILD]   here: into .device/python/ the
#       bundles the tests use (compiled with BUILD's proteus-compile, as
#       python/tests/conftest.py names them), the runtime library, and pytest
#       (pure-Python wheels from PyPI, unpacked) in case the machine lacks it
#   scripts/python_device.sh test [PYTEST ARGS]   there: the whole suite on the
#       package's source (python/src) with the carried library and bundles;
#       torch's tests (custom op, torch.compile, CUDA graph capture) included
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
dev=${DEVICE_DIR:-$repo/.device}/python
cmd=${1:-}
[ $# -gt 0 ] && shift

case $cmd in
prepare)
  build=$(cd "${1:-$repo/build}" && pwd)
  python=/usr/bin/python3  # Debian's, with numpy (scripts/setup.sh)
  [ -x "$python" ] || python=python3
  rm -rf "$dev" && mkdir -p "$dev/bundles" "$dev/lib" "$dev/site"
  cp -L "$build/lib/libproteus_rt.so.0" "$dev/lib/"
  PYTHONPATH=$repo/python/src PROTEUS_RT_LIB=$dev/lib/libproteus_rt.so.0 \
  PROTEUS_COMPILE=$build/bin/proteus-compile PROTEUS_CACHE_DIR=$dev/cache \
    "$python" - "$dev/bundles" <<'PY'
import os, shutil, sys
sys.path.insert(0, os.path.join(os.environ["PYTHONPATH"], "..", "tests"))
import proteus
from conftest import SMALL, SMALL_ALPHAS, golden_alpha, golden_case
out = sys.argv[1]
def keep(name, bundle):
    shutil.copytree(bundle.path, os.path.join(out, name))
    print(f"python_device: {name}: {bundle}")
keep("small-cpu", proteus.compile(SMALL, SMALL_ALPHAS, arch=None))
keep("small-sm_90", proteus.compile(SMALL, SMALL_ALPHAS, arch="sm_90"))
for name in ("layer_shortlist_tokens", "layer2_proto_state_boost", "layer2_bias_log_schedule"):
    case, _ = golden_case(name)
    keep("golden-" + name, proteus.compile(case["config"], [golden_alpha(case)], arch=None))
PY
  rm -rf "$dev/cache"
  "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --dest "$dev/wheels" pytest
  for w in "$dev"/wheels/*.whl; do "$python" -m zipfile -e "$w" "$dev/site"; done
  rm -rf "$dev/wheels"
  du -sh "$dev"
  ;;
test)
  [ -d "$dev/bundles" ] || { echo "python_device: no $dev: run 'scripts/python_device.sh prepare' here and carry .device" >&2; exit 2; }
  site=
  python3 -c "import pytest" 2>/dev/null || site=:$dev/site
  export PYTHONPATH="$repo/python/src$site" PROTEUS_RT_LIB=$dev/lib/libproteus_rt.so.0 \
    PROTEUS_TEST_BUNDLES=$dev/bundles PROTEUS_GOLDEN_DIR=${PROTEUS_GOLDEN_DIR:-$repo/.device/golden} \
    PROTEUS_CACHE_DIR=$(mktemp -d)
  unset PROTEUS_COMPILE
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')" ||
    echo "python_device: torch does not import here: its tests will be skipped"
  exec python3 -m pytest -v -rs -p no:cacheprovider "$repo/python/tests" "$@"
  ;;
*)
  echo "usage: $0 prepare [BUILD] | test [PYTEST ARGS]" >&2
  exit 2
  ;;
esac
