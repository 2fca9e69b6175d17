#include "deepnum/linear/linear_solver.hpp"

#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "deepnum/core/options.hpp"

namespace deepnum::linear {

void SolveOptions::validate() const {
  require_option(std::isfinite(rtol) && rtol >= 0, "SolveOptions", "rtol", rtol, "must be >= 0");
  require_option(std::isfinite(atol) && atol >= 0, "SolveOptions", "atol", atol, "must be >= 0");
  require_option(rtol > 0 || atol > 0,
                 "SolveOptions",
                 "rtol",
                 rtol,
                 "rtol and atol cannot both be 0 (the rule could only hold exactly)");
  require_option(
      max_iterations >= 0, "SolveOptions", "max_iterations", max_iterations, "must be >= 0");
  require_option(stall_window >= 0,
                 "SolveOptions",
                 "stall_window",
                 stall_window,
                 "must be >= 0 (0 turns the stall check off)");
}

const char* to_string(TerminationReason reason) {
  switch (reason) {
    case TerminationReason::kConverged:
      return "converged";
    case TerminationReason::kMaxIterations:
      return "max-iterations";
    case TerminationReason::kStalled:
      return "stalled";
    case TerminationReason::kDiverged:
      return "diverged";
    case TerminationReason::kBreakdown:
      return "breakdown";
    case TerminationReason::kSolverFailure:
      return "solver-failure";
    case TerminationReason::kInconsistent:
      return "inconsistent";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& stream, TerminationReason reason) {
  return stream << to_string(reason);
}

std::string SolveSummary::brief() const {
  const std::string outcome =
      converged() ? fmt::format("converged in {} iterations", iterations)
                  : fmt::format("{} after {} iterations", to_string(reason), iterations);
  return fmt::format("{}: {}, relres {:.2g}, {:.3g} s",
                     solver,
                     outcome,
                     relative_residual(),
                     setup_seconds + solve_seconds);
}

}  // namespace deepnum::linear
