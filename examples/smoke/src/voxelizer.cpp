#include "deepnum/smoke/voxelizer.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <Eigen/Geometry>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"

namespace deepnum::smoke {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Where the ray of one grid row crosses the mesh: row number and depth along the ray,
// in cell-centre index units (cell k of the row has its centre at depth k).
struct RowCrossing {
  std::int64_t row;
  double depth;
  bool operator<(const RowCrossing& other) const {
    return row != other.row ? row < other.row : depth < other.depth;
  }
};

// Sign of the edge function of the directed edge (u -> v) at point x, as if x were moved
// by (eps, eps^2) for an infinitesimal eps (simulation of simplicity). The function is
// always evaluated with the lower vertex index first, so the two triangles sharing an
// edge compute bitwise the same number with opposite signs and a ray through the edge is
// claimed by exactly one of them. Returns the (unperturbed) value too, for barycentrics.
int edge_sign(
    const Eigen::Vector2d* projected, int u, int v, const Eigen::Vector2d& x, double& value) {
  int orientation = 1;
  if (u > v) {
    std::swap(u, v);
    orientation = -1;
  }
  const Eigen::Vector2d& a = projected[u];
  const Eigen::Vector2d& b = projected[v];
  const double dx = b.x() - a.x();
  const double dy = b.y() - a.y();
  // e = (b - a) x (x - a)
  const double e = dx * (x.y() - a.y()) - dy * (x.x() - a.x());
  value = orientation * e;
  if (e > 0) return orientation;
  if (e < 0) return -orientation;
  // e(x + (eps, eps^2)) = e + dx eps^2 - dy eps
  if (dy != 0) return dy > 0 ? -orientation : orientation;
  if (dx != 0) return dx > 0 ? orientation : -orientation;
  return 0;  // degenerate edge
}

// The rows whose centres lie in [lower, upper] (cell-centre index units), clamped to the
// grid before any conversion to int, so that far-away or huge meshes cannot overflow.
int first_row(double lower, int cells) {
  return static_cast<int>(std::ceil(lower > 0 ? std::min(lower, 1.0 * cells) : 0.0));
}
int last_row(double upper, int cells) {
  return static_cast<int>(std::floor(upper < cells - 1.0 ? std::max(upper, -1.0) : cells - 1.0));
}

// Crossings of every row along `axis` with the mesh, sorted by row then depth.
std::vector<RowCrossing> find_row_crossings(const TriangleMesh& mesh,
                                            const GridFrame& frame,
                                            int axis) {
  const int b_axis = (axis + 1) % 3;
  const int c_axis = (axis + 2) % 3;
  const int b_cells = frame.cells[b_axis];
  const int c_cells = frame.cells[c_axis];

  // Vertex coordinates in cell-centre index units: q = (p - origin) / h - 1/2.
  const std::size_t vertex_count = mesh.vertices.size();
  std::vector<Eigen::Vector2d> projected(vertex_count);
  std::vector<double> depth(vertex_count);
  for (std::size_t v = 0; v < vertex_count; ++v) {
    const Eigen::Vector3d q =
        (mesh.vertices[v] - frame.origin) / frame.spacing - Eigen::Vector3d::Constant(0.5);
    projected[v] = Eigen::Vector2d(q[b_axis], q[c_axis]);
    depth[v] = q[axis];
  }

  std::vector<RowCrossing> crossings;
  for (const auto& triangle : mesh.triangles) {
    const Eigen::Vector2d& p0 = projected[triangle[0]];
    const Eigen::Vector2d& p1 = projected[triangle[1]];
    const Eigen::Vector2d& p2 = projected[triangle[2]];
    const int b_first = first_row(std::min({p0.x(), p1.x(), p2.x()}), b_cells);
    const int b_last = last_row(std::max({p0.x(), p1.x(), p2.x()}), b_cells);
    const int c_first = first_row(std::min({p0.y(), p1.y(), p2.y()}), c_cells);
    const int c_last = last_row(std::max({p0.y(), p1.y(), p2.y()}), c_cells);

    for (int c = c_first; c <= c_last; ++c) {
      for (int b = b_first; b <= b_last; ++b) {
        const Eigen::Vector2d x(b, c);
        // Edge k is opposite corner k; its value is corner k's barycentric weight (scaled).
        double e0 = 0, e1 = 0, e2 = 0;
        const int s0 = edge_sign(projected.data(), triangle[1], triangle[2], x, e0);
        const int s1 = edge_sign(projected.data(), triangle[2], triangle[0], x, e1);
        const int s2 = edge_sign(projected.data(), triangle[0], triangle[1], x, e2);
        if (s0 == 0 || s0 != s1 || s1 != s2) continue;
        const double total = e0 + e1 + e2;
        if (total == 0) continue;  // edge-on triangle: the ray runs within its plane
        // Depth of the crossing: barycentric combination of the corners' depths.
        const double crossing_depth =
            (e0 * depth[triangle[0]] + e1 * depth[triangle[1]] + e2 * depth[triangle[2]]) / total;
        crossings.push_back({static_cast<std::int64_t>(c) * b_cells + b, crossing_depth});
      }
    }
  }
  std::sort(crossings.begin(), crossings.end());
  return crossings;
}

}  // namespace

