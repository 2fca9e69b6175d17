// The bridge between compressed vectors (one entry per fluid cell, the unknowns of
// linear::assemble_pressure_system) and grid fields (tensors over every cell), and the
// pressure matrix applied to batches of grid fields with tensor operations.
//
// Grid field tensors: shape (batch, 1, nz, ny, nx) in 3D and (batch, 1, ny, nx) in 2D, C
// order, so the flat index of cell (x, y, z) is FlagGrid::index(x, y, z). Values outside
// the fluid are zero in every field these functions produce.
// Thread safety: const members may be called concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::dcdm {

// The spatial shape of a grid field: {nz, ny, nx} in 3D, {ny, nx} in 2D.
std::vector<std::int64_t> spatial_shape(const linear::FlagGrid& grid);

// The shape of a batch of grid fields: {batch, 1, spatial_shape...}.
std::vector<std::int64_t> field_shape(const linear::FlagGrid& grid, std::int64_t batch = 1);

// Scatter and gather between compressed vectors and grid fields. Unknowns are the fluid
// cells in cell order (x fastest), as numbered by linear::assemble_pressure_system.
class GridVectorMap {
 public:
  explicit GridVectorMap(const linear::FlagGrid& grid);

  const linear::FlagGrid& grid() const { return grid_; }
  std::int64_t unknown_count() const { return static_cast<std::int64_t>(cells_.size()); }
  const std::vector<std::int64_t>& cell_of_unknown() const { return cells_; }

  // One field (1, 1, spatial...) holding `values` on the fluid cells and 0 elsewhere.
  // Throws InvalidArgumentError when values has the wrong size.
  torch::Tensor to_field(const linear::Vector& values,
                         torch::ScalarType dtype = torch::kFloat32,
                         torch::Device device = torch::kCPU) const;

  // The fluid-cell values of one field (any shape with cell_count() elements, any dtype
  // and device) into `values` (resized). Throws InvalidArgumentError for a wrong size.
  void to_vector(const torch::Tensor& field, linear::Vector& values) const;

 private:
  linear::FlagGrid grid_;
  std::vector<std::int64_t> cells_;
};

// The pressure matrix of a flag grid (the stencil of linear::assemble_pressure_system)
// applied to a batch of grid fields:
//   (A q)_c = scale * fluid_c * (diag_c q_c - sum_{n in N(c)} fluid_n q_n)
// where diag_c counts the fluid and air face neighbours of c and cells beyond the grid are
// Neumann walls. Built from shifted copies of the fields multiplied by flag masks, so one
// call handles the whole batch and autograd differentiates through it.
class GridStencil {
 public:
  // scale = 1 matches the unscaled assembly, 1 / h^2 the one with scale_by_spacing.
  explicit GridStencil(const linear::FlagGrid& grid,
                       double scale = 1.0,
                       torch::ScalarType dtype = torch::kFloat32,
                       torch::Device device = torch::kCPU);

  // fields: (batch, 1, spatial...) of any floating dtype on any device (the masks follow
  // them). Values outside the fluid are ignored. Returns A q with the same shape, zero
  // outside the fluid. Throws InvalidArgumentError for a shape that is not the grid's.
  torch::Tensor apply(const torch::Tensor& fields) const;

  // 1 on fluid cells, 0 elsewhere: shape (1, 1, spatial...).
  const torch::Tensor& fluid_mask() const { return fluid_; }
  // diag_c on fluid cells (unscaled neighbour counts), 0 elsewhere: shape (1, 1, spatial...).
  const torch::Tensor& diagonal() const { return diagonal_; }
  int dimension() const { return dimension_; }
  double scale() const { return scale_; }

 private:
  torch::Tensor neighbour_sum(const torch::Tensor& fields) const;

  int dimension_;
  double scale_;
  std::vector<std::int64_t> spatial_;
  torch::Tensor fluid_;
  torch::Tensor diagonal_;
};

}  // namespace deepnum::dcdm
