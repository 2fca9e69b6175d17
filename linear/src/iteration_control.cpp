#include "deepnum/linear/iteration_control.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"

namespace deepnum::linear {
namespace {

using SparseColumns = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;

// Index of the first NaN/Inf entry, or -1.
Eigen::Index first_non_finite(const Vector& v) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return -1;
}

void check_shapes(std::string_view solver, const LinearSystem& system) {
  const auto& A = system.matrix;
  require<InvalidArgumentError>(
      A.rows() == A.cols(), solver, ": the matrix must be square, got ", A.rows(), " x ", A.cols());
  for (std::size_t j = 0; j < system.null_space.size(); ++j) {
    require<InvalidArgumentError>(system.null_space[j].size() == A.rows(),
                                  solver,
                                  ": null-space vector ",
                                  j,
                                  " has ",
                                  system.null_space[j].size(),
                                  " entries, the matrix has ",
                                  A.rows(),
                                  " rows");
  }
}

// max |A_ij|; throws for the first entry (in row order) that is NaN or Inf.
double largest_finite_entry(std::string_view solver, const SparseMatrix& A) {
  double largest = 0.0;
  for (Eigen::Index i = 0; i < A.outerSize(); ++i) {
    for (SparseMatrix::InnerIterator it(A, i); it; ++it) {
      if (!std::isfinite(it.value())) {
        throw InvalidArgumentError(fmt::format(
            "{}: the matrix entry A({}, {}) = {} is not finite", solver, i, it.col(), it.value()));
      }
      largest = std::max(largest, std::abs(it.value()));
    }
  }
  return largest;
}

bool symmetric_pair(double a, double b) {
  const double scale = std::max({std::abs(a), std::abs(b), std::numeric_limits<double>::min()});
  return std::abs(a - b) <= kSymmetryTolerance * scale;
}

// True when every row lists its columns in increasing order (repeats allowed), as Eigen
// keeps them after insert() or setFromTriplets(); a CSR copied in raw may not.
bool rows_sorted(const SparseMatrix& A) {
  for (Eigen::Index i = 0; i < A.outerSize(); ++i) {
    Eigen::Index previous = -1;
    for (SparseMatrix::InnerIterator it(A, i); it; ++it) {
      if (it.col() < previous) return false;
      previous = it.col();
    }
  }
  return true;
}

// The sum of the entries stored at (row, column) of a row-sorted A, and whether any is.
std::pair<double, bool> stored_entry(const SparseMatrix& A, Eigen::Index row, Eigen::Index column) {
  const int* columns = A.innerIndexPtr();
  const int begin = A.outerIndexPtr()[row];
  const int end = A.isCompressed() ? A.outerIndexPtr()[row + 1] : begin + A.innerNonZeroPtr()[row];
  const int* found = std::lower_bound(columns + begin, columns + end, static_cast<int>(column));
  double sum = 0.0;
  bool stored = false;
  for (; found != columns + end && *found == column; ++found) {
    sum += A.valuePtr()[found - columns];
    stored = true;
  }
  return {sum, stored};
}

// A = A^T to kSymmetryTolerance: every stored A(i, j) (repeats summed, as A x sums them) is
// compared with A(j, i), found by binary search in row j (0 when not stored). O(nnz log r)
// for rows of r entries, no copy of A unless its rows are unsorted. The first pair in row
// order is reported.
void check_symmetric(std::string_view solver, const SparseMatrix& matrix) {
  // A transposed twice has every row sorted.
  SparseMatrix sorted_copy;
  const SparseMatrix* sorted = &matrix;
  if (!rows_sorted(matrix)) {
    sorted_copy = SparseMatrix(matrix.transpose()).transpose();
    sorted = &sorted_copy;
  }
  const SparseMatrix& A = *sorted;

  for (Eigen::Index i = 0; i < A.outerSize(); ++i) {
    SparseMatrix::InnerIterator it(A, i);
    while (it) {
      const Eigen::Index j = it.col();
      double a_ij = 0.0;
      for (; it && it.col() == j; ++it) a_ij += it.value();
      const auto [a_ji, a_ji_stored] = stored_entry(A, j, i);
      if (symmetric_pair(a_ij, a_ji)) continue;
      throw InvalidArgumentError(fmt::format(
          "{}: the matrix is not symmetric: A({}, {}) = {} but A({}, {}) = {}{} (they may "
          "differ by {:g} x the larger); every solver here assumes A = A^T",
          solver,
          i,
          j,
          a_ij,
          j,
          i,
          a_ji,
          a_ji_stored ? "" : " (not stored)",
          kSymmetryTolerance));
    }
  }
}

// ||v|| with the squares summed by Neumaier's compensated summation: a plain sum over a
// long constant vector drifts by up to ~n eps, which would blur a 1e-10 check at 10^7
// entries.
double compensated_norm(const double* values, const std::vector<int>& support) {
  double sum = 0.0;
  double compensation = 0.0;
  for (const int i : support) {
    const double term = values[i] * values[i];
    const double next = sum + term;
    compensation += std::abs(sum) >= std::abs(term) ? (sum - next) + term : (term - next) + sum;
    sum = next;
  }
  return std::sqrt(sum + compensation);
}

// The basis {n_j} orthonormal and in the null space of A.
void check_null_space(std::string_view solver,
                      const SparseMatrix& A,
                      double largest_entry,
                      const std::vector<Vector>& basis) {
  const Eigen::Index n = A.rows();
  const auto k = static_cast<Eigen::Index>(basis.size());

  // The basis as sparse columns (a pressure null vector lives on one component), with
  // each vector's norm.
  SparseColumns columns(n, k);
  std::vector<int> support;
  for (Eigen::Index j = 0; j < k; ++j) {
    const Vector& v = basis[static_cast<std::size_t>(j)];
    support.clear();
    for (Eigen::Index i = 0; i < n; ++i) {
      if (v[i] != 0.0) support.push_back(static_cast<int>(i));
    }
    const double norm = compensated_norm(v.data(), support);
    if (!(std::abs(norm - 1.0) <= kNullSpaceOrthonormalityTolerance)) {
      throw InvalidArgumentError(fmt::format(
          "{}: null-space vector {} has norm {}, expected 1 within {:g} (the basis must be "
          "orthonormal)",
          solver,
          j,
          norm,
          kNullSpaceOrthonormalityTolerance));
    }
    columns.startVec(j);
    for (const int i : support) columns.insertBack(i, j) = v[i];
  }
  columns.finalize();

  // n_i^T n_j for i < j, over overlapping supports only: the upper triangle of S^T S.
  const SparseColumns gram =
      k > 1 ? SparseColumns(SparseColumns(columns.transpose()) * columns) : SparseColumns(k, k);
  for (Eigen::Index j = 0; j < k; ++j) {
    for (SparseColumns::InnerIterator it(gram, j); it; ++it) {
      if (it.row() >= j || std::abs(it.value()) <= kNullSpaceOrthonormalityTolerance) continue;
      throw InvalidArgumentError(fmt::format(
          "{}: null-space vectors {} and {} are not orthogonal: n_{}^T n_{} = {}, expected 0 "
          "within {:g}",
          solver,
          it.row(),
          j,
          it.row(),
          j,
          it.value(),
          kNullSpaceOrthonormalityTolerance));
    }
  }

  // A S row by row, all vectors in one pass over A: (A n_j)_c = sum_i A(c, i) n_j(i), with
  // the basis held by rows (row i: the vectors nonzero at i, usually one or none).
  const Eigen::SparseMatrix<double, Eigen::RowMajor, int> by_row = columns;
  std::vector<double> largest_product(static_cast<std::size_t>(k), 0.0);
  std::vector<double> sum(static_cast<std::size_t>(k), 0.0);
  std::vector<unsigned char> marked(static_cast<std::size_t>(k), 0);
  std::vector<Eigen::Index> touched;
  for (Eigen::Index c = 0; c < n; ++c) {
    for (SparseMatrix::InnerIterator it(A, c); it; ++it) {
      for (decltype(by_row)::InnerIterator entry(by_row, it.col()); entry; ++entry) {
        const auto j = static_cast<std::size_t>(entry.col());
        if (marked[j] == 0) touched.push_back(entry.col());
        marked[j] = 1;
        sum[j] += it.value() * entry.value();
      }
    }
    for (const Eigen::Index vector : touched) {
      const auto j = static_cast<std::size_t>(vector);
      largest_product[j] = std::max(largest_product[j], std::abs(sum[j]));
      sum[j] = 0.0;
      marked[j] = 0;
    }
    touched.clear();
  }
  for (Eigen::Index j = 0; j < k; ++j) {
    const double product = largest_product[static_cast<std::size_t>(j)];
    if (!(product <= kNullSpaceResidualTolerance * largest_entry)) {
      throw InvalidArgumentError(fmt::format(
          "{}: null-space vector {} is not in the null space of A: ||A v||_inf = {}, above "
          "{:g} x max|A_ij| = {:.3e}",
          solver,
          j,
          product,
          kNullSpaceResidualTolerance,
          kNullSpaceResidualTolerance * largest_entry));
    }
  }
}

}  // namespace

