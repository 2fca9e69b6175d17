"""h5py/scipy peer of the deepnum::io tests.

    h5py_peer.py verify <section> <file>   assert what DeepNum wrote
    h5py_peer.py write <section> <file>    write what DeepNum must read
    h5py_peer.py xdmf <xdmf> <h5>          check an XDMF sidecar against its HDF5 file

Values come from the closed forms below; io_test_support.hpp holds the same formulas in
C++. Exit status 0 means every check passed; a failed assert prints what differed.
"""
import os
import sys
import xml.etree.ElementTree as ElementTree

import h5py
import numpy as np
import scipy.sparse

MATRIX_SHAPE = (5, 7)
VECTOR_LENGTH = 9
INTEGER_TYPES = ("int8", "uint8", "int32", "int64")
FLOAT_TYPES = ("float32", "float64")
ALL_TYPES = INTEGER_TYPES + FLOAT_TYPES


def element(dtype, i, j):
    """The value stored at (i, j) of the test matrix of a dtype."""
    if dtype == "int8":
        return ((37 * i + 11 * j) % 256) - 128
    if dtype == "uint8":
        return (37 * i + 11 * j) % 256
    if dtype == "int32":
        return (i - 2 * j) * 100000007
    if dtype == "int64":
        return (i - 2 * j) * 1000000000039
    return float(((3 * i + 5 * j) % 17) - 8) + 1.0 / (1 + i + j)


def matrix(dtype, shape=MATRIX_SHAPE):
    values = [[element(dtype, i, j) for j in range(shape[1])] for i in range(shape[0])]
    return np.array(values, dtype=np.float64 if dtype in FLOAT_TYPES else np.int64).astype(dtype)


def vector(dtype):
    return matrix(dtype, (VECTOR_LENGTH, 1))[:, 0]


def nd_array():
    """Shape (2, 3, 4, 5) float64: a - 2b + 3c - 4d + 1 / (1 + flat index)."""
    shape = (2, 3, 4, 5)
    out = np.empty(shape)
    for k, (a, b, c, d) in enumerate(np.ndindex(*shape)):
        out[a, b, c, d] = float(a - 2 * b + 3 * c - 4 * d) + 1.0 / (1 + k)
    return out


def big_array():
    """Shape (1000, 600) float64, 4.8 MB: chunked and compressed by default."""
    i, j = np.meshgrid(np.arange(1000), np.arange(600), indexing="ij")
    return ((i * 7 + j * 3) % 101).astype(np.float64) - 50.0 + 0.5 * (j % 2)


def csr_dense(rows=6, cols=8):
    """Entries where (3 i + j) % 4 == 0, value 1 + i - 0.5 j."""
    dense = np.zeros((rows, cols))
    for i in range(rows):
        for j in range(cols):
            if (3 * i + j) % 4 == 0:
                dense[i, j] = 1.0 + i - 0.5 * j
    return dense


def grid_scalar(shape):
    """field[z, y, x] = x + 10 y + 100 z (2D: z = 0)."""
    index = np.indices(shape)
    if len(shape) == 2:
        return index[1] + 10.0 * index[0]
    return index[2] + 10.0 * index[1] + 100.0 * index[0]


def grid_flags(shape):
    return (np.indices(shape).sum(axis=0) % 3).astype(np.int8)


def grid_vector(shape):
    """component c of cell (x, y, z) = coordinate index c + 0.5 c, float32."""
    index = np.indices(shape)[::-1]  # x, y(, z)
    out = np.zeros(shape + (3,), dtype=np.float32)
    for c in range(len(shape)):
        out[..., c] = index[c] + 0.5 * c
    return out


GRID_3D = dict(cells=[4, 3, 2], spacing=[0.5, 0.25, 2.0], origin=[1.0, -2.0, 0.5])
GRID_2D = dict(cells=[5, 3], spacing=[0.1, 0.2], origin=[0.0, 1.0])


