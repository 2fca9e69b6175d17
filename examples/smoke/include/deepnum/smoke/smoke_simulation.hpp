// A small incompressible smoke solver on a MAC grid that produces real pressure Poisson
// systems, one per step, for any LinearSolver.
//
// Scenes (SmokeScene::kind):
//   plume  smoke and heat released from a sphere near the floor of a box rise by buoyancy;
//   bunny  the same plume rising past the Stanford bunny (an OBJ mesh voxelized into solid
//          cells), placed above the source.
// Domain: cells nx x ny x nz = n x round(height_factor n) x n (nz = 1 in 2D), y up,
// spacing h = domain_width / n. The outermost cell layer is the wall (kBoundary); with
// open_top the top layer is air (kAir, p = 0) instead and smoke leaves through it. Cell
// counts include that layer, so n = 64 gives the 64^3 systems of the DCDM experiments.
//
// One step (Bridson, "Fluid Simulation for Computer Graphics", 2nd ed., ch. 2-5):
//   1. choose dt (CFL limit or fixed);
//   2. the source sets density, temperature (and optionally upward speed) in its cells;
//   3. semi-Lagrangian advection of velocity, density and temperature (RK2 backtrace);
//   4. buoyancy: dv/dt = temperature_lift T - density_weight d (upward, m/s^2);
//   5. face velocities touching solid or wall cells are set to the solid velocity (0);
//   6. pressure projection with the given solver, leaving div u ~ 0 in every fluid cell.
// Units: metres, seconds; density and temperature are dimensionless (source value 1).
// Thread safety: none; one simulation per thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/smoke/mac_grid.hpp"
#include "deepnum/smoke/triangle_mesh.hpp"
#include "deepnum/smoke/voxelizer.hpp"

namespace deepnum::smoke {

enum class SceneKind { kPlume, kBunny };

const char* to_string(SceneKind kind);
// "plume" or "bunny"; throws InvalidArgumentError naming the accepted names.
SceneKind scene_kind_from_string(const std::string& name);

// Debian's glmark2-data copy of the Stanford bunny (34835 vertices, 69666 triangles).
inline constexpr const char* kDefaultBunnyPath = "/usr/share/glmark2/models/bunny.obj";

struct SmokeScene {
  SceneKind kind = SceneKind::kPlume;
  int dimension = 3;
  int resolution = 64;         // n: cells along x (and z), wall layer included
  double height_factor = 1.0;  // ny = round(height_factor * n)
  double domain_width = 1.0;   // metres along x
  bool open_top = false;       // top layer air (Dirichlet p = 0) instead of a wall

  // Source: a sphere (disc in 2D), centre in fractions of the domain, radius in
  // fractions of the domain width; radius 0 switches the source off.
  Eigen::Vector3d source_centre_fraction{0.5, 0.12, 0.5};
  double source_radius_fraction = 0.08;
  double source_density = 1.0;
  double source_temperature = 1.0;
  double source_speed = 0.0;  // m/s, upward velocity imposed on the source's faces

  // Buoyancy, upward acceleration in m/s^2: temperature_lift T - density_weight d.
  double temperature_lift = 4.0;
  double density_weight = 0.25;

  // Obstacle of the bunny scene, placed into the domain box (see MeshPlacement).
  std::string mesh_path = kDefaultBunnyPath;
  MeshPlacement mesh_placement{Eigen::Vector3d(0.5, 0.55, 0.5), 0.5};

  // Time step: fixed_dt when > 0, otherwise min(max_dt, cfl_number h / max |u|).
  double cfl_number = 2.0;
  double max_dt = 0.04;
  double fixed_dt = 0.0;

  void validate() const;  // throws OptionError naming field, value and rule
  std::array<int, 3> cells() const;
  double spacing() const { return domain_width / resolution; }
};

// What one pressure projection did.
struct ProjectionSummary {
  linear::SolveSummary solve;
  double rhs_norm = 0.0;               // ||b|| after projection onto the range of A
  double removed_rhs_norm = 0.0;       // null-space part of b removed (round-off)
  double max_divergence_before = 0.0;  // max |div u*| over fluid cells (1/s)
  double max_divergence = 0.0;         // max |div u| over fluid cells after (1/s)
  bool solver_set_up = false;          // this projection called solver.setup()
};

struct StepSummary {
  int step = 0;       // 1-based number of the step just taken
  double time = 0.0;  // simulated time at its end (s)
  double dt = 0.0;
  double max_speed = 0.0;  // max |face velocity| after the step (m/s)
  ProjectionSummary projection;
  double advection_seconds = 0.0;
  double step_seconds = 0.0;

