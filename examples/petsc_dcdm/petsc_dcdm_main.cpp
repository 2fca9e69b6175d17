// deepnum_petsc_dcdm: a plain PETSc program solving the pressure system of a smoke frame
// with whatever KSP and PC its command line names. Registering the "dcdm" preconditioner
// and attaching the flag grid to the matrix is all it does for DCDM; the switch itself is
// options only:
//
//   deepnum_petsc_dcdm -n 32 -frames 10 -ksp_type cg -pc_type icc -ksp_monitor
//   deepnum_petsc_dcdm -n 32 -frames 10 -ksp_type fcg -ksp_fcg_mmax 2
//       -ksp_fcg_truncation_type standard -pc_type dcdm -pc_dcdm_model dcdm_plume_32.h5
// (one command line, wrapped here).
//
// Program options (PETSc style): -scene plume|bunny, -n <cells>, -frames <count>,
// -open_top. Defaults: KSP cg, PC none, rtol 1e-6 on the unpreconditioned residual; any
// -ksp_* / -pc_* option overrides them. Serial (one MPI rank).
#include <string>
#include <vector>

#include <fmt/format.h>
#include <petscksp.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/dcdm/petsc_preconditioner.hpp"
#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"

namespace {

using deepnum::linear::Vector;

void check(PetscErrorCode code, const char* call) {
  if (code != 0) {
    throw deepnum::linear::PetscCallError(
        code, fmt::format("PETSc call {} failed with error code {}", call, code));
  }
}

// The program's own options from PETSc's database.
deepnum::smoke::SmokeScene scene_from_options(std::string& scene_name, int& frames) {
  deepnum::smoke::SmokeScene scene;
  scene.resolution = 32;
  char name[64] = "plume";
  PetscInt resolution = scene.resolution;
  PetscInt frame_count = frames;
  PetscBool open_top = PETSC_FALSE;
  check(PetscOptionsGetString(nullptr, nullptr, "-scene", name, sizeof(name), nullptr),
        "PetscOptionsGetString(-scene)");
  check(PetscOptionsGetInt(nullptr, nullptr, "-n", &resolution, nullptr), "PetscOptionsGetInt(-n)");
  check(PetscOptionsGetInt(nullptr, nullptr, "-frames", &frame_count, nullptr),
        "PetscOptionsGetInt(-frames)");
  check(PetscOptionsGetBool(nullptr, nullptr, "-open_top", &open_top, nullptr),
        "PetscOptionsGetBool(-open_top)");
  scene_name = name;
  scene.kind = deepnum::smoke::scene_kind_from_string(scene_name);
  scene.resolution = static_cast<int>(resolution);
  scene.open_top = open_top == PETSC_TRUE;
  frames = static_cast<int>(frame_count);
  deepnum::require<deepnum::InvalidArgumentError>(
      frames >= 1, "-frames must be >= 1, got ", frames);
  scene.validate();
  return scene;
}

// A as a sequential AIJ matrix, row by row from the CSR arrays.
Mat assemble_matrix(const deepnum::linear::SparseMatrix& A) {
  std::vector<PetscInt> row_counts(static_cast<std::size_t>(A.rows()));
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    row_counts[static_cast<std::size_t>(i)] = A.outerIndexPtr()[i + 1] - A.outerIndexPtr()[i];
  }
  Mat matrix = nullptr;
  check(MatCreateSeqAIJ(PETSC_COMM_SELF,
                        static_cast<PetscInt>(A.rows()),
                        static_cast<PetscInt>(A.cols()),
                        0,
                        row_counts.data(),
                        &matrix),
        "MatCreateSeqAIJ");
  std::vector<PetscInt> columns;
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    const PetscInt row = static_cast<PetscInt>(i);
    const int begin = A.outerIndexPtr()[i];
    const int end = A.outerIndexPtr()[i + 1];
    columns.assign(A.innerIndexPtr() + begin, A.innerIndexPtr() + end);
    check(MatSetValues(
              matrix, 1, &row, end - begin, columns.data(), A.valuePtr() + begin, INSERT_VALUES),
          "MatSetValues");
  }
  check(MatAssemblyBegin(matrix, MAT_FINAL_ASSEMBLY), "MatAssemblyBegin");
  check(MatAssemblyEnd(matrix, MAT_FINAL_ASSEMBLY), "MatAssemblyEnd");
  return matrix;
}

Vec to_petsc(const Vector& values) {
  Vec vector = nullptr;
  check(VecCreateSeq(PETSC_COMM_SELF, static_cast<PetscInt>(values.size()), &vector),
        "VecCreateSeq");
  PetscScalar* data = nullptr;
  check(VecGetArray(vector, &data), "VecGetArray");
  for (Eigen::Index i = 0; i < values.size(); ++i) data[i] = values[i];
  check(VecRestoreArray(vector, &data), "VecRestoreArray");
  return vector;
}

