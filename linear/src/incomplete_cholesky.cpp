#include "deepnum/linear/incomplete_cholesky.hpp"

#include <cmath>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "preconditioned_cg.hpp"

namespace deepnum::linear {
namespace {

// The pattern and values of tril(A), each row's diagonal stored last (inserted when A
// has none there).
SparseMatrix lower_triangle_with_diagonal(const SparseMatrix& A) {
  const auto n = static_cast<int>(A.rows());
  std::vector<int> offsets(static_cast<std::size_t>(n) + 1, 0);
  for (int i = 0; i < n; ++i) {
    int entries = 1;  // the diagonal
    for (SparseMatrix::InnerIterator it(A, i); it; ++it) {
      if (it.col() < i) ++entries;
    }
    offsets[static_cast<std::size_t>(i) + 1] = offsets[static_cast<std::size_t>(i)] + entries;
  }
  SparseMatrix L(n, n);
  L.resizeNonZeros(offsets.back());
  std::copy(offsets.begin(), offsets.end(), L.outerIndexPtr());
  for (int i = 0; i < n; ++i) {
    int entry = offsets[static_cast<std::size_t>(i)];
    double diagonal = 0.0;
    for (SparseMatrix::InnerIterator it(A, i); it; ++it) {
      if (it.col() < i) {
        L.innerIndexPtr()[entry] = static_cast<int>(it.col());
        L.valuePtr()[entry] = it.value();
        ++entry;
      } else if (it.col() == i) {
        diagonal += it.value();
      }
    }
    L.innerIndexPtr()[entry] = i;
    L.valuePtr()[entry] = diagonal;
  }
  return L;
}

// IC(0) in place on tril(A + shift diag(A)), row by row:
//   L(i, k) = (A(i, k) - sum_{j < k} L(i, j) L(k, j)) / L(k, k)   for k < i in pattern
//   L(i, i) = sqrt(A(i, i) (1 + shift) - sum_{j < i} L(i, j)^2)
// where the sums run over the columns present in both rows (no fill-in). Returns an empty
// string on success, or why the pivot of a row was not positive.
std::string factorize(SparseMatrix& L, double shift, double pivot_floor) {
  const int n = static_cast<int>(L.rows());
  const int* offsets = L.outerIndexPtr();
  const int* columns = L.innerIndexPtr();
  double* values = L.valuePtr();

  for (int i = 0; i < n; ++i) {
    const int row_begin = offsets[i];
    const int diagonal_entry = offsets[i + 1] - 1;
    for (int entry = row_begin; entry < diagonal_entry; ++entry) {
      const int k = columns[entry];
      // sum_{j < k} L(i, j) L(k, j): merge row i (entries before `entry`) with row k.
      double sum = 0.0;
      int a = row_begin;
      int b = offsets[k];
      const int k_diagonal = offsets[k + 1] - 1;
      while (a < entry && b < k_diagonal) {
        if (columns[a] < columns[b]) {
          ++a;
        } else if (columns[a] > columns[b]) {
          ++b;
        } else {
          sum += values[a++] * values[b++];
        }
      }
      values[entry] = (values[entry] - sum) / values[k_diagonal];
    }

    double squares = 0.0;
    for (int entry = row_begin; entry < diagonal_entry; ++entry) {
      squares += values[entry] * values[entry];
    }
    const double diagonal = values[diagonal_entry];
    if (diagonal == 0.0 && diagonal_entry == row_begin) {
      values[diagonal_entry] = 1.0;  // an empty row: leave that unknown alone
      continue;
    }
    const double pivot = diagonal * (1.0 + shift) - squares;
    if (!(pivot > pivot_floor * std::abs(diagonal))) {
      return fmt::format(
          "pivot {:.3e} of row {} (diagonal {:.3e}) is not positive", pivot, i, diagonal);
    }
    values[diagonal_entry] = std::sqrt(pivot);
  }
  return {};
}

}  // namespace

void IncompleteCholeskyFactor::apply(const Vector& r, Vector& z) const {
  const int n = static_cast<int>(lower.rows());
  z.resize(n);

  // L y = r, forward, row by row (y kept in z):
  //   y_i = (r_i - sum_{k < i} L(i, k) y_k) / L(i, i)
  const int* lower_offsets = lower.outerIndexPtr();
  const int* lower_columns = lower.innerIndexPtr();
  const double* lower_values = lower.valuePtr();
  for (int i = 0; i < n; ++i) {
    double sum = r[i];
    const int diagonal_entry = lower_offsets[i + 1] - 1;
    for (int k = lower_offsets[i]; k < diagonal_entry; ++k) {
      sum -= lower_values[k] * z[lower_columns[k]];
    }
    z[i] = sum * inverse_diagonal[i];
  }

  // L^T z = y, backward, by the rows of L^T:
  //   z_i = (y_i - sum_{j > i} L(j, i) z_j) / L(i, i)
  const int* upper_offsets = upper.outerIndexPtr();
  const int* upper_columns = upper.innerIndexPtr();
  const double* upper_values = upper.valuePtr();
  for (int i = n - 1; i >= 0; --i) {
    double sum = z[i];
    for (int k = upper_offsets[i] + 1; k < upper_offsets[i + 1]; ++k) {
      sum -= upper_values[k] * z[upper_columns[k]];
    }
    z[i] = sum * inverse_diagonal[i];
  }
}

IncompleteCholeskyFactor incomplete_cholesky(const SparseMatrix& matrix) {
  require<InvalidArgumentError>(matrix.rows() == matrix.cols(),
                                "incomplete_cholesky: the matrix must be square, got ",
                                matrix.rows(),
                                " x ",
                                matrix.cols());
  const SparseMatrix lower = lower_triangle_with_diagonal(matrix);
  IncompleteCholeskyFactor factor;
  double shift = 0.0;
  for (int attempt = 1; attempt <= IncompleteCholeskySolver::kMaxShiftAttempts; ++attempt) {
    factor.lower = lower;
    factor.attempts = attempt;
    factor.shift = shift;
    factor.failure = factorize(factor.lower, shift, IncompleteCholeskySolver::kPivotFloor);
    if (factor.failure.empty()) {
      factor.succeeded = true;
      factor.upper = factor.lower.transpose();  // CSR of L^T, each row's diagonal first
      factor.inverse_diagonal.resize(lower.rows());
      for (Eigen::Index i = 0; i < lower.rows(); ++i) {
        factor.inverse_diagonal[i] =
            1.0 / factor.lower.valuePtr()[factor.lower.outerIndexPtr()[i + 1] - 1];
      }
      if (shift > 0) {
        log::info(
            "incomplete_cholesky: factorized A + {:g} diag(A) after {} attempts", shift, attempt);
      }
      return factor;
    }
    log::debug("incomplete_cholesky: shift {:g}: {}", shift, factor.failure);
    // Manteuffel's shift: start at 1e-3, double on every further breakdown.
    shift = shift == 0.0 ? IncompleteCholeskySolver::kInitialShift : 2.0 * shift;
  }
  log::warn("incomplete_cholesky: no factorization after {} attempts, up to shift {:g}: {}",
            factor.attempts,
            factor.shift,
            factor.failure);
  return factor;
}

void IncompleteCholeskySolver::setup(const LinearSystem& system) {
  Stopwatch clock;
  system_ = nullptr;
  validate_system(name(), system);
  system_ = &system;
  factor_ = incomplete_cholesky(system.matrix);
  setup_seconds_ = clock.seconds();
}

SolveSummary IncompleteCholeskySolver::solve(const Vector& b,
                                             Vector& x,
                                             const SolveOptions& options) {
  require<InvalidArgumentError>(system_ != nullptr, "icpcg: solve() called before setup()");
  if (!factor_.succeeded) {
    const std::string failure = fmt::format(
        "IC(0) factorization failed at every diagonal shift up to {:g} ({} attempts): {}",
        factor_.shift,
        factor_.attempts,
        factor_.failure);
    // No preconditioner to run: the shared control checks the input and reports.
    IterationControl control(name(), *system_, b, x, options, setup_seconds_);
    control.start(control.true_residual_norm(x));
    return control.finish(TerminationReason::kBreakdown, 0, x, failure);
  }
  const std::string note =
      factor_.shift > 0 ? fmt::format("IC(0) of A + {:g} diag(A) (diagonal shift)", factor_.shift)
                        : std::string();
  const auto apply = [this](const Vector& r, Vector& z) { factor_.apply(r, z); };
  return detail::preconditioned_cg(name(), *system_, b, x, options, apply, setup_seconds_, note);
}

}  // namespace deepnum::linear
