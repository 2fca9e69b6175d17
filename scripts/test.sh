#!/usr/bin/env bash
# Runs every DeepNum test on a fresh Debian 12 machine:
#   1. installs the missing Debian packages,
#   2. builds the Release tree and runs the whole CTest suite (unit, h5py/scipy/PETSc peer
#      comparisons, MPI, the outside-project install test and the format check),
#   3. builds core and io with AddressSanitizer + UndefinedBehaviorSanitizer and runs their
#      tests again.
# Exit status is non-zero if any step fails.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${DEEPNUM_JOBS:-$(nproc)}

"$root/scripts/install_dependencies.sh" test

echo "== Release build and full test suite"
DEEPNUM_BUILD_DIR=$root/build "$root/scripts/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j "$jobs"

echo "== core and io under AddressSanitizer + UndefinedBehaviorSanitizer"
DEEPNUM_BUILD_DIR=$root/build-sanitize "$root/scripts/build.sh" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDEEPNUM_SANITIZE=address,undefined \
  -DDEEPNUM_WITH_TORCH=OFF -DDEEPNUM_WITH_PETSC=OFF -DDEEPNUM_WITH_LINEAR=OFF \
  -DDEEPNUM_BUILD_EXAMPLES=OFF
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-sanitize" --output-on-failure -j "$jobs" -L '^(core|io)$'
