"""Runs the deepnum_smoke driver on small grids and checks its HDF5 frames with h5py,
numpy and scipy: layout and attributes, the pressure matrix against one assembled here
from the flags, the stored solution against the stopping rule, the grid rhs against the
system's rhs, the hard-linked matrix, and the XDMF sidecar. Also checks the comparison
records file, and that bad arguments and unusable output paths fail before any frame is
computed, each with one short error line naming the cause.

Usage: check_smoke_driver.py <deepnum_smoke executable> <work folder>
"""
import json
import os
import resource
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np
import scipy.sparse as sparse

FLUID, AIR = 2, 3


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def pressure_matrix(flags):
    """Unscaled negative Laplacian over fluid cells, assembled independently of DeepNum:
    fluid neighbour -1 (and +1 on the diagonal), air neighbour +1 on the diagonal only,
    walls, solids and the outside of the grid nothing. Unknowns in x-fastest cell order."""
    if flags.ndim == 2:
        flags = flags.reshape((1,) + flags.shape)  # 2D: (ny, nx) is one z layer
    flat = flags.ravel()  # C order of (nz, ny, nx): x fastest
    fluid = np.flatnonzero(flat == FLUID)
    unknown_of_cell = -np.ones(flat.size, dtype=np.int64)
    unknown_of_cell[fluid] = np.arange(fluid.size)
    nz, ny, nx = flags.shape
    z, y, x = np.unravel_index(fluid, flags.shape)
    rows, cols, values = [], [], []
    diagonal = np.zeros(fluid.size)
    for axis_position, size, stride in ((x, nx, 1), (y, ny, nx), (z, nz, nx * ny)):
        for step in (-1, 1):
            inside = (axis_position + step >= 0) & (axis_position + step < size)
            neighbour = fluid[inside] + step * stride
            neighbour_flag = flat[neighbour]
            row = np.flatnonzero(inside)
            is_fluid = neighbour_flag == FLUID
            diagonal[row[is_fluid | (neighbour_flag == AIR)]] += 1
            rows.append(row[is_fluid])
            cols.append(unknown_of_cell[neighbour[is_fluid]])
            values.append(-np.ones(is_fluid.sum()))
    rows.append(np.arange(fluid.size))
    cols.append(np.arange(fluid.size))
    values.append(diagonal)
    matrix = sparse.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(fluid.size, fluid.size))
    return matrix, fluid


