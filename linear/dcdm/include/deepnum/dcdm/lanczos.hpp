// Lanczos with full reorthogonalization and Ritz pairs: the spectral basis the DCDM
// training vectors are drawn from (Kaneda et al. 2023, section on training data).
//
// Memory: the basis is stored in float32, n x m x 4 bytes (64^3 fluid cells and m = 1000
// steps: about 1 GB); the three-term recurrence and the reorthogonalization run in double.
// Each new vector is orthogonalized against the whole stored basis twice (block
// Gram-Schmidt), so the stored basis is orthonormal to float32 round-off: Ritz values are
// accurate to about 1e-7 ||A|| and no spurious copies appear.
// Thread safety: the functions share no state.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::dcdm {

struct LanczosOptions {
  int steps = 1000;  // m, the Krylov dimension asked for
  // Refuse to start when the float32 basis (n x m x 4 bytes) would exceed this.
  double memory_limit_gb = 8.0;
  // Stop early (invariant subspace) when beta_j <= breakdown_tolerance * max |T|.
  double breakdown_tolerance = 1e-10;

  void validate() const;  // throws OptionError naming field, value and rule
};

struct LanczosResult {
  Eigen::MatrixXf basis;  // n x steps, orthonormal columns v_1 .. v_steps
  Eigen::VectorXd alpha;  // diagonal of the tridiagonal T = V^T A V (steps)
  Eigen::VectorXd beta;   // its off-diagonal (steps - 1)
  int steps = 0;          // may be below options.steps when an invariant subspace was found
  bool invariant_subspace = false;
};

// Runs up to options.steps Lanczos steps on the symmetric A from `start` (normalized
// here). A known orthonormal null-space basis (LinearSystem::null_space) is projected out
// of every new vector: rounding the stored basis to float32 otherwise feeds ~1e-8 of the
// null space back each step, which Lanczos amplifies towards the eigenvalue 0.
// Throws InvalidArgumentError for a size mismatch or a zero start vector, OptionError
// for invalid options, including a basis beyond memory_limit_gb (the message gives the
// size and the largest m that fits).
LanczosResult lanczos(const linear::SparseMatrix& A,
                      const linear::Vector& start,
                      const LanczosOptions& options,
                      const std::vector<linear::Vector>& null_space = {});

// A x_rand with x_rand ~ N(0, 1) per entry (fixed seed): the start vector of the reference
// data generation. It lies in range(A), so the null space stays out of the basis.
linear::Vector lanczos_start_vector(const linear::SparseMatrix& A, std::uint64_t seed);

struct RitzPairs {
  Eigen::VectorXd values;        // ascending, all >= the floor
  Eigen::MatrixXd coefficients;  // steps x count: Ritz vector i = basis * coefficients.col(i)
  int dropped = 0;               // Ritz values below the floor (the null space)
};

// Eigen-decomposition of T (Eigen's tridiagonal QR); Ritz values below value_floor are
// dropped: they belong to A's null space (Kaneda et al. drop those below 1e-8).
RitzPairs ritz_pairs(const LanczosResult& lanczos, double value_floor = 1e-8);

}  // namespace deepnum::dcdm
