"""Reads files written by the nn tests with h5py and checks them against numpy.

usage: check_nn_file.py tensors FILE | module FILE | checkpoint FILE
Exits 0 when every check passes, 1 with the failures listed otherwise.
"""
import sys

import h5py
import numpy as np

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def expected_tensors():
    # The same formulas the C++ test evaluates with LibTorch, in numpy.
    n = np.arange(24, dtype=np.int64)
    ratio = (n.astype(np.float64) - 12) / 7
    shape = (2, 3, 4)
    return {
        "int8": ((n - 12) * 10).astype(np.int8).reshape(shape),
        "uint8": (n * 11).astype(np.uint8).reshape(shape),
        "int32": ((n - 12) * 100000007).astype(np.int32).reshape(shape),
        "int64": ((n - 12) * 10**15 + 1).reshape(shape),
        "float32": ratio.astype(np.float32).reshape(shape),
        "float64": ratio.reshape(shape),
        "bool": (n % 3 == 0).astype(np.uint8).reshape(shape),
        "scalar": np.array(3.25, dtype=np.float64),
        "empty": np.zeros((0, 5), dtype=np.float32),
    }


def check_tensors(file):
    for name, expected in expected_tensors().items():
        if name not in file:
            failures.append(f"dataset {name} missing")
            continue
        stored = file[name]
        check(stored.dtype == expected.dtype,
              f"{name}: dtype {stored.dtype}, expected {expected.dtype}")
        check(stored.shape == expected.shape,
              f"{name}: shape {stored.shape}, expected {expected.shape}")
        check(np.array_equal(stored[()], expected), f"{name}: values differ")
    check(file["bool"].attrs.get("torch_dtype") == "bool", "bool: attribute torch_dtype missing")


def check_module(file):
    group = file["model"]
    expected_shapes = {
        "conv.weight": (4, 2, 3, 3, 3),
        "conv.bias": (4,),
        "norm.weight": (4,),
        "norm.bias": (4,),
        "norm.running_mean": (4,),
        "norm.running_var": (4,),
        "norm.num_batches_tracked": (),
    }
    check(sorted(group.keys()) == sorted(expected_shapes),
          f"model members {sorted(group.keys())}, expected {sorted(expected_shapes)}")
    for name, shape in expected_shapes.items():
        if name in group:
            check(group[name].shape == shape,
                  f"{name}: shape {group[name].shape}, expected {shape}")
    check(group["norm.num_batches_tracked"].dtype == np.int64, "num_batches_tracked not int64")
    check(group["norm.num_batches_tracked"][()] == 3, "num_batches_tracked is not 3")
    check(group["conv.weight"].attrs.get("kind") == "parameter", "conv.weight kind")
    check(group["norm.running_var"].attrs.get("kind") == "buffer", "norm.running_var kind")
    check(group.attrs.get("format") == "deepnum.nn.module/1", "format attribute")
    check(group.attrs.get("architecture") == "conv3d-batchnorm", "architecture attribute")
    check(group.attrs.get("epochs") == 40, "epochs attribute")
    # Batch normalization's running variance starts at 1 and moves towards the batch
    # variance; after three updates it is positive everywhere.
    check(np.all(group["norm.running_var"][()] > 0), "running_var not positive")


def check_checkpoint(file):
    steps = int(file["training/step"][()])
    check(steps == 6, f"training/step is {steps}, expected 6")
    check(file["training/loss_history"].shape == (6,), "loss_history shape")
    check(file["training/loss_history"].dtype == np.float64, "loss_history dtype")
    check(file["rng/cpu"].dtype == np.uint8, "rng/cpu dtype")
    check(file["optimizer"].attrs.get("kind") == "adam", "optimizer kind")
    check(np.allclose(file["optimizer"].attrs["lr"], [0.01]), "optimizer lr")
    for name in ("weight", "bias"):
        state = file["optimizer/state"][name]
        check(int(state["step"][()]) == 6, f"{name}: Adam step is not 6")
        check(state["exp_avg"].shape == file["model"][name].shape, f"{name}: exp_avg shape")
        check(np.all(state["exp_avg_sq"][()] >= 0), f"{name}: exp_avg_sq negative")
        check("max_exp_avg_sq" in state, f"{name}: max_exp_avg_sq missing under amsgrad")


def main():
    mode, path = sys.argv[1], sys.argv[2]
    checks = {"tensors": check_tensors, "module": check_module, "checkpoint": check_checkpoint}
    with h5py.File(path, "r") as file:
        checks[mode](file)
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