def shape_of(grid):
    return tuple(reversed(grid["cells"]))


def assert_array(actual, expected, name):
    actual = np.asarray(actual)
    assert actual.dtype == expected.dtype, f"{name}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape} != {expected.shape}"
    assert np.array_equal(actual, expected), f"{name}: values differ\n{actual}\n{expected}"


# ---------------------------------------------------------------------------- verify


def verify_matrices(f):
    for dtype in ALL_TYPES:
        assert_array(f[f"matrix/{dtype}"][()], matrix(dtype), f"matrix/{dtype}")
        assert_array(f[f"vector/{dtype}"][()], vector(dtype), f"vector/{dtype}")
    # A column-major Eigen matrix must look the same to numpy.
    assert_array(f["matrix/float64_from_column_major"][()], matrix("float64"), "col-major")


def verify_arrays(f):
    assert_array(f["arrays/nd"][()], nd_array(), "arrays/nd")
    scalar = f["arrays/scalar_float64"]
    assert scalar.shape == () and scalar.dtype == np.float64 and scalar[()] == 2.5
    scalar = f["arrays/scalar_int64"]
    assert scalar.shape == () and scalar.dtype == np.int64 and scalar[()] == -7
    assert f["arrays/nd"].chunks is None, "small datasets must be contiguous"


def verify_big(f):
    dataset = f["big/values"]
    assert dataset.compression == "gzip", f"compression is {dataset.compression}"
    assert dataset.shuffle, "shuffle filter missing"
    assert dataset.chunks is not None
    assert_array(dataset[()], big_array(), "big/values")


def verify_attributes(f):
    attrs = f["/"].attrs
    assert isinstance(attrs["alpha"], np.float64) and attrs["alpha"] == 1.5
    assert isinstance(attrs["count"], np.int64) and attrs["count"] == -42
    assert attrs["name"] == "grid \u2713 \u00fcn\u00efcode", repr(attrs["name"])
    assert isinstance(attrs["name"], str)
    assert h5py.check_string_dtype(attrs.get_id("name").dtype).length is None, "not vlen"
    fixed = attrs.get_id("fixed")
    assert h5py.check_string_dtype(fixed.dtype).length == 3, "not fixed length 3"
    assert attrs["fixed"] == b"abc" or attrs["fixed"] == "abc", repr(attrs["fixed"])
    assert_array(attrs["weights"], np.array([0.5, -1.25, 3.0]), "weights")
    assert_array(attrs["ids"], np.array([1, -2, 3000000000], dtype=np.int64), "ids")
    group_attrs = f["deep/group"].attrs
    assert group_attrs["answer"] == 42
    assert f["arrays/nd"].attrs["unit"] == "m/s"


def verify_csr(f):
    for name, index_dtype, value_dtype in (("csr_f64_i32", "int32", "float64"),
                                           ("csr_f32_i64", "int64", "float32"),
                                           ("csr_empty", "int32", "float64")):
        group = f[name]
        assert group.attrs["format"] == "csr"
        shape = tuple(int(n) for n in group.attrs["shape"])
        assert group.attrs["shape"].dtype == np.int64
        assert group["indices"].dtype == index_dtype and group["indptr"].dtype == index_dtype
        assert group["data"].dtype == value_dtype
        matrix_ = scipy.sparse.csr_matrix(
            (group["data"][()], group["indices"][()], group["indptr"][()]), shape=shape)
        expected = csr_dense() if name != "csr_empty" else np.zeros((4, 3))
        assert_array(matrix_.toarray(), expected.astype(value_dtype), name)


