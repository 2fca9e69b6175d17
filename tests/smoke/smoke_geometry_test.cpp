#define BOOST_TEST_MODULE smoke_geometry
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Geometry>

#include "deepnum/core/error.hpp"
#include "deepnum/smoke/triangle_mesh.hpp"
#include "deepnum/smoke/voxelizer.hpp"

namespace smoke = deepnum::smoke;

namespace {

// Writes `text` to a file in the test's working folder and returns its name.
std::string write_text_file(const std::string& name, const std::string& text) {
  std::ofstream file(name);
  file << text;
  return name;
}

// The IoError message read_obj throws for `text`.
std::string obj_error_message(const std::string& name, const std::string& text) {
  const std::string path = write_text_file(name, text);
  try {
    smoke::read_obj(path);
  } catch (const deepnum::IoError& error) {
    return error.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The bunny scaled to 0.8 of the unit cube, slightly off centre.
smoke::TriangleMesh placed_bunny() {
  const smoke::TriangleMesh bunny = smoke::read_obj("/usr/share/glmark2/models/bunny.obj");
  smoke::MeshPlacement placement;
  placement.centre_fraction = Eigen::Vector3d(0.47, 0.52, 0.5);
  placement.size_fraction = 0.8;
  const smoke::BoundingBox unit_box{Eigen::Vector3d::Zero(), Eigen::Vector3d::Ones()};
  return smoke::place_mesh(bunny, unit_box, placement);
}

smoke::GridFrame unit_cube_frame(int n) {
  smoke::GridFrame frame;
  frame.cells = {n, n, n};
  frame.spacing = 1.0 / n;
  return frame;
}

// A cube of edge 2 centred at the origin, 12 triangles, outward counter-clockwise.
smoke::TriangleMesh make_cube() {
  smoke::TriangleMesh cube;
  for (int k = 0; k < 8; ++k) {
    cube.vertices.emplace_back(k & 1 ? 1.0 : -1.0, k & 2 ? 1.0 : -1.0, k & 4 ? 1.0 : -1.0);
  }
  const int quads[6][4] = {
      {0, 2, 3, 1}, {4, 5, 7, 6}, {0, 1, 5, 4}, {2, 6, 7, 3}, {0, 4, 6, 2}, {1, 3, 7, 5}};
  for (const auto& quad : quads) {
    cube.triangles.push_back({quad[0], quad[1], quad[2]});
    cube.triangles.push_back({quad[0], quad[2], quad[3]});
  }
  return cube;
}

// A latitude-longitude sphere of radius 1: every quad's corners are coplanar, so the
// mesh is a convex polyhedron whatever diagonal splits the quads.
smoke::TriangleMesh make_sphere(int rings, int sectors) {
  constexpr double kPi = 3.14159265358979323846;
  smoke::TriangleMesh sphere;
  sphere.vertices.emplace_back(0, 0, 1);
  for (int ring = 1; ring < rings; ++ring) {
    const double polar = kPi * ring / rings;
    for (int sector = 0; sector < sectors; ++sector) {
      const double azimuth = 2 * kPi * sector / sectors;
      sphere.vertices.emplace_back(std::sin(polar) * std::cos(azimuth),
                                   std::sin(polar) * std::sin(azimuth),
                                   std::cos(polar));
    }
  }
  sphere.vertices.emplace_back(0, 0, -1);
  const int south = static_cast<int>(sphere.vertices.size()) - 1;
  auto at = [&](int ring, int sector) { return 1 + (ring - 1) * sectors + sector % sectors; };
  for (int sector = 0; sector < sectors; ++sector) {
    sphere.triangles.push_back({0, at(1, sector), at(1, sector + 1)});
    sphere.triangles.push_back({south, at(rings - 1, sector + 1), at(rings - 1, sector)});
    for (int ring = 1; ring + 1 < rings; ++ring) {
      sphere.triangles.push_back(
          {at(ring, sector), at(ring + 1, sector), at(ring + 1, sector + 1)});
      sphere.triangles.push_back(
          {at(ring, sector), at(ring + 1, sector + 1), at(ring, sector + 1)});
    }
  }
  return sphere;
}

smoke::TriangleMesh transformed(smoke::TriangleMesh mesh,
                                const Eigen::Matrix3d& rotation,
                                double scale,
                                const Eigen::Vector3d& translation) {
  for (Eigen::Vector3d& vertex : mesh.vertices) vertex = scale * (rotation * vertex) + translation;
  return mesh;
}

// Largest signed distance of `point` to the face planes of a convex outward mesh:
// negative inside, positive outside.
double convex_signed_distance(const smoke::TriangleMesh& mesh, const Eigen::Vector3d& point) {
  double largest = -1e300;
  for (const auto& triangle : mesh.triangles) {
    const Eigen::Vector3d& a = mesh.vertices[triangle[0]];
    const Eigen::Vector3d normal =
        (mesh.vertices[triangle[1]] - a).cross(mesh.vertices[triangle[2]] - a).normalized();
    largest = std::max(largest, normal.dot(point - a));
  }
  return largest;
}

}  // namespace

BOOST_AUTO_TEST_CASE(obj_reader_accepts_every_corner_form_quads_and_negative_indices) {
  const std::string path = write_text_file("corner_forms.obj",
                                           "# a unit square and a triangle\n"
                                           "o square\n"
                                           "v 0 0 0\r\n"
                                           "v 1 0 0\n"
                                           "v 1 1 0 1.0\n"
                                           "v 0 1 0\n"
                                           "vt 0 0\nvt 1 0\nvt 1 1\nvn 0 0 1\n"
                                           "s off\n"
                                           "f 1/1/1 2/2/1 3/3/1 4//1\n"
                                           "v 0 0 1\n"
                                           "f -1 1/1 \\\n 2\n"
                                           "f 5//1 -4/2 -3/3/1  # trailing comment\n");
  const smoke::TriangleMesh mesh = smoke::read_obj(path);
  BOOST_TEST(mesh.vertices.size() == 5u);
  const std::vector<std::array<int, 3>> expected = {{0, 1, 2}, {0, 2, 3}, {4, 0, 1}, {4, 1, 2}};
  BOOST_TEST_REQUIRE(mesh.triangles.size() == expected.size());
  for (std::size_t t = 0; t < expected.size(); ++t) {
    BOOST_TEST_CONTEXT("triangle " << t) {
      BOOST_TEST(mesh.triangles[t] == expected[t], boost::test_tools::per_element());
    }
  }
  BOOST_TEST(mesh.vertices[2].x() == 1.0);
  BOOST_TEST(mesh.vertices[4].z() == 1.0);
}

BOOST_AUTO_TEST_CASE(obj_reader_names_file_and_line_of_a_malformed_number) {
  const std::string message =
      obj_error_message("malformed_number.obj", "v 0 0 0\nv 1 0 0\nv 1 1e 0\nf 1 2 3\n");
  BOOST_TEST(contains(message, "'malformed_number.obj' line 3"), message);
  BOOST_TEST(contains(message, "'1e' is not a number"), message);
}

BOOST_AUTO_TEST_CASE(obj_reader_names_file_and_line_of_an_index_out_of_range) {
  const std::string message = obj_error_message("index_out_of_range.obj",
                                                "v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2 3\n\nf 1 2 4\n");
  BOOST_TEST(contains(message, "'index_out_of_range.obj' line 6"), message);
  BOOST_TEST(contains(message, "vertex index 4 is out of range: the file has 3 vertices"), message);
}

BOOST_AUTO_TEST_CASE(obj_reader_names_the_line_of_a_negative_index_before_the_first_vertex) {
  const std::string message =
      obj_error_message("negative_index.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nf -1 -2 -4\n");
  BOOST_TEST(contains(message, "'negative_index.obj' line 4"), message);
  BOOST_TEST(contains(message, "-4"), message);
}

BOOST_AUTO_TEST_CASE(obj_reader_rejects_index_zero_short_faces_and_short_vertices) {
  BOOST_TEST(contains(obj_error_message("zero.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nf 0 1 2\n"),
                      "'zero.obj' line 4: vertex index 0"));
  BOOST_TEST(contains(obj_error_message("two_corners.obj", "v 0 0 0\nv 1 0 0\nf 1 2\n"),
                      "'two_corners.obj' line 3: face needs at least 3 corners, got 2"));
  BOOST_TEST(contains(obj_error_message("short_vertex.obj", "v 0 0\n"),
                      "'short_vertex.obj' line 1: vertex needs 3 coordinates, got 2"));
  BOOST_TEST(contains(obj_error_message("bad_corner.obj", "v 0 0 0\nv 1 0 0\nv 1 1 0\nf 1 2 3/x\n"),
                      "'bad_corner.obj' line 4: face corner '3/x' is not an index"));
  BOOST_TEST(contains(obj_error_message("no_faces.obj", "v 0 0 0\n"), "has no faces"));
}

BOOST_AUTO_TEST_CASE(obj_reader_reports_a_missing_file_by_name) {
  try {
    smoke::read_obj("no_such_folder/missing.obj");
    BOOST_FAIL("read_obj accepted a missing file");
  } catch (const deepnum::IoError& error) {
    BOOST_TEST(contains(error.what(), "'no_such_folder/missing.obj'"), error.what());
  }
}

BOOST_AUTO_TEST_CASE(obj_reader_says_a_directory_is_a_directory) {
  const std::string path = "mesh_folder.obj";
  std::filesystem::create_directories(path);
  try {
    smoke::read_obj(path);
    BOOST_FAIL("read_obj accepted a directory");
  } catch (const deepnum::IoError& error) {
    BOOST_TEST(contains(error.what(), "OBJ file 'mesh_folder.obj' is a directory"), error.what());
  }
}

BOOST_AUTO_TEST_CASE(bunny_mesh_is_a_closed_outward_oriented_surface) {
  const smoke::TriangleMesh bunny = smoke::read_obj("/usr/share/glmark2/models/bunny.obj");
  BOOST_TEST(bunny.vertices.size() == 34835u);
  BOOST_TEST(bunny.triangles.size() == 69666u);
  BOOST_TEST(smoke::count_open_edges(bunny) == 0);
  BOOST_TEST(smoke::signed_volume(bunny) > 0);
}

BOOST_AUTO_TEST_CASE(place_mesh_centres_and_scales_the_bounding_box) {
  smoke::MeshPlacement placement;
  placement.centre_fraction = Eigen::Vector3d(0.25, 0.5, 0.75);
  placement.size_fraction = 0.5;
  const smoke::BoundingBox domain{Eigen::Vector3d(0, 0, 0), Eigen::Vector3d(2, 4, 2)};
  const smoke::TriangleMesh placed = smoke::place_mesh(make_cube(), domain, placement);
  const smoke::BoundingBox box = smoke::bounding_box(placed);
  constexpr double kRoundOff = 1e-14;  // a few operations on numbers of order 1
  BOOST_TEST((box.centre() - Eigen::Vector3d(0.5, 2.0, 1.5)).norm() < kRoundOff);
  BOOST_TEST(std::abs(box.extent().maxCoeff() - 1.0) < kRoundOff);  // 0.5 x min extent 2
  BOOST_CHECK_THROW(smoke::place_mesh(make_cube(), domain, smoke::MeshPlacement{{0, 0, 0}, -1}),
                    deepnum::OptionError);
}

BOOST_AUTO_TEST_CASE(voxelized_convex_polyhedra_match_the_face_plane_test) {
  const Eigen::Matrix3d rotation = (Eigen::AngleAxisd(0.4, Eigen::Vector3d::UnitX()) *
                                    Eigen::AngleAxisd(-0.9, Eigen::Vector3d::UnitY()) *
                                    Eigen::AngleAxisd(0.3, Eigen::Vector3d::UnitZ()))
                                       .toRotationMatrix();
  const smoke::TriangleMesh shapes[] = {
      transformed(make_cube(), rotation, 0.27, Eigen::Vector3d(0.48, 0.51, 0.53)),
      transformed(make_sphere(12, 17), rotation, 0.41, Eigen::Vector3d(0.52, 0.47, 0.5))};
  const smoke::GridFrame frame = unit_cube_frame(40);
  // Cells whose centre is this close to a face plane count as on the surface: skipped.
  constexpr double kSurfaceBand = 1e-9;
  int shape_number = 0;
  for (const smoke::TriangleMesh& shape : shapes) {
    BOOST_TEST_CONTEXT("shape " << shape_number++) {
      const std::vector<std::uint8_t> inside = smoke::voxelize(shape, frame);
      std::int64_t mismatches = 0;
      std::int64_t inside_count = 0;
      for (int k = 0; k < 40; ++k) {
        for (int j = 0; j < 40; ++j) {
          for (int i = 0; i < 40; ++i) {
            const double distance = convex_signed_distance(shape, frame.cell_centre(i, j, k));
            if (std::abs(distance) < kSurfaceBand) continue;
            const bool expected = distance < 0;
            inside_count += expected;
            if (expected != (inside[i + 40 * (j + 40 * k)] != 0)) ++mismatches;
          }
        }
      }
      BOOST_TEST(mismatches == 0);
      BOOST_TEST(inside_count > 1000);
    }
  }
}

BOOST_AUTO_TEST_CASE(meshes_reaching_beyond_the_frame_are_cut_at_its_border) {
  // A cube of half edge 0.3 (in a unit frame of 20 cells) centred on the frame's corner
  // (0, 0.5, 1): inside are the cells with x < 0.3, |y - 0.5| < 0.3 and z > 0.7.
  const smoke::GridFrame frame = unit_cube_frame(20);
  const smoke::TriangleMesh cube =
      transformed(make_cube(), Eigen::Matrix3d::Identity(), 0.3, Eigen::Vector3d(0, 0.5, 1));
  smoke::VoxelizeSummary summary;
  const std::vector<std::uint8_t> inside = smoke::voxelize(cube, frame, &summary);
  std::int64_t mismatches = 0;
  for (int k = 0; k < 20; ++k) {
    for (int j = 0; j < 20; ++j) {
      for (int i = 0; i < 20; ++i) {
        const Eigen::Vector3d centre = frame.cell_centre(i, j, k);
        const bool expected =
            centre.x() < 0.3 && std::abs(centre.y() - 0.5) < 0.3 && centre.z() > 0.7;
        if (expected != (inside[i + 20 * (j + 20 * k)] != 0)) ++mismatches;
      }
    }
  }
  BOOST_TEST(mismatches == 0);
  BOOST_TEST(summary.inside_cells == 6 * 12 * 6);

  // A mesh far outside the frame, with coordinates beyond int range, marks nothing.
  const smoke::TriangleMesh far_away =
      transformed(make_cube(), Eigen::Matrix3d::Identity(), 1e3, Eigen::Vector3d(1e15, -1e15, 0));
  smoke::voxelize(far_away, frame, &summary);
  BOOST_TEST(summary.inside_cells == 0);
}

BOOST_AUTO_TEST_CASE(rays_through_mesh_vertices_and_edges_cross_an_even_number_of_times) {
  // An octahedron |x - c|_1 < 4.5 around a cell centre: every ray through c's row or
  // column passes exactly through vertices and along projected edges, yet no cell centre
  // lies on the surface (integer offsets never sum to 4.5).
  smoke::TriangleMesh octahedron;
  const Eigen::Vector3d centre(10.5, 9.5, 11.5);  // cell (10, 9, 11) with spacing 1
  for (int axis = 0; axis < 3; ++axis) {
    for (double sign : {1.0, -1.0}) {
      Eigen::Vector3d vertex = centre;
      vertex[axis] += sign * 4.5;
      octahedron.vertices.push_back(vertex);
    }
  }
  // Vertices: 0 +x, 1 -x, 2 +y, 3 -y, 4 +z, 5 -z; faces counter-clockwise from outside.
  for (int x : {0, 1}) {
    for (int y : {2, 3}) {
      for (int z : {4, 5}) {
        const bool flip = ((x == 1) != (y == 3)) != (z == 5);
        octahedron.triangles.push_back(flip ? std::array<int, 3>{x, z, y}
                                            : std::array<int, 3>{x, y, z});
      }
    }
  }
  BOOST_TEST_REQUIRE(smoke::signed_volume(octahedron) > 0);

  smoke::GridFrame frame;
  frame.cells = {21, 20, 23};
  smoke::VoxelizeSummary summary;
  const std::vector<std::uint8_t> inside = smoke::voxelize(octahedron, frame, &summary);
  BOOST_TEST(summary.odd_rows == (std::array<std::int64_t, 3>{0, 0, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(summary.disputed_cells == 0);
  std::int64_t mismatches = 0;
  for (int k = 0; k < 23; ++k) {
    for (int j = 0; j < 20; ++j) {
      for (int i = 0; i < 21; ++i) {
        const double l1 = (frame.cell_centre(i, j, k) - centre).lpNorm<1>();
        if ((l1 < 4.5) != (inside[i + 21 * (j + 20 * k)] != 0)) ++mismatches;
      }
    }
  }
  BOOST_TEST(mismatches == 0);
  // 1 + 6 + 18 + 38 + 66 cells at L1 distance 0..4 from the centre.
  BOOST_TEST(summary.inside_cells == 129);
}

BOOST_AUTO_TEST_CASE(voxelized_bunny_agrees_with_the_winding_number_along_its_surface) {
  const smoke::TriangleMesh bunny = placed_bunny();
  const int n = 32;
  const smoke::GridFrame frame = unit_cube_frame(n);
  const std::vector<std::uint8_t> inside = smoke::voxelize(bunny, frame);
  auto solid = [&](int i, int j, int k) { return inside[i + n * (j + n * k)] != 0; };

  // The cells where a voxelizer can go wrong: those with a face neighbour of the other kind.
  // The winding number is 1 inside and 0 outside, and near 1/2 only at points on the
  // surface itself, whose side is a matter of round-off: those are skipped.
  constexpr double kOnSurface = 0.1;
  int checked = 0;
  int on_surface = 0;
  int mismatches = 0;
  for (int k = 1; k + 1 < n; ++k) {
    for (int j = 1; j + 1 < n; ++j) {
      for (int i = 1; i + 1 < n; ++i) {
        const bool here = solid(i, j, k);
        const bool boundary = solid(i - 1, j, k) != here || solid(i + 1, j, k) != here ||
                              solid(i, j - 1, k) != here || solid(i, j + 1, k) != here ||
                              solid(i, j, k - 1) != here || solid(i, j, k + 1) != here;
        if (!boundary) continue;
        const double winding = smoke::winding_number(bunny, frame.cell_centre(i, j, k));
        if (std::abs(winding - 0.5) < kOnSurface) {
          ++on_surface;
          continue;
        }
        ++checked;
        if ((winding > 0.5) != here) ++mismatches;
      }
    }
  }
  BOOST_TEST(checked > 1000);
  BOOST_TEST(mismatches == 0);
  BOOST_TEST(on_surface <= checked / 100);
}

BOOST_AUTO_TEST_CASE(voxelized_bunny_leaves_no_fluid_pocket_sealed_from_the_domain_boundary) {
  const smoke::TriangleMesh bunny = placed_bunny();
  const int n = 48;
  const std::vector<std::uint8_t> inside = smoke::voxelize(bunny, unit_cube_frame(n));
  // Flood fill of the non-solid cells from every non-solid cell on the domain boundary.
  std::vector<std::uint8_t> reached(inside.size(), 0);
  std::deque<std::array<int, 3>> queue;
  auto visit = [&](int i, int j, int k) {
    if (i < 0 || j < 0 || k < 0 || i >= n || j >= n || k >= n) return;
    const std::size_t cell =
        i + static_cast<std::size_t>(n) * (j + static_cast<std::size_t>(n) * k);
    if (inside[cell] != 0 || reached[cell] != 0) return;
    reached[cell] = 1;
    queue.push_back({i, j, k});
  };
  for (int a = 0; a < n; ++a) {
    for (int b = 0; b < n; ++b) {
      visit(0, a, b), visit(n - 1, a, b), visit(a, 0, b), visit(a, n - 1, b), visit(a, b, 0),
          visit(a, b, n - 1);
    }
  }
  while (!queue.empty()) {
    const auto [i, j, k] = queue.front();
    queue.pop_front();
    visit(i - 1, j, k), visit(i + 1, j, k), visit(i, j - 1, k), visit(i, j + 1, k),
        visit(i, j, k - 1), visit(i, j, k + 1);
  }
  std::int64_t sealed = 0;
  std::int64_t solid = 0;
  for (std::size_t cell = 0; cell < inside.size(); ++cell) {
    solid += inside[cell];
    if (inside[cell] == 0 && reached[cell] == 0) ++sealed;
  }
  BOOST_TEST(sealed == 0);
  BOOST_TEST(solid > 0);
}

BOOST_AUTO_TEST_CASE(voxelized_bunny_volume_converges_to_the_mesh_volume) {
  const smoke::TriangleMesh bunny = placed_bunny();
  const double volume = smoke::signed_volume(bunny);
  const double area = smoke::surface_area(bunny);
  for (int n : {32, 64, 96}) {
    BOOST_TEST_CONTEXT("n = " << n) {
      const smoke::GridFrame frame = unit_cube_frame(n);
      smoke::VoxelizeSummary summary;
      smoke::voxelize(bunny, frame, &summary);
      const double h = frame.spacing;
      const double voxel_volume = summary.inside_cells * h * h * h;
      // Only cells cut by the surface can be misclassified: a shell of volume about
      // area * h. Their errors have both signs and mostly cancel; 5 % of the shell is
      // several times what centre sampling leaves and shrinks with h.
      const double tolerance = 0.05 * area * h;
      BOOST_TEST(std::abs(voxel_volume - volume) <= tolerance,
                 "voxel volume " << voxel_volume << " vs mesh volume " << volume << ", tolerance "
                                 << tolerance);
    }
  }
}
