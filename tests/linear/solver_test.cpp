#define BOOST_TEST_MODULE linear_solver
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/conjugate_gradient.hpp"
#include "deepnum/linear/incomplete_cholesky.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;

namespace {

// Relative round-off of the reference direct solve, added to the rtol-derived bound.
constexpr double kDirectRoundOff = 1e-13;

const std::vector<std::string> kEigenSolvers{"cg", "icpcg"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Two sealed fluid regions (left of a solid plane, and a closed pocket) and an open one:
// a singular system with two null vectors.
FlagGrid singular_grid() {
  FlagGrid grid(3, {9, 6, 5}, 1.0);
  for (int z = 0; z < 5; ++z) {
    for (int y = 0; y < 6; ++y) {
      grid(3, y, z) = CellFlag::kSolid;
      grid(6, y, z) = CellFlag::kSolid;
    }
  }
  grid(8, 5, 4) = CellFlag::kAir;  // opens the rightmost region only
  return grid;
}

// ||x - x*|| <= cond(A) rtol ||x*|| follows from ||b - A x|| <= rtol ||b||.
void check_agrees_with_direct_solve(const std::string& solver_name,
                                    const LinearSystem& system,
                                    const Vector& b,
                                    double rtol) {
  const Vector reference = linear_test::direct_solve(system, b);
  const double condition = linear_test::condition_number_on_range(system);
  auto solver = make_solver(solver_name);
  solver->setup(system);
  Vector x = Vector::Zero(b.size());
  SolveOptions options;
  options.rtol = rtol;
  const SolveSummary summary = solver->solve(b, x, options);
  BOOST_TEST_REQUIRE(summary.converged(), summary.message);
  BOOST_TEST(summary.final_residual_norm <= rtol * b.norm());
  linear_test::remove_null(system, x);
  const double bound = condition * (rtol + kDirectRoundOff) * reference.norm();
  BOOST_TEST((x - reference).norm() <= bound);
}

}  // namespace

BOOST_AUTO_TEST_CASE(eigen_solvers_agree_with_a_direct_solve_on_a_nonsingular_system) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(10));
  BOOST_TEST_REQUIRE(pressure.system.null_space.empty());
  const Vector b = linear_test::random_vector(1, pressure.unknown_count());
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      check_agrees_with_direct_solve(name, pressure.system, b, 1e-8);
    }
  }
}

