// Conjugate gradients without a preconditioner ("cg").
//
// For a singular A (null space given in LinearSystem::null_space) the iteration runs on
// range(A): the residual is projected there every iteration so that round-off does not
// accumulate in the null space. The null-space component of x stays that of the guess.
// Thread safety: one solve at a time per object; distinct objects are independent.
#pragma once

#include <string>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

class ConjugateGradientSolver final : public LinearSolver {
 public:
  std::string name() const override { return "cg"; }
  void setup(const LinearSystem& system) override;
  // Throws InvalidArgumentError before setup(), for mismatched sizes or NaN/Inf input.
  SolveSummary solve(const Vector& b, Vector& x, const SolveOptions& options) override;

 private:
  const LinearSystem* system_ = nullptr;
};

}  // namespace deepnum::linear