  // "t 0.1200 dt 0.0400: cg converged in 80 iterations, relres 9e-07, solve 0.120 s,
  //  max|div u| 1.2e-06 1/s (before 3.4e+00), max|u| 0.2 m/s, step 0.150 s"; the
  //  solver's setup time is added when this step set the solver up.
  std::string brief() const;
};

class SmokeSimulation {
 public:
  // Builds the flags (walls, air, voxelized obstacle), the pressure system and the fields
  // at rest. Fluid cells cut off from the main fluid region (pockets enclosed by the
  // obstacle) become solid, so every pure-Neumann system has a single null vector.
  // Throws OptionError for invalid options and IoError for an unreadable mesh. Logs a
  // warning naming the mesh when it gives no solid cell (open, flat or below a cell).
  explicit SmokeSimulation(const SmokeScene& scene);

  // Takes one step, solving the pressure system with `solver`. The solver is set up
  // (solver.setup(pressure_system().system)) when it is not the solver of the previous
  // step; a caller that sets the same solver up on another system between steps must
  // call require_solver_setup() first. A solve that does not converge is logged as a
  // warning and the step goes on with the solver's best answer; a non-finite answer
  // throws NumericalError naming the step and the solver's summary.
  StepSummary step(linear::LinearSolver& solver, const linear::SolveOptions& options);

  // Stage 6 alone, on the current velocity: b = -h div u*, project b onto the range of
  // A, solve A x = b, u <- u - grad x. Exposed so that tests and codes with their own
  // forces can project any velocity field.
  ProjectionSummary project(linear::LinearSolver& solver, const linear::SolveOptions& options);

  void require_solver_setup() { prepared_solver_ = nullptr; }

  const SmokeScene& scene() const { return scene_; }
  const linear::FlagGrid& flags() const { return flags_; }
  int dimension() const { return scene_.dimension; }
  double spacing() const { return flags_.spacing(); }
  int steps_taken() const { return steps_taken_; }
  double time() const { return time_; }

  // The pressure system of the grid (flags do not change during a run) and, after a
  // projection, its right-hand side b = -h div u* over the unknowns (projected onto the
  // range of A) and the solution x. With A unscaled, x = dt p / (rho h): the physical
  // pressure is rho h x / dt (see pressure_scale()).
  const linear::PressureSystem& pressure_system() const { return system_; }
  const linear::Vector& rhs() const { return rhs_; }
  const linear::Vector& solution() const { return solution_; }
  // rho h / dt of the last step (rho = 1): multiplies the solution into pascals per unit
  // density.
  double pressure_scale() const { return last_dt_ > 0 ? spacing() / last_dt_ : 0.0; }

  // Cell fields (x fastest). pressure_field() is the solution x on fluid cells, 0 elsewhere;
  // rhs_field() is b on fluid cells, 0 elsewhere.
  const GridField& density() const { return density_; }
  GridField& density() { return density_; }
  const GridField& temperature() const { return temperature_; }
  GridField& temperature() { return temperature_; }
  const GridField& pressure_field() const { return pressure_field_; }
  const GridField& rhs_field() const { return rhs_field_; }
  const MacVelocity& velocity() const { return velocity_; }
  MacVelocity& velocity() { return velocity_; }

  // The obstacle as placed in the domain (empty for the plume).
  const TriangleMesh& obstacle() const { return obstacle_; }

  // The time step the next step would take (CFL limit or fixed).
  double next_dt() const;

  // Stages 2, 4 and 5, exposed for tests.
  void apply_source();
  void add_buoyancy(double dt);
  void enforce_solid_velocities();

  // max |div u| over fluid cells, in 1/s.
  double max_fluid_divergence() const;

  // Density-weighted mean height (y, metres) of the smoke in fluid cells; 0 without smoke.
  double density_centroid_height() const;

 private:
  void build_flags();
  void remove_enclosed_fluid();
  bool is_solid(std::int64_t cell) const;
  void clear_solid_cells(GridField& field) const;

  SmokeScene scene_;
  linear::FlagGrid flags_;
  TriangleMesh obstacle_;
  linear::PressureSystem system_;
  MacVelocity velocity_;
  GridField density_;
  GridField temperature_;
  GridField pressure_field_;
  GridField rhs_field_;
  linear::Vector rhs_;
  linear::Vector solution_;
  const linear::LinearSolver* prepared_solver_ = nullptr;
  int steps_taken_ = 0;
  double time_ = 0.0;
  double last_dt_ = 0.0;
};

}  // namespace deepnum::smoke