def run_driver(driver, arguments):
    result = subprocess.run([driver] + arguments, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def check_run(driver, folder, scene, extra, frames, rtol):
    path = os.path.join(folder, scene + ".h5")
    arguments = ["--scene", scene, "--n", "16", "--frames", str(frames), "--rtol", str(rtol),
                 "--output", path, "--save-systems", "--log-level", "warn"] + extra
    code, output = run_driver(driver, arguments)
    expect(code == 0, "driver failed (%d) for %s: %s" % (code, arguments, output))

    with h5py.File(path, "r") as file:
        expect(file.attrs["scene"] == scene, "scene attribute %r" % file.attrs["scene"])
        names = sorted(file["frames"].keys())
        expect(names == ["%06d" % k for k in range(1, frames + 1)], "frame groups %s" % names)
        shared = file["system/matrix"]
        cell_of_unknown = file["system/cell_of_unknown"][...]
        previous_time = 0.0
        for name in names:
            group = file["frames"][name]
            flags = group["flags"][...]
            expect(flags.dtype == np.int8, "flags dtype %s" % flags.dtype)
            cells = [int(c) for c in group.attrs["cells"]]
            shape = tuple(reversed(cells))  # (nz, ny, nx) or (ny, nx)
            expect(flags.shape == shape, "flags shape %s, cells %s" % (flags.shape, cells))
            expect(group.attrs["axis_order"] == "zyx"[3 - len(cells):], "axis_order")
            for field in ("rhs", "pressure", "density", "temperature"):
                expect(group[field].shape == shape, "%s shape %s" % (field, group[field].shape))
            expect(group["velocity"].shape == shape + (3,), "velocity shape")
            expect(int(group.attrs["frame"]) == int(name), "frame attribute")
            time = float(group.attrs["time"])
            expect(time > previous_time, "time %g after %g" % (time, previous_time))
            previous_time = time
            expect(group.attrs["solver"] == "icpcg", "solver attribute")
            expect(int(group.attrs["iterations"]) > 0, "iterations attribute")

            # The matrix: shared by hard link, equal to the one assembled here.
            system = group["system"]
            expect(system["matrix"] == shared, "frame matrix is not the shared /system/matrix")
            stored = sparse.csr_matrix(
                (system["matrix/data"][...], system["matrix/indices"][...],
                 system["matrix/indptr"][...]), shape=tuple(system["matrix"].attrs["shape"]))
            expected, fluid = pressure_matrix(flags)
            expect(np.array_equal(fluid, cell_of_unknown), "cell_of_unknown differs")
            expect(stored.shape == expected.shape and abs(stored - expected).max() == 0,
                   "stored matrix differs from the flags' Laplacian")

            # The solution meets the stopping rule; the grid rhs is the system's rhs.
            b = system["rhs"][...]
            x = system["solution"][...]
            residual = np.linalg.norm(b - stored @ x)
            expect(residual <= rtol * np.linalg.norm(b), "frame %s: ||b - A x|| %.3e > "
                   "rtol ||b|| %.3e" % (name, residual, rtol * np.linalg.norm(b)))
            expect(np.array_equal(group["rhs"][...].ravel()[fluid], b), "grid rhs != system rhs")
            expect(np.array_equal(group["pressure"][...].ravel()[fluid], x), "grid pressure != x")
            spacing = float(group.attrs["spacing"][0])
            divergence = float(group.attrs["max_divergence"])
            expect(divergence * spacing <= 1.001 * rtol * np.linalg.norm(b),
                   "frame %s: max |div u| %.3e above the residual bound" % (name, divergence))

    sidecar = ElementTree.parse(os.path.join(folder, scene + ".xdmf")).getroot()
    grids = sidecar.findall(".//Grid[@GridType='Uniform']")
    expect(len(grids) == frames, "sidecar lists %d grids, not %d" % (len(grids), frames))
    for item in sidecar.iter("DataItem"):
        if item.get("Format") == "HDF":
            file_name, dataset = item.text.strip().split(":", 1)
            with h5py.File(os.path.join(folder, file_name), "r") as file:
                expect(dataset in file, "sidecar points at missing %s" % dataset)


def expect_refusal(driver, folder, name, arguments, expected_parts, forbidden_parts=()):
    """The run fails (not by a signal), its first line names every expected part, no line
    is overlong, and no frame was computed (the log would say "frame 1:")."""
    code, output = run_driver(driver, arguments + ["--n", "16", "--frames", "1"])
    lines = [line for line in output.splitlines() if line.strip()]
    context = "%s: %s -> status %d, output %r" % (name, arguments, code, output)
    expect(code != 0 and code < 128 and lines, "did not fail cleanly: " + context)
    for part in expected_parts:
        expect(part in lines[0], "first line lacks %r: %s" % (part, context))
    for part in forbidden_parts:
        expect(part not in output, "output holds %r: %s" % (part, context))
    expect(all(len(line) < 300 for line in lines), "an overlong line: " + context)
    expect("frame 1:" not in output, "a frame was computed before failing: " + context)


def check_refusals(driver, root):
    folder = os.path.join(root, "refusals")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "frames.h5"))
    os.makedirs(os.path.join(folder, "records.json"))

    expect_refusal(driver, folder, "negative dt", ["--dt", "-1"], ["--dt", "-1", ">= 0"])
    expect_refusal(driver, folder, "zero rtol", ["--rtol", "0"], ["--rtol", "0", "> 0"])
    expect_refusal(driver, folder, "records without comparison",
                   ["--records", os.path.join(folder, "r.json")],
                   ["--records", "--compare-solvers"])
    output_folder = os.path.join(folder, "frames.h5")
    expect_refusal(driver, folder, "output is a directory", ["--output", output_folder],
                   ["'%s': it is a directory" % output_folder], ["called twice"])
    records_folder = os.path.join(folder, "records.json")
    expect_refusal(driver, folder, "records is a directory",
                   ["--compare-solvers", "cg", "--records", records_folder],
                   ["'%s': it is a directory" % records_folder])
    expect_refusal(driver, folder, "empty output path", ["--output", ""],
                   ["--output", "an empty path names no file"])
    expect_refusal(driver, folder, "empty records path",
                   ["--compare-solvers", "cg", "--records", ""],
                   ["--records", "an empty path names no file"])
    expect(sorted(os.listdir(folder)) == ["frames.h5", "records.json"],
           "files left behind: %s" % sorted(os.listdir(folder)))


def check_out_of_memory(driver, root):
    """A grid that does not fit the address space the run may use fails with one line."""
    limit = 1 << 30

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result = subprocess.run([driver, "--n", "256", "--height-factor", "4", "--frames", "1"],
                            capture_output=True, text=True, preexec_fn=limit_memory, timeout=60,
                            cwd=root)
    output = result.stdout + result.stderr
    expect(result.returncode == 1 and "out of memory" in output,
           "out of memory: status %d, %r" % (result.returncode, output))


def check_records(driver, root):
    folder = os.path.join(root, "records")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "records.json")
    code, output = run_driver(driver, ["--n", "16", "--frames", "2", "--compare-solvers",
                                       "cg,icpcg", "--records", path, "--log-level", "warn"])
    expect(code == 0, "comparison run failed (%d): %s" % (code, output))
    with open(path) as stream:
        records = json.load(stream)
    expect(len(records) == 4, "%d records, expected 2 frames x 2 solvers" % len(records))
    expect(os.listdir(folder) == ["records.json"], "files left: %s" % os.listdir(folder))


def main():
    driver, folder = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(folder, exist_ok=True)

    code, output = run_driver(driver, ["--help"])
    expect(code == 0 and "--save-systems" in output, "--help failed: %s" % output)
    code, output = run_driver(driver, ["--scene", "teapot"])
    expect(code != 0 and "teapot" in output, "an unknown scene was accepted: %s" % output)
    code, output = run_driver(driver, ["--scene", "bunny", "--n", "16", "--frames", "1",
                                       "--mesh", os.path.join(folder, "missing.obj")])
    expect(code == 1 and "missing.obj" in output, "a missing mesh was not reported: %s" % output)

    check_refusals(driver, folder)
    check_out_of_memory(driver, folder)
    check_records(driver, folder)
    check_run(driver, folder, "bunny", [], frames=3, rtol=1e-7)
    check_run(driver, folder, "plume", ["--open-top", "--dimension", "2"], frames=2, rtol=1e-6)
    print("check_smoke_driver: all checks passed")


if __name__ == "__main__":
    main()
