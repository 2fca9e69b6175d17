// Linear systems to and from files: HDF5 (CSR in scipy's layout), MatrixMarket and
// PETSc binary.
//
// HDF5 layout (Hdf5SystemLayout, defaults shown), what h5py + scipy read and write:
//   /A            group: data (float64), indices, indptr (int32/int64), attrs shape,
//                 format = "csr"   -> scipy.sparse.csr_matrix((data, indices, indptr), shape)
//   /b            (n,) float64, optional right-hand side
//   /null_space   (k, n) float64, optional orthonormal null-space basis, one row each
// A file without /null_space gets the null space constant_null_space() finds.
//
// MatrixMarket: "%%MatrixMarket matrix coordinate real|integer general|symmetric"
// (symmetric files list the lower triangle, i >= j); vectors as "matrix array real
// general" with one column (or coordinate with one column). Duplicate entries are
// summed. Values are decimal (no hexadecimal). Files are read line by line with errors
// naming the file, the line number and what was expected.
//
// PETSc binary (what MatView/VecView write with a binary viewer, big-endian, 32-bit
// indices): a Mat (classid 1211216, rows, cols, nnz, row lengths, column indices,
// values), optionally followed by a Vec (classid 1211214, n, values). Read and written
// directly, with or without PETSc in the build.
//
// Readers of a system (read_system_hdf5, read_matrix_market_system, read_petsc_binary)
// require a square matrix (io::ShapeMismatchError for HDF5, IoError otherwise, naming the
// file and the shape). A detected null space is capped at kMaxConstantNullVectors
// (InvalidArgumentError naming the file and the count). The PETSc reader compares the
// counts of every header with the bytes left in the file before allocating anything.
//
// Errors: IoError (deepnum::io errors for HDF5) naming the file and what is wrong (a
// directory given as a file is named as such); InvalidArgumentError for arguments (a
// vector of the wrong size to write).
#pragma once

#include <string>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// A system read from a file.
struct ImportedSystem {
  LinearSystem system;  // matrix and null space (stored or detected)
  Vector rhs;           // empty when the file holds none
};

struct Hdf5SystemLayout {
  std::string matrix_group = "/A";
  std::string rhs_dataset = "/b";
  std::string null_space_dataset = "/null_space";

  void validate() const;  // non-empty, distinct paths
};

// HDF5. Writing is atomic (a temporary file renamed over `path`); an empty rhs is not
// written. Throws deepnum::io errors (IoError) for HDF5 failures, ShapeMismatchError
// for a rhs or null-space dataset whose size differs from the matrix.
ImportedSystem read_system_hdf5(const std::string& path, const Hdf5SystemLayout& layout = {});
void write_system_hdf5(const std::string& path,
                       const LinearSystem& system,
                       const Vector& rhs = {},
                       const Hdf5SystemLayout& layout = {});

// MatrixMarket. write_matrix_market writes "coordinate real general", 17 digits.
SparseMatrix read_matrix_market(const std::string& path);
Vector read_matrix_market_vector(const std::string& path);
void write_matrix_market(const std::string& path, const SparseMatrix& matrix);
void write_matrix_market_vector(const std::string& path, const Vector& vector);
// The matrix file, and the rhs file unless rhs_path is empty; null space detected.
ImportedSystem read_matrix_market_system(const std::string& matrix_path,
                                         const std::string& rhs_path = {});

// PETSc binary: a Mat, then a Vec if present (its size must equal the matrix's rows).
// Null space detected. write_petsc_binary writes the Mat, then rhs unless it is empty.
ImportedSystem read_petsc_binary(const std::string& path);
void write_petsc_binary(const std::string& path,
                        const SparseMatrix& matrix,
                        const Vector& rhs = {});

}  // namespace deepnum::linear
