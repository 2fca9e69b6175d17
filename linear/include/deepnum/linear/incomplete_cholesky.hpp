// Conjugate gradients preconditioned by the zero fill-in incomplete Cholesky factor
// ("icpcg"): M = L L^T with L lower triangular on the sparsity of tril(A) (Meijerink and
// van der Vorst 1977).
//
// When a pivot is not positive (or would be below kPivotFloor x the row's diagonal),
// the factorization is retried on A + alpha diag(A) with alpha = 1e-3, doubling up to
// kMaxShiftAttempts times (Manteuffel 1980); the shift used is logged at info and stated
// in every summary's message. A factorization that fails at every shift is reported as a
// breakdown by solve(). A row without any entry (an isolated cell) gets a unit pivot.
// For a singular A, M^{-1} r is projected onto range(A) like the residual.
// Thread safety: one solve at a time per object; distinct objects are independent.
#pragma once

#include <string>
#include <vector>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// The incomplete factor, row-wise: row i of `lower` holds L(i, j) for j <= i, the
// diagonal last; `upper` is L^T in CSR (diagonal first), for the backward substitution.
struct IncompleteCholeskyFactor {
  SparseMatrix lower;       // L in CSR
  SparseMatrix upper;       // L^T in CSR
  Vector inverse_diagonal;  // 1 / L(i, i)
  double shift = 0.0;       // alpha of A + alpha diag(A) that was factorized
  int attempts = 0;         // factorizations tried (1 without a shift)
  bool succeeded = false;
  std::string failure;  // why the last attempt failed (pivot, row, value)

  // z = (L L^T)^{-1} r by a forward and a backward substitution.
  void apply(const Vector& r, Vector& z) const;
};

// Factorizes A (lower triangle used; A assumed symmetric) with the shift retry above.
IncompleteCholeskyFactor incomplete_cholesky(const SparseMatrix& matrix);

class IncompleteCholeskySolver final : public LinearSolver {
 public:
  static constexpr double kInitialShift = 1e-3;
  static constexpr int kMaxShiftAttempts = 12;  // alpha up to 1e-3 * 2^11 ~ 2
  static constexpr double kPivotFloor = 1e-12;

  std::string name() const override { return "icpcg"; }
  // Factorizes A; never throws for a breakdown (solve() reports it).
  void setup(const LinearSystem& system) override;
  SolveSummary solve(const Vector& b, Vector& x, const SolveOptions& options) override;

  const IncompleteCholeskyFactor& factor() const { return factor_; }

 private:
  const LinearSystem* system_ = nullptr;
  IncompleteCholeskyFactor factor_;
  double setup_seconds_ = 0.0;
};

}  // namespace deepnum::linear
