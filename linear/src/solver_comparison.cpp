#include "deepnum/linear/solver_comparison.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/solver_factory.hpp"

namespace deepnum::linear {

SolverComparison::SolverComparison(const std::vector<std::string>& solver_names) {
  for (const std::string& name : solver_names) add_solver(make_solver(name));
}

void SolverComparison::add_solver(std::unique_ptr<LinearSolver> solver) {
  require<InvalidArgumentError>(solver != nullptr, "SolverComparison: null solver");
  solvers_.push_back(std::move(solver));
  pending_setup_seconds_.push_back(0.0);
}

double SolverRecord::preconditioner_matvecs_per_iteration() const {
  if (summary.iterations <= 0 || matvec_seconds <= 0) return 0.0;
  return summary.preconditioner_seconds / summary.iterations / matvec_seconds;
}

double time_matrix_vector_product(const SparseMatrix& A, int rounds, int products) {
  require_option(rounds >= 1, "time_matrix_vector_product", "rounds", rounds, "must be >= 1");
  require_option(products >= 1, "time_matrix_vector_product", "products", products, "must be >= 1");
  // Held in a std::vector: two plain local Eigen vectors here trip GCC 12's false
  // -Wuse-after-free on their destructors.
  std::vector<Vector> x_and_y{Vector::Ones(A.cols()), Vector::Zero(A.rows())};
  const Vector& x = x_and_y[0];
  Vector& y = x_and_y[1];
  y.noalias() = A * x;  // warm-up: first touch of y, matrix in cache as far as it fits
  double best = std::numeric_limits<double>::infinity();
  for (int round = 0; round < rounds; ++round) {
    Stopwatch clock;
    for (int i = 0; i < products; ++i) y.noalias() = A * x;
    best = std::min(best, clock.seconds() / products);
  }
  return best;
}

void SolverComparison::set_system(const LinearSystem& system) {
  require<InvalidArgumentError>(!solvers_.empty(), "SolverComparison: no solver to compare");
  matvec_seconds_ = time_matrix_vector_product(system.matrix);
  for (std::size_t i = 0; i < solvers_.size(); ++i) {
    Stopwatch setup;
    solvers_[i]->setup(system);
    pending_setup_seconds_[i] = setup.seconds();
  }
}

std::vector<SolverRecord> SolverComparison::solve(const Vector& b,
                                                  const SolveOptions& options,
                                                  const std::string& scene,
                                                  int grid_size,
                                                  int frame) {
  std::vector<SolverRecord> made;
  for (std::size_t i = 0; i < solvers_.size(); ++i) {
    Vector x = Vector::Zero(b.size());
    SolverRecord record{
        scene, grid_size, frame, options.rtol, matvec_seconds_, solvers_[i]->solve(b, x, options)};
    // Setup is paid once per matrix: charge it to the first solve that follows it.
    record.summary.setup_seconds = pending_setup_seconds_[i];
    pending_setup_seconds_[i] = 0.0;
    made.push_back(record);
    records_.push_back(std::move(record));
  }
  return made;
}

namespace {

struct SolverTotals {
  int solves = 0;
  int converged = 0;
  long long iterations = 0;
  int max_iterations = 0;
  double setup_seconds = 0.0;
  double solve_seconds = 0.0;
  double worst_relres = 0.0;
  double preconditioner_seconds = 0.0;
  double matvec_seconds_times_iterations = 0.0;
};

std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  return fmt::format("{:.9g}", value);
}

}  // namespace

