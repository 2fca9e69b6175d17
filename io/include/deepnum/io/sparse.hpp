// Sparse matrices in compressed sparse row (CSR) form, laid out as scipy users store
// them: a group with datasets `data` (nnz values), `indices` (nnz column indices),
// `indptr` (rows + 1 offsets) and attributes `shape` = [rows, cols] (int64) and
// `format` = "csr". In Python:
//   g = h5py.File(p)["A"]
//   A = scipy.sparse.csr_matrix((g["data"], g["indices"], g["indptr"]), g.attrs["shape"])
//
// Writing stores indices and indptr with the matrix's index type (int32 or int64).
// Reading accepts int32 or int64 indices on disk (converted to I, with a range check),
// floating or integer data (converted to T), and validates the structure: indptr has
// rows + 1 entries, starts at 0, never decreases and ends at nnz; data and indices have
// nnz entries; every column index lies in [0, cols). Rows whose column indices are
// unsorted or repeated (legal in scipy) are sorted and repeated entries summed, which is
// what scipy's toarray() shows.
#pragma once

#include <Eigen/SparseCore>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "deepnum/io/dataset.hpp"

namespace deepnum::io {

template <class T, class I>
using CsrMatrix = Eigen::SparseMatrix<T, Eigen::RowMajor, I>;

namespace detail {

// The checked contents of a CSR group, with 64-bit indices.
struct CsrArrays {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<std::int64_t> indptr;
  std::vector<std::int64_t> indices;
  bool rows_sorted_and_unique = true;
};

// Writes the CSR group (data written by the caller's template through data_dtype).
void write_csr_raw(File& file,
                   const std::string& group_path,
                   std::int64_t rows,
                   std::int64_t cols,
                   std::int64_t nonzeros,
                   Dtype value_dtype,
                   const void* values,
                   Dtype index_dtype,
                   const void* outer_index,
                   const void* inner_index,
                   const WriteOptions& options);

// Reads and validates shape, indptr and indices; throws CorruptFileError or
// ShapeMismatchError naming the group and the broken rule.
CsrArrays read_csr_structure(const File& file, const std::string& group_path);

// Throws InvalidArgumentError when an index does not fit into the index type I.
void require_index_range(const File& file,
                         const std::string& group_path,
                         std::int64_t largest,
                         std::int64_t limit,
                         const char* index_type);

}  // namespace detail

// Writes matrix as a CSR group at group_path (created with missing parents). The group
// must not exist yet unless options.replace_existing is set (then its datasets are
// replaced). Uncompressed (insert-mode) matrices are compressed on a copy first.
template <class T, class I>
void write_csr(File& file,
               const std::string& group_path,
               const CsrMatrix<T, I>& matrix,
               const WriteOptions& options = {}) {
  static_assert(std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::int64_t>,
                "CSR index type must be int32 or int64");
  const CsrMatrix<T, I>* compressed = &matrix;
  CsrMatrix<T, I> copy;
  if (!matrix.isCompressed()) {
    copy = matrix;
    copy.makeCompressed();
    compressed = &copy;
  }
  detail::write_csr_raw(file,
                        group_path,
                        compressed->rows(),
                        compressed->cols(),
                        compressed->nonZeros(),
                        dtype_of<T>(),
                        compressed->valuePtr(),
                        dtype_of<I>(),
                        compressed->outerIndexPtr(),
                        compressed->innerIndexPtr(),
                        options);
}

// Reads the CSR group at group_path into a compressed Eigen matrix.
template <class T, class I = int>
CsrMatrix<T, I> read_csr(const File& file, const std::string& group_path) {
  static_assert(std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::int64_t>,
                "CSR index type must be int32 or int64");
  const detail::CsrArrays csr = detail::read_csr_structure(file, group_path);
  const std::int64_t nonzeros = csr.indptr.back();
  const std::int64_t limit = static_cast<std::int64_t>(std::numeric_limits<I>::max());
  detail::require_index_range(file,
                              group_path,
                              std::max({csr.rows, csr.cols, nonzeros}),
                              limit,
                              std::is_same_v<I, std::int32_t> ? "int32" : "int64");

  const std::string data_path = group_path + "/data";
  std::vector<T> values(static_cast<std::size_t>(nonzeros));
  read_dataset_raw_as(
      file, data_path, dtype_of<T>(), values.data(), {static_cast<std::uint64_t>(nonzeros)});

  CsrMatrix<T, I> matrix(static_cast<Eigen::Index>(csr.rows), static_cast<Eigen::Index>(csr.cols));
  if (csr.rows_sorted_and_unique) {
    // Copy the three arrays straight into Eigen's compressed storage.
    matrix.resizeNonZeros(static_cast<Eigen::Index>(nonzeros));
    for (std::size_t r = 0; r < csr.indptr.size(); ++r) {
      matrix.outerIndexPtr()[r] = static_cast<I>(csr.indptr[r]);
    }
    for (std::size_t k = 0; k < values.size(); ++k) {
      matrix.innerIndexPtr()[k] = static_cast<I>(csr.indices[k]);
      matrix.valuePtr()[k] = values[k];
    }
    return matrix;
  }
  // Unsorted or repeated columns: let Eigen sort and sum, as scipy's toarray() does.
  std::vector<Eigen::Triplet<T, I>> entries;
  entries.reserve(values.size());
  for (std::int64_t r = 0; r < csr.rows; ++r) {
    for (std::int64_t k = csr.indptr[static_cast<std::size_t>(r)];
         k < csr.indptr[static_cast<std::size_t>(r) + 1];
         ++k) {
      const auto position = static_cast<std::size_t>(k);
      entries.emplace_back(
          static_cast<I>(r), static_cast<I>(csr.indices[position]), values[position]);
    }
  }
  matrix.setFromTriplets(entries.begin(), entries.end());
  matrix.makeCompressed();
  return matrix;
}

}  // namespace deepnum::io