void GridFrame::validate() const {
  for (int axis = 0; axis < 3; ++axis) {
    require_option(cells[axis] > 0,
                   "GridFrame",
                   axis == 0   ? "cells[0]"
                   : axis == 1 ? "cells[1]"
                               : "cells[2]",
                   cells[axis],
                   "must be > 0");
  }
  require_option(spacing > 0 && std::isfinite(spacing),
                 "GridFrame",
                 "spacing",
                 spacing,
                 "must be finite and > 0");
  require_option(origin.allFinite(), "GridFrame", "origin", origin.transpose(), "must be finite");
}

std::vector<std::uint8_t> voxelize(const TriangleMesh& mesh,
                                   const GridFrame& frame,
                                   VoxelizeSummary* summary) {
  frame.validate();
  const Stopwatch stopwatch;
  const std::int64_t cell_count = frame.cell_count();
  std::vector<std::uint8_t> inside_votes(cell_count, 0);
  std::vector<std::uint8_t> outside_votes(cell_count, 0);
  std::array<std::int64_t, 3> odd_rows{0, 0, 0};
  const std::array<std::int64_t, 3> stride{
      1, frame.cells[0], static_cast<std::int64_t>(frame.cells[0]) * frame.cells[1]};

  for (int axis = 0; axis < 3; ++axis) {
    const int b_axis = (axis + 1) % 3;
    const int c_axis = (axis + 2) % 3;
    const std::vector<RowCrossing> crossings = find_row_crossings(mesh, frame, axis);
    std::size_t next = 0;
    for (int c = 0; c < frame.cells[c_axis]; ++c) {
      for (int b = 0; b < frame.cells[b_axis]; ++b) {
        const std::int64_t row = static_cast<std::int64_t>(c) * frame.cells[b_axis] + b;
        const std::size_t row_begin = next;
        while (next < crossings.size() && crossings[next].row == row) ++next;
        const std::size_t row_end = next;
        const std::int64_t first_cell = b * stride[b_axis] + c * stride[c_axis];

        // An odd count means the ray entered and never left (a hole, or mesh outside
        // the frame along this row): this axis abstains for the whole row.
        if ((row_end - row_begin) % 2 == 1) {
          ++odd_rows[axis];
          continue;
        }
        // Parity: a cell centre is inside when an odd number of crossings lie before it.
        std::size_t crossed = row_begin;
        for (int k = 0; k < frame.cells[axis]; ++k) {
          while (crossed < row_end && crossings[crossed].depth < k) ++crossed;
          const std::int64_t cell = first_cell + k * stride[axis];
          if ((crossed - row_begin) % 2 == 1) {
            ++inside_votes[cell];
          } else {
            ++outside_votes[cell];
          }
        }
      }
    }
  }

  std::vector<std::uint8_t> inside(cell_count, 0);
  std::int64_t inside_cells = 0;
  std::int64_t disputed_cells = 0;
  for (std::int64_t cell = 0; cell < cell_count; ++cell) {
    inside[cell] = inside_votes[cell] > outside_votes[cell] ? 1 : 0;
    inside_cells += inside[cell];
    if (inside_votes[cell] > 0 && outside_votes[cell] > 0) ++disputed_cells;
  }
  log::debug("voxelize: {} of {} cells inside, {} disputed, odd rows x/y/z {}/{}/{}, {:.3f} s",
             inside_cells,
             cell_count,
             disputed_cells,
             odd_rows[0],
             odd_rows[1],
             odd_rows[2],
             stopwatch.seconds());
  if (summary != nullptr) {
    *summary = {inside_cells, odd_rows, disputed_cells, stopwatch.seconds()};
  }
  return inside;
}

double winding_number(const TriangleMesh& mesh, const Eigen::Vector3d& point) {
  // Solid angle of triangle (a, b, c) seen from the origin (Van Oosterom and Strackee,
  // IEEE Trans. Biomed. Eng. 30(2), 1983):
  //   tan(Omega / 2) = a . (b x c) / (|a||b||c| + (a.b)|c| + (a.c)|b| + (b.c)|a|)
  double total_angle = 0.0;
  for (const auto& triangle : mesh.triangles) {
    const Eigen::Vector3d a = mesh.vertices[triangle[0]] - point;
    const Eigen::Vector3d b = mesh.vertices[triangle[1]] - point;
    const Eigen::Vector3d c = mesh.vertices[triangle[2]] - point;
    const double la = a.norm();
    const double lb = b.norm();
    const double lc = c.norm();
    const double numerator = a.dot(b.cross(c));
    const double denominator = la * lb * lc + a.dot(b) * lc + a.dot(c) * lb + b.dot(c) * la;
    total_angle += 2.0 * std::atan2(numerator, denominator);
  }
  return total_angle / (4.0 * kPi);
}

}  // namespace deepnum::smoke
