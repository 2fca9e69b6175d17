// Solvers by name, for drivers and benchmarks that take the solver on the command line.
//
//   "cg"           ConjugateGradientSolver
//   "icpcg"        IncompleteCholeskySolver (IC(0)-PCG)
//   "petsc-icc"    PetscKrylovSolver, -ksp_type cg -pc_type icc   (builds with PETSc)
//   "petsc-gamg"   PetscKrylovSolver, -ksp_type cg -pc_type gamg
//   "petsc-hypre"  PetscKrylovSolver, -ksp_type cg -pc_type hypre -pc_hypre_type boomeramg
// The PETSc solvers need an initialized PETSc (see PetscSession) when setup() runs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// Throws InvalidArgumentError naming `name` and listing the accepted names.
std::unique_ptr<LinearSolver> make_solver(const std::string& name);

// The names make_solver accepts in this build, in the order above.
std::vector<std::string> available_solvers();

}  // namespace deepnum::linear
