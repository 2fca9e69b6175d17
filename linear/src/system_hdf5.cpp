#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/sparse.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/system_io.hpp"

namespace deepnum::linear {

void Hdf5SystemLayout::validate() const {
  require_option(
      !matrix_group.empty(), "Hdf5SystemLayout", "matrix_group", "''", "must not be empty");
  require_option(
      !rhs_dataset.empty(), "Hdf5SystemLayout", "rhs_dataset", "''", "must not be empty");
  require_option(!null_space_dataset.empty(),
                 "Hdf5SystemLayout",
                 "null_space_dataset",
                 "''",
                 "must not be empty");
  require_option(rhs_dataset != matrix_group && null_space_dataset != matrix_group &&
                     null_space_dataset != rhs_dataset,
                 "Hdf5SystemLayout",
                 "rhs_dataset",
                 rhs_dataset,
                 "matrix_group, rhs_dataset and null_space_dataset must differ");
}

ImportedSystem read_system_hdf5(const std::string& path, const Hdf5SystemLayout& layout) {
  layout.validate();
  const io::File file = io::File::open_read(path);
  ImportedSystem imported;
  SparseMatrix& A = imported.system.matrix;
  A = io::read_csr<double, int>(file, layout.matrix_group);
  if (A.rows() != A.cols()) {
    throw io::ShapeMismatchError(
        fmt::format("file '{}', group '{}': the matrix is {} x {}; a linear system needs a "
                    "square matrix",
                    path,
                    layout.matrix_group,
                    A.rows(),
                    A.cols()));
  }
  const auto rows = static_cast<std::uint64_t>(A.rows());

  if (file.exists(layout.rhs_dataset)) {
    // Any numeric type (h5py users often store float32); one entry per row.
    const io::NdArray<double> rhs = io::read_dataset_as<double>(file, layout.rhs_dataset);
    const bool column = rhs.shape.size() == 1 || (rhs.shape.size() == 2 && rhs.shape[1] == 1);
    if (!column || rhs.shape[0] != rows) {
      throw io::ShapeMismatchError(
          fmt::format("file '{}', dataset '{}': the right-hand side has shape {}, expected ({},) "
                      "for the {} x {} "
                      "matrix in '{}'",
                      path,
                      layout.rhs_dataset,
                      io::to_string(rhs.shape),
                      rows,
                      A.rows(),
                      A.cols(),
                      layout.matrix_group));
    }
    imported.rhs = Eigen::Map<const Vector>(rhs.values.data(), A.rows());
  }

  if (file.exists(layout.null_space_dataset)) {
    const io::NdArray<double> basis = io::read_dataset_as<double>(file, layout.null_space_dataset);
    if (basis.shape.size() != 2 || basis.shape[1] != rows) {
      throw io::ShapeMismatchError(fmt::format(
          "file '{}', dataset '{}': the null-space basis has shape {}, expected (k, {}), one row "
          "per vector",
          path,
          layout.null_space_dataset,
          io::to_string(basis.shape),
          rows));
    }
    for (std::uint64_t j = 0; j < basis.shape[0]; ++j) {
      imported.system.null_space.push_back(
          Eigen::Map<const Vector>(basis.values.data() + j * rows, A.rows()));
    }
  } else {
    try {
      imported.system.null_space = constant_null_space(A);
    } catch (const InvalidArgumentError& error) {
      throw InvalidArgumentError(
          fmt::format("file '{}', group '{}': {}", path, layout.matrix_group, error.what()));
    }
  }
  log::debug("read_system_hdf5: '{}', {} x {}, {} nonzeros, {} null vectors, {}",
             path,
             A.rows(),
             A.cols(),
             A.nonZeros(),
             imported.system.null_space.size(),
             imported.rhs.size() > 0 ? "with a right-hand side" : "no right-hand side");
  return imported;
}

void write_system_hdf5(const std::string& path,
                       const LinearSystem& system,
                       const Vector& rhs,
                       const Hdf5SystemLayout& layout) {
  layout.validate();
  const SparseMatrix& A = system.matrix;
  require<InvalidArgumentError>(rhs.size() == 0 || rhs.size() == A.rows(),
                                "write_system_hdf5 '",
                                path,
                                "': rhs has ",
                                rhs.size(),
                                " entries, the matrix has ",
                                A.rows(),
                                " rows");
  for (std::size_t j = 0; j < system.null_space.size(); ++j) {
    require<InvalidArgumentError>(system.null_space[j].size() == A.rows(),
                                  "write_system_hdf5 '",
                                  path,
                                  "': null-space vector ",
                                  j,
                                  " has ",
                                  system.null_space[j].size(),
                                  " entries, the matrix has ",
                                  A.rows(),
                                  " rows");
  }

  io::AtomicFileWriter writer(path);
  io::File& file = writer.file();
  io::write_csr(file, layout.matrix_group, A);
  if (rhs.size() > 0) io::write_vector(file, layout.rhs_dataset, rhs);
  if (!system.null_space.empty()) {
    io::RowMajorMatrix<double> basis(static_cast<Eigen::Index>(system.null_space.size()), A.rows());
    for (std::size_t j = 0; j < system.null_space.size(); ++j) {
      basis.row(static_cast<Eigen::Index>(j)) = system.null_space[j].transpose();
    }
    io::write_matrix(file, layout.null_space_dataset, basis);
  }
  io::write_attribute(file, "/", "content", "linear system A x = b (CSR matrix, rhs, null space)");
  writer.commit();
  log::debug(
      "write_system_hdf5: '{}', {} x {}, {} nonzeros", path, A.rows(), A.cols(), A.nonZeros());
}

}  // namespace deepnum::linear
