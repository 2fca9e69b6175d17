#include "deepnum/linear/iteration_control.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"

namespace deepnum::linear {
namespace {

// Index of the first NaN/Inf entry, or -1.
Eigen::Index first_non_finite(const Vector& v) {
  for (Eigen::Index i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return -1;
}

}  // namespace

void check_solve_input(std::string_view solver,
                       const LinearSystem& system,
                       const Vector& b,
                       const Vector& x) {
  const auto& A = system.matrix;
  require<InvalidArgumentError>(
      A.rows() == A.cols(), solver, ": the matrix must be square, got ", A.rows(), " x ", A.cols());
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
  // No x can bring ||b - A x|| below ||P_N b||, the part of b outside range(A).
  inconsistent_ = !options_.project_rhs && removed_null_norm_ > tolerance_;
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
             iteration - stall_reference_iteration_ >= options_.stall_window) {
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
          "stalled: ||r|| fell by less than {:g}% over the last {} iterations (stall_window), "
          "||b - A x|| = {:.3e} still above the {}",
          100 * kStallDecrease,
          options_.stall_window,
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
