// The one interface every pressure solver sits behind (CG, IC(0)-PCG, PETSc KSP, DCDM).
//
// Stopping rule, the same for every solver so that iteration counts compare fairly:
//   ||b - A x||_2 <= max(rtol * ||b||_2, atol)
// where b is the right-hand side as given (already projected onto the range of A when A
// is singular). Iterations count applications of the search-direction update (one
// matrix-vector product each). A solver never hangs and never throws for a numerical
// failure: it returns a summary whose reason says why it stopped. It throws
// InvalidArgumentError only for input it cannot start on: in setup(), a system that is
// not square, not symmetric, holds NaN/Inf or has a null-space basis that is not
// orthonormal or not null (validate_system, iteration_control.hpp); in solve(),
// mismatched sizes or NaN/Inf in b or x.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

namespace deepnum::linear {

// Compressed sparse row, 32-bit indices: the layout of scipy.sparse.csr_matrix.
using SparseMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;
using Vector = Eigen::VectorXd;

// A symmetric positive (semi)definite system with its null space: one orthonormal basis
// vector per pure-Neumann fluid component (empty when A is nonsingular).
struct LinearSystem {
  SparseMatrix matrix;
  std::vector<Vector> null_space;
};

struct SolveOptions {
  static constexpr int kDefaultStallWindow = 200;

  double rtol = 1e-6;          // relative to ||b||
  double atol = 0.0;           // absolute floor on ||b - A x||
  int max_iterations = 10000;  // a summary with kMaxIterations past this
  // Stop as stalled when the best ||r_k|| so far has not fallen by the factor (1 - 1e-3)
  // within the last max(stall_window, 3 k / 4) iterations at iteration k (0 turns the
  // check off; IterationControl::kStallWindowShare). The default ends a solve stuck at
  // round-off from iteration k0 (an rtol below what double precision reaches) by
  // max(k0 + 200, 4 k0); slow but steady CG on large 2D and 3D Poisson problems, whose
  // ||r||_2 plateaus for up to ~0.4 of the iterations done, is not stopped.
  int stall_window = kDefaultStallWindow;
  bool record_history = true;  // keep ||r_k|| for every iteration in the summary
  // When A is singular: remove b's null-space component before solving (logged at info),
  // so ||b|| in the stopping rule is that of the projected b. When false, a b whose
  // null-space component alone exceeds both max(rtol ||b||, atol) and the round-off
  // level of a projected b (IterationControl::round_off_level) cannot meet the rule and
  // the solve stops at once with kInconsistent; a smaller component is ignored by the
  // iteration (and still counts in the final ||b - A x||).
  bool project_rhs = false;

  void validate() const;  // throws OptionError naming field, value and rule
};

enum class TerminationReason {
  kConverged,      // the stopping rule holds
  kMaxIterations,  // iteration limit reached first
  kStalled,        // no progress within stall_window iterations
  kDiverged,       // residual grew beyond 1e10 ||b|| or became non-finite
  kBreakdown,      // the method cannot continue (p^T A p <= 0, indefinite preconditioner)
  kSolverFailure,  // an external solver (PETSc) reported a failure; see message
  kInconsistent,   // A is singular and b's null-space part exceeds the tolerance
};

const char* to_string(TerminationReason reason);
std::ostream& operator<<(std::ostream& stream, TerminationReason reason);  // to_string

struct SolveSummary {
  std::string solver;  // "cg", "icpcg", "petsc-gamg", "dcdm", ...
  TerminationReason reason = TerminationReason::kMaxIterations;
  int iterations = 0;
  double rhs_norm = 0.0;                // ||b||
  double initial_residual_norm = 0.0;   // ||b - A x0||
  double final_residual_norm = 0.0;     // ||b - A x|| recomputed at exit
  std::vector<double> residual_norms;   // ||r_k||, k = 0..iterations (if recorded)
  double setup_seconds = 0.0;           // factorization, hierarchy, network load
  double solve_seconds = 0.0;           // the iteration itself
  double preconditioner_seconds = 0.0;  // share of solve_seconds in M^{-1} or the network
  int fallback_steps = 0;               // DCDM: steps that fell back to a CG direction
  std::string message;                  // human-readable reason with the numbers

  bool converged() const { return reason == TerminationReason::kConverged; }
  double relative_residual() const {
    return rhs_norm > 0 ? final_residual_norm / rhs_norm : final_residual_norm;
  }
  // One line for logs: "cg: converged in 120 iterations, relres 9.1e-07, 0.012 s".
  std::string brief() const;
};

class LinearSolver {
 public:
  virtual ~LinearSolver() = default;
  virtual std::string name() const = 0;
  // Checks the system (validate_system) and prepares for solves with it (factorization,
  // hierarchy). The solver keeps a reference to `system`, which must outlive it or the
  // next setup(). A system that fails the check is not kept: solve() then throws as
  // before any setup().
  virtual void setup(const LinearSystem& system) = 0;
  // Solves A x = b; x holds the initial guess on entry and the answer on exit.
  virtual SolveSummary solve(const Vector& b, Vector& x, const SolveOptions& options) = 0;
};

}  // namespace deepnum::linear