void validate_system(std::string_view solver, const LinearSystem& system) {
  check_shapes(solver, system);
  const double largest_entry = largest_finite_entry(solver, system.matrix);
  check_symmetric(solver, system.matrix);
  if (!system.null_space.empty()) {
    check_null_space(solver, system.matrix, largest_entry, system.null_space);
  }
}

void check_solve_input(std::string_view solver,
                       const LinearSystem& system,
                       const Vector& b,
                       const Vector& x) {
  check_shapes(solver, system);
  const auto& A = system.matrix;
  require<InvalidArgumentError>(b.size() == A.rows(),
                                solver,
                                ": right-hand side b has ",
                                b.size(),
                                " entries, the matrix has ",
                                A.rows(),
                                " rows");
  require<InvalidArgumentError>(x.size() == A.rows(),
                                solver,
                                ": initial guess x has ",
                                x.size(),
                                " entries, the matrix has ",
                                A.rows(),
                                " rows");
  const Eigen::Index bad_b = first_non_finite(b);
  require<InvalidArgumentError>(bad_b < 0,
                                solver,
                                ": right-hand side b[",
                                bad_b,
                                "] = ",
                                bad_b < 0 ? 0.0 : b[bad_b],
                                " is not finite");
  const Eigen::Index bad_x = first_non_finite(x);
  require<InvalidArgumentError>(bad_x < 0,
                                solver,
                                ": initial guess x[",
                                bad_x,
                                "] = ",
                                bad_x < 0 ? 0.0 : x[bad_x],
                                " is not finite");
}

