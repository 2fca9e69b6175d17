// DcdmSolver with linear stand-ins for the network: the outer iteration checked against
// closed forms (exact inverse: one step), a second algorithm (textbook PCG with the same
// IC(0) factor; CG for the fallback path) and the A-orthogonality it promises.
#define BOOST_TEST_MODULE dcdm_solver
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <vector>

#include <Eigen/Dense>

#include "deepnum/core/error.hpp"
#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/linear/incomplete_cholesky.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "test_grids.hpp"

namespace {

using deepnum::dcdm::DcdmOptions;
using deepnum::dcdm::DcdmSolver;
using deepnum::linear::LinearSystem;
using deepnum::linear::PressureSystem;
using deepnum::linear::SolveOptions;
using deepnum::linear::SolveSummary;
using deepnum::linear::TerminationReason;
using deepnum::linear::Vector;

// Round-off of a few hundred double operations on O(1) values.
constexpr double kRoundOff = 1e-10;

PressureSystem small_system(bool open_top) {
  return deepnum::linear::assemble_pressure_system(dcdm_test::box_grid(3, {8, 8, 8}, open_top));
}

// A consistent right-hand side: A times a random vector.
Vector consistent_rhs(const LinearSystem& system, unsigned seed) {
  return system.matrix * dcdm_test::random_vector(system.matrix.rows(), seed);
}

SolveOptions tight(double rtol, int max_iterations = 500) {
  SolveOptions options;
  options.rtol = rtol;
  options.max_iterations = max_iterations;
  return options;
}

// Textbook PCG (Saad, Algorithm 9.1) with z = M^{-1} r, kept independent of DcdmSolver.
std::vector<double> pcg_residual_history(const LinearSystem& system,
                                         const Vector& b,
                                         const deepnum::linear::IncompleteCholeskyFactor& factor,
                                         int iterations) {
  Vector x = Vector::Zero(b.size());
  Vector r = b;
  Vector z;
  factor.apply(r, z);
  Vector p = z;
  double rz = r.dot(z);
  std::vector<double> history{r.norm()};
  for (int k = 0; k < iterations; ++k) {
    const Vector q = system.matrix * p;
    const double alpha = rz / p.dot(q);
    x += alpha * p;
    r -= alpha * q;
    history.push_back(r.norm());
    factor.apply(r, z);
    const double rz_next = r.dot(z);
    p = z + (rz_next / rz) * p;
    rz = rz_next;
  }
  return history;
}

}  // namespace

BOOST_AUTO_TEST_CASE(exact_inverse_direction_converges_in_one_step) {
  const PressureSystem pressure = small_system(true);
  const Eigen::MatrixXd dense = Eigen::MatrixXd(pressure.system.matrix);
  const Eigen::LDLT<Eigen::MatrixXd> inverse(dense);
  DcdmSolver solver([&](const Vector& r, Vector& q) { q = inverse.solve(r); });
  solver.setup(pressure.system);

  const Vector b = consistent_rhs(pressure.system, 1);
  Vector x = Vector::Zero(b.size());
  const SolveSummary summary = solver.solve(b, x, tight(1e-10));
  BOOST_TEST(summary.converged());
  BOOST_TEST(summary.iterations == 1);
  BOOST_TEST(summary.fallback_steps == 0);
  BOOST_TEST((dense * x - b).norm() <= 1e-10 * b.norm());
}

