#define BOOST_TEST_MODULE smoke_simulation
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/smoke/mac_grid.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"
#include "deepnum/smoke/voxelizer.hpp"
#include "log_capture.hpp"

namespace smoke = deepnum::smoke;
namespace linear = deepnum::linear;
using linear::CellFlag;

namespace {

constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr double kPi = 3.14159265358979323846;

// Fills every face velocity with uniform random values in [-1, 1] m/s.
void randomize(smoke::MacVelocity& velocity, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int axis = 0; axis < velocity.dimension(); ++axis) {
    for (double& value : velocity.component(axis).values()) value = uniform(generator);
  }
}

linear::SolveOptions tight_solve(double rtol) {
  linear::SolveOptions options;
  options.rtol = rtol;
  options.max_iterations = 100000;
  options.record_history = false;
  return options;
}

// Net outflow (h div u) of every fluid cell, in the unknowns' numbering.
linear::Vector fluid_outflows(const smoke::SmokeSimulation& simulation) {
  const linear::PressureSystem& system = simulation.pressure_system();
  const linear::FlagGrid& flags = simulation.flags();
  linear::Vector outflow(system.unknown_count());
  for (std::int64_t unknown = 0; unknown < system.unknown_count(); ++unknown) {
    const std::int64_t cell = system.cell_of_unknown[unknown];
    const int x = static_cast<int>(cell % flags.nx());
    const int y = static_cast<int>((cell / flags.nx()) % flags.ny());
    const int z = static_cast<int>(cell / (static_cast<std::int64_t>(flags.nx()) * flags.ny()));
    outflow[unknown] = simulation.velocity().net_outflow(x, y, z);
  }
  return outflow;
}

// L2 norm of the face velocities that are free to move (no solid or wall on either side).
double face_velocity_norm(const smoke::SmokeSimulation& simulation) {
  double sum = 0.0;
  for (int axis = 0; axis < simulation.dimension(); ++axis) {
    for (double value : simulation.velocity().component(axis).values()) sum += value * value;
  }
  return std::sqrt(sum);
}

smoke::SmokeScene small_scene(smoke::SceneKind kind, int n, int dimension, bool open_top) {
  smoke::SmokeScene scene;
  scene.kind = kind;
  scene.resolution = n;
  scene.dimension = dimension;
  scene.open_top = open_top;
  return scene;
}

}  // namespace

BOOST_AUTO_TEST_CASE(projection_leaves_each_cell_the_divergence_of_the_solver_residual) {
  // After u <- u* - grad x with A x = b - r, the net outflow of fluid cell i is -r_i
  // (derivation in SmokeSimulation::project): checked cell by cell against r = b - A x
  // computed here from the system, and max |div u| against the stopping rule.
  const smoke::SmokeScene scenes[] = {small_scene(smoke::SceneKind::kBunny, 24, 3, false),
                                      small_scene(smoke::SceneKind::kPlume, 20, 3, true),
                                      small_scene(smoke::SceneKind::kBunny, 40, 2, false)};
  const double rtol = 1e-8;
  unsigned seed = 11;
  for (const smoke::SmokeScene& scene : scenes) {
    BOOST_TEST_CONTEXT(smoke::to_string(scene.kind)
                       << " " << scene.dimension << "D n " << scene.resolution << " open top "
                       << scene.open_top) {
      smoke::SmokeSimulation simulation(scene);
      randomize(simulation.velocity(), seed++);
      const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("cg");
      const smoke::ProjectionSummary projection = simulation.project(*solver, tight_solve(rtol));
      BOOST_TEST_REQUIRE(projection.solve.converged());

      const linear::Vector residual =
          simulation.rhs() - simulation.pressure_system().system.matrix * simulation.solution();
      const linear::Vector outflow = fluid_outflows(simulation);
      // Round-off of the face updates: a few operations on values of the size of the
      // velocities and pressure differences (order 1 here).
      const double round_off = 64 * kEpsilon * (1.0 + simulation.solution().cwiseAbs().maxCoeff());
      BOOST_TEST((outflow + residual).cwiseAbs().maxCoeff() <=
                 round_off + projection.removed_rhs_norm);
      BOOST_TEST(projection.max_divergence * simulation.spacing() <=
                 rtol * projection.rhs_norm + round_off + projection.removed_rhs_norm);
      BOOST_TEST(projection.max_divergence_before > 1.0);  // random faces: far from solenoidal
    }
  }
}

