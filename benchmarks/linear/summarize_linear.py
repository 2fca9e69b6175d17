#!/usr/bin/env python3
"""Merges the per-run solver records of the linear benchmark into

  benchmarks/results/linear.json              a list of records (one solve each)
  benchmarks/results/linear.md                a markdown table, one row per scene, n, solver, rtol,
                                              then DCDM against IC(0)-PCG and the fastest solver
  benchmarks/results/linear_convergence.png   relative residual against iteration

Usage: summarize_linear.py <results folder> <raw record file>...
Each raw file is the JSON array written by `deepnum_smoke --records`.
"""
import json
import os
import statistics
import sys
import tempfile

RECORD_FIELDS = ["scene", "n", "frame", "solver", "rtol", "iterations", "seconds",
                 "seconds_per_iteration", "converged", "relres", "setup_seconds", "reason",
                 "fallback_steps", "network_seconds", "matvec_seconds"]


def write_atomically(path, text_or_bytes):
    folder = os.path.dirname(os.path.abspath(path))
    mode = "wb" if isinstance(text_or_bytes, bytes) else "w"
    handle, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path), dir=folder)
    with os.fdopen(handle, mode) as stream:
        stream.write(text_or_bytes)
    os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are for everyone to read
    os.replace(temporary, path)


def load_records(paths):
    records = []
    for path in paths:
        with open(path) as stream:
            records.extend(json.load(stream))
    if not records:
        sys.exit("summarize_linear.py: no records in " + ", ".join(paths))
    return records


def preconditioner_matvecs(rows):
    """Seconds in M^-1 (or the network) per iteration, in units of one product A x."""
    spent = sum(row["network_seconds"] for row in rows)
    unit = sum(row["matvec_seconds"] * row["iterations"] for row in rows)
    return spent / unit if spent > 0 and unit > 0 else None


def grouped(records):
    groups = {}
    for record in records:
        key = (record["scene"], record["n"], record["rtol"], record["solver"])
        groups.setdefault(key, []).append(record)
    return groups


def table(records):
    lines = ["| scene | n | rtol | solver | solves | converged | mean iterations | "
             "mean seconds | seconds/iteration | M^-1 matvecs/iteration | setup seconds | "
             "max relres |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (scene, n, rtol, solver), rows in sorted(grouped(records).items(),
                                                 key=lambda item: (item[0][0], item[0][1],
                                                                   -item[0][2])):
        iterations = statistics.mean(row["iterations"] for row in rows)
        seconds = statistics.mean(row["seconds"] for row in rows)
        total_iterations = sum(row["iterations"] for row in rows)
        per_iteration = sum(row["seconds"] for row in rows) / max(total_iterations, 1)
        setup = max(row["setup_seconds"] for row in rows)
        converged = sum(1 for row in rows if row["converged"])
        worst = max(row["relres"] for row in rows)
        matvecs = preconditioner_matvecs(rows)
        matvecs_text = f"{matvecs:.1f}" if matvecs is not None else "-"
        lines.append(f"| {scene} | {n} | {rtol:g} | {solver} | {len(rows)} | {converged} | "
                     f"{iterations:.1f} | {seconds:.3f} | {per_iteration:.2e} | "
                     f"{matvecs_text} | {setup:.3f} | {worst:.1e} |")
    return "\n".join(lines) + "\n"


