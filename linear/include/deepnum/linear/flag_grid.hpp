// A regular 2D or 3D grid of cell flags: the geometry of a pressure Poisson system.
//
// Cells are cubes (squares in 2D) of edge `spacing`. Storage is x fastest:
//   index(x, y, z) = x + nx * (y + ny * z),
// which on disk (HDF5, numpy) is a C-order array of shape (nz, ny, nx), or (ny, nx) in
// 2D, with the attribute axis_order = "zyx" ("yx" in 2D). A 2D grid has nz = 1.
// Thread safety: const members may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace deepnum::linear {

// The encoding used by the DCDM and MLPCG reference codes.
enum class CellFlag : std::int8_t {
  kBoundary = 0,  // domain wall: Neumann, like a solid
  kSolid = 1,     // obstacle: Neumann (velocity of the solid prescribed)
  kFluid = 2,     // unknown pressure
  kAir = 3,       // free surface / open boundary: Dirichlet p = 0
};

// The flag value as stored on disk, and the check that a stored value is a flag.
constexpr std::int8_t to_code(CellFlag flag) {
  return static_cast<std::int8_t>(flag);
}
constexpr bool is_flag_code(std::int64_t code) {
  return code >= 0 && code <= 3;
}
// "boundary", "solid", "fluid" or "air".
const char* to_string(CellFlag flag);

class FlagGrid {
 public:
  FlagGrid() = default;
  // cells = {nx, ny, nz}; dimension 2 requires nz == 1. Every cell starts as `fill`.
  // Throws InvalidArgumentError for a non-positive size or spacing.
  FlagGrid(int dimension,
           std::array<int, 3> cells,
           double spacing,
           CellFlag fill = CellFlag::kFluid);

  int dimension() const { return dimension_; }
  const std::array<int, 3>& cells() const { return cells_; }
  int nx() const { return cells_[0]; }
  int ny() const { return cells_[1]; }
  int nz() const { return cells_[2]; }
  std::int64_t cell_count() const { return static_cast<std::int64_t>(flags_.size()); }
  double spacing() const { return spacing_; }

  std::int64_t index(int x, int y, int z = 0) const {
    return x +
           static_cast<std::int64_t>(cells_[0]) * (y + static_cast<std::int64_t>(cells_[1]) * z);
  }
  bool contains(int x, int y, int z = 0) const {
    return x >= 0 && y >= 0 && z >= 0 && x < cells_[0] && y < cells_[1] && z < cells_[2];
  }
  CellFlag operator()(int x, int y, int z = 0) const { return flags_[index(x, y, z)]; }
  CellFlag& operator()(int x, int y, int z = 0) { return flags_[index(x, y, z)]; }
  CellFlag operator[](std::int64_t cell) const { return flags_[cell]; }
  CellFlag& operator[](std::int64_t cell) { return flags_[cell]; }

  const std::vector<CellFlag>& flags() const { return flags_; }

  // Counts cells carrying `flag`.
  std::int64_t count(CellFlag flag) const;

 private:
  int dimension_ = 3;
  std::array<int, 3> cells_{0, 0, 0};
  double spacing_ = 1.0;
  std::vector<CellFlag> flags_;
};

// Builds a grid from stored flag codes (x fastest, as FlagGrid stores them), e.g. a
// dataset read from HDF5. Throws InvalidArgumentError when codes.size() differs from
// nx * ny * nz, or naming the first value that is not a flag code and its cell (x, y, z).
FlagGrid flag_grid_from_codes(int dimension,
                              std::array<int, 3> cells,
                              double spacing,
                              const std::vector<std::int8_t>& codes);
FlagGrid flag_grid_from_codes(int dimension,
                              std::array<int, 3> cells,
                              double spacing,
                              const std::vector<std::int32_t>& codes);

}  // namespace deepnum::linear
