#define BOOST_TEST_MODULE linear_petsc_solver
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>

#include <petscsys.h>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/conjugate_gradient.hpp"
#include "deepnum/linear/incomplete_cholesky.hpp"
#include "deepnum/linear/petsc_krylov_solver.hpp"
#include "deepnum/linear/petsc_matrix.hpp"
#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;

namespace {

struct PetscFixture {
  PetscSession session;
};

// Relative round-off of the reference direct solve, added to the rtol-derived bound.
constexpr double kDirectRoundOff = 1e-13;
// CG in PETSc and ours run the same recurrence under the same rule; round-off may move
// the stopping iteration by a step or two.
constexpr int kSameMethodIterationSlack = 2;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A 3D box with air on top and a solid sphere, plus a sealed pocket: a 3 x 3 x 3 fluid
// cavity inside a solid shell, so A has one null vector.
FlagGrid box_with_sealed_pocket(int n) {
  FlagGrid grid = linear_test::box_with_air_top_and_sphere(n);
  for (int z = 1; z <= 5; ++z) {
    for (int y = 1; y <= 5; ++y) {
      for (int x = 1; x <= 5; ++x) {
        const bool shell = x == 1 || y == 1 || z == 1 || x == 5 || y == 5 || z == 5;
        grid(x, y, z) = shell ? CellFlag::kSolid : CellFlag::kFluid;
      }
    }
  }
  return grid;
}

SolveSummary solve_with(LinearSolver& solver,
                        const LinearSystem& system,
                        const Vector& b,
                        Vector& x,
                        const SolveOptions& options = {}) {
  solver.setup(system);
  x = Vector::Zero(b.size());
  return solver.solve(b, x, options);
}

}  // namespace

BOOST_GLOBAL_FIXTURE(PetscFixture);

BOOST_AUTO_TEST_CASE(every_petsc_preset_agrees_with_a_direct_solve_on_a_singular_3d_system) {
  const PressureSystem pressure = assemble_pressure_system(box_with_sealed_pocket(11));
  const LinearSystem& system = pressure.system;
  BOOST_TEST_REQUIRE(system.null_space.size() == 1u);
  Vector b = linear_test::random_vector(11, pressure.unknown_count());
  project_onto_range(system, b);
  const Vector reference = linear_test::direct_solve(system, b);
  const double condition = linear_test::condition_number_on_range(system);
  const double rtol = 1e-8;
  for (const auto& name : petsc_presets()) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      Vector x;
      SolveOptions options;
      options.rtol = rtol;
      const SolveSummary summary = solve_with(*solver, system, b, x, options);
      BOOST_TEST_REQUIRE(summary.converged(), summary.message);
      BOOST_TEST(summary.final_residual_norm <= rtol * b.norm());
      BOOST_TEST(contains(summary.message, "CONVERGED"), summary.message);
      linear_test::remove_null(system, x);
      BOOST_TEST((x - reference).norm() <= condition * (rtol + kDirectRoundOff) * reference.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(gamg_and_hypre_converge_on_a_pure_neumann_box) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {16, 14, 12}, 1.0));
  BOOST_TEST_REQUIRE(pressure.system.null_space.size() == 1u);
  const Vector b = linear_test::apply(pressure.system.matrix,
                                      linear_test::random_vector(12, pressure.unknown_count()));
  for (const std::string name : {"petsc-gamg", "petsc-hypre"}) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      Vector x;
      const SolveSummary summary = solve_with(*solver, pressure.system, b, x);
      BOOST_TEST(summary.converged(), summary.message);
      BOOST_TEST(summary.relative_residual() <= 1e-6);
      BOOST_TEST(summary.iterations < 60);  // multigrid: far below CG's count here
    }
  }
}

BOOST_AUTO_TEST_CASE(petsc_cg_takes_as_many_iterations_as_our_cg) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(14));
  const Vector b = linear_test::random_vector(13, pressure.unknown_count());
  ConjugateGradientSolver ours;
  Vector x_ours;
  const SolveSummary our_summary = solve_with(ours, pressure.system, b, x_ours);
  auto petsc = make_solver("petsc");
  Vector x_petsc;
  const SolveSummary petsc_summary = solve_with(*petsc, pressure.system, b, x_petsc);
  BOOST_TEST_REQUIRE(our_summary.converged());
  BOOST_TEST_REQUIRE(petsc_summary.converged(), petsc_summary.message);
  BOOST_TEST(std::abs(our_summary.iterations - petsc_summary.iterations) <=
             kSameMethodIterationSlack);
}

