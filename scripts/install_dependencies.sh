#!/usr/bin/env bash
# Installs the Debian packages DeepNum needs that are not installed yet.
# Usage: scripts/install_dependencies.sh [build|test|demo|bench]...
# Runs `apt-get update` at most once, and only when something is missing.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config
  libeigen3-dev libhdf5-dev libspdlog-dev libfmt-dev libcli11-dev
  libtorch-dev petsc-dev openmpi-bin
  glmark2-data
)
test_packages=(
  libboost-test-dev clang-format hdf5-tools
  python3 python3-numpy python3-h5py python3-scipy python3-petsc4py
)
bench_packages=(python3-matplotlib)

wanted=()
for purpose in "${@:-build}"; do
  case "$purpose" in
    build|demo) wanted+=("${build_packages[@]}" python3 python3-numpy python3-h5py) ;;
    test) wanted+=("${build_packages[@]}" "${test_packages[@]}") ;;
    bench) wanted+=("${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}") ;;
    *) echo "install_dependencies.sh: unknown purpose '$purpose' (build, test, demo, bench)" >&2
       exit 2 ;;
  esac
done

missing=()
for package in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install_dependencies.sh: all ${#wanted[@]} packages present"
  exit 0
fi
# Remove duplicates while keeping the order.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk '!seen[$0]++')

sudo_prefix=()
if [[ $(id -u) -ne 0 ]]; then sudo_prefix=(sudo); fi
echo "install_dependencies.sh: installing ${missing[*]}"
"${sudo_prefix[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_prefix[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"