def verify_grid(f):
    group = f["grid3d"]
    assert group.attrs["dimension"] == 3 and group.attrs["axis_order"] == "zyx"
    assert list(group.attrs["cells"]) == GRID_3D["cells"]
    assert list(group.attrs["spacing"]) == GRID_3D["spacing"]
    assert list(group.attrs["origin"]) == GRID_3D["origin"]
    shape = shape_of(GRID_3D)
    assert_array(group["pressure"][()], grid_scalar(shape), "pressure")
    assert_array(group["flags"][()], grid_flags(shape), "flags")
    assert_array(group["velocity"][()], grid_vector(shape), "velocity")
    group = f["grid2d"]
    assert group.attrs["dimension"] == 2 and group.attrs["axis_order"] == "yx"
    assert list(group.attrs["cells"]) == GRID_2D["cells"]
    assert_array(group["pressure"][()], grid_scalar(shape_of(GRID_2D)), "2d pressure")


VERIFY = dict(matrices=verify_matrices, arrays=verify_arrays, big=verify_big,
              attributes=verify_attributes, csr=verify_csr, grid=verify_grid)

# ----------------------------------------------------------------------------- write


def write_matrices(f):
    for dtype in ALL_TYPES:
        f[f"matrix/{dtype}"] = matrix(dtype)
        f[f"vector/{dtype}"] = vector(dtype)
    f["matrix/float64_fortran"] = np.asfortranarray(matrix("float64"))


def write_arrays(f):
    f["arrays/nd"] = nd_array()
    f["arrays/scalar_float64"] = np.float64(2.5)
    f["arrays/scalar_int64"] = np.int64(-7)
    f["arrays/int16"] = np.arange(6, dtype=np.int16).reshape(2, 3)
    f["arrays/big_endian"] = matrix("float64").astype(">f8")


def write_big(f):
    f.create_dataset("big/values", data=big_array(), chunks=(100, 75), compression="gzip",
                     compression_opts=6, shuffle=True)


def write_attributes(f):
    attrs = f["/"].attrs
    attrs["alpha"] = 1.5
    attrs["count"] = np.int64(-42)
    attrs["name"] = "grid \u2713 \u00fcn\u00efcode"
    attrs["fixed"] = np.bytes_(b"abc")
    attrs["weights"] = np.array([0.5, -1.25, 3.0])
    attrs["ids"] = np.array([1, -2, 3000000000], dtype=np.int64)
    attrs["small_int"] = np.int32(5)
    attrs["integer_for_double"] = 3
    attrs["float_list"] = [1.0, 2.0]
    attrs["flag"] = True
    f.create_group("deep/group").attrs["answer"] = 42


def write_csr(f):
    dense = csr_dense()
    small = scipy.sparse.csr_matrix(dense)
    assert small.indices.dtype == np.int32
    for name, index_dtype in (("csr_i32", np.int32), ("csr_i64", np.int64)):
        group = f.create_group(name)
        group["data"] = small.data
        group["indices"] = small.indices.astype(index_dtype)
        group["indptr"] = small.indptr.astype(index_dtype)
        group.attrs["shape"] = np.array(small.shape, dtype=np.int64)
        group.attrs["format"] = "csr"
    # Unsorted columns and a repeated entry: scipy's toarray() sums duplicates.
    group = f.create_group("csr_unsorted")
    group["data"] = np.array([2.0, 1.0, 0.5, 0.25, 3.0])
    group["indices"] = np.array([3, 0, 3, 1, 2], dtype=np.int32)
    group["indptr"] = np.array([0, 3, 3, 5], dtype=np.int32)
    group.attrs["shape"] = np.array([3, 4])
    # Broken structures.
    for name, indptr, indices in (("csr_decreasing", [0, 2, 1, 3], [0, 1, 2]),
                                  ("csr_out_of_range", [0, 1, 2, 3], [0, 5, 1]),
                                  ("csr_short_indptr", [0, 1, 3], [0, 1, 2])):
        group = f.create_group(name)
        group["data"] = np.ones(3)
        group["indices"] = np.array(indices, dtype=np.int32)
        group["indptr"] = np.array(indptr, dtype=np.int32)
        group.attrs["shape"] = np.array([3, 4], dtype=np.int64)


