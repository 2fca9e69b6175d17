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
// -open_top; -help lists them with PETSc's KSP and PC options. Defaults: KSP cg, PC none, rtol 1e-6
// on the unpreconditioned residual; any -ksp_* / -pc_* option overrides them. Serial (one MPI
// rank).
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <petscksp.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/program.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/dcdm/petsc_preconditioner.hpp"
#include "deepnum/linear/petsc_call.hpp"
#include "deepnum/linear/petsc_matrix.hpp"
#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"

namespace {

using deepnum::linear::Vector;

using deepnum::linear::check_petsc;

// The program's own options from PETSc's database.
deepnum::smoke::SmokeScene scene_from_options(std::string& scene_name, int& frames) {
  deepnum::smoke::SmokeScene scene;
  scene.resolution = 32;
  char name[64] = "plume";
  PetscInt resolution = scene.resolution;
  PetscInt frame_count = frames;
  PetscBool open_top = PETSC_FALSE;
  check_petsc(PetscOptionsGetString(nullptr, nullptr, "-scene", name, sizeof(name), nullptr),
              "PetscOptionsGetString(-scene)");
  check_petsc(PetscOptionsGetInt(nullptr, nullptr, "-n", &resolution, nullptr),
              "PetscOptionsGetInt(-n)");
  check_petsc(PetscOptionsGetInt(nullptr, nullptr, "-frames", &frame_count, nullptr),
              "PetscOptionsGetInt(-frames)");
  check_petsc(PetscOptionsGetBool(nullptr, nullptr, "-open_top", &open_top, nullptr),
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

// A model file named on the command line is checked before any frame is simulated; the
// PC itself validates its contents at setup.
void require_named_model_file() {
  char path[PETSC_MAX_PATH_LEN] = "";
  PetscBool set = PETSC_FALSE;
  check_petsc(PetscOptionsGetString(nullptr, nullptr, "-pc_dcdm_model", path, sizeof(path), &set),
              "PetscOptionsGetString(-pc_dcdm_model)");
  if (!set) return;
  std::error_code error;
  deepnum::require<deepnum::InvalidArgumentError>(std::filesystem::is_regular_file(path, error),
                                                  "-pc_dcdm_model: '",
                                                  path,
                                                  "' is not a readable file");
}

// -help: this program's options, then PETSc's KSP and PC options (KSPSetFromOptions lists
// them), without running a scene.
void print_help() {
  fmt::print(
      "deepnum_petsc_dcdm: simulates a smoke scene for some frames, then solves the last\n"
      "frame's pressure system with the KSP and PC chosen by -ksp_type and -pc_type.\n"
      "  -scene plume|bunny   smoke scene (default plume)\n"
      "  -n <cells>           cells along each axis, walls included, even (default 32)\n"
      "  -frames <count>      frames simulated before the solve (default 10)\n"
      "  -open_top            top cell layer is air (p = 0)\n"
      "DCDM by options: -ksp_type fcg -ksp_fcg_mmax 2 -ksp_fcg_truncation_type standard\n"
      "  -pc_type dcdm [-pc_dcdm_model <file.h5>] [-pc_dcdm_device cpu|cuda]\n"
      "  (default model: $DEEPNUM_DCDM_MODEL, else the shipped one)\n\n");
  KSP ksp = nullptr;
  check_petsc(KSPCreate(PETSC_COMM_SELF, &ksp), "KSPCreate");
  check_petsc(KSPSetFromOptions(ksp), "KSPSetFromOptions");
  check_petsc(KSPDestroy(&ksp), "KSPDestroy");
}

Vec to_petsc(const Vector& values) {
  Vec vector = nullptr;
  check_petsc(VecCreateSeq(PETSC_COMM_SELF, static_cast<PetscInt>(values.size()), &vector),
              "VecCreateSeq");
  PetscScalar* data = nullptr;
  check_petsc(VecGetArray(vector, &data), "VecGetArray");
  for (Eigen::Index i = 0; i < values.size(); ++i) data[i] = values[i];
  check_petsc(VecRestoreArray(vector, &data), "VecRestoreArray");
  return vector;
}

Vector from_petsc(Vec vector) {
  PetscInt size = 0;
  check_petsc(VecGetLocalSize(vector, &size), "VecGetLocalSize");
  const PetscScalar* data = nullptr;
  check_petsc(VecGetArrayRead(vector, &data), "VecGetArrayRead");
  Vector values = Eigen::Map<const Vector>(data, size);
  check_petsc(VecRestoreArrayRead(vector, &data), "VecRestoreArrayRead");
  return values;
}

// DCDM's directions come from a nonlinear network, so the Krylov method must not assume
// a fixed preconditioner: fcg (as DcdmSolver), gcr or fgmres. Plain cg still runs, with
// no guarantee, so it is a warning.
void warn_when_dcdm_lacks_a_flexible_krylov_method(KSP ksp, PC pc) {
  PetscBool is_dcdm = PETSC_FALSE;
  check_petsc(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(pc), "dcdm", &is_dcdm),
              "PetscObjectTypeCompare(pc)");
  if (!is_dcdm) return;
  PetscBool is_flexible = PETSC_FALSE;
  check_petsc(PetscObjectTypeCompareAny(
                  reinterpret_cast<PetscObject>(ksp), &is_flexible, KSPFCG, KSPGCR, KSPFGMRES, ""),
              "PetscObjectTypeCompareAny(ksp)");
  if (is_flexible) return;
  KSPType type = nullptr;
  check_petsc(KSPGetType(ksp, &type), "KSPGetType");
  deepnum::log::warn(
      "-pc_type dcdm with -ksp_type {}: the network is not a fixed linear preconditioner; use "
      "-ksp_type fcg -ksp_fcg_mmax 2 -ksp_fcg_truncation_type standard (DCDM itself), or gcr "
      "or fgmres",
      type);
}

// Options nobody read are usually misspelled (-pc_dcdm_modle): name them.
void warn_about_unused_options() {
  PetscInt count = 0;
  char** names = nullptr;
  char** values = nullptr;
  check_petsc(PetscOptionsLeftGet(nullptr, &count, &names, &values), "PetscOptionsLeftGet");
  for (PetscInt i = 0; i < count; ++i) {
    deepnum::log::warn("option -{}{}{} was given but not used",
                       names[i],
                       values[i] ? " " : "",
                       values[i] ? values[i] : "");
  }
  check_petsc(PetscOptionsLeftRestore(nullptr, &count, &names, &values), "PetscOptionsLeftRestore");
}

int run() {
  // PETSc's error messages (one from inside the dcdm PC included) end up in the exception
  // that check_petsc throws, not as a traceback on stderr.
  deepnum::linear::PetscErrorCapture capture;
  PetscBool help = PETSC_FALSE;
  check_petsc(PetscOptionsHasName(nullptr, nullptr, "-help", &help), "PetscOptionsHasName(-help)");
  if (help) {
    print_help();
    return 0;
  }
  std::string scene_name;
  int frames = 10;
  const deepnum::smoke::SmokeScene scene = scene_from_options(scene_name, frames);
  require_named_model_file();

  // The frame's system (the scene solved with IC-PCG up to it).
  deepnum::smoke::SmokeSimulation simulation(scene);
  auto frame_solver = deepnum::linear::make_solver("icpcg");
  deepnum::linear::SolveOptions frame_solve;
  frame_solve.record_history = false;
  for (int frame = 1; frame <= frames; ++frame) simulation.step(*frame_solver, frame_solve);
  const auto& system = simulation.pressure_system().system;
  const Vector& b = simulation.rhs();

  // A, its null space, and the flag grid the dcdm PC needs.
  Mat matrix = deepnum::linear::to_petsc_matrix(system.matrix);
  MatNullSpace null_space = nullptr;
  std::vector<Vec> null_vectors;
  if (!system.null_space.empty()) {
    for (const Vector& n : system.null_space) null_vectors.push_back(to_petsc(n));
    check_petsc(MatNullSpaceCreate(PETSC_COMM_SELF,
                                   PETSC_FALSE,
                                   static_cast<PetscInt>(null_vectors.size()),
                                   null_vectors.data(),
                                   &null_space),
                "MatNullSpaceCreate");
    check_petsc(MatSetNullSpace(matrix, null_space), "MatSetNullSpace");
  }
  deepnum::dcdm::attach_dcdm_flag_grid(matrix, simulation.flags());

  // The solver: defaults, then whatever the options database says.
  KSP ksp = nullptr;
  check_petsc(KSPCreate(PETSC_COMM_SELF, &ksp), "KSPCreate");
  check_petsc(KSPSetOperators(ksp, matrix, matrix), "KSPSetOperators");
  check_petsc(KSPSetType(ksp, KSPCG), "KSPSetType");
  PC pc = nullptr;
  check_petsc(KSPGetPC(ksp, &pc), "KSPGetPC");
  check_petsc(PCSetType(pc, PCNONE), "PCSetType");
  check_petsc(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED), "KSPSetNormType");
  check_petsc(KSPSetTolerances(ksp, 1e-6, 0.0, PETSC_DEFAULT, 10000), "KSPSetTolerances");
  check_petsc(KSPSetFromOptions(ksp), "KSPSetFromOptions");
  warn_when_dcdm_lacks_a_flexible_krylov_method(ksp, pc);

  Vec rhs = to_petsc(b);
  Vec solution = nullptr;
  check_petsc(VecDuplicate(rhs, &solution), "VecDuplicate");
  check_petsc(VecSet(solution, 0.0), "VecSet");
  deepnum::Stopwatch clock;
  check_petsc(KSPSetUp(ksp), "KSPSetUp");
  const double setup_seconds = clock.seconds();
  clock.restart();
  check_petsc(KSPSolve(ksp, rhs, solution), "KSPSolve");
  const double solve_seconds = clock.seconds();

  KSPType ksp_type = nullptr;
  PCType pc_type = nullptr;
  KSPConvergedReason reason;
  PetscInt iterations = 0;
  check_petsc(KSPGetType(ksp, &ksp_type), "KSPGetType");
  check_petsc(PCGetType(pc, &pc_type), "PCGetType");
  check_petsc(KSPGetConvergedReason(ksp, &reason), "KSPGetConvergedReason");
  check_petsc(KSPGetIterationNumber(ksp, &iterations), "KSPGetIterationNumber");
  const Vector x = from_petsc(solution);
  const Vector residual = b - system.matrix * x;
  // b = 0 (a frame without forcing) is solved by x = 0: report the absolute residual.
  const double relative_residual = b.norm() > 0 ? residual.norm() / b.norm() : residual.norm();
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
      relative_residual,
      setup_seconds,
      solve_seconds);

  warn_about_unused_options();

  check_petsc(VecDestroy(&rhs), "VecDestroy");
  check_petsc(VecDestroy(&solution), "VecDestroy");
  check_petsc(KSPDestroy(&ksp), "KSPDestroy");
  if (null_space != nullptr) check_petsc(MatNullSpaceDestroy(&null_space), "MatNullSpaceDestroy");
  for (Vec& n : null_vectors) check_petsc(VecDestroy(&n), "VecDestroy");
  check_petsc(MatDestroy(&matrix), "MatDestroy");
  return reason > 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  return deepnum::run_reporting_errors([&] {
    deepnum::linear::PetscSession session(&argc, &argv);
    deepnum::require<deepnum::InvalidArgumentError>(
        session.size() == 1, "deepnum_petsc_dcdm runs on one rank, got ", session.size());
    deepnum::dcdm::register_dcdm_preconditioner();
    return run();
  });
}
