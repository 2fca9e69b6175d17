"""Peer side of the linear system import/export tests: writes and checks files with
scipy, h5py and petsc4py, independently of the C++ readers and writers.

  system_io_peer.py write <folder>   write the reference matrix and rhs in every format
  system_io_peer.py check <folder>   check the files the C++ side wrote; exit 1 on mismatch
"""
import sys

import h5py
import numpy as np
import scipy.io
import scipy.sparse as sp


def reference_system(n=12):
    """A symmetric matrix whose entries the C++ test rebuilds from the same formula:
    A[i, i] = 4 + i / 8, A[i, i + 1] = A[i + 1, i] = -1 - i / 64,
    A[i, i + 5] = A[i + 5, i] = 0.25 * (i + 1), and b[i] = 1 / (i + 1) - i / 4
    (correctly rounded in both languages)."""
    A = sp.lil_matrix((n, n))
    for i in range(n):
        A[i, i] = 4 + i / 8
        if i + 1 < n:
            A[i, i + 1] = A[i + 1, i] = -1 - i / 64
        if i + 5 < n:
            A[i, i + 5] = A[i + 5, i] = 0.25 * (i + 1)
    i = np.arange(n, dtype=np.float64)
    b = 1 / (i + 1) - i / 4
    return A.tocsr(), b


def write(folder):
    A, b = reference_system()
    scipy.io.mmwrite(f"{folder}/general.mtx", A, symmetry="general")
    scipy.io.mmwrite(f"{folder}/symmetric.mtx", A, symmetry="symmetric")
    scipy.io.mmwrite(f"{folder}/rhs.mtx", b.reshape(-1, 1))
    with h5py.File(f"{folder}/system.h5", "w") as f:
        g = f.create_group("A")
        g["data"] = A.data
        g["indices"] = A.indices.astype(np.int32)
        g["indptr"] = A.indptr.astype(np.int64)
        g.attrs["shape"] = np.array(A.shape, dtype=np.int64)
        f["b"] = b.astype(np.float32)  # a float32 rhs is converted on reading

    from petsc4py import PETSc
    mat = PETSc.Mat().createAIJ(size=A.shape, csr=(A.indptr, A.indices, A.data),
                                comm=PETSc.COMM_SELF)
    mat.assemble()
    vec = PETSc.Vec().createWithArray(b.copy(), comm=PETSc.COMM_SELF)
    viewer = PETSc.Viewer().createBinary(f"{folder}/system.petsc", "w", comm=PETSc.COMM_SELF)
    mat.view(viewer)
    vec.view(viewer)
    viewer.destroy()


def same(label, actual, expected):
    if actual.shape != expected.shape or not np.array_equal(actual, expected):
        print(f"{label}: differs\nactual:\n{actual}\nexpected:\n{expected}")
        return False
    return True


def check(folder):
    A, b = reference_system()
    dense = A.toarray()
    ok = True
    with h5py.File(f"{folder}/cpp_system.h5", "r") as f:
        g = f["A"]
        read = sp.csr_matrix((g["data"][:], g["indices"][:], g["indptr"][:]),
                             shape=tuple(g.attrs["shape"]))
        ok &= same("hdf5 matrix", read.toarray(), dense)
        ok &= same("hdf5 rhs", f["b"][:], b)
        basis = f["null_space"][:]
        if basis.shape != (1, 12) or np.max(np.abs(basis - 12 ** -0.5)) > 1e-15:
            print(f"hdf5 null space differs: {basis}")
            ok = False
    ok &= same("matrix market", scipy.io.mmread(f"{folder}/cpp_matrix.mtx").toarray(), dense)
    ok &= same("matrix market rhs", scipy.io.mmread(f"{folder}/cpp_rhs.mtx").ravel(), b)

    from petsc4py import PETSc
    viewer = PETSc.Viewer().createBinary(f"{folder}/cpp_system.petsc", "r", comm=PETSc.COMM_SELF)
    mat = PETSc.Mat().load(viewer)
    vec = PETSc.Vec().load(viewer)
    indptr, indices, data = mat.getValuesCSR()
    ok &= same("petsc matrix",
               sp.csr_matrix((data, indices, indptr), shape=mat.getSize()).toarray(),
               dense)
    ok &= same("petsc rhs", vec.getArray().copy(), b)
    return ok


if __name__ == "__main__":
    command, folder = sys.argv[1], sys.argv[2]
    if command == "write":
        write(folder)
    elif not check(folder):
        sys.exit(1)
