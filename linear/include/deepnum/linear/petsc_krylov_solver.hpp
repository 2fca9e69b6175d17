// PETSc KSP behind LinearSolver. Built with DEEPNUM_WITH_PETSC only.
//
// Any Krylov method and preconditioner of PETSc: the options set ksp_type and pc_type,
// then PETSc's options database (command line, PETSC_OPTIONS, a file) overrides them
// under the options prefix, e.g. -petsc_gamg_pc_gamg_threshold 0.05 or
// -petsc_ksp_type gmres. `defaults` are entered into the database for the prefix unless
// the user already set that option.
//
// Stopping rule: the shared one, ||b - A x|| <= max(rtol ||b||, atol), tested by a
// custom KSP convergence test. For KSPs that track the unpreconditioned residual
// (CG is switched to KSP_NORM_UNPRECONDITIONED unless -<prefix>ksp_norm_type is given)
// the tracked norm is used and confirmed by the true residual; for others the true
// residual is computed every iteration, so iteration counts compare with CG and IC-PCG.
//
// Null space: LinearSystem::null_space is attached with MatNullSpaceCreate and
// MatSetNullSpace, and removed from the right-hand side with MatNullSpaceRemove.
//
// MPI: every rank passes the same (replicated) system and b to setup() and solve(),
// which are collective over PETSC_COMM_WORLD. PETSc holds A by contiguous row blocks
// (PETSc's default split); x comes back complete on every rank.
//
// PETSc errors during setup() throw PetscCallError (an unknown -pc_type throws
// InvalidArgumentError); during solve() they come back as kSolverFailure. PETSc must be
// initialized (PetscSession); otherwise setup() initializes it for the process.
// Thread safety: PETSc is not thread safe; use from one thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

struct PetscKrylovOptions {
  std::string name = "petsc";             // the solver's name in summaries and logs
  std::string options_prefix = "petsc_";  // letters, digits, '_'; may be empty
  std::string ksp_type = "cg";            // KSPType, overridable by -<prefix>ksp_type
  std::string pc_type = "none";           // PCType, overridable by -<prefix>pc_type
  // Database entries (name without '-' and prefix, value), e.g. {"pc_hypre_type",
  // "boomeramg"}, set for the prefix unless already present.
  std::vector<std::pair<std::string, std::string>> defaults;

  void validate() const;  // throws OptionError naming the field, value and rule
};

// The presets of make_solver: "petsc" (cg, no preconditioner, everything from the
// database), "petsc-icc" (cg + icc; block Jacobi with icc blocks on more than one rank),
// "petsc-gamg" (cg + gamg), "petsc-hypre" (cg + hypre boomeramg). Each uses the prefix
// of its name with '_' for '-', plus '_': petsc_, petsc_icc_, petsc_gamg_, petsc_hypre_.
std::vector<std::string> petsc_presets();
// Throws InvalidArgumentError for a name not in petsc_presets().
PetscKrylovOptions petsc_preset(const std::string& name);

class PetscKrylovSolver final : public LinearSolver {
 public:
  explicit PetscKrylovSolver(PetscKrylovOptions options = {});
  ~PetscKrylovSolver() override;  // destroys the PETSc objects unless PETSc is finalized
  PetscKrylovSolver(const PetscKrylovSolver&) = delete;
  PetscKrylovSolver& operator=(const PetscKrylovSolver&) = delete;

  std::string name() const override { return options_.name; }
  // Builds the distributed matrix, attaches the null space, configures and sets up KSP
  // and PC (the factorization or AMG hierarchy is built here). Collective.
  void setup(const LinearSystem& system) override;
  // Collective. Throws InvalidArgumentError for sizes or NaN/Inf (as every solver).
  SolveSummary solve(const Vector& b, Vector& x, const SolveOptions& options) override;

  // The KSP and PC types in use after setup() (database overrides applied).
  std::string ksp_type() const;
  std::string pc_type() const;

 private:
  struct Petsc;
  PetscKrylovOptions options_;
  std::unique_ptr<Petsc> petsc_;
  const LinearSystem* system_ = nullptr;
  double setup_seconds_ = 0.0;
  std::string setup_failure_;  // a numerical failure in setup(), reported by solve()
};

}  // namespace deepnum::linear