BOOST_AUTO_TEST_CASE(closed_box_with_uniform_density_stays_at_rest) {
  // Uniform density in a closed box: the buoyancy force is a gradient, which the
  // projection removes exactly. What remains is the gradient of the pressure error e with
  // A e = r, whose face L2 norm is sqrt(r^T A^+ r) <= ||r|| / sqrt(lambda_min), where
  // lambda_min = 2 - 2 cos(pi / m) is the smallest nonzero eigenvalue of the Neumann
  // Laplacian on a box of m fluid cells along its longest axis.
  smoke::SmokeScene scene = small_scene(smoke::SceneKind::kPlume, 20, 3, false);
  scene.source_radius_fraction = 0.0;
  scene.density_weight = 9.81;
  scene.temperature_lift = 0.0;
  smoke::SmokeSimulation simulation(scene);
  for (std::int64_t cell = 0; cell < simulation.flags().cell_count(); ++cell) {
    if (simulation.flags()[cell] == CellFlag::kFluid) simulation.density()[cell] = 1.0;
  }
  const int fluid_cells_along_y = scene.resolution - 2;
  const double lambda_min = 2.0 - 2.0 * std::cos(kPi / fluid_cells_along_y);
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("icpcg");
  const double rtol = 1e-10;

  double bound = 0.0;
  for (int step = 1; step <= 5; ++step) {
    BOOST_TEST_CONTEXT("step " << step) {
      const smoke::StepSummary summary = simulation.step(*solver, tight_solve(rtol));
      BOOST_TEST_REQUIRE(summary.projection.solve.converged());
      // Without the projection the velocity would be g dt ~ 0.4 m/s.
      BOOST_TEST(summary.projection.rhs_norm > 0.1);
      bound += summary.projection.solve.final_residual_norm / std::sqrt(lambda_min);
      const double round_off = 64 * kEpsilon * summary.projection.rhs_norm;
      BOOST_TEST(face_velocity_norm(simulation) <= bound + round_off);
    }
  }
}

BOOST_AUTO_TEST_CASE(advection_keeps_a_constant_field_constant) {
  smoke::MacVelocity velocity(3, {12, 10, 9}, 0.1);
  randomize(velocity, 5);
  const smoke::GridField field = smoke::GridField::cell_centred({12, 10, 9}, 0.7);
  smoke::GridField advected;
  smoke::advect_field(velocity, 0.3, field, advected);
  // Trilinear weights sum to 1: each interpolation level rounds once or twice.
  constexpr double kInterpolationRoundOff = 8 * kEpsilon;
  double largest_change = 0.0;
  for (double value : advected.values())
    largest_change = std::max(largest_change, std::abs(value - 0.7));
  BOOST_TEST(advected.sample_count() == field.sample_count());
  BOOST_TEST(largest_change <= kInterpolationRoundOff * 0.7);

  // A uniform velocity field carried through itself stays uniform too.
  smoke::MacVelocity uniform(3, {12, 10, 9}, 0.1);
  const double components[3] = {0.4, -1.3, 0.9};
  for (int axis = 0; axis < 3; ++axis) {
    for (double& value : uniform.component(axis).values()) value = components[axis];
  }
  const smoke::MacVelocity carried = smoke::advect_velocity(uniform, 0.05);
  for (int axis = 0; axis < 3; ++axis) {
    BOOST_TEST_CONTEXT("axis " << axis) {
      double change = 0.0;
      for (double value : carried.component(axis).values()) {
        change = std::max(change, std::abs(value - components[axis]));
      }
      BOOST_TEST(change <= kInterpolationRoundOff * std::abs(components[axis]));
    }
  }
}

