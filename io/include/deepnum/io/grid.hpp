// Fields on regular (uniform, axis-aligned) 2D and 3D grids of cells.
//
// A grid group carries the geometry as attributes, listed x first:
//   dimension  int64            2 or 3
//   cells      int64[dimension] cells along x, y (, z)
//   spacing    float64[dim]     cell size along x, y (, z), in the caller's length unit
//   origin     float64[dim]     position of the lower corner of cell (0, 0, 0)
//   axis_order string           "zyx" (3D) or "yx" (2D): the order of the array axes
// and each field is a dataset in that group. Arrays are C order with x fastest, so the
// on-disk shape is (nz, ny, nx) in 3D and (ny, nx) in 2D, and the memory index of cell
// (x, y, z) is x + nx * (y + ny * z); numpy reads field[z, y, x]. A vector field adds a
// trailing axis of 3 components (x, y, z), also in 2D (z component then usually 0), so
// ParaView shows it as a vector: shape (nz, ny, nx, 3) or (ny, nx, 3), memory index
// c + 3 * (x + nx * (y + ny * z)).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "deepnum/io/dataset.hpp"

namespace deepnum::io {

// Components of a vector field.
inline constexpr std::uint64_t kVectorComponents = 3;

struct GridGeometry {
  int dimension = 3;                             // 2 or 3
  std::array<int, 3> cells{1, 1, 1};             // nx, ny, nz; nz = 1 in 2D
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // dx, dy, dz > 0 (dz unused in 2D)
  std::array<double, 3> origin{0.0, 0.0, 0.0};   // lower corner (oz unused in 2D)

  // Throws OptionError unless dimension is 2 or 3, cells >= 1 (nz = 1 in 2D), spacing
  // positive and finite and origin finite.
  void validate() const;
  // nx * ny * nz.
  std::uint64_t cell_count() const;
  // (nz, ny, nx) in 3D, (ny, nx) in 2D.
  Shape field_shape() const;
  // field_shape() + (3,).
  Shape vector_field_shape() const;
};

// Writes the geometry attributes on group_path (created when missing).
void write_grid_geometry(File& file, const std::string& group_path, const GridGeometry& geometry);

// Reads and validates the geometry attributes of group_path. Throws ObjectNotFoundError
// when an attribute is missing and CorruptFileError when they contradict each other.
GridGeometry read_grid_geometry(const File& file, const std::string& group_path);

namespace detail {
// Writes the geometry on a group that has none; for a group that has one, throws
// ShapeMismatchError unless it equals geometry (fields of one group share one grid).
void ensure_grid_geometry(File& file, const std::string& group_path, const GridGeometry& geometry);

// Throws ShapeMismatchError unless the dataset group/name has the expected shape,
// naming both shapes and the geometry.
void require_grid_shape(const File& file,
                        const std::string& dataset_path,
                        const Shape& expected,
                        const GridGeometry& geometry);
}  // namespace detail

// Writes a scalar field of geometry.cell_count() values (x fastest) as group/name.
// Writes the geometry attributes too, so a group is complete after its first field; a
// group whose stored geometry differs throws ShapeMismatchError.
template <class T>
void write_grid_field(File& file,
                      const std::string& group_path,
                      const std::string& name,
                      const T* values,
                      const GridGeometry& geometry,
                      const WriteOptions& options = {}) {
  geometry.validate();
  detail::ensure_grid_geometry(file, group_path, geometry);
  write_dataset<T>(file, group_path + "/" + name, values, geometry.field_shape(), options);
}

// Writes a vector field of 3 * geometry.cell_count() values (components fastest).
template <class T>
void write_grid_vector_field(File& file,
                             const std::string& group_path,
                             const std::string& name,
                             const T* values,
                             const GridGeometry& geometry,
                             const WriteOptions& options = {}) {
  geometry.validate();
  detail::ensure_grid_geometry(file, group_path, geometry);
  write_dataset<T>(file, group_path + "/" + name, values, geometry.vector_field_shape(), options);
}

// Reads a scalar field (x fastest) after checking its shape against the group's
// geometry. Element type strict (DtypeMismatchError).
template <class T>
std::vector<T> read_grid_field(const File& file,
                               const std::string& group_path,
                               const std::string& name) {
  const GridGeometry geometry = read_grid_geometry(file, group_path);
  const std::string path = group_path + "/" + name;
  detail::require_grid_shape(file, path, geometry.field_shape(), geometry);
  std::vector<T> values(geometry.cell_count());
  read_dataset_raw(file, path, dtype_of<T>(), values.data(), geometry.field_shape());
  return values;
}

// Reads a vector field (components fastest) after checking its shape.
template <class T>
std::vector<T> read_grid_vector_field(const File& file,
                                      const std::string& group_path,
                                      const std::string& name) {
  const GridGeometry geometry = read_grid_geometry(file, group_path);
  const std::string path = group_path + "/" + name;
  detail::require_grid_shape(file, path, geometry.vector_field_shape(), geometry);
  std::vector<T> values(geometry.cell_count() * kVectorComponents);
  read_dataset_raw(file, path, dtype_of<T>(), values.data(), geometry.vector_field_shape());
  return values;
}

}  // namespace deepnum::io
