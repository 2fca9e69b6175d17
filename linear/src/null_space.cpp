#include <cmath>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "deepnum/linear/pressure_system.hpp"

namespace deepnum::linear {

RhsProjection project_onto_range(const LinearSystem& system, Vector& b) {
  check_solve_input("project_onto_range", system, b, b);
  RhsProjection projection;
  if (system.null_space.empty()) return projection;

  // b <- b - sum_j (n_j^T b) n_j: the part of b that A x can reach.
  const double norm_before = b.norm();
  projection.removed_norm = null_space_norm(system.null_space, b);
  projection.relative_inconsistency = norm_before > 0 ? projection.removed_norm / norm_before : 0.0;
  remove_null_space(system.null_space, b);
  log::info("project_onto_range: removed {:.3e} ({:.3e} relative) from b over {} null vectors",
            projection.removed_norm,
            projection.relative_inconsistency,
            system.null_space.size());
  return projection;
}

std::vector<Vector> constant_null_space(const SparseMatrix& matrix, double relative_tolerance) {
  require<InvalidArgumentError>(matrix.rows() == matrix.cols(),
                                "constant_null_space: the matrix must be square, got ",
                                matrix.rows(),
                                " x ",
                                matrix.cols());
  require<InvalidArgumentError>(relative_tolerance >= 0,
                                "constant_null_space: relative_tolerance must be >= 0, got ",
                                relative_tolerance);
  const auto n = static_cast<std::size_t>(matrix.rows());
  const int* offsets = matrix.outerIndexPtr();
  const int* columns = matrix.innerIndexPtr();
  const double* values = matrix.valuePtr();
  const int* row_ends = matrix.innerNonZeroPtr();  // null when compressed

  // A row "annihilates constants" when its entries sum to 0 (to the tolerance).
  std::vector<bool> row_sums_to_zero(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int end = row_ends ? offsets[i] + row_ends[i] : offsets[i + 1];
    double sum = 0.0;
    double largest = 0.0;
    for (int k = offsets[i]; k < end; ++k) {
      sum += values[k];
      largest = std::max(largest, std::abs(values[k]));
    }
    row_sums_to_zero[i] = std::abs(sum) <= relative_tolerance * largest;
  }

  // Components of the graph of nonzero off-diagonals; the matrix is taken as symmetric.
  std::vector<int> component(n, -1);
  std::vector<std::vector<int>> members;
  std::vector<int> stack;
  for (std::size_t seed = 0; seed < n; ++seed) {
    if (component[seed] >= 0) continue;
    const int label = static_cast<int>(members.size());
    members.emplace_back();
    component[seed] = label;
    stack.push_back(static_cast<int>(seed));
    while (!stack.empty()) {
      const int row = stack.back();
      stack.pop_back();
      members.back().push_back(row);
      const int end = row_ends ? offsets[row] + row_ends[row] : offsets[row + 1];
      for (int k = offsets[row]; k < end; ++k) {
        const int column = columns[k];
        if (values[k] == 0.0 || component[static_cast<std::size_t>(column)] >= 0) continue;
        component[static_cast<std::size_t>(column)] = label;
        stack.push_back(column);
      }
    }
  }

  // The components whose rows all annihilate constants, counted before any dense vector
  // is allocated.
  std::vector<const std::vector<int>*> null_components;
  for (const auto& rows : members) {
    bool annihilates = true;
    for (const int row : rows)
      annihilates = annihilates && row_sums_to_zero[static_cast<std::size_t>(row)];
    if (annihilates) null_components.push_back(&rows);
  }
  require<InvalidArgumentError>(
      null_components.size() <= static_cast<std::size_t>(kMaxConstantNullVectors),
      "constant_null_space: the ",
      matrix.rows(),
      " x ",
      matrix.cols(),
      " matrix has ",
      null_components.size(),
      " null vectors (graph components whose rows all sum to zero, empty rows included), "
      "more than the ",
      kMaxConstantNullVectors,
      " built as dense vectors of ",
      matrix.rows(),
      " entries each; check the matrix or pass its null space explicitly");

  std::vector<Vector> null_space;
  for (const std::vector<int>* rows_of_component : null_components) {
    const std::vector<int>& rows = *rows_of_component;
    Vector v = Vector::Zero(matrix.rows());
    for (const int row : rows) v[row] = 1.0 / std::sqrt(static_cast<double>(rows.size()));
    null_space.push_back(std::move(v));
  }
  log::debug("constant_null_space: {} of {} graph components annihilate constants",
             null_space.size(),
             members.size());
  return null_space;
}

}  // namespace deepnum::linear