BOOST_AUTO_TEST_CASE(advection_moves_a_linear_field_by_the_uniform_velocity_exactly) {
  // f(x) = a . x + c: trilinear interpolation reproduces it and the backtrace through a
  // uniform velocity U is exact, so advected(x) = f(x - U dt / h) (cell units).
  const std::array<int, 3> cells{14, 12, 10};
  const double h = 0.05;
  const double dt = 0.1;
  const Eigen::Vector3d velocity_vector(0.6, -0.35, 0.2);  // m/s: 1.2, -0.7, 0.4 cells
  smoke::MacVelocity velocity(3, cells, h);
  for (int axis = 0; axis < 3; ++axis) {
    for (double& value : velocity.component(axis).values()) value = velocity_vector[axis];
  }
  const Eigen::Vector3d slope(0.3, -1.1, 0.45);
  auto linear_field = [&](const Eigen::Vector3d& position) { return slope.dot(position) + 2.0; };
  smoke::GridField field = smoke::GridField::cell_centred(cells);
  for (int k = 0; k < cells[2]; ++k) {
    for (int j = 0; j < cells[1]; ++j) {
      for (int i = 0; i < cells[0]; ++i) field(i, j, k) = linear_field(field.position(i, j, k));
    }
  }
  smoke::GridField advected;
  smoke::advect_field(velocity, dt, field, advected);

  const Eigen::Vector3d shift = velocity_vector * dt / h;
  constexpr double kRoundOff = 1e-12;  // values of order 10, a few dozen operations
  int checked = 0;
  for (int k = 2; k < cells[2] - 2; ++k) {
    for (int j = 2; j < cells[1] - 2; ++j) {
      for (int i = 2; i < cells[0] - 2; ++i) {
        const Eigen::Vector3d departure = field.position(i, j, k) - shift;
        BOOST_TEST_CONTEXT("cell " << i << " " << j << " " << k) {
          BOOST_TEST(std::abs(advected(i, j, k) - linear_field(departure)) <= kRoundOff);
        }
        ++checked;
      }
    }
  }
  BOOST_TEST(checked == 10 * 8 * 6);
}

BOOST_AUTO_TEST_CASE(smoke_plume_rises) {
  // Hot smoke (net upward buoyancy) against the same source without buoyancy, where the
  // smoke stays where the source puts it.
  smoke::SmokeScene scene = small_scene(smoke::SceneKind::kPlume, 24, 3, false);
  smoke::SmokeScene still_scene = scene;
  still_scene.temperature_lift = 0.0;
  still_scene.density_weight = 0.0;
  smoke::SmokeSimulation simulation(scene);
  smoke::SmokeSimulation still(still_scene);
  const std::unique_ptr<linear::LinearSolver> solver = linear::make_solver("icpcg");
  const std::unique_ptr<linear::LinearSolver> still_solver = linear::make_solver("icpcg");

  double previous_height = 0.0;
  for (int step = 1; step <= 16; ++step) {
    simulation.step(*solver, tight_solve(1e-6));
    still.step(*still_solver, tight_solve(1e-6));
    const double height = simulation.density_centroid_height();
    BOOST_TEST_CONTEXT("step " << step) {
      if (step > 1) BOOST_TEST(height > previous_height);
      BOOST_TEST(std::abs(still.density_centroid_height() - 0.12 * scene.domain_width) <
                 0.5 * simulation.spacing());  // the source's centre, to within half a cell
    }
    previous_height = height;
  }
  BOOST_TEST(previous_height - still.density_centroid_height() > simulation.spacing());
}

