// XDMF sidecars: parsed by Python's xml.etree (h5py_peer.py xdmf), whose checks compare
// Topology/Geometry with the grid attributes and every DataItem path and shape with the
// HDF5 file.
#define BOOST_TEST_MODULE io_xdmf
#include <boost/test/unit_test.hpp>

#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/xdmf.hpp"
#include "io_test_support.hpp"

namespace io = deepnum::io;

namespace {

io::GridGeometry geometry_3d() {
  io::GridGeometry geometry;
  geometry.dimension = 3;
  geometry.cells = {6, 5, 4};
  geometry.spacing = {0.5, 0.25, 0.125};
  geometry.origin = {-1.0, 0.0, 2.0};
  return geometry;
}

io::GridGeometry geometry_2d() {
  io::GridGeometry geometry;
  geometry.dimension = 2;
  geometry.cells = {7, 3, 1};
  geometry.spacing = {1.0, 2.0, 1.0};
  return geometry;
}

// Frames "frames/<k>" with a float64 scalar, an int8 flag field, a float32 vector field
// and a dataset that is no field (skipped by the sidecar).
void write_frames(const std::string& path, const io::GridGeometry& geometry, int frames) {
  io::AtomicFileWriter writer(path);
  const auto cells = geometry.cell_count();
  for (int k = 0; k < frames; ++k) {
    const std::string group = "frames/" + std::to_string(k);
    const std::vector<double> pressure(cells, 1.0 * k);
    const std::vector<std::int8_t> flags(cells, 1);
    const std::vector<float> velocity(cells * io::kVectorComponents, 0.5f);
    io::write_grid_field(writer.file(), group, "pressure", pressure.data(), geometry);
    io::write_grid_field(writer.file(), group, "flags", flags.data(), geometry);
    io::write_grid_vector_field(writer.file(), group, "velocity", velocity.data(), geometry);
    const std::vector<double> residuals{1.0, 0.1, 0.01};
    io::write_dataset(writer.file(), group + "/residuals", residuals.data(), {3});
  }
  writer.commit();
}

}  // namespace

BOOST_AUTO_TEST_CASE(sidecar_of_a_3d_time_series_matches_the_h5_file) {
  io_test::ScratchFolder folder;
  const std::string h5 = folder.file("series.h5");
  const std::string xdmf = folder.file("series.xdmf");
  write_frames(h5, geometry_3d(), 3);
  io::write_xdmf(xdmf, h5, {{"frames/0", 0.0}, {"frames/1", 0.5}, {"/frames/2", 1.0}});
  BOOST_TEST(io_test::run_peer("xdmf " + xdmf + " " + h5) == 0);
}

BOOST_AUTO_TEST_CASE(sidecar_of_a_2d_grid_uses_a_2d_corect_mesh) {
  io_test::ScratchFolder folder;
  const std::string h5 = folder.file("plane.h5");
  const std::string xdmf = folder.file("plane.xdmf");
  write_frames(h5, geometry_2d(), 1);
  io::write_xdmf(xdmf, h5, {{"frames/0", 0.0}});
  BOOST_TEST(io_test::run_peer("xdmf " + xdmf + " " + h5) == 0);
  BOOST_TEST(io_test::read_bytes(xdmf).find("2DCoRectMesh\" Dimensions=\"4 8\"") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(sidecar_in_another_folder_refers_to_the_h5_relatively) {
  io_test::ScratchFolder folder;
  std::filesystem::create_directory(folder.path() / "views");
  const std::string h5 = folder.file("series.h5");
  const std::string xdmf = folder.file("views/series.xdmf");
  write_frames(h5, geometry_3d(), 1);
  io::write_xdmf(xdmf, h5, {{"frames/0", 0.0}});
  BOOST_TEST(io_test::run_peer("xdmf " + xdmf + " " + h5) == 0);
  BOOST_TEST(io_test::read_bytes(xdmf).find("../series.h5:/frames/0/pressure") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(rewriting_a_sidecar_replaces_it_and_leaves_no_temporary_file) {
  io_test::ScratchFolder folder;
  const std::string h5 = folder.file("series.h5");
  const std::string xdmf = folder.file("series.xdmf");
  write_frames(h5, geometry_3d(), 2);
  io::write_xdmf(xdmf, h5, {{"frames/0", 0.0}});
  io::write_xdmf(xdmf, h5, {{"frames/0", 0.0}, {"frames/1", 0.5}});
  BOOST_TEST(io_test::read_bytes(xdmf).find("frames/1/pressure") != std::string::npos);
  BOOST_TEST(folder.entries().size() == 2u);
}

BOOST_AUTO_TEST_CASE(empty_step_list_is_rejected) {
  io_test::ScratchFolder folder;
  const std::string h5 = folder.file("series.h5");
  write_frames(h5, geometry_3d(), 1);
  BOOST_CHECK_THROW(io::write_xdmf(folder.file("x.xdmf"), h5, {}), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(step_naming_a_group_without_geometry_throws_object_not_found) {
  io_test::ScratchFolder folder;
  const std::string h5 = folder.file("series.h5");
  write_frames(h5, geometry_3d(), 1);
  BOOST_CHECK_THROW(io::write_xdmf(folder.file("x.xdmf"), h5, {{"frames", 0.0}}),
                    io::ObjectNotFoundError);
  BOOST_TEST(!std::filesystem::exists(folder.file("x.xdmf")));
}
