#define BOOST_TEST_MODULE smoke_output
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/smoke/frame_output.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"
#include "log_capture.hpp"

namespace smoke = deepnum::smoke;
namespace linear = deepnum::linear;
namespace io = deepnum::io;

namespace {

smoke::SmokeScene small_bunny() {
  smoke::SmokeScene scene;
  scene.kind = smoke::SceneKind::kBunny;
  scene.resolution = 16;
  return scene;
}

linear::SolveOptions solve_options() {
  linear::SolveOptions options;
  options.rtol = 1e-8;
  options.record_history = false;
  return options;
}

// A fresh output path in the test's working folder.
std::string fresh_path(const std::string& name) {
  std::filesystem::remove(name);
  return name;
}

int stored_frame_count(const std::string& path) {
  if (!std::filesystem::exists(path)) return 0;
  const io::File file = io::File::open_read(path);
  return static_cast<int>(file.list("/frames").size());
}

}  // namespace

BOOST_AUTO_TEST_CASE(saved_frames_read_back_bit_for_bit_with_their_systems) {
  const std::string path = fresh_path("round_trip.h5");
  smoke::SmokeSimulation simulation(small_bunny());
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("cg");
  std::vector<linear::Vector> rhs;
  std::vector<linear::Vector> solutions;
  std::vector<std::vector<double>> densities;
  {
    smoke::FrameOutputOptions options;
    options.path = path;
    options.save_systems = true;
    smoke::FrameOutput output(options);
    for (int frame = 1; frame <= 3; ++frame) {
      const smoke::StepSummary step = simulation.step(*solver, solve_options());
      output.write(simulation, step);
      rhs.push_back(simulation.rhs());
      solutions.push_back(simulation.solution());
      densities.push_back(simulation.density().values());
    }
    output.finish();
  }
  for (int frame = 1; frame <= 3; ++frame) {
    BOOST_TEST_CONTEXT("frame " << frame) {
      const smoke::SavedFrameSystem saved = smoke::read_frame_system(path, frame);
      BOOST_TEST(saved.rhs == rhs[frame - 1]);
      BOOST_TEST(saved.solution == solutions[frame - 1]);
      BOOST_TEST(saved.system.system.null_space.size() == 1u);
      // The stored solution solves the stored system to the requested tolerance.
      const linear::Vector product = saved.system.system.matrix * saved.solution;
      const double residual = (saved.rhs - product).norm();
      BOOST_TEST(residual <= solve_options().rtol * saved.rhs.norm());

      const io::File file = io::File::open_read(path);
      const std::string group = smoke::FrameOutput::frame_group(frame);
      BOOST_TEST(io::read_grid_field<double>(file, group, "density") == densities[frame - 1]);
      BOOST_TEST(io::read_attribute<int>(file, group, "frame") == frame);
      BOOST_TEST(io::read_attribute<std::string>(file, group, "solver") == "cg");
    }
  }
}

BOOST_AUTO_TEST_CASE(frames_reach_the_file_only_at_each_commit) {
  const std::string path = fresh_path("batches.h5");
  smoke::SmokeSimulation simulation(small_bunny());
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("icpcg");
  smoke::FrameOutputOptions options;
  options.path = path;
  options.commit_interval = 2;
  smoke::FrameOutput output(options);
  const int expected_on_disk[] = {0, 2, 2, 4, 4};
  for (int frame = 1; frame <= 5; ++frame) {
    output.write(simulation, simulation.step(*solver, solve_options()));
    BOOST_TEST_CONTEXT("after frame " << frame) {
      BOOST_TEST(stored_frame_count(path) == expected_on_disk[frame - 1]);
      BOOST_TEST(output.committed_frames() == expected_on_disk[frame - 1]);
    }
  }
  output.finish();
  BOOST_TEST(stored_frame_count(path) == 5);
  BOOST_TEST(std::filesystem::exists("batches.xdmf"));
}

BOOST_AUTO_TEST_CASE(a_stored_matrix_that_contradicts_the_stored_flags_is_reported) {
  const std::string path = fresh_path("tampered.h5");
  smoke::SmokeSimulation simulation(small_bunny());
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("cg");
  {
    smoke::FrameOutputOptions options;
    options.path = path;
    options.save_systems = true;
    smoke::FrameOutput output(options);
    output.write(simulation, simulation.step(*solver, solve_options()));
    output.finish();
  }
  // Turn one fluid cell solid in the stored flags of frame 1.
  {
    io::AtomicFileWriter writer(path, io::WriteMode::kUpdate);
    const std::string group = smoke::FrameOutput::frame_group(1);
    const io::GridGeometry geometry = io::read_grid_geometry(writer.file(), group);
    std::vector<std::int8_t> codes =
        io::read_grid_field<std::int8_t>(writer.file(), group, "flags");
    const std::int64_t cell = simulation.pressure_system().cell_of_unknown[100];
    codes[cell] = linear::to_code(linear::CellFlag::kSolid);
    io::WriteOptions replace;
    replace.replace_existing = true;
    io::write_grid_field<std::int8_t>(
        writer.file(), group, "flags", codes.data(), geometry, replace);
    writer.commit();
  }
  try {
    smoke::read_frame_system(path, 1);
    BOOST_FAIL("a matrix that does not match its flags was accepted");
  } catch (const deepnum::IoError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("'tampered.h5' frame 1") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(frame_output_options_are_validated) {
  smoke::FrameOutputOptions options;
  BOOST_CHECK_THROW(options.validate(), deepnum::OptionError);  // no path
  options.path = "x.h5";
  options.commit_interval = 0;
  BOOST_CHECK_THROW(smoke::FrameOutput output(options), deepnum::OptionError);
}

BOOST_AUTO_TEST_CASE(output_path_that_is_a_directory_is_refused_when_the_output_is_created) {
  const std::string path = fresh_path("frames_folder.h5");
  std::filesystem::create_directory(path);
  smoke::FrameOutputOptions options;
  options.path = path;
  try {
    smoke::FrameOutput output(options);
    BOOST_FAIL("a directory was accepted as the frames file");
  } catch (const io::HdfError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("'frames_folder.h5': it is a directory") != std::string::npos, message);
  }
  std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(failed_commit_reports_its_cause_once_and_nothing_commits_again) {
  const std::string path = fresh_path("becomes_a_folder.h5");
  smoke::SmokeSimulation simulation(small_bunny());
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("cg");
  const smoke_test::LogCapture log;
  {
    smoke::FrameOutputOptions options;
    options.path = path;
    options.commit_interval = 2;
    smoke::FrameOutput output(options);
    output.write(simulation, simulation.step(*solver, solve_options()));  // pending
    std::filesystem::create_directory(path);  // the target turns into a directory mid-run
    try {
      output.write(simulation, simulation.step(*solver, solve_options()));  // commits
      BOOST_FAIL("a commit over a directory succeeded");
    } catch (const io::HdfError& error) {
      const std::string message = error.what();
      BOOST_TEST(message.find("'becomes_a_folder.h5': it is a directory") != std::string::npos,
                 message);
    }
    BOOST_CHECK_NO_THROW(output.finish());
  }
  BOOST_TEST(log.text().find("called twice") == std::string::npos, log.text());
  BOOST_TEST(log.text().find("frames not saved") == std::string::npos, log.text());
  std::filesystem::remove(path);
}