BOOST_AUTO_TEST_CASE(eigen_solvers_agree_with_a_direct_solve_on_a_singular_system) {
  const PressureSystem pressure = assemble_pressure_system(singular_grid());
  BOOST_TEST_REQUIRE(pressure.system.null_space.size() == 2u);
  Vector b = linear_test::random_vector(2, pressure.unknown_count());
  project_onto_range(pressure.system, b);
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      check_agrees_with_direct_solve(name, pressure.system, b, 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(eigen_solvers_agree_with_a_direct_solve_on_random_2d_grids) {
  for (unsigned seed = 30; seed < 34; ++seed) {
    const PressureSystem pressure =
        assemble_pressure_system(linear_test::random_grid(seed, 2, {20, 15, 1}, 0.75, 0.03));
    Vector b = linear_test::random_vector(seed, pressure.unknown_count());
    project_onto_range(pressure.system, b);
    for (const auto& name : kEigenSolvers) {
      BOOST_TEST_CONTEXT(name << ", seed " << seed) {
        check_agrees_with_direct_solve(name, pressure.system, b, 1e-7);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_all_neumann_box_converges_with_its_null_space_attached) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {12, 10, 8}, 0.1));
  BOOST_TEST_REQUIRE(pressure.system.null_space.size() == 1u);
  // Consistent by construction: b = A y.
  const Vector b = pressure.system.matrix * linear_test::random_vector(3, pressure.unknown_count());
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      const SolveSummary summary = solver->solve(b, x, SolveOptions{});
      BOOST_TEST(summary.converged(), summary.message);
      BOOST_TEST(summary.relative_residual() <= 1e-6);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_inconsistent_rhs_without_projection_is_reported_as_such) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {6, 6, 6}, 1.0));
  const Vector b = linear_test::random_vector(4, pressure.unknown_count());  // sum(b) != 0
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      const SolveSummary summary = solver->solve(b, x, SolveOptions{});
      BOOST_TEST(summary.reason == TerminationReason::kInconsistent);
      BOOST_TEST(summary.iterations == 0);
      BOOST_TEST(contains(summary.message, "project_onto_range"), summary.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_inconsistent_rhs_converges_when_projection_is_on) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {6, 6, 6}, 1.0));
  const Vector b = linear_test::random_vector(4, pressure.unknown_count());
  Vector projected = b;
  project_onto_range(pressure.system, projected);
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      SolveOptions options;
      options.project_rhs = true;
      const SolveSummary summary = solver->solve(b, x, options);
      BOOST_TEST(summary.converged(), summary.message);
      // The rule now refers to the projected b.
      BOOST_TEST(std::abs(summary.rhs_norm - projected.norm()) <= 1e-12 * projected.norm());
      BOOST_TEST(linear_test::residual_norm(pressure.system.matrix, projected, x) <=
                 1e-6 * projected.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(manufactured_solution_converges_at_second_order) {
  // u = sin(pi x) sin(pi y) sin(pi z) on [0, 1]^3, -Laplace u = 3 pi^2 u. Cell i sits at
  // x = i h with h = 1 / (N + 1); the air cells i = 0 and i = N + 1 carry u = 0.
  const double pi = std::acos(-1.0);
  std::vector<double> errors;
  std::vector<double> spacings;
  for (const int n : {7, 15, 31}) {
    const int cells = n + 2;
    const double h = 1.0 / (n + 1);
    FlagGrid grid(3, {cells, cells, cells}, h, CellFlag::kAir);
    for (int z = 1; z <= n; ++z) {
      for (int y = 1; y <= n; ++y) {
        for (int x = 1; x <= n; ++x) grid(x, y, z) = CellFlag::kFluid;
      }
    }
    const PressureSystem pressure = assemble_pressure_system(grid);
    Vector exact(pressure.unknown_count());
    for (std::int64_t i = 0; i < pressure.unknown_count(); ++i) {
      const std::int64_t cell = pressure.cell_of_unknown[static_cast<std::size_t>(i)];
      const double x = (cell % cells) * h;
      const double y = ((cell / cells) % cells) * h;
      const double z = (cell / (cells * cells)) * h;
      exact[i] = std::sin(pi * x) * std::sin(pi * y) * std::sin(pi * z);
    }
    const Vector b = h * h * 3 * pi * pi * exact;  // unscaled A: rhs = h^2 f

    IncompleteCholeskySolver solver;
    solver.setup(pressure.system);
    Vector u = Vector::Zero(b.size());
    SolveOptions options;
    options.rtol = 1e-11;  // far below the discretization error
    const SolveSummary summary = solver.solve(b, u, options);
    BOOST_TEST_REQUIRE(summary.converged(), summary.message);
    errors.push_back((u - exact).lpNorm<Eigen::Infinity>());
    spacings.push_back(h);
  }
  // The sine mode is a discrete eigenvector: the error is (pi h)^2 / 12 of the peak
  // plus O(h^4); the peak of u at the nearest cell to the centre is 1 for odd N.
  const double kLeadingTermShare = 0.05;  // the O(h^4) remainder at h = 1/8 is ~1%
  for (std::size_t level = 0; level < errors.size(); ++level) {
    BOOST_TEST_CONTEXT("h = " << spacings[level]) {
      const double leading = pi * pi * spacings[level] * spacings[level] / 12.0;
      BOOST_TEST(std::abs(errors[level] / leading - 1.0) <= kLeadingTermShare);
    }
  }
  const double kRatioTolerance = 0.2;  // observed ratio is 4 + O(h^2)
  for (std::size_t level = 1; level < errors.size(); ++level) {
    BOOST_TEST_CONTEXT("halving to h = " << spacings[level]) {
      BOOST_TEST(std::abs(errors[level - 1] / errors[level] - 4.0) <= kRatioTolerance);
    }
  }
}

BOOST_AUTO_TEST_CASE(hitting_max_iterations_is_reported_with_the_limit) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(12));
  const Vector b = linear_test::random_vector(5, pressure.unknown_count());
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      SolveOptions options;
      options.max_iterations = 3;
      const SolveSummary summary = solver->solve(b, x, options);
      BOOST_TEST(summary.reason == TerminationReason::kMaxIterations);
      BOOST_TEST(summary.iterations == 3);
      BOOST_TEST(summary.residual_norms.size() == 4u);
      BOOST_TEST(contains(summary.message, "max_iterations = 3"), summary.message);
      BOOST_TEST(std::abs(summary.final_residual_norm -
                          linear_test::residual_norm(pressure.system.matrix, b, x)) <=
                 1e-12 * b.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_singular_system_without_its_null_space_stalls_and_says_so) {
  // The null space is withheld, so the inconsistent part of b cannot be removed: the
  // residual levels off at ||P_N b|| and the stall check ends the solve.
  PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {8, 8, 1}, 1.0));
  const Vector null_vector = pressure.system.null_space[0];
  LinearSystem hidden{pressure.system.matrix, {}};
  const Vector b = pressure.system.matrix * linear_test::random_vector(6, 64) + 0.5 * null_vector;
  ConjugateGradientSolver solver;
  solver.setup(hidden);
  Vector x = Vector::Zero(64);
  SolveOptions options;
  options.stall_window = 20;
  options.max_iterations = 5000;
  const SolveSummary summary = solver.solve(b, x, options);
  BOOST_TEST(summary.reason == TerminationReason::kStalled, summary.message);
  BOOST_TEST(summary.iterations < 5000);
  BOOST_TEST(contains(summary.message, "stall_window"), summary.message);
}