BOOST_AUTO_TEST_CASE(ic0_direction_reproduces_preconditioned_cg_residuals) {
  // With a linear SPD stand-in M^{-1}, A-orthogonalizing against the previous direction
  // alone already gives PCG's iterates (conjugacy to the older ones holds in exact
  // arithmetic), so the residual norms must agree with PCG's to round-off.
  const PressureSystem pressure = small_system(true);
  const auto factor = deepnum::linear::incomplete_cholesky(pressure.system.matrix);
  BOOST_REQUIRE(factor.succeeded);
  DcdmSolver solver([&](const Vector& r, Vector& q) { factor.apply(r, q); });
  solver.setup(pressure.system);

  const Vector b = consistent_rhs(pressure.system, 2);
  Vector x = Vector::Zero(b.size());
  const SolveSummary summary = solver.solve(b, x, tight(1e-8));
  BOOST_REQUIRE(summary.converged());
  const auto reference = pcg_residual_history(pressure.system, b, factor, summary.iterations);
  BOOST_REQUIRE(summary.residual_norms.size() == reference.size());
  // PCG and DCDM accumulate round-off differently; relative agreement to 1e-6 holds far
  // above the 1e-8 level the residuals fall to.
  for (std::size_t k = 0; k < reference.size(); ++k) {
    BOOST_TEST_CONTEXT("iteration " << k) {
      BOOST_TEST(std::abs(summary.residual_norms[k] - reference[k]) <=
                 1e-6 * reference[k] + kRoundOff * b.norm());
    }
  }
}

BOOST_AUTO_TEST_CASE(ic0_direction_needs_as_many_iterations_as_icpcg) {
  const PressureSystem pressure = small_system(false);
  const auto factor = deepnum::linear::incomplete_cholesky(pressure.system.matrix);
  DcdmSolver dcdm([&](const Vector& r, Vector& q) { factor.apply(r, q); });
  dcdm.setup(pressure.system);
  auto icpcg = deepnum::linear::make_solver("icpcg");
  icpcg->setup(pressure.system);

  const Vector b = consistent_rhs(pressure.system, 3);
  Vector x_dcdm = Vector::Zero(b.size());
  Vector x_icpcg = Vector::Zero(b.size());
  const auto dcdm_summary = dcdm.solve(b, x_dcdm, tight(1e-6));
  const auto icpcg_summary = icpcg->solve(b, x_icpcg, tight(1e-6));
  BOOST_TEST(dcdm_summary.converged());
  BOOST_TEST(icpcg_summary.converged());
  BOOST_TEST(std::abs(dcdm_summary.iterations - icpcg_summary.iterations) <= 1);
}

