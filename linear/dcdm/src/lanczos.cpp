#include "deepnum/dcdm/lanczos.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include <Eigen/Eigenvalues>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/iteration_control.hpp"

namespace deepnum::dcdm {
namespace {

using linear::Vector;

// w -= V (V^T w) over the first `columns` basis vectors, twice ("twice is enough":
// Giraud, Langou, Rozloznik 2005). The products run in double on column blocks of the
// float32 basis, so that w ends up orthogonal to the stored vectors to double round-off
// even when ||w|| is tiny (near an invariant subspace).
void reorthogonalize(const Eigen::MatrixXf& basis, int columns, Vector& w) {
  constexpr int kBlock = 32;
  Eigen::MatrixXd block;
  for (int pass = 0; pass < 2; ++pass) {
    for (int first = 0; first < columns; first += kBlock) {
      const int width = std::min(kBlock, columns - first);
      block = basis.middleCols(first, width).cast<double>();
      const Eigen::VectorXd coefficients = block.transpose() * w;
      w.noalias() -= block * coefficients;
    }
  }
}

}  // namespace

void LanczosOptions::validate() const {
  require_option(steps >= 1, "LanczosOptions", "steps", steps, "must be >= 1");
  require_option(
      memory_limit_gb > 0, "LanczosOptions", "memory_limit_gb", memory_limit_gb, "must be > 0");
  require_option(breakdown_tolerance >= 0 && breakdown_tolerance < 1,
                 "LanczosOptions",
                 "breakdown_tolerance",
                 breakdown_tolerance,
                 "must be in [0, 1)");
}

LanczosResult lanczos(const linear::SparseMatrix& A,
                      const Vector& start,
                      const LanczosOptions& options,
                      const std::vector<Vector>& null_space) {
  options.validate();
  const Eigen::Index n = A.rows();
  require<InvalidArgumentError>(A.cols() == n && start.size() == n,
                                "lanczos: A is ",
                                A.rows(),
                                " x ",
                                A.cols(),
                                " and the start vector has ",
                                start.size(),
                                " entries");
  const double start_norm = start.norm();
  require<InvalidArgumentError>(start_norm > 0 && std::isfinite(start_norm),
                                "lanczos: the start vector has norm ",
                                start_norm);
  const int m = static_cast<int>(std::min<Eigen::Index>(options.steps, n));
  const double basis_gb = 4.0 * static_cast<double>(n) * m / 1e9;
  const int largest_fitting =
      static_cast<int>(options.memory_limit_gb * 1e9 / (4.0 * static_cast<double>(n)));
  require_option(basis_gb <= options.memory_limit_gb,
                 "LanczosOptions",
                 "steps",
                 options.steps,
                 detail::concatenate("the float32 basis of ",
                                     n,
                                     " x ",
                                     m,
                                     " needs ",
                                     basis_gb,
                                     " GB, above memory_limit_gb = ",
                                     options.memory_limit_gb,
                                     "; at most ",
                                     largest_fitting,
                                     " steps fit"));

  Stopwatch clock;
  LanczosResult result;
  result.basis.resize(n, m);
  result.alpha.resize(m);
  result.beta.resize(std::max(m - 1, 0));

  for (const Vector& null_vector : null_space) {
    require<InvalidArgumentError>(null_vector.size() == n,
                                  "lanczos: a null-space vector has ",
                                  null_vector.size(),
                                  " entries, A has ",
                                  n,
                                  " rows");
  }

  // v_1 = s / ||s||, on range(A)
  Vector v = start;
  linear::remove_null_space(null_space, v);
  require<InvalidArgumentError>(v.norm() > 0, "lanczos: the start vector lies in the null space");
  v /= v.norm();
  Vector v_previous = Vector::Zero(n);
  Vector w(n);
  double beta_previous = 0.0;
  double scale = 0.0;  // max |T| so far, for the breakdown test
  int steps = 0;
  for (int j = 0; j < m; ++j) {
    result.basis.col(j) = v.cast<float>();
    steps = j + 1;

    // w = A v_j - beta_{j-1} v_{j-1};  alpha_j = v_j^T w;  w -= alpha_j v_j
    w.noalias() = A * v;
    w -= beta_previous * v_previous;
    const double alpha = v.dot(w);
    w -= alpha * v;
    result.alpha[j] = alpha;
    scale = std::max(scale, std::abs(alpha));
    if (j + 1 == m) break;

    // Full reorthogonalization against v_1 .. v_j keeps the basis orthonormal, and the
    // projection keeps it on range(A).
    reorthogonalize(result.basis, j + 1, w);
    linear::remove_null_space(null_space, w);

    // beta_j = ||w||, v_{j+1} = w / beta_j
    const double beta = w.norm();
    if (!(beta > options.breakdown_tolerance * scale)) {
      result.invariant_subspace = true;
      break;
    }
    result.beta[j] = beta;
    scale = std::max(scale, beta);
    v_previous = v;
    v = w / beta;
    beta_previous = beta;

    if ((j + 1) % 100 == 0) {
      log::debug("lanczos: {} of {} steps, {:.1f} s", j + 1, m, clock.seconds());
    }
  }

  result.steps = steps;
  if (steps < m) {
    result.basis.conservativeResize(n, steps);
    result.alpha.conservativeResize(steps);
  }
  result.beta.conservativeResize(std::max(steps - 1, 0));
  log::info("lanczos: {} steps on {} unknowns in {:.1f} s{}",
            steps,
            n,
            clock.seconds(),
            result.invariant_subspace ? " (invariant subspace found)" : "");
  return result;
}

Vector lanczos_start_vector(const linear::SparseMatrix& A, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Vector x_random(A.cols());
  for (Eigen::Index i = 0; i < x_random.size(); ++i) x_random[i] = normal(generator);
  // A x_rand lies in range(A).
  return A * x_random;
}

RitzPairs ritz_pairs(const LanczosResult& lanczos, double value_floor) {
  const int m = lanczos.steps;
  require<InvalidArgumentError>(
      m >= 1 && lanczos.alpha.size() == m && lanczos.beta.size() == std::max(m - 1, 0),
      "ritz_pairs: inconsistent Lanczos result (",
      m,
      " steps, ",
      lanczos.alpha.size(),
      " alphas, ",
      lanczos.beta.size(),
      " betas)");
  // T = S Theta S^T, from the tridiagonal directly.
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen;
  eigen.computeFromTridiagonal(lanczos.alpha, lanczos.beta, Eigen::ComputeEigenvectors);
  require<NumericalError>(eigen.info() == Eigen::Success,
                          "ritz_pairs: the tridiagonal eigensolver did not converge (",
                          m,
                          " steps)");

  // Eigen returns ascending values: skip the leading ones below the floor.
  int first = 0;
  while (first < m && eigen.eigenvalues()[first] < value_floor) ++first;
  RitzPairs pairs;
  pairs.dropped = first;
  pairs.values = eigen.eigenvalues().tail(m - first);
  pairs.coefficients = eigen.eigenvectors().rightCols(m - first);
  return pairs;
}

}  // namespace deepnum::dcdm