BOOST_AUTO_TEST_CASE(a_null_space_component_at_round_off_is_not_called_inconsistent) {
  // b projected onto range(A), then a null-space part of 1e-17 ||b||: rounding, not
  // inconsistency, although it exceeds rtol ||b|| = 1e-20 ||b||.
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {6, 6, 6}, 1.0));
  Vector b = linear_test::random_vector(9, pressure.unknown_count());
  project_onto_range(pressure.system, b);
  b += 1e-17 * b.norm() * pressure.system.null_space[0];
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      SolveOptions options;
      options.rtol = 1e-20;
      const SolveSummary summary = solver->solve(b, x, options);
      BOOST_TEST(summary.reason != TerminationReason::kInconsistent, summary.message);
      BOOST_TEST(summary.iterations > 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_default_stall_window_ends_a_solve_stuck_at_round_off) {
  // rtol 1e-16 is below what CG reaches in double precision (~1e-15 here).
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(10));
  const Vector b = linear_test::random_vector(10, pressure.unknown_count());
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      SolveOptions options;
      options.rtol = 1e-16;
      const SolveSummary summary = solver->solve(b, x, options);
      BOOST_TEST(summary.reason == TerminationReason::kStalled, summary.message);
      BOOST_TEST(summary.iterations < options.max_iterations);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_tolerance_below_round_off_is_named_in_the_stall_message) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(10));
  const Vector b = linear_test::random_vector(11, pressure.unknown_count());
  ConjugateGradientSolver solver;
  solver.setup(pressure.system);
  Vector x = Vector::Zero(b.size());
  SolveOptions options;
  options.rtol = 1e-20;
  const SolveSummary summary = solver.solve(b, x, options);
  BOOST_TEST_REQUIRE(summary.reason == TerminationReason::kStalled, summary.message);
  BOOST_TEST(contains(summary.message, "below the round-off level"), summary.message);
}

