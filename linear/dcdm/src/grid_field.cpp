#include "deepnum/dcdm/grid_field.hpp"

#include <torch/torch.h>

#include "deepnum/core/error.hpp"

namespace deepnum::dcdm {
namespace {

using linear::CellFlag;

std::string shape_text(torch::IntArrayRef sizes) {
  std::ostringstream text;
  text << sizes;
  return text.str();
}

}  // namespace

std::vector<std::int64_t> spatial_shape(const linear::FlagGrid& grid) {
  if (grid.dimension() == 2) return {grid.ny(), grid.nx()};
  return {grid.nz(), grid.ny(), grid.nx()};
}

std::vector<std::int64_t> field_shape(const linear::FlagGrid& grid, std::int64_t batch) {
  std::vector<std::int64_t> shape{batch, 1};
  for (const std::int64_t extent : spatial_shape(grid)) shape.push_back(extent);
  return shape;
}

GridVectorMap::GridVectorMap(const linear::FlagGrid& grid) : grid_(grid) {
  for (std::int64_t cell = 0; cell < grid.cell_count(); ++cell) {
    if (grid[cell] == CellFlag::kFluid) cells_.push_back(cell);
  }
}

torch::Tensor GridVectorMap::to_field(const linear::Vector& values,
                                      torch::ScalarType dtype,
                                      torch::Device device) const {
  require<InvalidArgumentError>(values.size() == unknown_count(),
                                "GridVectorMap::to_field: ",
                                "vector has ",
                                values.size(),
                                " entries, the grid has ",
                                unknown_count(),
                                " fluid cells");
  auto field = torch::zeros(field_shape(grid_), torch::TensorOptions().dtype(torch::kFloat64));
  double* data = field.data_ptr<double>();
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    data[cells_[i]] = values[static_cast<Eigen::Index>(i)];
  }
  return field.to(device, dtype);
}

void GridVectorMap::to_vector(const torch::Tensor& field, linear::Vector& values) const {
  require<InvalidArgumentError>(field.numel() == grid_.cell_count(),
                                "GridVectorMap::to_vector: field of shape ",
                                shape_text(field.sizes()),
                                " has ",
                                field.numel(),
                                " values, the grid has ",
                                grid_.cell_count(),
                                " cells");
  const auto host = field.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  const double* data = host.data_ptr<double>();
  values.resize(unknown_count());
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    values[static_cast<Eigen::Index>(i)] = data[cells_[i]];
  }
}

GridStencil::GridStencil(const linear::FlagGrid& grid,
                         double scale,
                         torch::ScalarType dtype,
                         torch::Device device)
    : dimension_(grid.dimension()), scale_(scale), spatial_(spatial_shape(grid)) {
  // diag_c = number of face neighbours that are fluid or air (Neumann walls, solids and
  // cells beyond the grid do not count), the diagonal of the assembled matrix.
  auto fluid = torch::zeros(field_shape(grid), torch::TensorOptions().dtype(torch::kFloat64));
  auto diagonal = torch::zeros_like(fluid);
  double* fluid_data = fluid.data_ptr<double>();
  double* diagonal_data = diagonal.data_ptr<double>();
  const int dimension = grid.dimension();
  for (int z = 0; z < grid.nz(); ++z) {
    for (int y = 0; y < grid.ny(); ++y) {
      for (int x = 0; x < grid.nx(); ++x) {
        if (grid(x, y, z) != CellFlag::kFluid) continue;
        const std::int64_t cell = grid.index(x, y, z);
        fluid_data[cell] = 1.0;
        const int position[3] = {x, y, z};
        int count = 0;
        for (int axis = 0; axis < dimension; ++axis) {
          for (const int step : {-1, +1}) {
            int neighbour[3] = {x, y, z};
            neighbour[axis] = position[axis] + step;
            if (!grid.contains(neighbour[0], neighbour[1], neighbour[2])) continue;
            const CellFlag flag = grid(neighbour[0], neighbour[1], neighbour[2]);
            if (flag == CellFlag::kFluid || flag == CellFlag::kAir) ++count;
          }
        }
        diagonal_data[cell] = count;
      }
    }
  }
  fluid_ = fluid.to(device, dtype);
  diagonal_ = diagonal.to(device, dtype);
}

torch::Tensor GridStencil::neighbour_sum(const torch::Tensor& fields) const {
  // Zero padding by one cell on every side: beyond the grid nothing couples (Neumann).
  std::vector<std::int64_t> padding(static_cast<std::size_t>(2 * dimension_), 1);
  const auto padded = torch::constant_pad_nd(fields, padding, 0.0);
  const std::int64_t first_spatial = 2;
  // The window of the padded tensor shifted by `offset` (0, 1 or 2) along each axis.
  auto window = [&](const std::vector<std::int64_t>& offsets) {
    auto view = padded;
    for (std::size_t d = 0; d < spatial_.size(); ++d) {
      view = view.narrow(first_spatial + static_cast<std::int64_t>(d), offsets[d], spatial_[d]);
    }
    return view;
  };
  torch::Tensor sum;
  for (std::size_t d = 0; d < spatial_.size(); ++d) {
    for (const std::int64_t offset : {std::int64_t{0}, std::int64_t{2}}) {
      std::vector<std::int64_t> offsets(spatial_.size(), 1);
      offsets[d] = offset;
      sum = sum.defined() ? sum + window(offsets) : window(offsets);
    }
  }
  return sum;
}

torch::Tensor GridStencil::apply(const torch::Tensor& fields) const {
  const auto rank = static_cast<std::int64_t>(spatial_.size()) + 2;
  bool shape_ok = fields.dim() == rank && fields.size(1) == 1;
  for (std::size_t d = 0; shape_ok && d < spatial_.size(); ++d) {
    shape_ok = fields.size(static_cast<std::int64_t>(d) + 2) == spatial_[d];
  }
  require<InvalidArgumentError>(shape_ok,
                                "GridStencil::apply: fields of shape ",
                                shape_text(fields.sizes()),
                                " do not match the grid, expected [batch, 1, ",
                                shape_text(spatial_).substr(1));
  const auto fluid = fluid_.to(fields.options());
  const auto diagonal = diagonal_.to(fields.options());

  // (A q)_c = scale * fluid_c * (diag_c q_c - sum_n fluid_n q_n)
  const auto masked = fields * fluid;
  return (diagonal * masked - neighbour_sum(masked) * fluid) * scale_;
}

}  // namespace deepnum::dcdm