def write_grid(f):
    for name, grid in (("grid3d", GRID_3D), ("grid2d", GRID_2D)):
        group = f.create_group(name)
        group.attrs["dimension"] = len(grid["cells"])
        group.attrs["cells"] = np.array(grid["cells"], dtype=np.int64)
        group.attrs["spacing"] = np.array(grid["spacing"])
        group.attrs["origin"] = np.array(grid["origin"])
        group.attrs["axis_order"] = "zyx" if len(grid["cells"]) == 3 else "yx"
        shape = shape_of(grid)
        group["pressure"] = grid_scalar(shape)
        group["flags"] = grid_flags(shape)
        group["velocity"] = grid_vector(shape)
    f["grid3d/wrong_shape"] = np.zeros((2, 3, 3))


WRITE = dict(matrices=write_matrices, arrays=write_arrays, big=write_big,
             attributes=write_attributes, csr=write_csr, grid=write_grid)

# ------------------------------------------------------------------------------ xdmf


def check_xdmf(xdmf_path, h5_path):
    root = ElementTree.parse(xdmf_path).getroot()
    assert root.tag == "Xdmf" and root.get("Version") == "3.0"
    collection = root.find("Domain/Grid")
    assert collection.get("GridType") == "Collection"
    assert collection.get("CollectionType") == "Temporal"
    expected_reference = os.path.relpath(h5_path, os.path.dirname(os.path.abspath(xdmf_path)))
    grids = collection.findall("Grid")
    assert grids, "no grids"
    times = []
    with h5py.File(h5_path, "r") as f:
        for grid in grids:
            group = f[grid.get("Name")]
            times.append(float(grid.find("Time").get("Value")))
            cells = [int(n) for n in group.attrs["cells"]]
            dimension = int(group.attrs["dimension"])
            topology = grid.find("Topology")
            assert topology.get("TopologyType") == f"{dimension}DCoRectMesh"
            nodes = [int(n) for n in topology.get("Dimensions").split()]
            assert nodes == [n + 1 for n in reversed(cells)], (nodes, cells)
            items = {item.get("Name"): item for item in grid.find("Geometry")}
            origin = [float(v) for v in items["Origin"].text.split()]
            spacing = [float(v) for v in items["Spacing"].text.split()]
            assert origin == list(reversed(list(group.attrs["origin"])))
            assert spacing == list(reversed(list(group.attrs["spacing"])))
            seen = set()
            for attribute in grid.findall("Attribute"):
                assert attribute.get("Center") == "Cell"
                item = attribute.find("DataItem")
                assert item.get("Format") == "HDF"
                reference, path = item.text.strip().split(":", 1)
                assert reference == expected_reference, (reference, expected_reference)
                dataset = f[path]
                shape = tuple(int(n) for n in item.get("Dimensions").split())
                assert shape == dataset.shape, (path, shape, dataset.shape)
                vector = dataset.ndim == dimension + 1
                assert attribute.get("AttributeType") == ("Vector" if vector else "Scalar")
                precision = int(item.get("Precision"))
                assert precision == dataset.dtype.itemsize, (path, precision)
                seen.add(attribute.get("Name"))
            grid_shape = tuple(reversed(cells))
            fields = {name for name, d in group.items()
                      if isinstance(d, h5py.Dataset) and d.shape[:dimension] == grid_shape}
            assert seen == fields, (seen, fields)
    assert times == sorted(times), times
    print(f"xdmf ok: {len(grids)} grids, times {times}")


def main(argv):
    if len(argv) == 4 and argv[1] == "xdmf":
        check_xdmf(argv[2], argv[3])
        return 0
    if len(argv) != 4 or argv[1] not in ("verify", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, section, path = argv[1], argv[2], argv[3]
    if mode == "verify":
        with h5py.File(path, "r") as f:
            VERIFY[section](f)
    else:
        with h5py.File(path, "w") as f:
            WRITE[section](f)
    print(f"{mode} {section} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