BOOST_AUTO_TEST_CASE(petsc_icc_takes_as_many_iterations_as_our_icpcg) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(14));
  const Vector b = linear_test::random_vector(14, pressure.unknown_count());
  IncompleteCholeskySolver ours;
  Vector x_ours;
  const SolveSummary our_summary = solve_with(ours, pressure.system, b, x_ours);
  auto petsc = make_solver("petsc-icc");
  Vector x_petsc;
  const SolveSummary petsc_summary = solve_with(*petsc, pressure.system, b, x_petsc);
  BOOST_TEST_REQUIRE(our_summary.converged());
  BOOST_TEST_REQUIRE(petsc_summary.converged(), petsc_summary.message);
  BOOST_TEST(std::abs(our_summary.iterations - petsc_summary.iterations) <=
             kSameMethodIterationSlack);
}

BOOST_AUTO_TEST_CASE(the_options_database_overrides_the_types_under_the_prefix) {
  PetscOptionsSetValue(nullptr, "-override_test_ksp_type", "gmres");
  PetscOptionsSetValue(nullptr, "-override_test_pc_type", "jacobi");
  PetscKrylovOptions options;
  options.name = "override-test";
  options.options_prefix = "override_test_";
  PetscKrylovSolver solver(options);
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(10));
  const Vector b = linear_test::random_vector(15, pressure.unknown_count());
  Vector x;
  const SolveSummary summary = solve_with(solver, pressure.system, b, x);
  PetscOptionsClearValue(nullptr, "-override_test_ksp_type");
  PetscOptionsClearValue(nullptr, "-override_test_pc_type");
  BOOST_TEST(solver.ksp_type() == "gmres");
  BOOST_TEST(solver.pc_type() == "jacobi");
  BOOST_TEST(summary.converged(), summary.message);
  // Left-preconditioned GMRES tracks another norm: the rule is applied to b - A x.
  BOOST_TEST(linear_test::residual_norm(pressure.system.matrix, b, x) <= 1e-6 * b.norm());
}

BOOST_AUTO_TEST_CASE(an_unknown_preconditioner_type_is_rejected_at_setup) {
  PetscKrylovOptions options;
  options.options_prefix = "unknown_pc_";
  options.pc_type = "no_such_preconditioner";
  PetscKrylovSolver solver(options);
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {4, 4, 1}, 1.0));
  try {
    solver.setup(pressure.system);
    BOOST_FAIL("unknown PC type accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(contains(error.what(), "no_such_preconditioner"), error.what());
  }
}

BOOST_AUTO_TEST_CASE(an_inconsistent_rhs_is_reported_before_petsc_runs) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {6, 6, 6}, 1.0));
  const Vector b = linear_test::random_vector(16, pressure.unknown_count());
  auto solver = make_solver("petsc-gamg");
  Vector x;
  const SolveSummary summary = solve_with(*solver, pressure.system, b, x);
  BOOST_TEST(summary.reason == TerminationReason::kInconsistent);
  BOOST_TEST(contains(summary.message, "project_onto_range"), summary.message);
}

BOOST_AUTO_TEST_CASE(hitting_max_iterations_carries_petsc_reason_name) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(12));
  const Vector b = linear_test::random_vector(17, pressure.unknown_count());
  auto solver = make_solver("petsc");
  Vector x;
  SolveOptions options;
  options.max_iterations = 4;
  const SolveSummary summary = solve_with(*solver, pressure.system, b, x, options);
  BOOST_TEST(summary.reason == TerminationReason::kMaxIterations);
  BOOST_TEST(summary.iterations == 4);
  BOOST_TEST(contains(summary.message, "KSP_DIVERGED_ITS"), summary.message);
  BOOST_TEST(std::abs(summary.final_residual_norm -
                      linear_test::residual_norm(pressure.system.matrix, b, x)) <=
             1e-12 * b.norm());
}