Vector from_petsc(Vec vector) {
  PetscInt size = 0;
  check(VecGetLocalSize(vector, &size), "VecGetLocalSize");
  const PetscScalar* data = nullptr;
  check(VecGetArrayRead(vector, &data), "VecGetArrayRead");
  Vector values = Eigen::Map<const Vector>(data, size);
  check(VecRestoreArrayRead(vector, &data), "VecRestoreArrayRead");
  return values;
}

int run() {
  std::string scene_name;
  int frames = 10;
  const deepnum::smoke::SmokeScene scene = scene_from_options(scene_name, frames);

  // The frame's system (the scene solved with IC-PCG up to it).
  deepnum::smoke::SmokeSimulation simulation(scene);
  auto frame_solver = deepnum::linear::make_solver("icpcg");
  deepnum::linear::SolveOptions frame_solve;
  frame_solve.record_history = false;
  for (int frame = 1; frame <= frames; ++frame) simulation.step(*frame_solver, frame_solve);
  const auto& system = simulation.pressure_system().system;
  const Vector& b = simulation.rhs();

  // A, its null space, and the flag grid the dcdm PC needs.
  Mat matrix = assemble_matrix(system.matrix);
  MatNullSpace null_space = nullptr;
  std::vector<Vec> null_vectors;
  if (!system.null_space.empty()) {
    for (const Vector& n : system.null_space) null_vectors.push_back(to_petsc(n));
    check(MatNullSpaceCreate(PETSC_COMM_SELF,
                             PETSC_FALSE,
                             static_cast<PetscInt>(null_vectors.size()),
                             null_vectors.data(),
                             &null_space),
          "MatNullSpaceCreate");
    check(MatSetNullSpace(matrix, null_space), "MatSetNullSpace");
  }
  deepnum::dcdm::attach_dcdm_flag_grid(matrix, simulation.flags());

  // The solver: defaults, then whatever the options database says.
  KSP ksp = nullptr;
  check(KSPCreate(PETSC_COMM_SELF, &ksp), "KSPCreate");
  check(KSPSetOperators(ksp, matrix, matrix), "KSPSetOperators");
  check(KSPSetType(ksp, KSPCG), "KSPSetType");
  PC pc = nullptr;
  check(KSPGetPC(ksp, &pc), "KSPGetPC");
  check(PCSetType(pc, PCNONE), "PCSetType");
  check(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED), "KSPSetNormType");
  check(KSPSetTolerances(ksp, 1e-6, 0.0, PETSC_DEFAULT, 10000), "KSPSetTolerances");
  check(KSPSetFromOptions(ksp), "KSPSetFromOptions");

  Vec rhs = to_petsc(b);
  Vec solution = nullptr;
  check(VecDuplicate(rhs, &solution), "VecDuplicate");
  check(VecSet(solution, 0.0), "VecSet");
  deepnum::Stopwatch clock;
  check(KSPSetUp(ksp), "KSPSetUp");
  const double setup_seconds = clock.seconds();
  clock.restart();
  check(KSPSolve(ksp, rhs, solution), "KSPSolve");
  const double solve_seconds = clock.seconds();

  KSPType ksp_type = nullptr;
  PCType pc_type = nullptr;
  KSPConvergedReason reason;
  PetscInt iterations = 0;
  check(KSPGetType(ksp, &ksp_type), "KSPGetType");
  check(PCGetType(pc, &pc_type), "PCGetType");
  check(KSPGetConvergedReason(ksp, &reason), "KSPGetConvergedReason");
  check(KSPGetIterationNumber(ksp, &iterations), "KSPGetIterationNumber");
  const Vector x = from_petsc(solution);
  const Vector residual = b - system.matrix * x;
  const auto cells = simulation.flags().cells();
  fmt::print(
      "{} {}x{}x{} frame {}: ksp {} pc {}: {} in {} iterations, ||b - A x|| / ||b|| = "
      "{:.3e}, setup {:.3f} s, solve {:.3f} s\n",
      scene_name,
      cells[0],
      cells[1],
      cells[2],
      frames,
      ksp_type,
      pc_type,
      KSPConvergedReasons[reason],
      iterations,
      residual.norm() / b.norm(),
      setup_seconds,
      solve_seconds);

  check(VecDestroy(&rhs), "VecDestroy");
  check(VecDestroy(&solution), "VecDestroy");
  check(KSPDestroy(&ksp), "KSPDestroy");
  if (null_space != nullptr) check(MatNullSpaceDestroy(&null_space), "MatNullSpaceDestroy");
  for (Vec& n : null_vectors) check(VecDestroy(&n), "VecDestroy");
  check(MatDestroy(&matrix), "MatDestroy");
  return reason > 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    deepnum::linear::PetscSession session(&argc, &argv);
    deepnum::require<deepnum::InvalidArgumentError>(
        session.size() == 1, "deepnum_petsc_dcdm runs on one rank, got ", session.size());
    deepnum::dcdm::register_dcdm_preconditioner();
    return run();
  } catch (const std::exception& error) {
    deepnum::log::error("{}", error.what());
    return 1;
  }
}