BOOST_AUTO_TEST_CASE(bunny_scene_flags_the_voxelized_bunny_solid_inside_walls) {
  const smoke::SmokeScene scene = small_scene(smoke::SceneKind::kBunny, 32, 3, false);
  const smoke::SmokeSimulation simulation(scene);
  const linear::FlagGrid& flags = simulation.flags();

  smoke::GridFrame frame;
  frame.cells = flags.cells();
  frame.spacing = flags.spacing();
  const std::vector<std::uint8_t> inside = smoke::voxelize(simulation.obstacle(), frame);
  std::int64_t mismatches = 0;
  std::int64_t solid = 0;
  for (int z = 0; z < flags.nz(); ++z) {
    for (int y = 0; y < flags.ny(); ++y) {
      for (int x = 0; x < flags.nx(); ++x) {
        const bool wall = x == 0 || y == 0 || z == 0 || x == flags.nx() - 1 ||
                          y == flags.ny() - 1 || z == flags.nz() - 1;
        const CellFlag expected = wall                                ? CellFlag::kBoundary
                                  : inside[flags.index(x, y, z)] != 0 ? CellFlag::kSolid
                                                                      : CellFlag::kFluid;
        if (flags(x, y, z) != expected) ++mismatches;
        solid += flags(x, y, z) == CellFlag::kSolid;
      }
    }
  }
  BOOST_TEST(mismatches == 0);
  BOOST_TEST(solid > 100);
  // One fluid region in a closed box: one constant null vector.
  BOOST_TEST(simulation.pressure_system().component_count == 1);
  BOOST_TEST(simulation.pressure_system().system.null_space.size() == 1u);
}

BOOST_AUTO_TEST_CASE(fluid_sealed_inside_a_hollow_obstacle_becomes_solid) {
  // A hollow cube: outer surface [-1, 1]^3 facing out, inner [-0.5, 0.5]^3 facing in.
  // The voxelizer leaves the cavity fluid; the scene must turn it solid, so that the
  // closed box keeps a single fluid region.
  std::ostringstream obj;
  for (double half : {1.0, 0.5}) {
    for (int k = 0; k < 8; ++k) {
      obj << "v " << (k & 1 ? half : -half) << " " << (k & 2 ? half : -half) << " "
          << (k & 4 ? half : -half) << "\n";
    }
  }
  const int quads[6][4] = {
      {1, 3, 4, 2}, {5, 6, 8, 7}, {1, 2, 6, 5}, {3, 7, 8, 4}, {1, 5, 7, 3}, {2, 4, 8, 6}};
  for (const auto& quad : quads) {  // outer: counter-clockwise from outside
    obj << "f " << quad[0] << " " << quad[1] << " " << quad[2] << " " << quad[3] << "\n";
  }
  for (const auto& quad : quads) {  // inner: reversed, facing into the cavity
    obj << "f " << quad[3] + 8 << " " << quad[2] + 8 << " " << quad[1] + 8 << " " << quad[0] + 8
        << "\n";
  }
  const std::string path = "hollow_cube.obj";
  std::ofstream(path) << obj.str();

  smoke::SmokeScene scene = small_scene(smoke::SceneKind::kBunny, 20, 3, false);
  scene.mesh_path = path;
  scene.mesh_placement = smoke::MeshPlacement{Eigen::Vector3d(0.5, 0.5, 0.5), 0.6};
  const smoke::SmokeSimulation simulation(scene);
  const linear::FlagGrid& flags = simulation.flags();
  std::int64_t inside_outer = 0;
  std::int64_t fluid_inside_outer = 0;
  for (int z = 0; z < 20; ++z) {
    for (int y = 0; y < 20; ++y) {
      for (int x = 0; x < 20; ++x) {
        const Eigen::Vector3d centre = flags.spacing() * Eigen::Vector3d(x + 0.5, y + 0.5, z + 0.5);
        if ((centre - Eigen::Vector3d::Constant(0.5)).cwiseAbs().maxCoeff() >= 0.3) continue;
        ++inside_outer;
        fluid_inside_outer += flags(x, y, z) == CellFlag::kFluid;
      }
    }
  }
  BOOST_TEST(inside_outer == 12 * 12 * 12);
  BOOST_TEST(fluid_inside_outer == 0);
  BOOST_TEST(flags.count(CellFlag::kSolid) == inside_outer);
  BOOST_TEST(simulation.pressure_system().component_count == 1);
}

