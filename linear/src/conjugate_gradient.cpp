#include "deepnum/linear/conjugate_gradient.hpp"

#include "deepnum/core/error.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "preconditioned_cg.hpp"

namespace deepnum::linear {

void ConjugateGradientSolver::setup(const LinearSystem& system) {
  system_ = nullptr;
  validate_system(name(), system);
  system_ = &system;
}

SolveSummary ConjugateGradientSolver::solve(const Vector& b,
                                            Vector& x,
                                            const SolveOptions& options) {
  require<InvalidArgumentError>(system_ != nullptr, "cg: solve() called before setup()");
  return detail::preconditioned_cg(name(), *system_, b, x, options, {}, 0.0);
}

}  // namespace deepnum::linear