void remove_null_space(const std::vector<Vector>& null_space, Vector& v) {
  // v <- v - sum_j (n_j^T v) n_j; the n_j are orthonormal.
  for (const Vector& n : null_space) v -= n.dot(v) * n;
}

double null_space_norm(const std::vector<Vector>& null_space, const Vector& v) {
  // ||sum_j c_j n_j|| = sqrt(sum_j c_j^2) for orthonormal n_j.
  double squared = 0.0;
  for (const Vector& n : null_space) {
    const double coefficient = n.dot(v);
    squared += coefficient * coefficient;
  }
  return std::sqrt(squared);
}

IterationControl::IterationControl(std::string solver,
                                   const LinearSystem& system,
                                   const Vector& b,
                                   const Vector& x,
                                   const SolveOptions& options,
                                   double setup_seconds)
    : solver_(std::move(solver)),
      system_(system),
      b_(b),
      options_(options),
      setup_seconds_(setup_seconds) {
  options_.validate();
  check_solve_input(solver_, system_, b_, x);

  // The iteration works on range(A): b's null-space part is either what the caller asked
  // us to remove (project_rhs) or checked to be below the tolerance, then ignored.
  if (!system_.null_space.empty()) {
    projected_rhs_ = b_;
    remove_null_space(system_.null_space, projected_rhs_);
    removed_null_norm_ = null_space_norm(system_.null_space, b_);
    rule_uses_projection_ = options_.project_rhs;
  }
  rhs_norm_ = rule_uses_projection_ ? projected_rhs_.norm() : b_.norm();
  tolerance_ = std::max(options_.rtol * rhs_norm_, options_.atol);

  if (!system_.null_space.empty() && options_.project_rhs) {
    log::info("{}: removed the null-space component of b, norm {:.3e} ({:.3e} relative)",
              solver_,
              removed_null_norm_,
              b_.norm() > 0 ? removed_null_norm_ / b_.norm() : 0.0);
  }
  // No x can bring ||b - A x|| below ||P_N b||, the part of b outside range(A); but a
  // part at the round-off level is what projecting b leaves, not an inconsistency (with
  // a tolerance below that level the solve ends as stalled, saying so).
  round_off_level_ = kRoundOffFactor * std::numeric_limits<double>::epsilon() *
                     std::sqrt(static_cast<double>(b_.size())) * b_.norm();
  inconsistent_ = !options_.project_rhs && removed_null_norm_ > tolerance_ &&
                  removed_null_norm_ > round_off_level_;
}

