// Eigen dense matrices and vectors as datasets, laid out as numpy sees them.
//
// A matrix is a rank-2 dataset of shape (rows, cols) in row-major (C) order, whatever
// the Eigen storage order: a column-major matrix is copied into row-major order on
// write, so h5py's array equals the Eigen matrix element by element. A vector (one row
// or one column) is a rank-1 dataset of shape (n,). Element types: float, double, int8,
// uint8, int32, int64. Reads are strict about the element type (DtypeMismatchError) and
// the rank (ShapeMismatchError).
#pragma once

#include <Eigen/Core>

#include <string>

#include "deepnum/io/dataset.hpp"

namespace deepnum::io {

template <class T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// Writes a (rows, cols) dataset at path.
template <class Derived>
void write_matrix(File& file,
                  const std::string& path,
                  const Eigen::MatrixBase<Derived>& matrix,
                  const WriteOptions& options = {}) {
  using T = typename Derived::Scalar;
  // Evaluating into a row-major matrix puts element (i, j) at i * cols + j.
  const RowMajorMatrix<T> row_major = matrix;
  write_dataset<T>(
      file,
      path,
      row_major.data(),
      {static_cast<std::uint64_t>(row_major.rows()), static_cast<std::uint64_t>(row_major.cols())},
      options);
}

// Writes an (n,) dataset at path; the argument must have one row or one column.
template <class Derived>
void write_vector(File& file,
                  const std::string& path,
                  const Eigen::MatrixBase<Derived>& vector,
                  const WriteOptions& options = {}) {
  using T = typename Derived::Scalar;
  require<InvalidArgumentError>(vector.rows() == 1 || vector.cols() == 1,
                                "write_vector to '",
                                path,
                                "' in file '",
                                file.path(),
                                "' needs one row or column, got ",
                                vector.rows(),
                                "x",
                                vector.cols());
  // One row or one column: either storage order lists the entries in vector order.
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> contiguous = vector;
  write_dataset<T>(
      file, path, contiguous.data(), {static_cast<std::uint64_t>(contiguous.size())}, options);
}

// Reads a rank-2 dataset of element type T.
template <class T>
RowMajorMatrix<T> read_matrix(const File& file, const std::string& path) {
  const Shape shape = dataset_shape(file, path);
  detail::require_rank(file, path, shape, 2, "matrix");
  RowMajorMatrix<T> matrix(static_cast<Eigen::Index>(shape[0]),
                           static_cast<Eigen::Index>(shape[1]));
  read_dataset_raw(file, path, dtype_of<T>(), matrix.data(), shape);
  return matrix;
}

// Reads a rank-1 dataset of element type T.
template <class T>
Vector<T> read_vector(const File& file, const std::string& path) {
  const Shape shape = dataset_shape(file, path);
  detail::require_rank(file, path, shape, 1, "vector");
  Vector<T> vector(static_cast<Eigen::Index>(shape[0]));
  read_dataset_raw(file, path, dtype_of<T>(), vector.data(), shape);
  return vector;
}

}  // namespace deepnum::io
