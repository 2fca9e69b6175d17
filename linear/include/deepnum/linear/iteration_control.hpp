// What every iterative solver behind LinearSolver shares, so that CG, IC(0)-PCG, PETSc
// KSP and DCDM stop by the same rule and report the same way:
// - input checks (sizes, NaN/Inf),
// - the null-space handling of the right-hand side (consistency check or projection),
// - the stopping rule ||b - A x|| <= max(rtol ||b||, atol) with the max-iterations, stall
//   and divergence checks,
// - the summary: reason, residual history, times, a message carrying the numbers, and
//   the termination logged at info (per-iteration residuals at debug).
//
// Usage inside a solver's solve():
//   IterationControl control("cg", system, b, x, options);
//   if (control.zero_rhs()) { x.setZero(); return control.finish(kConverged, 0, x); }
//   if (control.inconsistent()) return control.finish(kInconsistent, 0, x);
//   r = control.working_rhs() - A x;
//   if (auto stop = control.start(r.norm())) return control.finish(*stop, 0, x);
//   for (int k = 1;; ++k) { ...; if (auto stop = control.check(k, r.norm())) ... }
//
// Thread safety: one IterationControl per solve; not shared between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deepnum/core/timing.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// Throws InvalidArgumentError when A is not square, b or x differ from its size, a
// null-space vector has the wrong size, or b or x hold a NaN/Inf (naming the index).
void check_solve_input(std::string_view solver,
                       const LinearSystem& system,
                       const Vector& b,
                       const Vector& x);

// Tolerances of validate_system.
// |A_ij - A_ji| <= kSymmetryTolerance max(|A_ij|, |A_ji|): assembled or stored entries of
// a symmetric matrix are equal to the bit; a few roundings of a computed pair stay near
// 1e-15, while any modelling asymmetry is far above 1e-12.
constexpr double kSymmetryTolerance = 1e-12;
// | ||n_j|| - 1 | and |n_i^T n_j| (i != j) up to this: the projections assume an
// orthonormal basis, and a double-precision basis meets it to ~1e-15 (norms are summed
// with compensation); a float32 basis (1e-7) fails, as it should.
constexpr double kNullSpaceOrthonormalityTolerance = 1e-10;
// ||A n_j||_inf <= kNullSpaceResidualTolerance max|A_ij|: for a true null vector of unit
// norm each entry of A n_j is a sum of a row's few products, rounded at ~1e-16 of the
// largest entry; a vector outside the null space gives ~1/sqrt(n) or more.
constexpr double kNullSpaceResidualTolerance = 1e-10;

// The checks every LinearSolver makes once in setup(), before any factorization, so that
// no solver starts on a system it would mishandle (PETSc's ICC spins forever on an
// asymmetric matrix, CG silently computes something else):
// - A is square and its entries are finite;
// - A is symmetric: |A_ij - A_ji| <= kSymmetryTolerance max(|A_ij|, |A_ji|), a missing
//   entry counting as 0 (structure and values: each stored A(i, j) is compared with
//   A(j, i), found by binary search in row j);
// - each null-space vector has n entries, unit norm, is orthogonal to the others (to
//   kNullSpaceOrthonormalityTolerance) and lies in the null space
//   (||A n_j||_inf <= kNullSpaceResidualTolerance max|A_ij|).
// Costs O(nnz log r + k n) time for k null vectors and rows of r entries (pairwise
// products only where supports overlap), a few matrix-vector products' worth; O(n + k)
// memory, plus a sorted copy of A when its rows list columns out of order.
// Throws InvalidArgumentError naming the solver and the first failure: the entry (i, j)
// with both values, or the vector index (or pair) with the measured value.
void validate_system(std::string_view solver, const LinearSystem& system);

// v -= sum_j (n_j^T v) n_j for an orthonormal basis {n_j}: v projected onto range(A).
void remove_null_space(const std::vector<Vector>& null_space, Vector& v);

// ||sum_j (n_j^T v) n_j||: the norm of v's null-space component (basis orthonormal).
double null_space_norm(const std::vector<Vector>& null_space, const Vector& v);

class IterationControl {
 public:
  // The stall rule (stall_window > 0): the solve stalls at iteration k when its best
  // ||r|| has not fallen by the factor (1 - kStallDecrease) within the last
  // max(stall_window, kStallWindowShare k) iterations. The window grows with k because
  // CG's ||r||_2 is not monotone: on Poisson problems it plateaus while the error keeps
  // falling, for up to 0.38 of the iterations done when the plateau ends (measured with
  // random b: 181 iterations ending at 473 on a 256^3 box with a sphere, 362 ending at
  // 1286 on a 512^2 grid), so a fixed window would cut large solves short; 0.75 leaves a
  // factor 2. A solve stuck at round-off from iteration k0 stops by max(k0 +
  // stall_window, 4 k0).
  static constexpr double kStallDecrease = 1e-3;
  static constexpr double kStallWindowShare = 0.75;
  // A residual above this multiple of ||b|| (or non-finite) has diverged.
  static constexpr double kDivergenceFactor = 1e10;
  // The round-off level of a right-hand side is kRoundOffFactor eps sqrt(n) ||b||: what
  // is left of b's null-space component after a projection in double precision (the
  // rounding of n_j^T b grows like eps sqrt(n) ||b||; measured at most 0.45 of that for
  // n = 1e2 to 1.6e7 with a removed part 3x the kept one; 16 leaves room for a removed
  // part ~30x larger). A null-space component at or below it is rounding, not
  // inconsistency, and a tolerance below it may be out of double precision's reach.
  static constexpr double kRoundOffFactor = 16.0;