std::string format_solver_table(const std::vector<SolverRecord>& records) {
  // Rows in first-seen order of (solver, rtol).
  std::vector<std::pair<std::string, double>> order;
  std::map<std::pair<std::string, double>, SolverTotals> totals;
  for (const SolverRecord& record : records) {
    const SolveSummary& summary = record.summary;
    const auto key = std::make_pair(summary.solver, record.rtol);
    if (totals.find(key) == totals.end()) order.push_back(key);
    SolverTotals& row = totals[key];
    ++row.solves;
    row.converged += summary.converged() ? 1 : 0;
    row.iterations += summary.iterations;
    row.max_iterations = std::max(row.max_iterations, summary.iterations);
    row.setup_seconds += summary.setup_seconds;
    row.solve_seconds += summary.solve_seconds;
    row.worst_relres = std::max(row.worst_relres, summary.relative_residual());
    row.preconditioner_seconds += summary.preconditioner_seconds;
    row.matvec_seconds_times_iterations += record.matvec_seconds * summary.iterations;
  }

  std::string table =
      fmt::format("{:<14} {:>7} {:>6} {:>9} {:>10} {:>8} {:>9} {:>12} {:>9} {:>13} {:>10}\n",
                  "solver",
                  "rtol",
                  "solves",
                  "converged",
                  "mean iters",
                  "max its",
                  "setup s",
                  "mean solve s",
                  "s/iter",
                  "M^-1 matvecs",
                  "max relres");
  for (const auto& key : order) {
    const SolverTotals& row = totals[key];
    const double per_iteration =
        row.iterations > 0 ? row.solve_seconds / static_cast<double>(row.iterations) : 0.0;
    // Preconditioner (network) seconds per iteration in units of one product A x.
    const std::string preconditioner_matvecs =
        row.preconditioner_seconds > 0 && row.matvec_seconds_times_iterations > 0
            ? fmt::format("{:.1f}",
                          row.preconditioner_seconds / row.matvec_seconds_times_iterations)
            : std::string("-");
    table += fmt::format(
        "{:<14} {:>7.0e} {:>6} {:>9} {:>10.1f} {:>8} {:>9.4f} {:>12.4f} {:>9.2e} {:>13} "
        "{:>10.2e}\n",
        key.first,
        key.second,
        row.solves,
        row.converged,
        static_cast<double>(row.iterations) / row.solves,
        row.max_iterations,
        row.setup_seconds,
        row.solve_seconds / row.solves,
        per_iteration,
        preconditioner_matvecs,
        row.worst_relres);
  }
  return table;
}

std::string records_to_json(const std::vector<SolverRecord>& records, bool with_history) {
  std::string json = "[\n";
  for (std::size_t i = 0; i < records.size(); ++i) {
    const SolverRecord& record = records[i];
    const SolveSummary& summary = record.summary;
    const double per_iteration =
        summary.iterations > 0 ? summary.solve_seconds / summary.iterations : 0.0;
    json += fmt::format(
        "  {{\"scene\": \"{}\", \"n\": {}, \"frame\": {}, \"solver\": \"{}\", \"rtol\": {}, "
        "\"iterations\": {}, \"seconds\": {}, \"setup_seconds\": {}, "
        "\"seconds_per_iteration\": {}, \"converged\": {}, \"relres\": {}, \"reason\": \"{}\", "
        "\"fallback_steps\": {}, \"network_seconds\": {}, \"matvec_seconds\": {}",
        record.scene,
        record.grid_size,
        record.frame,
        summary.solver,
        json_number(record.rtol),
        summary.iterations,
        json_number(summary.solve_seconds),
        json_number(summary.setup_seconds),
        json_number(per_iteration),
        summary.converged() ? "true" : "false",
        json_number(summary.relative_residual()),
        to_string(summary.reason),
        summary.fallback_steps,
        json_number(summary.preconditioner_seconds),
        json_number(record.matvec_seconds));
    if (with_history) {
      json += ", \"residual_history\": [";
      for (std::size_t k = 0; k < summary.residual_norms.size(); ++k) {
        json += (k ? ", " : "") + json_number(summary.residual_norms[k]);
      }
      json += "]";
    }
    json += i + 1 < records.size() ? "},\n" : "}\n";
  }
  return json + "]\n";
}

}  // namespace deepnum::linear
