#include "deepnum/linear/flag_grid.hpp"

#include <algorithm>
#include <cmath>

#include "deepnum/core/error.hpp"

namespace deepnum::linear {

const char* to_string(CellFlag flag) {
  switch (flag) {
    case CellFlag::kBoundary:
      return "boundary";
    case CellFlag::kSolid:
      return "solid";
    case CellFlag::kFluid:
      return "fluid";
    case CellFlag::kAir:
      return "air";
  }
  return "unknown";
}

FlagGrid::FlagGrid(int dimension, std::array<int, 3> cells, double spacing, CellFlag fill)
    : dimension_(dimension), cells_(cells), spacing_(spacing) {
  require<InvalidArgumentError>(
      dimension == 2 || dimension == 3, "FlagGrid: dimension must be 2 or 3, got ", dimension);
  require<InvalidArgumentError>(cells[0] > 0 && cells[1] > 0 && cells[2] > 0,
                                "FlagGrid: cell counts must be positive, got (nx, ny, nz) = (",
                                cells[0],
                                ", ",
                                cells[1],
                                ", ",
                                cells[2],
                                ")");
  require<InvalidArgumentError>(
      dimension == 3 || cells[2] == 1, "FlagGrid: a 2D grid must have nz = 1, got nz = ", cells[2]);
  require<InvalidArgumentError>(std::isfinite(spacing) && spacing > 0,
                                "FlagGrid: spacing must be finite and > 0, got ",
                                spacing);
  const std::int64_t count = static_cast<std::int64_t>(cells[0]) * cells[1] * cells[2];
  flags_.assign(static_cast<std::size_t>(count), fill);
}

std::int64_t FlagGrid::count(CellFlag flag) const {
  return std::count(flags_.begin(), flags_.end(), flag);
}

namespace {

template <class Code>
FlagGrid grid_from_codes(int dimension,
                         std::array<int, 3> cells,
                         double spacing,
                         const std::vector<Code>& codes) {
  FlagGrid grid(dimension, cells, spacing);
  require<InvalidArgumentError>(static_cast<std::int64_t>(codes.size()) == grid.cell_count(),
                                "flag_grid_from_codes: ",
                                codes.size(),
                                " codes given for a grid of ",
                                cells[0],
                                " x ",
                                cells[1],
                                " x ",
                                cells[2],
                                " = ",
                                grid.cell_count(),
                                " cells");
  for (std::int64_t cell = 0; cell < grid.cell_count(); ++cell) {
    const auto code = static_cast<std::int64_t>(codes[static_cast<std::size_t>(cell)]);
    if (!is_flag_code(code)) {
      const std::int64_t x = cell % cells[0];
      const std::int64_t y = (cell / cells[0]) % cells[1];
      const std::int64_t z = cell / (static_cast<std::int64_t>(cells[0]) * cells[1]);
      throw InvalidArgumentError(
          detail::concatenate("flag_grid_from_codes: code ",
                              code,
                              " at cell ",
                              cell,
                              " (x = ",
                              x,
                              ", y = ",
                              y,
                              ", z = ",
                              z,
                              ") is not a cell flag; expected 0 "
                              "(boundary), 1 (solid), 2 (fluid) or 3 (air)"));
    }
    grid[cell] = static_cast<CellFlag>(code);
  }
  return grid;
}

}  // namespace

FlagGrid flag_grid_from_codes(int dimension,
                              std::array<int, 3> cells,
                              double spacing,
                              const std::vector<std::int8_t>& codes) {
  return grid_from_codes(dimension, cells, spacing, codes);
}

FlagGrid flag_grid_from_codes(int dimension,
                              std::array<int, 3> cells,
                              double spacing,
                              const std::vector<std::int32_t>& codes) {
  return grid_from_codes(dimension, cells, spacing, codes);
}

}  // namespace deepnum::linear
