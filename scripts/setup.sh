#!/usr/bin/env bash
# Installs what building and testing Proteus needs from Debian's packages, and only what is missing.
# Idempotent: when everything is present it prints nothing and returns in well under a second.
set -euo pipefail

packages=(
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools   # LLVM/MLIR 22 (TOOLCHAIN.md §7)
  cmake ninja-build g++ make python3                       # build
  googletest libgtest-dev                                  # unit tests
  nlohmann-json3-dev libxxhash-dev                         # manifest reader, bundle checksums (XXH3-64)
  python3-numpy                                            # the oracle used by tests on random inputs
  python3-venv python3-pytest                              # the Python package's venv and tests
  pkgconf                                                  # the install test checks proteus_rt.pc
  clang-22 libclang-rt-22-dev                              # libFuzzer + ASan/UBSan runtimes (fuzz targets)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
