#!/usr/bin/env bash
# Configures and builds DeepNum into build/ (Release). Extra arguments go to cmake.
# Environment: DEEPNUM_BUILD_DIR (default build), DEEPNUM_JOBS (default nproc).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${DEEPNUM_BUILD_DIR:-$root/build}
jobs=${DEEPNUM_JOBS:-$(nproc)}

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
else
  cmake -S "$root" -B "$build_dir" "$@" >/dev/null
fi
cmake --build "$build_dir" -j "$jobs"
