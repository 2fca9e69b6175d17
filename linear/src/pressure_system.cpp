#include "deepnum/linear/pressure_system.hpp"

#include <cmath>
#include <limits>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/timing.hpp"

namespace deepnum::linear {

void AssemblyOptions::validate() const {}

Vector PressureSystem::gather(const double* grid_field) const {
  require<InvalidArgumentError>(grid_field != nullptr, "PressureSystem::gather: null grid field");
  Vector values(unknown_count());
  for (std::int64_t i = 0; i < unknown_count(); ++i) {
    values[i] = grid_field[cell_of_unknown[static_cast<std::size_t>(i)]];
  }
  return values;
}

void PressureSystem::scatter(const Vector& x, double* grid_field) const {
  require<InvalidArgumentError>(x.size() == unknown_count(),
                                "PressureSystem::scatter: x has ",
                                x.size(),
                                " entries, the system has ",
                                unknown_count(),
                                " unknowns");
  require<InvalidArgumentError>(grid_field != nullptr, "PressureSystem::scatter: null grid field");
  for (std::int64_t i = 0; i < unknown_count(); ++i) {
    grid_field[cell_of_unknown[static_cast<std::size_t>(i)]] = x[i];
  }
}

namespace {

// The neighbours of a cell in the order their columns appear in a row: -z, -y, -x, +x,
// +y, +z. Unknowns are numbered in cell order, so this order keeps each row sorted.
struct Neighbour {
  int axis;
  int step;
};
constexpr Neighbour kNeighbours[6] = {{2, -1}, {1, -1}, {0, -1}, {0, +1}, {1, +1}, {2, +1}};

// The cell of a neighbour, or -1 outside the grid (a Neumann wall).
inline std::int64_t neighbour_cell(const FlagGrid& grid,
                                   const std::array<int, 3>& position,
                                   std::int64_t cell,
                                   const std::array<std::int64_t, 3>& stride,
                                   const Neighbour& neighbour) {
  const int moved = position[static_cast<std::size_t>(neighbour.axis)] + neighbour.step;
  if (moved < 0 || moved >= grid.cells()[static_cast<std::size_t>(neighbour.axis)]) return -1;
  return cell + neighbour.step * stride[static_cast<std::size_t>(neighbour.axis)];
}

// Numbers the fluid cells in cell order.
void number_unknowns(const FlagGrid& grid, PressureSystem& pressure) {
  pressure.unknown_of_cell.assign(static_cast<std::size_t>(grid.cell_count()), -1);
  pressure.cell_of_unknown.clear();
  pressure.cell_of_unknown.reserve(static_cast<std::size_t>(grid.count(CellFlag::kFluid)));
  for (std::int64_t cell = 0; cell < grid.cell_count(); ++cell) {
    if (grid[cell] != CellFlag::kFluid) continue;
    pressure.unknown_of_cell[static_cast<std::size_t>(cell)] =
        static_cast<std::int64_t>(pressure.cell_of_unknown.size());
    pressure.cell_of_unknown.push_back(cell);
  }
}

// Counts the stored entries of each row (fluid neighbours + the diagonal) into the CSR
// row offsets; returns the total.
std::int64_t count_row_entries(const FlagGrid& grid,
                               const PressureSystem& pressure,
                               const std::array<std::int64_t, 3>& stride,
                               std::vector<std::int64_t>& row_offsets) {
  row_offsets.assign(pressure.cell_of_unknown.size() + 1, 0);
  for (std::size_t i = 0; i < pressure.cell_of_unknown.size(); ++i) {
    const std::int64_t cell = pressure.cell_of_unknown[i];
    const std::array<int, 3> position{static_cast<int>(cell % stride[1]),
                                      static_cast<int>((cell / stride[1]) % grid.ny()),
                                      static_cast<int>(cell / stride[2])};
    std::int64_t entries = 1;
    for (const Neighbour& neighbour : kNeighbours) {
      const std::int64_t other = neighbour_cell(grid, position, cell, stride, neighbour);
      if (other >= 0 && grid[other] == CellFlag::kFluid) ++entries;
    }
    row_offsets[i + 1] = row_offsets[i] + entries;
  }
  return row_offsets.back();
}

// Fills A's CSR arrays row by row; records which unknowns see an air cell.
void fill_rows(const FlagGrid& grid,
               const std::array<std::int64_t, 3>& stride,
               double unit,
               PressureSystem& pressure,
               std::vector<bool>& touches_air) {
  SparseMatrix& A = pressure.system.matrix;
  int* columns = A.innerIndexPtr();
  double* values = A.valuePtr();
  touches_air.assign(pressure.cell_of_unknown.size(), false);

  for (std::size_t i = 0; i < pressure.cell_of_unknown.size(); ++i) {
    const std::int64_t cell = pressure.cell_of_unknown[i];
    const std::array<int, 3> position{static_cast<int>(cell % stride[1]),
                                      static_cast<int>((cell / stride[1]) % grid.ny()),
                                      static_cast<int>(cell / stride[2])};
    std::int64_t entry = A.outerIndexPtr()[i];
    std::int64_t diagonal_entry = -1;
    double diagonal = 0.0;
    for (int n = 0; n < 6; ++n) {
      // The diagonal sits between the -x and +x neighbours in column order.
      if (n == 3) diagonal_entry = entry++;
      const std::int64_t other = neighbour_cell(grid, position, cell, stride, kNeighbours[n]);
      if (other < 0) continue;  // outside the grid: Neumann wall
      const CellFlag flag = grid[other];
      if (flag == CellFlag::kFluid) {
        // -dp/dx coupling: off-diagonal -1, diagonal +1.
        columns[entry] =
            static_cast<int>(pressure.unknown_of_cell[static_cast<std::size_t>(other)]);
        values[entry] = -unit;
        ++entry;
        diagonal += unit;
      } else if (flag == CellFlag::kAir) {
        // Dirichlet p = 0 at the air cell: the coupling moves to the right-hand side (0),
        // the diagonal keeps it.
        diagonal += unit;
        touches_air[i] = true;
      }
      // Solid and boundary: Neumann, neither coupled nor counted.
    }
    columns[diagonal_entry] = static_cast<int>(i);
    values[diagonal_entry] = diagonal;
  }
}

// Root of i's tree with path halving; roots are the smallest unknown of their tree.
int find_root(std::vector<int>& parent, int i) {
  while (parent[static_cast<std::size_t>(i)] != i) {
    const auto index = static_cast<std::size_t>(i);
    parent[index] = parent[static_cast<std::size_t>(parent[index])];
    i = parent[index];
  }
  return i;
}

// Labels face-connected fluid components with a union-find over A's lower off-diagonals
// (one streaming pass over the rows, cache friendly where a graph search is not). A
// component's label follows the order of its smallest unknown.
void label_components(const std::vector<bool>& touches_air, PressureSystem& pressure) {
  const SparseMatrix& A = pressure.system.matrix;
  const int n = static_cast<int>(A.rows());
  std::vector<int> parent(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) parent[static_cast<std::size_t>(i)] = i;
  for (int i = 0; i < n; ++i) {
    for (int k = A.outerIndexPtr()[i]; k < A.outerIndexPtr()[i + 1]; ++k) {
      const int j = A.innerIndexPtr()[k];
      if (j >= i) break;  // rows are sorted: the lower part comes first
      const int root_i = find_root(parent, i);
      const int root_j = find_root(parent, j);
      // Link the larger root below the smaller one.
      if (root_i < root_j) {
        parent[static_cast<std::size_t>(root_j)] = root_i;
      } else if (root_j < root_i) {
        parent[static_cast<std::size_t>(root_i)] = root_j;
      }
    }
  }

  pressure.component_of_unknown.assign(static_cast<std::size_t>(n), -1);
  pressure.component_has_air.clear();
  pressure.component_count = 0;
  for (int i = 0; i < n; ++i) {
    const auto index = static_cast<std::size_t>(i);
    const int root = find_root(parent, i);
    // A root is visited before every other member of its tree.
    if (root == i) {
      pressure.component_of_unknown[index] = pressure.component_count++;
      pressure.component_has_air.push_back(false);
    } else {
      pressure.component_of_unknown[index] =
          pressure.component_of_unknown[static_cast<std::size_t>(root)];
    }
    if (touches_air[index]) {
      pressure.component_has_air[static_cast<std::size_t>(pressure.component_of_unknown[index])] =
          true;
    }
  }
}

// One orthonormal null vector per component without air: 1/sqrt(size) on it.
void build_null_space(PressureSystem& pressure) {
  std::vector<std::int64_t> sizes(static_cast<std::size_t>(pressure.component_count), 0);
  for (const int component : pressure.component_of_unknown)
    ++sizes[static_cast<std::size_t>(component)];

  std::vector<int> null_index(static_cast<std::size_t>(pressure.component_count), -1);
  auto& null_space = pressure.system.null_space;
  null_space.clear();
  for (int component = 0; component < pressure.component_count; ++component) {
    if (pressure.component_has_air[static_cast<std::size_t>(component)]) continue;
    null_index[static_cast<std::size_t>(component)] = static_cast<int>(null_space.size());
    null_space.push_back(Vector::Zero(pressure.unknown_count()));
  }
  if (null_space.empty()) return;
  for (std::size_t i = 0; i < pressure.component_of_unknown.size(); ++i) {
    const auto component = static_cast<std::size_t>(pressure.component_of_unknown[i]);
    const int index = null_index[component];
    if (index >= 0) {
      null_space[static_cast<std::size_t>(index)][static_cast<Eigen::Index>(i)] =
          1.0 / std::sqrt(static_cast<double>(sizes[component]));
    }
  }
}

}  // namespace

PressureSystem assemble_pressure_system(const FlagGrid& grid, const AssemblyOptions& options) {
  options.validate();
  Stopwatch clock;
  PressureSystem pressure;
  require<InvalidArgumentError>(grid.cell_count() > 0,
                                "assemble_pressure_system: the flag grid is empty");

  number_unknowns(grid, pressure);
  const std::int64_t n = pressure.unknown_count();
  require<InvalidArgumentError>(n > 0,
                                "assemble_pressure_system: the ",
                                grid.nx(),
                                " x ",
                                grid.ny(),
                                " x ",
                                grid.nz(),
                                " grid has no fluid cell (",
                                grid.count(CellFlag::kBoundary),
                                " boundary, ",
                                grid.count(CellFlag::kSolid),
                                " solid, ",
                                grid.count(CellFlag::kAir),
                                " air)");

  // x + nx * (y + ny * z): the stride of each axis.
  const std::array<std::int64_t, 3> stride{
      1, grid.nx(), static_cast<std::int64_t>(grid.nx()) * grid.ny()};
  std::vector<std::int64_t> row_offsets;
  const std::int64_t nonzeros = count_row_entries(grid, pressure, stride, row_offsets);
  require<InvalidArgumentError>(nonzeros <= std::numeric_limits<int>::max(),
                                "assemble_pressure_system: ",
                                nonzeros,
                                " nonzeros exceed the 32-bit CSR index range");

  // CSR straight into Eigen's compressed storage: offsets, then the rows in order.
  SparseMatrix& A = pressure.system.matrix;
  A.resize(n, n);
  A.resizeNonZeros(nonzeros);
  for (std::size_t i = 0; i < row_offsets.size(); ++i) {
    A.outerIndexPtr()[i] = static_cast<int>(row_offsets[i]);
  }
  const double unit = options.scale_by_spacing ? 1.0 / (grid.spacing() * grid.spacing()) : 1.0;
  std::vector<bool> touches_air;
  fill_rows(grid, stride, unit, pressure, touches_air);

  label_components(touches_air, pressure);
  build_null_space(pressure);
  log::debug(
      "assemble_pressure_system: {} unknowns, {} nonzeros, {} components, {} null vectors, "
      "{:.3f} s",
      n,
      nonzeros,
      pressure.component_count,
      pressure.system.null_space.size(),
      clock.seconds());
  return pressure;
}

}  // namespace deepnum::linear