BOOST_AUTO_TEST_CASE(a_stalled_petsc_solve_says_so) {
  // The null space is withheld, so b's inconsistent part stays in every residual.
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {8, 8, 1}, 1.0));
  const LinearSystem hidden{pressure.system.matrix, {}};
  const Vector b = linear_test::apply(pressure.system.matrix, linear_test::random_vector(18, 64)) +
                   0.5 * pressure.system.null_space[0];
  auto solver = make_solver("petsc");
  Vector x;
  SolveOptions options;
  options.stall_window = 20;
  options.max_iterations = 5000;
  const SolveSummary summary = solve_with(*solver, hidden, b, x, options);
  BOOST_TEST(summary.reason == TerminationReason::kStalled, summary.message);
  BOOST_TEST(summary.iterations < 5000);
  BOOST_TEST(contains(summary.message, "stall_window"), summary.message);
}

BOOST_AUTO_TEST_CASE(every_petsc_preset_rejects_an_asymmetric_matrix_at_setup) {
  // PETSc's ICC spins forever on this matrix; the shared check stops it before PETSc runs.
  SparseMatrix A(8, 8);
  for (int i = 0; i < 8; ++i) {
    if (i > 0) A.insert(i, i - 1) = -1.0;
    A.insert(i, i) = 2.0;
    if (i + 1 < 8) A.insert(i, i + 1) = -1.0;
  }
  A.coeffRef(0, 1) = -3.0;
  const LinearSystem system{A, {}};
  for (const auto& name : petsc_presets()) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      try {
        solver->setup(system);
        BOOST_FAIL("asymmetric matrix accepted");
      } catch (const deepnum::InvalidArgumentError& error) {
        BOOST_TEST(contains(error.what(), "A(0, 1) = -3"), error.what());
        BOOST_TEST(contains(error.what(), "A(1, 0) = -1"), error.what());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(mismatched_sizes_are_rejected_by_the_petsc_solver) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {4, 4, 1}, 1.0));
  auto solver = make_solver("petsc-hypre");
  solver->setup(pressure.system);
  Vector x = Vector::Zero(16);
  BOOST_CHECK_THROW(solver->solve(Vector::Zero(15), x, SolveOptions{}),
                    deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(invalid_petsc_options_are_rejected) {
  PetscKrylovOptions options;
  options.options_prefix = "-bad";
  BOOST_CHECK_THROW(PetscKrylovSolver{options}, deepnum::OptionError);
  BOOST_CHECK_THROW(petsc_preset("petsc-ml"), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(petsc_matrix_holds_every_entry_of_the_assembled_matrix) {
  const PressureSystem pressure = assemble_pressure_system(box_with_sealed_pocket(10));
  const SparseMatrix& A = pressure.system.matrix;
  Mat matrix = to_petsc_matrix(A);
  PetscInt rows = 0;
  PetscInt columns = 0;
  MatGetSize(matrix, &rows, &columns);
  BOOST_TEST(rows == A.rows());
  BOOST_TEST(columns == A.cols());
  MatInfo info;
  MatGetInfo(matrix, MAT_GLOBAL_SUM, &info);
  BOOST_TEST(static_cast<Eigen::Index>(info.nz_used) == A.nonZeros());
  // Every stored entry read back through PETSc's own accessor.
  for (Eigen::Index row = 0; row < A.outerSize(); ++row) {
    for (SparseMatrix::InnerIterator it(A, row); it; ++it) {
      const PetscInt i = static_cast<PetscInt>(row);
      const PetscInt j = static_cast<PetscInt>(it.col());
      PetscScalar value = 0;
      MatGetValues(matrix, 1, &i, 1, &j, &value);
      BOOST_TEST_CONTEXT("A(" << i << ", " << j << ")") {
        BOOST_TEST(value == it.value());
      }
    }
  }
  PetscBool known = PETSC_FALSE;
  PetscBool symmetric = PETSC_FALSE;
  MatIsSymmetricKnown(matrix, &known, &symmetric);
  BOOST_TEST(known == PETSC_TRUE);
  BOOST_TEST(symmetric == PETSC_TRUE);
  MatDestroy(&matrix);
}