BOOST_AUTO_TEST_CASE(slow_steady_convergence_is_not_cut_short_by_the_default_stall_window) {
  // A 384 x 384 2D box open at the top: plain CG needs ~2200 iterations to reach rtol
  // 1e-10, and its ||r||_2 plateaus on the way for longer than the fixed stall_window
  // while the error keeps falling.
  const int n = 384;
  FlagGrid grid(2, {n, n, 1}, 1.0);
  for (int x = 0; x < n; ++x) grid(x, n - 1, 0) = CellFlag::kAir;
  const PressureSystem pressure = assemble_pressure_system(grid);
  const Vector b = linear_test::random_vector(3, pressure.unknown_count());
  ConjugateGradientSolver solver;
  solver.setup(pressure.system);
  Vector x = Vector::Zero(b.size());
  SolveOptions options;
  options.rtol = 1e-10;
  const SolveSummary summary = solver.solve(b, x, options);
  BOOST_TEST(summary.converged(), summary.message);

  // The longest run of iterations without a new best residual (by the stall factor).
  const std::vector<double>& history = summary.residual_norms;
  double best = history.front();
  int best_at = 0;
  int longest_plateau = 0;
  for (int k = 1; k < static_cast<int>(history.size()); ++k) {
    if (history[k] < (1 - IterationControl::kStallDecrease) * best) {
      best = history[k];
      best_at = k;
    }
    longest_plateau = std::max(longest_plateau, k - best_at);
  }
  BOOST_TEST(longest_plateau > options.stall_window);
}

BOOST_AUTO_TEST_CASE(cg_reports_breakdown_on_an_indefinite_matrix) {
  SparseMatrix A(2, 2);
  A.insert(0, 0) = 1.0;
  A.insert(1, 1) = -1.0;
  A.makeCompressed();
  LinearSystem system{A, {}};
  ConjugateGradientSolver solver;
  solver.setup(system);
  Vector x = Vector::Zero(2);
  const SolveSummary summary = solver.solve(Vector::Ones(2), x, SolveOptions{});
  BOOST_TEST(summary.reason == TerminationReason::kBreakdown);
  BOOST_TEST(contains(summary.message, "p^T A p"), summary.message);
}

BOOST_AUTO_TEST_CASE(incomplete_cholesky_retries_with_a_diagonal_shift_after_a_breakdown) {
  // Kershaw's SPD matrix: IC(0) without a shift meets a negative pivot.
  Eigen::MatrixXd kershaw(4, 4);
  kershaw << 3, -2, 0, 2, -2, 3, -2, 0, 0, -2, 3, -2, 2, 0, -2, 3;
  LinearSystem system{kershaw.sparseView(), {}};
  const IncompleteCholeskyFactor unshifted_probe = incomplete_cholesky(system.matrix);
  BOOST_TEST(unshifted_probe.attempts > 1);
  BOOST_TEST(unshifted_probe.shift >= IncompleteCholeskySolver::kInitialShift);

  IncompleteCholeskySolver solver;
  solver.setup(system);
  Vector x = Vector::Zero(4);
  const SolveSummary summary = solver.solve(Vector::Ones(4), x, SolveOptions{});
  BOOST_TEST(summary.converged(), summary.message);
  BOOST_TEST(contains(summary.message, "diagonal shift"), summary.message);
}

BOOST_AUTO_TEST_CASE(incomplete_cholesky_reports_breakdown_when_no_shift_helps) {
  SparseMatrix A(2, 2);
  A.insert(0, 0) = -1.0;
  A.insert(1, 1) = -2.0;
  A.makeCompressed();
  LinearSystem system{A, {}};
  IncompleteCholeskySolver solver;
  solver.setup(system);
  BOOST_TEST(!solver.factor().succeeded);
  Vector x = Vector::Zero(2);
  const SolveSummary summary = solver.solve(Vector::Ones(2), x, SolveOptions{});
  BOOST_TEST(summary.reason == TerminationReason::kBreakdown);
  BOOST_TEST(contains(summary.message, "pivot"), summary.message);
}