  // Checks the options and the input b, x (throws as check_solve_input), and prepares
  // the right-hand side. `system` and `b` must outlive the control. The solve clock
  // starts here.
  IterationControl(std::string solver,
                   const LinearSystem& system,
                   const Vector& b,
                   const Vector& x,
                   const SolveOptions& options,
                   double setup_seconds = 0.0);

  // The same without checking x (the caller checks it, or x is built by the solver).
  IterationControl(std::string solver,
                   const LinearSystem& system,
                   const Vector& b,
                   const SolveOptions& options,
                   double setup_seconds = 0.0);

  // True when ||b|| = 0 (after projection): x = 0 is the answer.
  bool zero_rhs() const { return rhs_norm_ == 0.0; }
  // True when b's null-space component alone exceeds both the tolerance and the
  // round-off level (project_rhs off): no x can meet the rule.
  bool inconsistent() const { return inconsistent_; }
  // kRoundOffFactor eps sqrt(n) ||b|| for the b as given.
  double round_off_level() const { return round_off_level_; }

  // The right-hand side to iterate on: b without its null-space component.
  const Vector& working_rhs() const { return system_.null_space.empty() ? b_ : projected_rhs_; }
  // ||b|| of the stopping rule: of b as given, or of the projected b with project_rhs.
  double rhs_norm() const { return rhs_norm_; }
  // max(rtol ||b||, atol).
  double tolerance() const { return tolerance_; }
  bool meets_tolerance(double residual_norm) const { return residual_norm <= tolerance_; }

  // ||b - A x|| with the b of the stopping rule (its null-space part included).
  double true_residual_norm(const Vector& x) const;

  // Records ||r_0|| = ||b - A x0||. Returns kConverged when it meets the rule, kDiverged
  // when it is not finite, kMaxIterations when max_iterations is 0, else nothing.
  std::optional<TerminationReason> start(double initial_residual_norm);

  // As start(initial_residual_norm), but kConverged only when ||b - A x|| also meets the
  // rule (initial_residual_norm may be that of a projected residual).
  std::optional<TerminationReason> start(double initial_residual_norm, const Vector& x);

  // Records ||r_k|| after iteration k >= 1 and logs it at debug. Returns the reason to
  // stop other than convergence (diverged, max iterations, stalled), or nothing: the
  // caller decides convergence, confirming a recursive residual with the true one.
  std::optional<TerminationReason> check(int iteration, double residual_norm);

  // Records ||r_k|| only (the iteration that converged).
  void record(int iteration, double residual_norm);

  // Time spent applying a preconditioner or a network, reported in the summary.
  void add_preconditioner_seconds(double seconds) { preconditioner_seconds_ += seconds; }

  // Completes the summary: recomputes ||b - A x||, promotes a max-iterations or stalled
  // stop whose final residual meets the rule to converged, writes the message (plus
  // `detail`, e.g. a breakdown's numbers; for a max-iterations or stalled stop with a
  // tolerance below the round-off level, a note saying so) and logs the termination at
  // info.
  SolveSummary finish(TerminationReason reason,
                      int iterations,
                      const Vector& x,
                      const std::string& detail = {});

 private:
  int stall_window_at(int iteration) const;  // max(stall_window, kStallWindowShare k)
  std::string message_for(TerminationReason reason,
                          int iterations,
                          double final_residual_norm) const;

  std::string solver_;
  const LinearSystem& system_;
  const Vector& b_;
  SolveOptions options_;
  double setup_seconds_;
  Stopwatch clock_;

  Vector projected_rhs_;               // b without its null-space part (if A singular)
  bool rule_uses_projection_ = false;  // project_rhs on a singular A
  double rhs_norm_ = 0.0;
  double removed_null_norm_ = 0.0;
  double tolerance_ = 0.0;
  double round_off_level_ = 0.0;
  bool inconsistent_ = false;

  double initial_residual_norm_ = 0.0;
  double last_residual_norm_ = 0.0;
  double stall_reference_norm_ = 0.0;
  int stall_reference_iteration_ = 0;
  int stall_window_used_ = 0;  // the window of a stall stop, for the message
  double preconditioner_seconds_ = 0.0;
  std::vector<double> history_;
};

}  // namespace deepnum::linear