def dcdm_table(records):
    """DCDM beside IC(0)-PCG (the iteration target) and the fastest solver in seconds."""
    groups = grouped(records)
    cases = sorted({(scene, n, rtol) for (scene, n, rtol, solver) in groups if solver == "dcdm"},
                   key=lambda case: (case[0], case[1], -case[2]))
    if not cases:
        return ""
    lines = ["| scene | n | rtol | dcdm iterations | icpcg iterations | dcdm / icpcg | "
             "dcdm seconds | icpcg seconds | fastest (seconds) | network share | "
             "network matvecs/application | fallback steps |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"]
    for scene, n, rtol in cases:
        dcdm = groups[(scene, n, rtol, "dcdm")]
        icpcg = groups.get((scene, n, rtol, "icpcg"), [])
        dcdm_iterations = statistics.mean(row["iterations"] for row in dcdm)
        dcdm_seconds = statistics.mean(row["seconds"] for row in dcdm)
        network = sum(row["network_seconds"] for row in dcdm) / max(
            sum(row["seconds"] for row in dcdm), 1e-300)
        matvecs = preconditioner_matvecs(dcdm)
        fallback = sum(row["fallback_steps"] for row in dcdm)
        ratio = icpcg_iterations = icpcg_seconds = None
        if icpcg:
            icpcg_iterations = statistics.mean(row["iterations"] for row in icpcg)
            icpcg_seconds = statistics.mean(row["seconds"] for row in icpcg)
            ratio = dcdm_iterations / icpcg_iterations
        fastest = min(((statistics.mean(row["seconds"] for row in rows), solver)
                       for (s, m, r, solver), rows in groups.items()
                       if (s, m, r) == (scene, n, rtol)))
        lines.append(
            f"| {scene} | {n} | {rtol:g} | {dcdm_iterations:.1f} | "
            f"{icpcg_iterations:.1f} | {ratio:.2f} | {dcdm_seconds:.2f} | {icpcg_seconds:.2f} | "
            f"{fastest[1]} ({fastest[0]:.2f}) | {network:.0%} | "
            f"{matvecs:.0f} | {fallback} |" if icpcg and matvecs is not None else
            f"| {scene} | {n} | {rtol:g} | {dcdm_iterations:.1f} | - | - | {dcdm_seconds:.2f} | "
            f"- | {fastest[1]} ({fastest[0]:.2f}) | {network:.0%} | - | {fallback} |")
    return "\n".join(lines) + "\n"


def plot(records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenes = sorted({record["scene"] for record in records})
    figure, axes = plt.subplots(1, len(scenes), figsize=(6 * len(scenes), 4.5), squeeze=False)
    for axis, scene in zip(axes[0], scenes):
        ofscene = [r for r in records if r["scene"] == scene and r.get("residual_history")]
        n = max(r["n"] for r in ofscene)
        rtol = min(r["rtol"] for r in ofscene)
        chosen = [r for r in ofscene if r["n"] == n and r["rtol"] == rtol]
        frame = max(r["frame"] for r in chosen)
        styles = ["-", "--", ":", "-.", (0, (5, 1))]
        for index, record in enumerate(r for r in chosen if r["frame"] == frame):
            history = record["residual_history"]
            rhs_norm = history[0] if history[0] > 0 else 1.0
            # icpcg and petsc-icc take identical iterates: distinct line styles keep both
            # visible.
            axis.semilogy(range(len(history)), [value / rhs_norm for value in history],
                          label=record["solver"], linestyle=styles[index % len(styles)])
        axis.axhline(rtol, color="grey", linestyle=":", linewidth=1)
        axis.set_title(f"{scene}, {n}^3, frame {frame}")
        axis.set_xlabel("iteration")
        axis.set_ylabel("||b - A x_k|| / ||b||")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".convergence", suffix=".png", dir=folder)
    os.close(handle)
    figure.savefig(temporary, dpi=110)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folder = sys.argv[1]
    records = load_records(sys.argv[2:])
    slim = [{field: record[field] for field in RECORD_FIELDS} for record in records]
    write_atomically(os.path.join(folder, "linear.json"), json.dumps(slim, indent=1) + "\n")
    summary = table(records)
    dcdm = dcdm_table(records)
    if dcdm:
        summary += "\nDCDM (shipped model) against IC(0)-PCG and the fastest solver:\n\n" + dcdm
    write_atomically(os.path.join(folder, "linear.md"), summary)
    plot(records, os.path.join(folder, "linear_convergence.png"))
    print(summary)


if __name__ == "__main__":
    main()