BOOST_AUTO_TEST_CASE(open_top_puts_air_above_the_box_and_makes_the_system_nonsingular) {
  const smoke::SmokeSimulation simulation(small_scene(smoke::SceneKind::kPlume, 16, 3, true));
  const linear::FlagGrid& flags = simulation.flags();
  BOOST_TEST(linear::to_code(flags(5, flags.ny() - 1, 7)) == linear::to_code(CellFlag::kAir));
  BOOST_TEST(linear::to_code(flags(0, flags.ny() - 1, 7)) == linear::to_code(CellFlag::kBoundary));
  BOOST_TEST(flags.count(CellFlag::kAir) == 14 * 14);
  BOOST_TEST(simulation.pressure_system().system.null_space.empty());
}

BOOST_AUTO_TEST_CASE(scene_options_are_validated_with_field_and_value) {
  smoke::SmokeScene scene;
  scene.resolution = 4;
  try {
    smoke::SmokeSimulation simulation(scene);
    BOOST_FAIL("a 4-cell scene was accepted");
  } catch (const deepnum::OptionError& error) {
    BOOST_TEST(std::string(error.what()).find("SmokeScene.resolution = 4") != std::string::npos,
               error.what());
  }
  scene = smoke::SmokeScene{};
  scene.fixed_dt = -0.1;
  BOOST_CHECK_THROW(scene.validate(), deepnum::OptionError);
  scene = smoke::SmokeScene{};
  scene.dimension = 2;
  scene.height_factor = 0.01;
  BOOST_CHECK_THROW(scene.validate(), deepnum::OptionError);
  BOOST_CHECK_THROW(smoke::scene_kind_from_string("smoke"), deepnum::InvalidArgumentError);
  BOOST_TEST(std::string(smoke::to_string(smoke::scene_kind_from_string("bunny"))) == "bunny");
}

BOOST_AUTO_TEST_CASE(bunny_scene_with_a_missing_mesh_names_the_file) {
  smoke::SmokeScene scene = small_scene(smoke::SceneKind::kBunny, 16, 3, false);
  scene.mesh_path = "missing_bunny.obj";
  try {
    smoke::SmokeSimulation simulation(scene);
    BOOST_FAIL("a missing mesh was accepted");
  } catch (const deepnum::IoError& error) {
    BOOST_TEST(std::string(error.what()).find("'missing_bunny.obj'") != std::string::npos,
               error.what());
  }
}

BOOST_AUTO_TEST_CASE(flat_obstacle_mesh_is_reported_as_giving_no_solid_cells) {
  // A square in the plane z = 0: it encloses no volume, so no cell centre is inside.
  const std::string path = "flat_square.obj";
  std::ofstream(path) << "v -1 -1 0\nv 1 -1 0\nv 1 1 0\nv -1 1 0\nf 1 2 3 4\n";
  smoke::SmokeScene scene = small_scene(smoke::SceneKind::kBunny, 16, 3, false);
  scene.mesh_path = path;
  const smoke_test::LogCapture log;
  const smoke::SmokeSimulation simulation(scene);
  BOOST_TEST(simulation.flags().count(CellFlag::kSolid) == 0);
  BOOST_TEST(log.text().find("[warning]") != std::string::npos, log.text());
  BOOST_TEST(log.text().find("'flat_square.obj' gives no solid cells") != std::string::npos,
             log.text());
}