IterationControl::IterationControl(std::string solver,
                                   const LinearSystem& system,
                                   const Vector& b,
                                   const SolveOptions& options,
                                   double setup_seconds)
    : IterationControl(std::move(solver), system, b, b, options, setup_seconds) {}

double IterationControl::true_residual_norm(const Vector& x) const {
  // r = b - A x
  Vector residual = rule_uses_projection_ ? projected_rhs_ : b_;
  residual.noalias() -= system_.matrix * x;
  return residual.norm();
}

std::optional<TerminationReason> IterationControl::start(double initial_residual_norm) {
  initial_residual_norm_ = initial_residual_norm;
  last_residual_norm_ = initial_residual_norm;
  stall_reference_norm_ = initial_residual_norm;
  stall_reference_iteration_ = 0;
  if (options_.record_history) history_.push_back(initial_residual_norm);
  log::debug("{}: iteration 0, ||r|| = {:.6e}, tolerance {:.6e}",
             solver_,
             initial_residual_norm,
             tolerance_);

  if (meets_tolerance(initial_residual_norm)) return TerminationReason::kConverged;
  if (!std::isfinite(initial_residual_norm)) return TerminationReason::kDiverged;
  if (options_.max_iterations == 0) return TerminationReason::kMaxIterations;
  return std::nullopt;
}

std::optional<TerminationReason> IterationControl::start(double initial_residual_norm,
                                                         const Vector& x) {
  auto stop = start(initial_residual_norm);
  if (stop == TerminationReason::kConverged && !meets_tolerance(true_residual_norm(x))) {
    return std::nullopt;
  }
  return stop;
}

void IterationControl::record(int iteration, double residual_norm) {
  last_residual_norm_ = residual_norm;
  if (options_.record_history) history_.push_back(residual_norm);
  log::debug("{}: iteration {}, ||r|| = {:.6e}", solver_, iteration, residual_norm);
}

int IterationControl::stall_window_at(int iteration) const {
  return std::max(options_.stall_window,
                  static_cast<int>(kStallWindowShare * static_cast<double>(iteration)));
}

std::optional<TerminationReason> IterationControl::check(int iteration, double residual_norm) {
  record(iteration, residual_norm);
  if (!std::isfinite(residual_norm) || residual_norm > kDivergenceFactor * rhs_norm_) {
    return TerminationReason::kDiverged;
  }
  if (iteration >= options_.max_iterations) return TerminationReason::kMaxIterations;

  // Stall: no decrease by kStallDecrease (relative) since the last reference point.
  if (residual_norm < (1.0 - kStallDecrease) * stall_reference_norm_) {
    stall_reference_norm_ = residual_norm;
    stall_reference_iteration_ = iteration;
  } else if (options_.stall_window > 0 &&
             iteration - stall_reference_iteration_ >= stall_window_at(iteration)) {
    stall_window_used_ = stall_window_at(iteration);
    return TerminationReason::kStalled;
  }
  return std::nullopt;
}

