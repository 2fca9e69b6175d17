// Small flag grids and direction functions shared by the dcdm tests.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include <Eigen/Dense>

#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace dcdm_test {

using deepnum::linear::CellFlag;
using deepnum::linear::FlagGrid;
using deepnum::linear::Vector;

// A box of nx x ny x nz cells (nz = 1 in 2D): a boundary layer all round, fluid inside,
// a solid block in the middle, and with open_top the top layer (y = ny - 1) air.
inline FlagGrid box_grid(int dimension, std::array<int, 3> cells, bool open_top) {
  FlagGrid grid(dimension, cells, 1.0 / cells[0], CellFlag::kFluid);
  for (int z = 0; z < grid.nz(); ++z) {
    for (int y = 0; y < grid.ny(); ++y) {
      for (int x = 0; x < grid.nx(); ++x) {
        const bool wall = x == 0 || x == grid.nx() - 1 || y == 0 || y == grid.ny() - 1 ||
                          (dimension == 3 && (z == 0 || z == grid.nz() - 1));
        if (wall) grid(x, y, z) = CellFlag::kBoundary;
        if (open_top && y == grid.ny() - 1 && x > 0 && x < grid.nx() - 1) {
          grid(x, y, z) = CellFlag::kAir;
        }
      }
    }
  }
  // A solid block off-centre, so that the stencil sees every neighbour kind.
  const int cx = grid.nx() / 2;
  const int cy = grid.ny() / 2;
  const int cz = dimension == 3 ? grid.nz() / 2 : 0;
  grid(cx, cy, cz) = CellFlag::kSolid;
  grid(cx - 1, cy, cz) = CellFlag::kSolid;
  return grid;
}

// Reproducible pseudo-random values in [-1, 1].
inline Vector random_vector(Eigen::Index size, unsigned seed) {
  Vector values(size);
  std::uint64_t state = 0x243f6a8885a308d3ULL ^ seed;
  for (Eigen::Index i = 0; i < size; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    values[i] = static_cast<double>(state >> 11) / 4503599627370496.0 - 1.0;
  }
  return values;
}

}  // namespace dcdm_test
