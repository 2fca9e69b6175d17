// Several solvers on the same systems, side by side: the per-solver table of the main job
// and the records of the linear benchmark.
//
// Each solver is set up once per matrix (setup_seconds) and then solves every right-hand
// side from x0 = 0 (solve_seconds), all with the same SolveOptions, so iteration counts
// and times compare under the one stopping rule ||b - A x|| <= max(rtol ||b||, atol).
// One sparse product A x is timed per matrix, so that the cost of a preconditioner or a
// network application reads as a number of matrix-vector products on the same machine.
// Thread safety: none.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// One solve of one system by one solver, with where the system came from.
struct SolverRecord {
  std::string scene;  // e.g. "plume", "bunny"
  int grid_size = 0;  // n of an n^3 grid
  int frame = 0;
  double rtol = 0.0;
  double matvec_seconds = 0.0;  // one product A x with this system's matrix
  SolveSummary summary;

  // Seconds in M^{-1} (or the network) per iteration, in units of matvec_seconds; 0 for
  // a solver without a preconditioner or a solve without iterations.
  double preconditioner_matvecs_per_iteration() const;
};

// Seconds of one product A x (Eigen CSR, this thread): the best of `rounds` rounds of
// `products` products each, after one warm-up product.
double time_matrix_vector_product(const SparseMatrix& A, int rounds = 5, int products = 10);

class SolverComparison {
 public:
  // Solvers by name (see make_solver), in table order. Throws InvalidArgumentError for
  // an unknown name or an empty list.
  explicit SolverComparison(const std::vector<std::string>& solver_names);
  // Solvers the caller built (for example a neural solver that needs a model file).
  void add_solver(std::unique_ptr<LinearSolver> solver);

  // Sets every solver up on `system`; the system must outlive the next set_system().
  void set_system(const LinearSystem& system);
  // Solves A x = b from x0 = 0 with every solver, appending one record each and
  // returning them. The first solve after set_system() carries the setup time.
  std::vector<SolverRecord> solve(const Vector& b,
                                  const SolveOptions& options,
                                  const std::string& scene,
                                  int grid_size,
                                  int frame);

  const std::vector<SolverRecord>& records() const { return records_; }

 private:
  std::vector<std::unique_ptr<LinearSolver>> solvers_;
  std::vector<double> pending_setup_seconds_;
  double matvec_seconds_ = 0.0;
  std::vector<SolverRecord> records_;
};

// A fixed-width text table, one row per (solver, rtol) in first-seen order: solves, how
// many converged, mean and maximum iterations, setup seconds, mean solve seconds, seconds
// per iteration, preconditioner (network) cost per iteration in matvecs, worst final
// relative residual.
std::string format_solver_table(const std::vector<SolverRecord>& records);

// The records as a JSON array of objects with the fields scene, n, frame, solver, rtol,
// iterations, seconds (solve time), setup_seconds, seconds_per_iteration, converged,
// relres, reason, fallback_steps, network_seconds (preconditioner share), matvec_seconds
// and, when with_history, residual_history.
std::string records_to_json(const std::vector<SolverRecord>& records, bool with_history);

}  // namespace deepnum::linear
