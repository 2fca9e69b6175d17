// Fields on a staggered (MAC) grid and semi-Lagrangian advection.
//
// Positions are in cell units, x / h, measured from the domain's lower corner, so cell
// (i, j, k) spans [i, i+1] x [j, j+1] x [k, k+1]. Cell-centred quantities (density,
// temperature, pressure) sit at (i + 1/2, j + 1/2, k + 1/2); the velocity component
// normal to axis a sits at the centres of the faces normal to a, e.g. u(i, j, k) at
// (i, j + 1/2, k + 1/2) for i = 0..nx. Velocities are physical (metres per second); the
// grid spacing h converts them to cells per second. Storage is x fastest everywhere.
// In 2D, nz = 1 and the z velocity is absent (an empty field).
// Thread safety: const members may be called concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace deepnum::smoke {

// Samples of one quantity on a regular lattice: sample (i, j, k) sits at position
// (i + offset[0], j + offset[1], k + offset[2]) in cell units.
class GridField {
 public:
  GridField() = default;
  GridField(std::array<int, 3> size, std::array<double, 3> offset, double fill = 0.0);

  // A cell-centred field on `cells` (offset 1/2 on every axis).
  static GridField cell_centred(std::array<int, 3> cells, double fill = 0.0);

  const std::array<int, 3>& size() const { return size_; }
  const std::array<double, 3>& offset() const { return offset_; }
  std::int64_t sample_count() const { return static_cast<std::int64_t>(values_.size()); }
  bool empty() const { return values_.empty(); }

  std::int64_t index(int i, int j, int k) const {
    return i + static_cast<std::int64_t>(size_[0]) * (j + static_cast<std::int64_t>(size_[1]) * k);
  }
  double operator()(int i, int j, int k) const { return values_[index(i, j, k)]; }
  double& operator()(int i, int j, int k) { return values_[index(i, j, k)]; }
  double operator[](std::int64_t sample) const { return values_[sample]; }
  double& operator[](std::int64_t sample) { return values_[sample]; }
  const std::vector<double>& values() const { return values_; }
  std::vector<double>& values() { return values_; }

  // Position of sample (i, j, k) in cell units.
  Eigen::Vector3d position(int i, int j, int k) const {
    return {i + offset_[0], j + offset_[1], k + offset_[2]};
  }

  // Trilinear interpolation at `position` (cell units); positions beyond the outermost
  // samples take the value of the nearest boundary sample (clamped). Along an axis with
  // one sample the field is constant.
  double interpolate(const Eigen::Vector3d& position) const;

  // max |value| (0 for an empty field).
  double max_abs() const;

 private:
  std::array<int, 3> size_{0, 0, 0};
  std::array<double, 3> offset_{0.5, 0.5, 0.5};
  std::vector<double> values_;
};

// Face-normal velocity components of a MAC grid with `cells` cells of spacing h.
class MacVelocity {
 public:
  MacVelocity() = default;
  // Throws InvalidArgumentError for a dimension other than 2 or 3, nz != 1 in 2D, a
  // non-positive cell count or spacing.
  MacVelocity(int dimension, std::array<int, 3> cells, double spacing);

  int dimension() const { return dimension_; }
  const std::array<int, 3>& cells() const { return cells_; }
  double spacing() const { return spacing_; }

  // The component normal to `axis` (0 = x, 1 = y, 2 = z) on its faces: size cells + 1
  // along `axis`. Empty for axis 2 in 2D.
  const GridField& component(int axis) const { return components_[axis]; }
  GridField& component(int axis) { return components_[axis]; }

  // The velocity vector (m/s) at a position in cell units, each component interpolated
  // from its own faces.
  Eigen::Vector3d at(const Eigen::Vector3d& position) const;

  // Net outward flux of cell (i, j, k) per unit face area (m/s): sum over its faces of
  // the outward normal velocity, i.e. h * div u.
  double net_outflow(int i, int j, int k) const;

  // The largest |face velocity| of any component (m/s).
  double max_abs() const;

  // Cell-centred averages of the face velocities, as (x, y, z) triples per cell
  // (x fastest, 3 values per cell; z = 0 in 2D): for output and visualization.
  std::vector<double> cell_centred_vectors() const;

 private:
  int dimension_ = 3;
  std::array<int, 3> cells_{0, 0, 0};
  double spacing_ = 1.0;
  std::array<GridField, 3> components_;
};

// The departure point of the path that arrives at `position` (cell units) after `dt`
// seconds: second-order Runge-Kutta (midpoint) backwards through `velocity`, each stage
// clamped to the domain [0, cells] so that samples never leave the grid.
Eigen::Vector3d backtrace(const MacVelocity& velocity, const Eigen::Vector3d& position, double dt);

// Semi-Lagrangian advection: advected(s) = field(backtrace(position(s))) for every sample
// s of `field` (Stam, "Stable fluids", SIGGRAPH 1999). `advected` is resized to match.
void advect_field(const MacVelocity& velocity,
                  double dt,
                  const GridField& field,
                  GridField& advected);

// Advects every velocity component through the velocity field itself (old values only).
MacVelocity advect_velocity(const MacVelocity& velocity, double dt);

}  // namespace deepnum::smoke
