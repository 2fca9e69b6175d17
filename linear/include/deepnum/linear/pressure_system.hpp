// The pressure Poisson system of a flag grid (cell-centred pressure on a MAC grid).
//
// Unknowns are the fluid cells, numbered in cell order (x fastest). Row i of A, for the
// fluid cell c of unknown i, is the 5-point (2D) or 7-point (3D) stencil of -h^2 Laplace:
//   fluid neighbour               A(i, j) = -1 and +1 on the diagonal;
//   air neighbour                 Dirichlet p = 0: no coupling, +1 on the diagonal;
//   solid, boundary, outside grid Neumann dp/dn = 0: no coupling, nothing on the diagonal.
// With AssemblyOptions::scale_by_spacing every entry is divided by h^2 (then A ~ -Laplace).
// A is symmetric positive semidefinite. Each face-connected fluid component that touches
// no air cell is pure Neumann: A is singular there, with the component's constant vector
// (1/sqrt(size) on it, 0 elsewhere) in the null space; these vectors are orthonormal.
// Only the diagonal is stored for a fluid cell without fluid neighbours (possibly 0).
#pragma once

#include <cstdint>
#include <vector>

#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

struct AssemblyOptions {
  bool scale_by_spacing = false;  // divide every entry by h^2 (A approximates -Laplace)

  void validate() const;  // every combination is valid today; kept for the pattern
};

struct PressureSystem {
  LinearSystem system;                        // A and its null space
  std::vector<std::int64_t> cell_of_unknown;  // unknown -> grid cell, increasing
  std::vector<std::int64_t> unknown_of_cell;  // grid cell -> unknown, -1 if not fluid
  std::vector<int> component_of_unknown;      // face-connected fluid component, 0-based
  int component_count = 0;
  std::vector<bool> component_has_air;  // true: component is Dirichlet somewhere

  std::int64_t unknown_count() const { return static_cast<std::int64_t>(cell_of_unknown.size()); }

  // Reads the fluid cells of a grid field (cell_count() values, x fastest) into a vector.
  Vector gather(const double* grid_field) const;
  // Writes x into the fluid cells of a grid field; non-fluid cells are left untouched.
  // Throws InvalidArgumentError when x has the wrong size.
  void scatter(const Vector& x, double* grid_field) const;
};

// Builds A row by row straight into CSR (O(cells), no sort), then the fluid components and
// the null space. Throws InvalidArgumentError when the grid has no fluid cell, or when A
// would have more nonzeros than 32-bit CSR indices hold.
PressureSystem assemble_pressure_system(const FlagGrid& grid, const AssemblyOptions& options = {});

// How much of a right-hand side lay in the null space of A.
struct RhsProjection {
  double removed_norm = 0.0;            // ||P_N b|| before the projection
  double relative_inconsistency = 0.0;  // removed_norm / ||b|| (0 when b = 0)
};

// b <- b - sum_j (n_j^T b) n_j, so that A x = b is consistent; logs the removed part at
// info when A is singular. Throws InvalidArgumentError for a size mismatch or NaN/Inf in b.
RhsProjection project_onto_range(const LinearSystem& system, Vector& b);

// The most null vectors constant_null_space builds. Each is a dense vector of n entries
// (8 n bytes), so a matrix with thousands of zero-sum components (e.g. empty rows in a
// malformed file) would need O(n^2) memory; a real scene has a few sealed regions.
constexpr int kMaxConstantNullVectors = 64;

// For a matrix imported without its null space: one constant vector per connected
// component of A's graph (nonzero off-diagonals) whose every row sums to zero, to within
// relative_tolerance x the row's largest absolute entry. Exact for pressure matrices.
// Throws InvalidArgumentError for a non-square matrix, and, naming the count, when more
// than kMaxConstantNullVectors components qualify (before any vector is allocated).
std::vector<Vector> constant_null_space(const SparseMatrix& matrix,
                                        double relative_tolerance = 1e-12);

}  // namespace deepnum::linear
