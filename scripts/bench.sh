#!/usr/bin/env bash
# Benchmarks. Usage: scripts/bench.sh linear
#
# linear: every solver, DCDM with the shipped model included, on the pressure systems of
# the plume (the scene the model was trained on, at 32^3) and bunny (unseen) smoke scenes
# at 64^3 and 128^3, several frames each, at rtol 1e-6 and 1e-4, on this machine in one
# run, every solver on one thread. Writes
# benchmarks/results/linear.json (one record per solve), linear.md (table) and
# linear_convergence.png (relative residual against iteration).
# Environment: DEEPNUM_BENCH_SIZES (default "64 128"), DEEPNUM_BENCH_FRAMES (default 9),
# DEEPNUM_BENCH_EVERY (solve with every solver every this many frames, default 3),
# DEEPNUM_BENCH_RTOLS (default 1e-6,1e-4).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
what=${1:-}
if [[ "$what" != "linear" ]]; then
  echo "usage: scripts/bench.sh linear" >&2
  exit 2
fi

"$root/scripts/install_dependencies.sh" bench
DEEPNUM_BUILD_DIR=$root/build "$root/scripts/build.sh"

results=$root/benchmarks/results
raw=$results/raw
mkdir -p "$raw"
sizes=${DEEPNUM_BENCH_SIZES:-64 128}
frames=${DEEPNUM_BENCH_FRAMES:-9}
every=${DEEPNUM_BENCH_EVERY:-3}
rtols=${DEEPNUM_BENCH_RTOLS:-1e-6,1e-4}
solvers=cg,icpcg,petsc-icc,petsc-gamg,petsc-hypre,dcdm

raw_files=()
for scene in plume bunny; do
  for n in $sizes; do
    out=$raw/linear_${scene}_${n}.json
    echo "== $scene at ${n}^3: $frames frames, every solver on every frame divisible by ${every}"
    "$root/build/examples/smoke/deepnum_smoke" --scene "$scene" --n "$n" --frames "$frames" \
      --solver petsc-gamg --rtol 1e-6 --compare-solvers "$solvers" --compare-every "$every" \
      --compare-rtol "$rtols" --threads 1 --records "$out"
    raw_files+=("$out")
  done
done

/usr/bin/python3 "$root/benchmarks/linear/summarize_linear.py" "$results" "${raw_files[@]}"
echo "wrote $results/linear.json, linear.md and linear_convergence.png"