BOOST_AUTO_TEST_CASE(directions_are_a_orthogonal_to_the_previous_k) {
  // A nonlinear direction function, as a network is. The directions are recovered from
  // the iterates: x_k - x_{k-1} = alpha_k q_k (the scale does not affect orthogonality).
  const PressureSystem pressure = small_system(true);
  const auto& A = pressure.system.matrix;
  auto nonlinear = [](const Vector& r, Vector& q) {
    q = r.array() + 0.5 * r.array().cube() / (r.array().square() + 1e-3) +
        0.1 * r.array().abs() * r.sum();
  };
  const Vector b = consistent_rhs(pressure.system, 4);

  for (const int k : {1, 2, 3}) {
    DcdmOptions options;
    options.previous_directions = k;
    DcdmSolver solver(nonlinear, options);
    solver.setup(pressure.system);
    std::vector<Vector> iterates{Vector::Zero(b.size())};
    for (int steps = 1; steps <= 8; ++steps) {
      Vector x = Vector::Zero(b.size());
      solver.solve(b, x, tight(1e-14, steps));
      iterates.push_back(x);
    }
    std::vector<Vector> directions;
    for (std::size_t i = 1; i < iterates.size(); ++i) {
      directions.push_back(iterates[i] - iterates[i - 1]);
    }
    for (std::size_t i = 0; i < directions.size(); ++i) {
      for (std::size_t j = i >= static_cast<std::size_t>(k) ? i - k : 0; j < i; ++j) {
        BOOST_TEST_CONTEXT("k " << k << ", directions " << j << " and " << i) {
          const Vector a_i = A * directions[i];
          const Vector a_j = A * directions[j];
          const double cosine =
              directions[i].dot(a_j) / std::sqrt(directions[i].dot(a_i) * directions[j].dot(a_j));
          // Products of O(1) vectors over a few hundred unknowns: round-off level.
          BOOST_TEST(std::abs(cosine) <= 1e-9);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(useless_directions_fall_back_to_cg_steps) {
  // A direction with NaN (or zero) is replaced by the residual: with nothing but
  // fallback steps the iteration is CG with a truncated orthogonalization, which in exact
  // arithmetic is CG itself.
  const PressureSystem pressure = small_system(false);
  const Vector b = consistent_rhs(pressure.system, 5);
  auto cg = deepnum::linear::make_solver("cg");
  cg->setup(pressure.system);
  Vector x_cg = Vector::Zero(b.size());
  const auto cg_summary = cg->solve(b, x_cg, tight(1e-6));
  BOOST_REQUIRE(cg_summary.converged());

  const std::vector<std::pair<const char*, double>> cases{{"NaN", std::nan("")}, {"zero", 0.0}};
  for (const auto& [label, value] : cases) {
    BOOST_TEST_CONTEXT("direction " << label) {
      const double fill = value;
      DcdmSolver solver(
          [fill](const Vector& r, Vector& q) { q = Vector::Constant(r.size(), fill); });
      solver.setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      const auto summary = solver.solve(b, x, tight(1e-6));
      BOOST_TEST(summary.converged());
      BOOST_TEST(summary.fallback_steps == summary.iterations);
      BOOST_TEST(std::abs(summary.iterations - cg_summary.iterations) <= 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(singular_system_converges_on_the_range) {
  const PressureSystem pressure = small_system(false);
  BOOST_REQUIRE(pressure.system.null_space.size() == 1);
  const auto factor = deepnum::linear::incomplete_cholesky(pressure.system.matrix);
  DcdmSolver solver([&](const Vector& r, Vector& q) { factor.apply(r, q); });
  solver.setup(pressure.system);
  const Vector b = consistent_rhs(pressure.system, 6);
  Vector x = Vector::Zero(b.size());
  const auto summary = solver.solve(b, x, tight(1e-8));
  BOOST_TEST(summary.converged());
  const Vector a_x = pressure.system.matrix * x;
  BOOST_TEST((b - a_x).norm() <= 1e-8 * b.norm());
}

BOOST_AUTO_TEST_CASE(iteration_limit_is_reported_not_hidden) {
  const PressureSystem pressure = small_system(true);
  DcdmSolver solver([](const Vector& r, Vector& q) { q = r; });
  solver.setup(pressure.system);
  const Vector b = consistent_rhs(pressure.system, 7);
  Vector x = Vector::Zero(b.size());
  const auto summary = solver.solve(b, x, tight(1e-12, 3));
  BOOST_TEST(summary.reason == TerminationReason::kMaxIterations);
  BOOST_TEST(summary.iterations == 3);
  BOOST_TEST(summary.message.find("max_iterations") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(wrong_sizes_are_rejected) {
  const PressureSystem pressure = small_system(true);
  DcdmSolver solver([](const Vector& r, Vector& q) { q = r; });
  Vector x = Vector::Zero(pressure.system.matrix.rows());
  const Vector b = Vector::Ones(pressure.system.matrix.rows());
  BOOST_CHECK_THROW(solver.solve(b, x, tight(1e-6)), deepnum::InvalidArgumentError);
  solver.setup(pressure.system);
  Vector short_x = Vector::Zero(3);
  BOOST_CHECK_THROW(solver.solve(b, short_x, tight(1e-6)), deepnum::InvalidArgumentError);

  DcdmSolver short_direction([](const Vector&, Vector& q) { q = Vector::Ones(5); });
  short_direction.setup(pressure.system);
  BOOST_CHECK_THROW(short_direction.solve(b, x, tight(1e-6)), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(invalid_options_name_the_field) {
  DcdmOptions options;
  options.previous_directions = -1;
  try {
    DcdmSolver solver([](const Vector& r, Vector& q) { q = r; }, options);
    BOOST_FAIL("previous_directions = -1 was accepted");
  } catch (const deepnum::OptionError& error) {
    BOOST_TEST(std::string(error.what()).find("DcdmOptions.previous_directions = -1") !=
               std::string::npos);
  }
}