BOOST_AUTO_TEST_CASE(a_zero_rhs_returns_zero_without_iterating) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(8));
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      solver->setup(pressure.system);
      Vector x = Vector::Ones(pressure.unknown_count());
      const SolveSummary summary =
          solver->solve(Vector::Zero(pressure.unknown_count()), x, SolveOptions{});
      BOOST_TEST(summary.converged());
      BOOST_TEST(summary.iterations == 0);
      BOOST_TEST(x.norm() == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(summaries_carry_history_times_and_a_brief_line) {
  const PressureSystem pressure =
      assemble_pressure_system(linear_test::box_with_air_top_and_sphere(8));
  const Vector b = linear_test::random_vector(8, pressure.unknown_count());
  IncompleteCholeskySolver solver;
  solver.setup(pressure.system);
  Vector x = Vector::Zero(b.size());
  const SolveSummary summary = solver.solve(b, x, SolveOptions{});
  BOOST_TEST_REQUIRE(summary.converged());
  BOOST_TEST(summary.residual_norms.size() == static_cast<std::size_t>(summary.iterations) + 1);
  BOOST_TEST(summary.residual_norms.front() == b.norm());
  BOOST_TEST(summary.rhs_norm == b.norm());
  BOOST_TEST(summary.setup_seconds >= 0.0);
  BOOST_TEST(summary.preconditioner_seconds <= summary.solve_seconds);
  BOOST_TEST(contains(summary.brief(),
                      "icpcg: converged in " + std::to_string(summary.iterations) + " iterations"),
             summary.brief());
}

BOOST_AUTO_TEST_CASE(mismatched_sizes_and_non_finite_input_are_rejected) {
  const PressureSystem pressure =
      assemble_pressure_system(FlagGrid(2, {4, 4, 1}, 1.0, CellFlag::kFluid));
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      auto solver = make_solver(name);
      Vector x = Vector::Zero(16);
      BOOST_CHECK_THROW(solver->solve(Vector::Zero(16), x, SolveOptions{}),
                        deepnum::InvalidArgumentError);  // before setup
      solver->setup(pressure.system);
      BOOST_CHECK_THROW(solver->solve(Vector::Zero(15), x, SolveOptions{}),
                        deepnum::InvalidArgumentError);
      Vector short_x = Vector::Zero(15);
      BOOST_CHECK_THROW(solver->solve(Vector::Zero(16), short_x, SolveOptions{}),
                        deepnum::InvalidArgumentError);
      Vector b = Vector::Zero(16);
      b[11] = std::numeric_limits<double>::infinity();
      try {
        solver->solve(b, x, SolveOptions{});
        BOOST_FAIL("Inf accepted");
      } catch (const deepnum::InvalidArgumentError& error) {
        BOOST_TEST(contains(error.what(), "b[11] = inf"), error.what());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_solve_options_are_rejected_with_field_and_value) {
  SolveOptions options;
  options.rtol = -1e-6;
  BOOST_CHECK_THROW(options.validate(), deepnum::OptionError);
  options = SolveOptions{};
  options.max_iterations = -1;
  BOOST_CHECK_THROW(options.validate(), deepnum::OptionError);
  options = SolveOptions{};
  options.rtol = 0.0;
  options.atol = 0.0;
  try {
    options.validate();
    BOOST_FAIL("rtol = atol = 0 accepted");
  } catch (const deepnum::OptionError& error) {
    BOOST_TEST(contains(error.what(), "SolveOptions.rtol = 0"), error.what());
  }
}

BOOST_AUTO_TEST_CASE(the_factory_builds_every_listed_solver_and_rejects_others) {
  for (const auto& name : available_solvers()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(make_solver(name)->name() == name);
    }
  }
  BOOST_TEST(available_solvers().front() == "cg");
  try {
    make_solver("multigrid");
    BOOST_FAIL("unknown solver accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(contains(error.what(), "'multigrid'"));
    BOOST_TEST(contains(error.what(), "cg, icpcg"), error.what());
  }
}
