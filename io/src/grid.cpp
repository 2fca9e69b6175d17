#include "deepnum/io/grid.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "deepnum/core/options.hpp"
#include "deepnum/io/attributes.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

std::string axis_order_for(int dimension) {
  return dimension == 3 ? "zyx" : "yx";
}

std::string describe_geometry(const GridGeometry& geometry) {
  std::ostringstream text;
  text << geometry.dimension << "D grid of " << geometry.cells[0] << " x " << geometry.cells[1];
  if (geometry.dimension == 3) text << " x " << geometry.cells[2];
  text << " cells (nx, ny" << (geometry.dimension == 3 ? ", nz" : "") << ")";
  return text.str();
}

std::string list_text(const std::array<int, 3>& values) {
  return "[" + std::to_string(values[0]) + ", " + std::to_string(values[1]) + ", " +
         std::to_string(values[2]) + "]";
}

std::string list_text(const std::array<double, 3>& values) {
  std::ostringstream text;
  text << "[" << values[0] << ", " << values[1] << ", " << values[2] << "]";
  return text.str();
}

}  // namespace

void GridGeometry::validate() const {
  require_option(
      dimension == 2 || dimension == 3, "GridGeometry", "dimension", dimension, "must be 2 or 3");
  require_option(cells[0] >= 1 && cells[1] >= 1 && cells[2] >= 1,
                 "GridGeometry",
                 "cells",
                 list_text(cells),
                 "every entry must be >= 1");
  require_option(dimension == 3 || cells[2] == 1,
                 "GridGeometry",
                 "cells",
                 list_text(cells),
                 "nz must be 1 in 2D");
  for (int axis = 0; axis < dimension; ++axis) {
    require_option(std::isfinite(spacing[axis]) && spacing[axis] > 0,
                   "GridGeometry",
                   "spacing",
                   list_text(spacing),
                   "must be finite and > 0 along each used axis");
    require_option(
        std::isfinite(origin[axis]), "GridGeometry", "origin", list_text(origin), "must be finite");
  }
}

std::uint64_t GridGeometry::cell_count() const {
  return static_cast<std::uint64_t>(cells[0]) * static_cast<std::uint64_t>(cells[1]) *
         static_cast<std::uint64_t>(cells[2]);
}

Shape GridGeometry::field_shape() const {
  const auto nx = static_cast<std::uint64_t>(cells[0]);
  const auto ny = static_cast<std::uint64_t>(cells[1]);
  const auto nz = static_cast<std::uint64_t>(cells[2]);
  return dimension == 3 ? Shape{nz, ny, nx} : Shape{ny, nx};
}

Shape GridGeometry::vector_field_shape() const {
  Shape shape = field_shape();
  shape.push_back(kVectorComponents);
  return shape;
}

void write_grid_geometry(File& file, const std::string& group_path, const GridGeometry& geometry) {
  geometry.validate();
  const auto lock = detail::lock_hdf5();
  const auto used = static_cast<std::size_t>(geometry.dimension);
  std::vector<std::int64_t> cells(geometry.cells.begin(), geometry.cells.begin() + used);
  std::vector<double> spacing(geometry.spacing.begin(), geometry.spacing.begin() + used);
  std::vector<double> origin(geometry.origin.begin(), geometry.origin.begin() + used);
  write_attribute(file, group_path, "dimension", geometry.dimension);
  write_attribute(file, group_path, "cells", cells);
  write_attribute(file, group_path, "spacing", spacing);
  write_attribute(file, group_path, "origin", origin);
  write_attribute(file, group_path, "axis_order", axis_order_for(geometry.dimension));
}

GridGeometry read_grid_geometry(const File& file, const std::string& group_path) {
  const auto lock = detail::lock_hdf5();
  const std::string group = detail::normalize_path(group_path);
  if (detail::object_type(file, group) != H5O_TYPE_GROUP) {
    detail::throw_not_found(file, group, "grid group");
  }
  const std::string where = "grid group " + detail::describe(file, group);

  GridGeometry geometry;
  geometry.dimension = read_attribute<int>(file, group, "dimension");
  require<CorruptFileError>(geometry.dimension == 2 || geometry.dimension == 3,
                            where,
                            ": attribute 'dimension' = ",
                            geometry.dimension,
                            ", expected 2 or 3");
  const auto used = static_cast<std::size_t>(geometry.dimension);
  const auto cells = read_attribute<std::vector<std::int64_t>>(file, group, "cells");
  const auto spacing = read_attribute<std::vector<double>>(file, group, "spacing");
  const auto origin = read_attribute<std::vector<double>>(file, group, "origin");
  require<CorruptFileError>(cells.size() == used && spacing.size() == used && origin.size() == used,
                            where,
                            ": attributes 'cells', 'spacing', 'origin' must have ",
                            used,
                            " entries (dimension), found ",
                            cells.size(),
                            ", ",
                            spacing.size(),
                            ", ",
                            origin.size());
  if (has_attribute(file, group, "axis_order")) {
    const auto order = read_attribute<std::string>(file, group, "axis_order");
    require<CorruptFileError>(order == axis_order_for(geometry.dimension),
                              where,
                              ": attribute 'axis_order' = '",
                              order,
                              "', expected '",
                              axis_order_for(geometry.dimension),
                              "'");
  }
  for (std::size_t axis = 0; axis < used; ++axis) {
    require<CorruptFileError>(cells[axis] >= 1 && cells[axis] <= std::numeric_limits<int>::max(),
                              where,
                              ": cells[",
                              axis,
                              "] = ",
                              cells[axis],
                              " is not a valid cell count");
    geometry.cells[axis] = static_cast<int>(cells[axis]);
    geometry.spacing[axis] = spacing[axis];
    geometry.origin[axis] = origin[axis];
  }
  try {
    geometry.validate();
  } catch (const OptionError& error) {
    throw CorruptFileError(where + ": " + error.what());
  }
  return geometry;
}

void detail::ensure_grid_geometry(File& file,
                                  const std::string& group_path,
                                  const GridGeometry& geometry) {
  const auto lock = detail::lock_hdf5();
  if (!has_attribute(file, group_path, "dimension")) {
    write_grid_geometry(file, group_path, geometry);
    return;
  }
  const GridGeometry stored = read_grid_geometry(file, group_path);
  // Only the axes in use count: spacing and origin along z mean nothing in 2D.
  bool same = stored.dimension == geometry.dimension && stored.cells == geometry.cells;
  for (int axis = 0; same && axis < geometry.dimension; ++axis) {
    const auto a = static_cast<std::size_t>(axis);
    same = stored.spacing[a] == geometry.spacing[a] && stored.origin[a] == geometry.origin[a];
  }
  if (!same) {
    throw ShapeMismatchError(
        "grid group " + describe(file, group_path) + " holds a " + describe_geometry(stored) +
        ", spacing " + list_text(stored.spacing) + ", origin " + list_text(stored.origin) +
        "; the field to write is on a " + describe_geometry(geometry) + ", spacing " +
        list_text(geometry.spacing) + ", origin " + list_text(geometry.origin));
  }
}

void detail::require_grid_shape(const File& file,
                                const std::string& dataset_path,
                                const Shape& expected,
                                const GridGeometry& geometry) {
  const Shape stored = dataset_shape(file, dataset_path);
  if (stored == expected) return;
  throw ShapeMismatchError("grid field " + describe(file, dataset_path) + ": expected shape " +
                           to_string(expected) + " for the " + describe_geometry(geometry) +
                           ", found " + to_string(stored));
}

}  // namespace deepnum::io