SolveSummary IterationControl::finish(TerminationReason reason,
                                      int iterations,
                                      const Vector& x,
                                      const std::string& detail) {
  SolveSummary summary;
  summary.solver = solver_;
  summary.iterations = iterations;
  summary.rhs_norm = rhs_norm_;
  summary.initial_residual_norm = initial_residual_norm_;
  summary.final_residual_norm = true_residual_norm(x);
  summary.residual_norms = std::move(history_);
  summary.setup_seconds = setup_seconds_;
  summary.solve_seconds = clock_.seconds();
  summary.preconditioner_seconds = preconditioner_seconds_;

  const bool limit_stop =
      reason == TerminationReason::kMaxIterations || reason == TerminationReason::kStalled;
  if (limit_stop && meets_tolerance(summary.final_residual_norm)) {
    reason = TerminationReason::kConverged;
  }
  summary.reason = reason;
  summary.message = message_for(reason, iterations, summary.final_residual_norm);
  if (limit_stop && reason != TerminationReason::kConverged && tolerance_ < round_off_level_) {
    summary.message += fmt::format(
        "; the tolerance is below the round-off level {:.3e} = {:g} eps sqrt(n) ||b|| of "
        "double precision and may be out of reach: raise rtol or atol",
        round_off_level_,
        kRoundOffFactor);
  }
  if (!detail.empty()) summary.message += "; " + detail;

  log::info("{} ({})", summary.brief(), summary.message);
  return summary;
}

std::string IterationControl::message_for(TerminationReason reason,
                                          int iterations,
                                          double final_residual_norm) const {
  const std::string rule =
      fmt::format("tolerance {:.3e} = max(rtol {:.3g} x ||b|| {:.6g}, atol {:.3g})",
                  tolerance_,
                  options_.rtol,
                  rhs_norm_,
                  options_.atol);
  switch (reason) {
    case TerminationReason::kConverged:
      return fmt::format("converged: ||b - A x|| = {:.3e} <= {} after {} iterations",
                         final_residual_norm,
                         rule,
                         iterations);
    case TerminationReason::kMaxIterations:
      return fmt::format("reached max_iterations = {} with ||b - A x|| = {:.3e} above the {}",
                         options_.max_iterations,
                         final_residual_norm,
                         rule);
    case TerminationReason::kStalled:
      return fmt::format(
          "stalled: the best ||r|| fell by less than {:g}% over the last {} iterations "
          "(max(stall_window, {:g} x iterations)), "
          "||b - A x|| = {:.3e} still above the {}",
          100 * kStallDecrease,
          stall_window_used_,
          kStallWindowShare,
          final_residual_norm,
          rule);
    case TerminationReason::kDiverged:
      return fmt::format(
          "diverged: ||r|| = {:.3e} at iteration {} is non-finite or above {:g} x ||b||",
          last_residual_norm_,
          iterations,
          kDivergenceFactor);
    case TerminationReason::kBreakdown:
      return fmt::format(
          "breakdown after {} iterations, ||b - A x|| = {:.3e}", iterations, final_residual_norm);
    case TerminationReason::kSolverFailure:
      return fmt::format("solver failure after {} iterations, ||b - A x|| = {:.3e}",
                         iterations,
                         final_residual_norm);
    case TerminationReason::kInconsistent:
      return fmt::format(
          "inconsistent right-hand side: A is singular ({} null vectors) and b's null-space "
          "component has norm {:.3e} ({:.3e} relative), above the {}, so no x meets the rule; "
          "remove it with project_onto_range or SolveOptions::project_rhs",
          system_.null_space.size(),
          removed_null_norm_,
          rhs_norm_ > 0 ? removed_null_norm_ / rhs_norm_ : 0.0,
          rule);
  }
  return "unknown reason";
}

}  // namespace deepnum::linear
