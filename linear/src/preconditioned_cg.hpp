// The preconditioned conjugate gradient iteration shared by ConjugateGradientSolver
// (M = I) and IncompleteCholeskySolver (M = L L^T), working on range(A).
#pragma once

#include <functional>
#include <string>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear::detail {

// z = M^{-1} r for a symmetric positive definite M.
using ApplyPreconditioner = std::function<void(const Vector& r, Vector& z)>;

// Solves A x = b from the initial guess in x by PCG (Hestenes and Stiefel 1952; Saad,
// Iterative Methods for Sparse Linear Systems, 2nd ed., Algorithm 9.1). An empty
// `preconditioner` means M = I. `setup_note` (e.g. a diagonal shift the factorization
// needed) is appended to the summary's message.
SolveSummary preconditioned_cg(const std::string& solver,
                               const LinearSystem& system,
                               const Vector& b,
                               Vector& x,
                               const SolveOptions& options,
                               const ApplyPreconditioner& preconditioner,
                               double setup_seconds,
                               const std::string& setup_note = {});

}  // namespace deepnum::linear::detail
