// Grids, references and helpers shared by the linear test suites.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/SparseCholesky>

#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace linear_test {

using deepnum::linear::CellFlag;
using deepnum::linear::FlagGrid;
using deepnum::linear::LinearSystem;
using deepnum::linear::SparseMatrix;
using deepnum::linear::Vector;

// A v into a named vector (GCC 12 reports a false null dereference inside Eigen for
// norms of unnamed sparse products).
inline Vector apply(const SparseMatrix& A, const Vector& v) {
  Vector product(A.rows());
  product.noalias() = A * v;
  return product;
}

// ||b - A x||, the same way.
inline double residual_norm(const SparseMatrix& A, const Vector& b, const Vector& x) {
  Vector residual = b;
  residual.noalias() -= A * x;
  return residual.norm();
}

inline Eigen::MatrixXd dense(const SparseMatrix& A) {
  return Eigen::MatrixXd(A);
}

// Cells drawn independently: fluid with probability p_fluid, else air, solid or
// boundary with the given shares. Fixed seed per call.
inline FlagGrid random_grid(
    unsigned seed, int dimension, std::array<int, 3> cells, double p_fluid, double p_air) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  FlagGrid grid(dimension, cells, 1.0);
  for (std::int64_t cell = 0; cell < grid.cell_count(); ++cell) {
    const double u = uniform(generator);
    if (u < p_fluid) {
      grid[cell] = CellFlag::kFluid;
    } else if (u < p_fluid + p_air) {
      grid[cell] = CellFlag::kAir;
    } else if (u < p_fluid + p_air + 0.5 * (1 - p_fluid - p_air)) {
      grid[cell] = CellFlag::kSolid;
    } else {
      grid[cell] = CellFlag::kBoundary;
    }
  }
  return grid;
}

// An n^3 box: boundary walls on the faces except the top (z = n-1), which is air; a
// solid sphere of radius n/5 at the centre; fluid elsewhere.
inline FlagGrid box_with_air_top_and_sphere(int n) {
  FlagGrid grid(3, {n, n, n}, 1.0 / n);
  const double centre = 0.5 * (n - 1);
  const double radius = n / 5.0;
  for (int z = 0; z < n; ++z) {
    for (int y = 0; y < n; ++y) {
      for (int x = 0; x < n; ++x) {
        const bool wall = x == 0 || y == 0 || z == 0 || x == n - 1 || y == n - 1;
        const double dx = x - centre, dy = y - centre, dz = z - centre;
        if (z == n - 1) {
          grid(x, y, z) = CellFlag::kAir;
        } else if (wall) {
          grid(x, y, z) = CellFlag::kBoundary;
        } else if (dx * dx + dy * dy + dz * dz <= radius * radius) {
          grid(x, y, z) = CellFlag::kSolid;
        } else {
          grid(x, y, z) = CellFlag::kFluid;
        }
      }
    }
  }
  return grid;
}

inline Vector random_vector(unsigned seed, Eigen::Index size) {
  std::mt19937 generator(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Vector v(size);
  for (Eigen::Index i = 0; i < size; ++i) v[i] = normal(generator);
  return v;
}

inline void remove_null(const LinearSystem& system, Vector& v) {
  for (const Vector& n : system.null_space) v -= n.dot(v) * n;
}

// The reference solution of A x = P_R b orthogonal to the null space: a sparse LDL^T of
// A + sum_j n_j n_j^T (nonsingular; equal to A on range(A) and the identity on the null
// space), independent of the iterative solvers under test.
inline Vector direct_solve(const LinearSystem& system, const Vector& b) {
  SparseMatrix shifted = system.matrix;
  if (!system.null_space.empty()) {
    Eigen::MatrixXd low_rank = Eigen::MatrixXd::Zero(b.size(), b.size());
    for (const Vector& n : system.null_space) low_rank += n * n.transpose();
    shifted = (Eigen::MatrixXd(system.matrix) + low_rank).sparseView();
  }
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(shifted);
  Vector projected = b;
  remove_null(system, projected);
  return ldlt.solve(projected);
}

// lambda_max / lambda_min over the nonzero eigenvalues (dense; small systems only).
inline double condition_number_on_range(const LinearSystem& system) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(dense(system.matrix));
  const Vector& values = eigen.eigenvalues();
  const double largest = values.maxCoeff();
  double smallest = largest;
  for (Eigen::Index i = 0; i < values.size(); ++i) {
    if (values[i] > 1e-10 * largest) smallest = std::min(smallest, values[i]);
  }
  return largest / smallest;
}

// Eigenvalues below this fraction of the largest count as zero when counting the
// nullity of a small pressure matrix (its smallest nonzero one is ~1e-3 of the largest).
constexpr double kNullEigenvalueFraction = 1e-10;

inline int nullity(const SparseMatrix& A) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(dense(A));
  const double largest = eigen.eigenvalues().cwiseAbs().maxCoeff();
  int count = 0;
  for (Eigen::Index i = 0; i < eigen.eigenvalues().size(); ++i) {
    if (std::abs(eigen.eigenvalues()[i]) <= kNullEigenvalueFraction * largest) ++count;
  }
  return count;
}

}  // namespace linear_test
