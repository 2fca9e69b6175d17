#include "deepnum/linear/solver_factory.hpp"

#include "deepnum/config.hpp"
#include "deepnum/core/error.hpp"
#include "deepnum/linear/conjugate_gradient.hpp"
#include "deepnum/linear/incomplete_cholesky.hpp"
#if DEEPNUM_WITH_PETSC
#include "deepnum/linear/petsc_krylov_solver.hpp"
#endif

namespace deepnum::linear {

std::vector<std::string> available_solvers() {
  std::vector<std::string> names{"cg", "icpcg"};
#if DEEPNUM_WITH_PETSC
  for (const auto& preset : petsc_presets()) names.push_back(preset);
#endif
  return names;
}

std::unique_ptr<LinearSolver> make_solver(const std::string& name) {
  if (name == "cg") return std::make_unique<ConjugateGradientSolver>();
  if (name == "icpcg") return std::make_unique<IncompleteCholeskySolver>();
#if DEEPNUM_WITH_PETSC
  for (const auto& preset : petsc_presets()) {
    if (name == preset) return std::make_unique<PetscKrylovSolver>(petsc_preset(name));
  }
#endif
  std::string accepted;
  for (const auto& known : available_solvers()) {
    accepted += (accepted.empty() ? "" : ", ") + known;
  }
  throw InvalidArgumentError("make_solver: unknown solver '" + name + "'; this build accepts " +
                             accepted);
}

}  // namespace deepnum::linear
