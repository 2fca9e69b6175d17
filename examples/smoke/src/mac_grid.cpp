#include "deepnum/smoke/mac_grid.hpp"

#include <algorithm>
#include <cmath>

#include "deepnum/core/error.hpp"

namespace deepnum::smoke {
namespace {

// Lower lattice index and weight of the upper neighbour along one axis, for a coordinate
// already shifted by the lattice offset and clamped to [0, size - 1].
struct AxisWeight {
  int lower;
  int upper;
  double upper_weight;
};

AxisWeight axis_weight(double coordinate, int size) {
  // Written so that a NaN coordinate lands on sample 0 instead of an undefined cast.
  const double clamped = coordinate > 0 ? std::min(coordinate, static_cast<double>(size - 1)) : 0.0;
  const int lower = std::min(static_cast<int>(clamped), std::max(size - 2, 0));
  const int upper = std::min(lower + 1, size - 1);
  return {lower, upper, clamped - lower};
}

}  // namespace

GridField::GridField(std::array<int, 3> size, std::array<double, 3> offset, double fill)
    : size_(size), offset_(offset) {
  for (int axis = 0; axis < 3; ++axis) {
    require<InvalidArgumentError>(
        size[axis] > 0, "GridField: size along axis ", axis, " must be > 0, got ", size[axis]);
  }
  values_.assign(static_cast<std::size_t>(size[0]) * size[1] * size[2], fill);
}

GridField GridField::cell_centred(std::array<int, 3> cells, double fill) {
  return GridField(cells, {0.5, 0.5, 0.5}, fill);
}

double GridField::interpolate(const Eigen::Vector3d& position) const {
  const AxisWeight wx = axis_weight(position.x() - offset_[0], size_[0]);
  const AxisWeight wy = axis_weight(position.y() - offset_[1], size_[1]);
  const AxisWeight wz = axis_weight(position.z() - offset_[2], size_[2]);
  // Bilinear in each of the two z planes, then linear between them.
  auto plane = [&](int k) {
    const double lower_row = (1 - wx.upper_weight) * (*this)(wx.lower, wy.lower, k) +
                             wx.upper_weight * (*this)(wx.upper, wy.lower, k);
    const double upper_row = (1 - wx.upper_weight) * (*this)(wx.lower, wy.upper, k) +
                             wx.upper_weight * (*this)(wx.upper, wy.upper, k);
    return (1 - wy.upper_weight) * lower_row + wy.upper_weight * upper_row;
  };
  if (wz.upper_weight == 0) return plane(wz.lower);
  return (1 - wz.upper_weight) * plane(wz.lower) + wz.upper_weight * plane(wz.upper);
}

double GridField::max_abs() const {
  double largest = 0.0;
  for (double value : values_) largest = std::max(largest, std::abs(value));
  return largest;
}

MacVelocity::MacVelocity(int dimension, std::array<int, 3> cells, double spacing)
    : dimension_(dimension), cells_(cells), spacing_(spacing) {
  require<InvalidArgumentError>(
      dimension == 2 || dimension == 3, "MacVelocity: dimension must be 2 or 3, got ", dimension);
  require<InvalidArgumentError>(
      dimension == 3 || cells[2] == 1, "MacVelocity: a 2D grid needs nz = 1, got nz = ", cells[2]);
  require<InvalidArgumentError>(spacing > 0 && std::isfinite(spacing),
                                "MacVelocity: spacing must be finite and > 0, got ",
                                spacing);
  for (int axis = 0; axis < dimension; ++axis) {
    std::array<int, 3> size = cells;
    std::array<double, 3> offset{0.5, 0.5, 0.5};
    size[axis] += 1;
    offset[axis] = 0.0;
    components_[axis] = GridField(size, offset);
  }
}

Eigen::Vector3d MacVelocity::at(const Eigen::Vector3d& position) const {
  Eigen::Vector3d velocity = Eigen::Vector3d::Zero();
  for (int axis = 0; axis < dimension_; ++axis) {
    velocity[axis] = components_[axis].interpolate(position);
  }
  return velocity;
}

double MacVelocity::net_outflow(int i, int j, int k) const {
  // h div u = (u(i+1) - u(i)) + (v(j+1) - v(j)) + (w(k+1) - w(k))
  double outflow = components_[0](i + 1, j, k) - components_[0](i, j, k);
  outflow += components_[1](i, j + 1, k) - components_[1](i, j, k);
  if (dimension_ == 3) outflow += components_[2](i, j, k + 1) - components_[2](i, j, k);
  return outflow;
}

double MacVelocity::max_abs() const {
  double largest = 0.0;
  for (int axis = 0; axis < dimension_; ++axis) {
    largest = std::max(largest, components_[axis].max_abs());
  }
  return largest;
}

std::vector<double> MacVelocity::cell_centred_vectors() const {
  std::vector<double> vectors(3 * static_cast<std::size_t>(cells_[0]) * cells_[1] * cells_[2], 0.0);
  std::size_t next = 0;
  for (int k = 0; k < cells_[2]; ++k) {
    for (int j = 0; j < cells_[1]; ++j) {
      for (int i = 0; i < cells_[0]; ++i) {
        vectors[next] = 0.5 * (components_[0](i, j, k) + components_[0](i + 1, j, k));
        vectors[next + 1] = 0.5 * (components_[1](i, j, k) + components_[1](i, j + 1, k));
        if (dimension_ == 3) {
          vectors[next + 2] = 0.5 * (components_[2](i, j, k) + components_[2](i, j, k + 1));
        }
        next += 3;
      }
    }
  }
  return vectors;
}

Eigen::Vector3d backtrace(const MacVelocity& velocity, const Eigen::Vector3d& position, double dt) {
  const Eigen::Vector3d upper(velocity.cells()[0], velocity.cells()[1], velocity.cells()[2]);
  const double cells_per_metre = 1.0 / velocity.spacing();
  auto clamp_to_domain = [&](const Eigen::Vector3d& point) {
    return point.cwiseMax(Eigen::Vector3d::Zero()).cwiseMin(upper).eval();
  };
  // x_mid = x - dt/2 u(x);  x_departure = x - dt u(x_mid)
  const Eigen::Vector3d midpoint =
      clamp_to_domain(position - 0.5 * dt * cells_per_metre * velocity.at(position));
  return clamp_to_domain(position - dt * cells_per_metre * velocity.at(midpoint));
}

void advect_field(const MacVelocity& velocity,
                  double dt,
                  const GridField& field,
                  GridField& advected) {
  if (advected.size() != field.size() || advected.offset() != field.offset()) {
    advected = GridField(field.size(), field.offset());
  }
  const std::array<int, 3>& size = field.size();
  for (int k = 0; k < size[2]; ++k) {
    for (int j = 0; j < size[1]; ++j) {
      for (int i = 0; i < size[0]; ++i) {
        const Eigen::Vector3d departure = backtrace(velocity, field.position(i, j, k), dt);
        advected(i, j, k) = field.interpolate(departure);
      }
    }
  }
}

MacVelocity advect_velocity(const MacVelocity& velocity, double dt) {
  MacVelocity advected(velocity.dimension(), velocity.cells(), velocity.spacing());
  for (int axis = 0; axis < velocity.dimension(); ++axis) {
    advect_field(velocity, dt, velocity.component(axis), advected.component(axis));
  }
  return advected;
}

}  // namespace deepnum::smoke
