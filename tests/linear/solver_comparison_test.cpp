#define BOOST_TEST_MODULE linear_solver_comparison
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/conjugate_gradient.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_comparison.hpp"
#include "linear_test_support.hpp"

namespace {

using namespace deepnum::linear;

// A 12^3 box with walls and an air layer on top: nonsingular, a few hundred unknowns.
PressureSystem box_system() {
  FlagGrid grid(3, {12, 12, 12}, 1.0, CellFlag::kFluid);
  for (int z = 0; z < 12; ++z) {
    for (int y = 0; y < 12; ++y) {
      for (int x = 0; x < 12; ++x) {
        const bool wall = x == 0 || z == 0 || x == 11 || z == 11 || y == 0;
        if (wall) grid(x, y, z) = CellFlag::kBoundary;
        if (y == 11) grid(x, y, z) = CellFlag::kAir;
      }
    }
  }
  return assemble_pressure_system(grid);
}

// Normal random entries, fixed seed: excites every eigenvector (a constant b would let CG
// finish in a handful of steps on this symmetric box).
Vector random_rhs(const PressureSystem& system) {
  std::mt19937 generator(20231);
  std::normal_distribution<double> normal(0.0, 1.0);
  Vector b(system.unknown_count());
  for (Eigen::Index i = 0; i < b.size(); ++i) b[i] = normal(generator);
  return b;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_solver_meets_the_shared_stopping_rule_on_the_same_rhs) {
  const PressureSystem system = box_system();
  const Vector b = random_rhs(system);
  SolverComparison comparison({"cg", "icpcg"});
  comparison.set_system(system.system);
  SolveOptions options;
  options.rtol = 1e-8;
  const auto records = comparison.solve(b, options, "box", 12, 3);

  BOOST_REQUIRE_EQUAL(records.size(), 2u);
  for (const SolverRecord& record : records) {
    BOOST_TEST_CONTEXT("solver " << record.summary.solver) {
      BOOST_TEST(record.summary.converged());
      BOOST_TEST(record.summary.final_residual_norm <= options.rtol * b.norm());
      BOOST_TEST(record.scene == "box");
      BOOST_TEST(record.grid_size == 12);
      BOOST_TEST(record.frame == 3);
    }
  }
  // IC(0) preconditioning needs fewer iterations than plain CG on a Poisson matrix.
  BOOST_TEST(records[1].summary.iterations < records[0].summary.iterations);
}

BOOST_AUTO_TEST_CASE(iterations_equal_a_solver_run_on_its_own) {
  const PressureSystem system = box_system();
  const Vector b = random_rhs(system);
  SolveOptions options;
  options.rtol = 1e-6;

  ConjugateGradientSolver alone;
  alone.setup(system.system);
  Vector x = Vector::Zero(b.size());
  const SolveSummary reference = alone.solve(b, x, options);

  SolverComparison comparison({"cg"});
  comparison.set_system(system.system);
  const auto records = comparison.solve(b, options, "box", 12, 1);
  BOOST_TEST(records.at(0).summary.iterations == reference.iterations);
  BOOST_TEST(records.at(0).summary.final_residual_norm == reference.final_residual_norm,
             boost::test_tools::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(setup_time_is_charged_to_the_first_solve_after_setup_only) {
  const PressureSystem system = box_system();
  const Vector b = random_rhs(system);
  SolverComparison comparison({"icpcg"});
  comparison.set_system(system.system);
  const auto first = comparison.solve(b, SolveOptions{}, "box", 12, 1);
  const auto second = comparison.solve(b, SolveOptions{}, "box", 12, 2);
  BOOST_TEST(first.at(0).summary.setup_seconds > 0.0);
  BOOST_TEST(second.at(0).summary.setup_seconds == 0.0);
  BOOST_TEST(comparison.records().size() == 2u);
}

BOOST_AUTO_TEST_CASE(unknown_solver_name_is_rejected_with_its_name) {
  try {
    SolverComparison comparison({"cg", "multigrid-magic"});
    BOOST_FAIL("an unknown solver name was accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(std::string(error.what()).find("multigrid-magic") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(table_rows_carry_the_mean_iterations_of_each_solver) {
  SolverRecord a;
  a.summary.solver = "cg";
  a.summary.iterations = 10;
  a.summary.reason = TerminationReason::kConverged;
  SolverRecord b = a;
  b.summary.iterations = 21;
  SolverRecord c = a;
  c.summary.solver = "icpcg";
  c.summary.iterations = 4;
  const std::string table = format_solver_table({a, b, c});
  // cg: (10 + 21) / 2 = 15.5 mean, 21 max; icpcg: 4.
  BOOST_TEST(table.find("cg               0e+00      2         2       15.5       21") !=
                 std::string::npos,
             table);
  BOOST_TEST(table.find("icpcg            0e+00      1         1        4.0        4") !=
                 std::string::npos,
             table);
}

BOOST_AUTO_TEST_CASE(preconditioner_cost_reads_in_matvecs_per_iteration) {
  SolverRecord record;
  record.summary.solver = "dcdm";
  record.summary.iterations = 10;
  record.summary.preconditioner_seconds = 0.3;
  record.matvec_seconds = 0.01;
  // 0.3 s over 10 iterations = 0.03 s per iteration = 3 products of 0.01 s.
  BOOST_TEST(record.preconditioner_matvecs_per_iteration() == 3.0,
             boost::test_tools::tolerance(1e-12));
  SolverRecord cg = record;
  cg.summary.solver = "cg";
  cg.summary.preconditioner_seconds = 0.0;
  const std::string table = format_solver_table({record, cg});
  BOOST_TEST(table.find("M^-1 matvecs") != std::string::npos, table);
  BOOST_TEST(table.find("          3.0") != std::string::npos, table);
  SolverRecord no_iterations = record;
  no_iterations.summary.iterations = 0;
  BOOST_TEST(no_iterations.preconditioner_matvecs_per_iteration() == 0.0);
}

BOOST_AUTO_TEST_CASE(matvec_time_is_measured_once_per_system_and_carried_by_every_record) {
  const PressureSystem system = box_system();
  SolverComparison comparison({"cg", "icpcg"});
  comparison.set_system(system.system);
  const auto records = comparison.solve(random_rhs(system), SolveOptions{}, "box", 12, 1);
  BOOST_TEST(records.at(0).matvec_seconds > 0.0);
  BOOST_TEST(records.at(0).matvec_seconds == records.at(1).matvec_seconds);
  BOOST_TEST(records.at(1).preconditioner_matvecs_per_iteration() > 0.0);
  BOOST_TEST(records.at(0).preconditioner_matvecs_per_iteration() == 0.0);
  BOOST_CHECK_THROW(time_matrix_vector_product(system.system.matrix, 0), deepnum::OptionError);
}

BOOST_AUTO_TEST_CASE(json_records_parse_in_python_with_the_benchmark_fields) {
  const PressureSystem system = box_system();
  SolverComparison comparison({"cg", "icpcg"});
  comparison.set_system(system.system);
  SolveOptions options;
  options.rtol = 1e-6;
  comparison.solve(random_rhs(system), options, "box", 12, 7);
  const std::string path = "solver_comparison_records.json";
  std::ofstream(path) << records_to_json(comparison.records(), /*with_history=*/true);

  const SolveSummary& cg = comparison.records().at(0).summary;
  const std::string check =
      std::string(DEEPNUM_PYTHON) + " -c \"import json,sys; r=json.load(open('" + path +
      "')); a=r[0]; fields={'scene','n','frame','solver','rtol','iterations','seconds',"
      "'seconds_per_iteration','converged','relres','residual_history','network_seconds',"
      "'matvec_seconds','fallback_steps'}; "
      "sys.exit(0 if len(r)==2 and fields <= set(a) and a['solver']=='cg' and "
      "a['iterations']==" +
      std::to_string(cg.iterations) +
      " and a['n']==12 and a['frame']==7 and a['converged'] is True and a['relres']<=1e-6 "
      "and a['matvec_seconds']>0 and a['network_seconds']==0 and r[1]['network_seconds']>0 "
      "and len(a['residual_history'])==a['iterations']+1 else 1)\"";
  BOOST_TEST(std::system(check.c_str()) == 0);
}
