#include "preconditioned_cg.hpp"

#include <cmath>

#include <fmt/format.h>

#include "deepnum/core/logging.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/iteration_control.hpp"

namespace deepnum::linear::detail {

SolveSummary preconditioned_cg(const std::string& solver,
                               const LinearSystem& system,
                               const Vector& b,
                               Vector& x,
                               const SolveOptions& options,
                               const ApplyPreconditioner& preconditioner,
                               double setup_seconds,
                               const std::string& setup_note) {
  IterationControl control(solver, system, b, x, options, setup_seconds);
  if (control.zero_rhs()) {
    x.setZero();
    return control.finish(TerminationReason::kConverged, 0, x, "b = 0 gives x = 0");
  }
  if (control.inconsistent()) return control.finish(TerminationReason::kInconsistent, 0, x);

  const SparseMatrix& A = system.matrix;
  const auto& null_space = system.null_space;
  const Vector& rhs = control.working_rhs();

  // Round-off moves the iterates off range(A); projecting r and z there keeps the null
  // space out of the search directions (Kaasschieter 1988, on CG for singular systems).
  auto project = [&](Vector& v) {
    if (!null_space.empty()) remove_null_space(null_space, v);
  };
  // Without a preconditioner z is r itself.
  Vector z_storage;
  auto apply_preconditioner = [&](const Vector& residual, Vector& preconditioned) {
    Stopwatch clock;
    preconditioner(residual, preconditioned);
    project(preconditioned);
    control.add_preconditioner_seconds(clock.seconds());
  };

  // r0 = b - A x0
  Vector r = rhs - A * x;
  project(r);
  if (auto stop = control.start(control.true_residual_norm(x))) {
    return control.finish(*stop, 0, x, setup_note);
  }

  // z0 = M^{-1} r0, p0 = z0
  if (preconditioner) z_storage.resize(r.size());
  const Vector& z = preconditioner ? z_storage : r;
  if (preconditioner) apply_preconditioner(r, z_storage);
  double rz = r.dot(z);
  if (!(rz > 0)) {
    return control.finish(
        TerminationReason::kBreakdown,
        0,
        x,
        fmt::format("r^T M^-1 r = {:.3e} is not positive: the preconditioner is not positive "
                    "definite",
                    rz));
  }
  Vector p = z;
  Vector q(r.size());

  for (int k = 1;; ++k) {
    // q = A p, alpha = (r^T z) / (p^T A p)
    q.noalias() = A * p;
    const double pq = p.dot(q);
    if (!(pq > 0)) {
      return control.finish(TerminationReason::kBreakdown,
                            k - 1,
                            x,
                            fmt::format("p^T A p = {:.3e} at iteration {}: A is not positive "
                                        "definite on the search space",
                                        pq,
                                        k));
    }
    const double alpha = rz / pq;

    // x += alpha p, r -= alpha q
    x.noalias() += alpha * p;
    r.noalias() -= alpha * q;
    project(r);
    double r_norm = r.norm();

    // The recursive r drifts from b - A x: confirm convergence with the true residual,
    // and continue from it when they disagree (residual replacement).
    if (control.meets_tolerance(r_norm)) {
      if (control.meets_tolerance(control.true_residual_norm(x))) {
        control.record(k, r_norm);
        return control.finish(TerminationReason::kConverged, k, x, setup_note);
      }
      r = rhs - A * x;
      project(r);
      log::debug("{}: iteration {}, recursive residual {:.3e} replaced by b - A x = {:.3e}",
                 solver,
                 k,
                 r_norm,
                 r.norm());
      r_norm = r.norm();
    }
    if (auto stop = control.check(k, r_norm)) return control.finish(*stop, k, x, setup_note);

    // z = M^{-1} r, beta = (r^T z)_new / (r^T z)_old, p = z + beta p
    if (preconditioner) apply_preconditioner(r, z_storage);
    const double rz_next = r.dot(z);
    if (!(rz_next > 0)) {
      return control.finish(
          TerminationReason::kBreakdown,
          k,
          x,
          fmt::format("r^T M^-1 r = {:.3e} at iteration {}: the preconditioner is not "
                      "positive definite",
                      rz_next,
                      k));
    }
    const double beta = rz_next / rz;
    rz = rz_next;
    p = z + beta * p;
  }
}

}  // namespace deepnum::linear::detail
