// Triangle meshes for solid obstacles: a Wavefront OBJ reader and the few measures the
// voxelizer and its tests need (bounding box, signed volume, surface area, placement).
//
// Units are those of the file until place_mesh() maps the mesh into a simulation domain.
// Triangles are stored counter-clockwise as seen from outside for a consistently oriented
// closed mesh, which then has a positive signed volume.
// Thread safety: free functions on const meshes may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include <Eigen/Core>

namespace deepnum::smoke {

struct TriangleMesh {
  std::vector<Eigen::Vector3d> vertices;
  std::vector<std::array<int, 3>> triangles;  // 0-based indices into vertices
};

struct BoundingBox {
  Eigen::Vector3d lower = Eigen::Vector3d::Zero();
  Eigen::Vector3d upper = Eigen::Vector3d::Zero();

  Eigen::Vector3d extent() const { return upper - lower; }
  Eigen::Vector3d centre() const { return 0.5 * (lower + upper); }
};

// Reads the vertices (`v x y z [w]`) and faces (`f` with references `i`, `i/t`, `i/t/n`
// or `i//n`, 1-based or negative = relative to the last vertex read) of an OBJ file.
// Polygons with more than three corners are split into a fan of triangles around their
// first corner. Texture coordinates, normals, groups, materials, smoothing groups and
// other statements are skipped. Throws IoError naming the file (and the line, for
// malformed input): missing or unreadable file, a directory, malformed number, a face with fewer
// than three corners, an index of 0 or outside the vertices, non-finite coordinates, or a file
// without triangles.
TriangleMesh read_obj(const std::string& path);

// The same from a stream; `source_name` stands for the file in error messages.
TriangleMesh read_obj(std::istream& input, const std::string& source_name);

BoundingBox bounding_box(const TriangleMesh& mesh);

// Volume enclosed by a closed mesh by the divergence theorem, sum over triangles of
// a . (b x c) / 6: positive when the triangles are counter-clockwise seen from outside.
double signed_volume(const TriangleMesh& mesh);

double surface_area(const TriangleMesh& mesh);

// Number of edges not shared by exactly two triangles (0 for a closed manifold mesh).
std::int64_t count_open_edges(const TriangleMesh& mesh);

// Where a mesh goes inside a box-shaped domain [lower, upper]: its bounding box centre
// lands at lower + centre_fraction * (upper - lower), and its largest bounding box
// extent becomes size_fraction times the smallest domain extent.
struct MeshPlacement {
  Eigen::Vector3d centre_fraction{0.5, 0.5, 0.5};
  double size_fraction = 0.5;

  void validate() const;  // throws OptionError naming field, value and rule
};

// A copy of `mesh` scaled uniformly and translated as `placement` says.
// Throws InvalidArgumentError for a mesh whose bounding box has no extent.
TriangleMesh place_mesh(const TriangleMesh& mesh,
                        const BoundingBox& domain,
                        const MeshPlacement& placement);

}  // namespace deepnum::smoke
