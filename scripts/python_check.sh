#!/bin/sh
# The Python package's part of `make check`: `pip install ./python` (with
# the build's libproteus_rt) into a virtual environment under the build folder (the system Python is left
# alone: Debian's pip refuses system installs, PEP 668), again only when the
# package's or the runtime's sources changed; then the pytest suite and the
# example, on the installed package, with the build's proteus-compile.
#
#   scripts/python_check.sh [BUILD]        (default: build)
#
# The venv sees the system's packages (numpy and pytest from Debian,
# scripts/setup.sh); pip fetches only the build backend (scikit-build-core).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
venv=$build/python-venv
python=/usr/bin/python3
[ -x "$python" ] || python=python3

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
stamp=$venv/.proteus-installed
changed=$(cd "$repo" && { [ -f "$stamp" ] &&
  find python/pyproject.toml python/CMakeLists.txt python/src runtime/CMakeLists.txt \
    runtime/cmake runtime/src runtime/include -newer "$stamp" -type f |
    sed -n '1s/$/ changed/p' || echo "first install"; })
if [ -n "$changed" ]; then
  echo "python_check: pip install ./python ($changed)"
  launcher=
  command -v ccache >/dev/null &&
    launcher=--config-settings=cmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache
  # The package takes the runtime this build made from the same sources
  # (python/CMakeLists.txt: PROTEUS_RT_PREBUILT) rather than compiling it again.
  lib=$(readlink -f "$build/lib/libproteus_rt.so.0")
  (cd "$repo" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --config-settings=build-dir="$build/python-build" $launcher \
    --config-settings=cmake.define.PROTEUS_RT_PREBUILT="$lib" ./python)
  touch "$stamp"
fi

# The tests use this build's compiler, a cache folder of their own, and the
# library installed into the venv (not a PROTEUS_RT_LIB of the environment).
export PROTEUS_COMPILE="$build/bin/proteus-compile"
export PROTEUS_CACHE_DIR="$build/python-test-cache"
unset PROTEUS_RT_LIB PROTEUS_TUNING_DB PROTEUS_DISABLE_CACHE PYTHONPATH
rm -rf "$PROTEUS_CACHE_DIR"
cd "$build"
"$venv/bin/python" -m pytest -q -p no:cacheprovider -rs "$repo/python/tests"
"$venv/bin/python" "$repo/python/examples/run_layer.py"
