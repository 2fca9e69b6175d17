#!/usr/bin/env bash
# The main job: smoke passing the Stanford bunny on a 64^3 grid for a few frames. Every
# frame goes to out/demo/bunny64.h5 with an XDMF sidecar (open out/demo/bunny64.xdmf in
# ParaView), and each frame's pressure system is solved by every solver: CG, IC(0)-PCG,
# PETSc's ICC, GAMG and BoomerAMG, and DCDM with the shipped network (trained on the
# plume scene, never on the bunny), all single-threaded. The per-solver table of
# iterations, seconds and the network's cost in matrix-vector products is printed at the
# end.
# Environment: DEEPNUM_DEMO_FRAMES (default 4), DEEPNUM_DEMO_N (default 64).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

"$root/scripts/install_dependencies.sh" demo
DEEPNUM_BUILD_DIR=$root/build "$root/scripts/build.sh"

mkdir -p "$root/out/demo"
n=${DEEPNUM_DEMO_N:-64}
"$root/build/examples/smoke/deepnum_smoke" --scene bunny --n "$n" \
  --frames "${DEEPNUM_DEMO_FRAMES:-4}" --solver icpcg --rtol 1e-6 --compare-rtol 1e-4,1e-6 \
  --compare-solvers cg,icpcg,petsc-icc,petsc-gamg,petsc-hypre,dcdm --threads 1 \
  --compare-every 1 \
  --output "$root/out/demo/bunny${n}.h5"
