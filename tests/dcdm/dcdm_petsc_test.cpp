// The "dcdm" PETSc preconditioner: PETSc's flexible CG with -pc_type dcdm, chosen by
// options alone, against DcdmSolver with the same network (a second implementation of the
// same iteration), and its errors.
#define BOOST_TEST_MODULE dcdm_petsc
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <petscksp.h>
#include <unistd.h>

#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/dcdm/petsc_preconditioner.hpp"
#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/nn/device.hpp"
#include "test_grids.hpp"

namespace {

namespace dcdm = deepnum::dcdm;
using deepnum::linear::PressureSystem;
using deepnum::linear::Vector;

struct PetscFixture {
  deepnum::linear::PetscSession session;
  PetscFixture() { dcdm::register_dcdm_preconditioner(); }
};
BOOST_TEST_GLOBAL_FIXTURE(PetscFixture);

void check(PetscErrorCode code) {
  BOOST_REQUIRE(code == 0);
}

struct TemporaryFolder {
  std::filesystem::path path;
  TemporaryFolder() {
    path = std::filesystem::temp_directory_path() /
           ("deepnum_dcdm_petsc_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// The assembled CSR matrix as a sequential PETSc AIJ matrix.
Mat to_petsc(const deepnum::linear::SparseMatrix& A) {
  Mat matrix = nullptr;
  std::vector<PetscInt> row_counts(static_cast<std::size_t>(A.rows()));
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    row_counts[static_cast<std::size_t>(i)] = A.outerIndexPtr()[i + 1] - A.outerIndexPtr()[i];
  }
  check(MatCreateSeqAIJ(PETSC_COMM_SELF,
                        static_cast<PetscInt>(A.rows()),
                        static_cast<PetscInt>(A.cols()),
                        0,
                        row_counts.data(),
                        &matrix));
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    const PetscInt row = static_cast<PetscInt>(i);
    const int begin = A.outerIndexPtr()[i];
    std::vector<PetscInt> columns(A.innerIndexPtr() + begin,
                                  A.innerIndexPtr() + A.outerIndexPtr()[i + 1]);
    check(MatSetValues(matrix,
                       1,
                       &row,
                       static_cast<PetscInt>(columns.size()),
                       columns.data(),
                       A.valuePtr() + begin,
                       INSERT_VALUES));
  }
  check(MatAssemblyBegin(matrix, MAT_FINAL_ASSEMBLY));
  check(MatAssemblyEnd(matrix, MAT_FINAL_ASSEMBLY));
  return matrix;
}

// A KSP on `matrix` configured from the options database under `prefix` only.
KSP options_ksp(Mat matrix, const std::string& prefix, const std::string& options) {
  check(PetscOptionsInsertString(nullptr, options.c_str()));
  KSP ksp = nullptr;
  check(KSPCreate(PETSC_COMM_SELF, &ksp));
  check(KSPSetOptionsPrefix(ksp, prefix.c_str()));
  check(KSPSetOperators(ksp, matrix, matrix));
  check(KSPSetFromOptions(ksp));
  return ksp;
}

std::string network_file(const TemporaryFolder& folder) {
  deepnum::nn::seed_everything(21);
  const std::string path = folder.file("network.h5");
  dcdm::save_model(dcdm::DcdmNetwork(dcdm::NetworkOptions::for_grid_64(3)), {}, path);
  return path;
}

// Runs PETSc's FCG with the dcdm PC, chosen by options alone, for `iterations` steps from
// x = 0 and returns the residual history and the iterate.
std::pair<std::vector<double>, Vector> run_petsc_fcg(const PressureSystem& pressure,
                                                     const deepnum::linear::FlagGrid& grid,
                                                     const Vector& b,
                                                     const std::string& model,
                                                     const std::string& prefix,
                                                     int iterations) {
  Mat matrix = to_petsc(pressure.system.matrix);
  MatNullSpace null_space = nullptr;
  if (!pressure.system.null_space.empty()) {
    // The constant on the single fluid component.
    check(MatNullSpaceCreate(PETSC_COMM_SELF, PETSC_TRUE, 0, nullptr, &null_space));
    check(MatSetNullSpace(matrix, null_space));
  }
  dcdm::attach_dcdm_flag_grid(matrix, grid);
  const std::string p = "-" + prefix;
  KSP ksp = options_ksp(
      matrix,
      prefix,
      p + "ksp_type fcg " + p + "ksp_fcg_mmax 2 " + p + "ksp_fcg_truncation_type standard " + p +
          "pc_type dcdm " + p + "ksp_norm_type unpreconditioned " + p + "ksp_rtol 1e-14 " + p +
          "ksp_max_it " + std::to_string(iterations) + " " + p + "pc_dcdm_model " + model);
  std::vector<PetscReal> history(static_cast<std::size_t>(iterations) + 1, 0.0);
  check(KSPSetResidualHistory(ksp, history.data(), iterations + 1, PETSC_TRUE));
  Vec rhs = nullptr;
  Vec solution = nullptr;
  check(MatCreateVecs(matrix, &solution, &rhs));
  PetscScalar* values = nullptr;
  check(VecGetArray(rhs, &values));
  for (Eigen::Index i = 0; i < b.size(); ++i) values[i] = b[i];
  check(VecRestoreArray(rhs, &values));
  check(KSPSolve(ksp, rhs, solution));

  PC pc = nullptr;
  PCType pc_type = nullptr;
  check(KSPGetPC(ksp, &pc));
  check(PCGetType(pc, &pc_type));
  BOOST_TEST(std::string(pc_type) == "dcdm");
  PetscInt done = 0;
  check(KSPGetIterationNumber(ksp, &done));
  BOOST_TEST(done == iterations);

  const PetscScalar* answer = nullptr;
  check(VecGetArrayRead(solution, &answer));
  Vector x = Eigen::Map<const Vector>(answer, b.size());
  check(VecRestoreArrayRead(solution, &answer));
  check(VecDestroy(&rhs));
  check(VecDestroy(&solution));
  check(KSPDestroy(&ksp));
  if (null_space != nullptr) check(MatNullSpaceDestroy(&null_space));
  check(MatDestroy(&matrix));
  return {std::vector<double>(history.begin(), history.end()), x};
}

}  // namespace

BOOST_AUTO_TEST_CASE(fcg_with_the_dcdm_pc_follows_the_cpp_solver) {
  TemporaryFolder folder;
  const std::string model = network_file(folder);
  constexpr int kIterations = 12;
  for (const bool open_top : {true, false}) {
    BOOST_TEST_CONTEXT((open_top ? "nonsingular" : "singular") << " system") {
      const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, open_top);
      const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
      BOOST_REQUIRE(pressure.system.null_space.size() == (open_top ? 0u : 1u));
      const Vector b =
          pressure.system.matrix * dcdm_test::random_vector(pressure.unknown_count(), 5);

      // The C++ solver, stopped after a fixed number of steps.
      dcdm::DcdmOptions dcdm_options;
      dcdm_options.residual_replacement_interval = 0;
      dcdm::DcdmSolver solver(grid, model, dcdm_options);
      solver.setup(pressure.system);
      deepnum::linear::SolveOptions solve_options;
      solve_options.rtol = 1e-14;
      solve_options.max_iterations = kIterations;
      Vector x = Vector::Zero(b.size());
      const auto summary = solver.solve(b, x, solve_options);
      BOOST_REQUIRE(summary.iterations == kIterations);

      const auto [history, petsc_x] =
          run_petsc_fcg(pressure, grid, b, model, open_top ? "open_" : "closed_", kIterations);

      // Both runs feed the float32 network the same residuals up to double round-off;
      // its outputs then agree unless an input straddles a float rounding boundary
      // (~1e-7 in one direction), which 1e-6 relative leaves room for.
      for (int k = 0; k <= kIterations; ++k) {
        BOOST_TEST_CONTEXT("iteration " << k) {
          const double reference = summary.residual_norms[static_cast<std::size_t>(k)];
          BOOST_TEST(std::abs(history[static_cast<std::size_t>(k)] - reference) <=
                     1e-6 * reference);
        }
      }
      BOOST_TEST((petsc_x - x).norm() <= 1e-6 * x.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(missing_flag_grid_fails_the_setup_with_a_pointer_to_the_fix) {
  TemporaryFolder folder;
  const std::string model = network_file(folder);
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, true);
  const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
  Mat matrix = to_petsc(pressure.system.matrix);
  // CG here: PETSc's FCG cannot be destroyed cleanly after a failed setup.
  const std::string options =
      "-nogrid_ksp_type cg -nogrid_pc_type dcdm -nogrid_pc_dcdm_model " + model;
  KSP ksp = options_ksp(matrix, "nogrid_", options);
  check(PetscPushErrorHandler(PetscReturnErrorHandler, nullptr));
  const PetscErrorCode code = KSPSetUp(ksp);
  check(PetscPopErrorHandler());
  BOOST_TEST(code != 0);
  check(KSPDestroy(&ksp));

  // Attached to the PC instead of the matrix, the grid is found.
  ksp = options_ksp(matrix, "nogrid_", options);
  PC pc = nullptr;
  check(KSPGetPC(ksp, &pc));
  dcdm::set_dcdm_flag_grid(pc, grid);
  check(KSPSetUp(ksp));

  check(KSPDestroy(&ksp));
  check(MatDestroy(&matrix));
}
