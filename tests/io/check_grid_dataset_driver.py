"""Runs deepnum_grid_dataset on inputs it must refuse and checks that each run fails with
a one-line error that names the problem, and leaves no file behind: too many cells, a
grid that does not fit the memory the run may use, an output path that is a directory.
Also checks that --help lists every log level.

Usage: check_grid_dataset_driver.py <deepnum_grid_dataset executable> <work folder>
"""
import os
import resource
import shutil
import subprocess
import sys

# Address-space limit of every run that must fail: the out-of-memory case needs about
# 4 GiB, and a driver that failed to refuse a huge grid must not take the machine's memory.
MEMORY_LIMIT_BYTES = 1 << 30


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def run_driver(driver, arguments, folder, memory_limit=None):
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    result = subprocess.run([driver] + arguments, capture_output=True, text=True, cwd=folder,
                            preexec_fn=limit_memory if memory_limit else None, timeout=60)
    return result.returncode, result.stdout + result.stderr


def fresh_folder(root, name):
    folder = os.path.join(root, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    return folder


def expect_refusal(driver, root, name, arguments, expected_parts):
    """The run fails with status 1 or CLI11's, prints one line naming every expected part,
    and leaves its folder as it found it."""
    folder = fresh_folder(root, name)
    before = sorted(os.listdir(folder))
    code, output = run_driver(driver, arguments, folder, MEMORY_LIMIT_BYTES)
    lines = [line for line in output.splitlines() if line.strip()]
    context = "%s: %s -> status %d, output %r" % (name, arguments, code, output)
    expect(code != 0 and code < 128, "did not fail cleanly: " + context)
    expect(len(lines) <= 2, "more than one error line: " + context)
    expect(all(len(line) < 300 for line in lines), "an overlong error line: " + context)
    for part in expected_parts:
        expect(part in lines[0], "first line lacks %r: %s" % (part, context))
    expect(sorted(os.listdir(folder)) == before,
           "files left behind: %s: %s" % (sorted(os.listdir(folder)), context))


def main():
    driver, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(root, exist_ok=True)

    code, output = run_driver(driver, ["--help"], root)
    expect(code == 0, "--help failed: %s" % output)
    expect("trace, debug, info, warn, error, critical or off" in output,
           "--help does not list every log level: %s" % output)

    expect_refusal(driver, root, "dimension_too_large", ["--cells", "2000", "5000", "2000"],
                   ["--cells", "5000", "4096"])
    expect_refusal(driver, root, "dimension_zero", ["--cells", "0", "8", "8"], ["--cells", "0"])
    expect_refusal(driver, root, "too_many_cells", ["--cells", "2000", "2000", "2000"],
                   ["2000 x 2000 x 2000", "8000000000 cells", "268435456"])
    expect_refusal(driver, root, "no_frames", ["--frames", "0"], ["--frames", "0"])
    expect_refusal(driver, root, "out_of_memory", ["--cells", "1024", "1024", "200"],
                   ["out of memory", "1024 x 1024 x 200"])

    folder = fresh_folder(root, "output_is_a_directory")
    os.makedirs(os.path.join(folder, "grid.h5"))
    code, output = run_driver(driver, ["--output", "grid.h5", "--cells", "4", "4", "4"], folder,
                              MEMORY_LIMIT_BYTES)
    expect(code == 1 and "'grid.h5': it is a directory" in output.splitlines()[0],
           "a directory as --output: status %d, %r" % (code, output))
    expect(sorted(os.listdir(folder)) == ["grid.h5"], "files left: %s" % os.listdir(folder))
    print("check_grid_dataset_driver: all checks passed")


if __name__ == "__main__":
    main()
