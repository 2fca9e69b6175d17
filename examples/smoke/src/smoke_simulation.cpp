#include "deepnum/smoke/smoke_simulation.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"

namespace deepnum::smoke {

using linear::CellFlag;

const char* to_string(SceneKind kind) {
  switch (kind) {
    case SceneKind::kPlume:
      return "plume";
    case SceneKind::kBunny:
      return "bunny";
  }
  return "unknown";
}

SceneKind scene_kind_from_string(const std::string& name) {
  if (name == "plume") return SceneKind::kPlume;
  if (name == "bunny") return SceneKind::kBunny;
  throw InvalidArgumentError("unknown smoke scene '" + name + "' (accepted: plume, bunny)");
}

void SmokeScene::validate() const {
  require_option(
      dimension == 2 || dimension == 3, "SmokeScene", "dimension", dimension, "must be 2 or 3");
  require_option(resolution >= 8 && resolution <= 1024,
                 "SmokeScene",
                 "resolution",
                 resolution,
                 "must be in [8, 1024]");
  require_option(height_factor > 0 && std::isfinite(height_factor) &&
                     std::lround(height_factor * resolution) >= 8 &&
                     std::lround(height_factor * resolution) <= 1024,
                 "SmokeScene",
                 "height_factor",
                 height_factor,
                 "must give ny = round(height_factor * resolution) in [8, 1024]");
  require_option(domain_width > 0 && std::isfinite(domain_width),
                 "SmokeScene",
                 "domain_width",
                 domain_width,
                 "must be finite and > 0");
  require_option(source_radius_fraction >= 0 && std::isfinite(source_radius_fraction),
                 "SmokeScene",
                 "source_radius_fraction",
                 source_radius_fraction,
                 "must be finite and >= 0 (0 switches the source off)");
  require_option(source_centre_fraction.allFinite(),
                 "SmokeScene",
                 "source_centre_fraction",
                 source_centre_fraction.transpose(),
                 "must be finite");
  require_option(std::isfinite(source_density),
                 "SmokeScene",
                 "source_density",
                 source_density,
                 "must be finite");
  require_option(std::isfinite(source_temperature),
                 "SmokeScene",
                 "source_temperature",
                 source_temperature,
                 "must be finite");
  require_option(
      std::isfinite(source_speed), "SmokeScene", "source_speed", source_speed, "must be finite");
  require_option(std::isfinite(temperature_lift),
                 "SmokeScene",
                 "temperature_lift",
                 temperature_lift,
                 "must be finite");
  require_option(std::isfinite(density_weight),
                 "SmokeScene",
                 "density_weight",
                 density_weight,
                 "must be finite");
  require_option(kind != SceneKind::kBunny || !mesh_path.empty(),
                 "SmokeScene",
                 "mesh_path",
                 "''",
                 "must name an OBJ file for the bunny scene");
  mesh_placement.validate();
  require_option(cfl_number > 0 && std::isfinite(cfl_number),
                 "SmokeScene",
                 "cfl_number",
                 cfl_number,
                 "must be finite and > 0");
  require_option(max_dt > 0 && std::isfinite(max_dt),
                 "SmokeScene",
                 "max_dt",
                 max_dt,
                 "must be finite and > 0");
  require_option(fixed_dt >= 0 && std::isfinite(fixed_dt),
                 "SmokeScene",
                 "fixed_dt",
                 fixed_dt,
                 "must be finite and >= 0 (0: CFL-limited steps)");
}

std::array<int, 3> SmokeScene::cells() const {
  const int nx = resolution;
  const int ny = static_cast<int>(std::lround(height_factor * resolution));
  const int nz = dimension == 3 ? resolution : 1;
  return {nx, ny, nz};
}

std::string StepSummary::brief() const {
  const linear::SolveSummary& solve = projection.solve;
  const std::string outcome =
      solve.converged()
          ? fmt::format("converged in {} iterations", solve.iterations)
          : fmt::format(
                "{} after {} iterations", linear::to_string(solve.reason), solve.iterations);
  const std::string setup =
      projection.solver_set_up ? fmt::format(" + setup {:.3f} s", solve.setup_seconds) : "";
  return fmt::format(
      "t {:.4f} dt {:.4f}: {} {}, relres {:.2g}, solve {:.3f} s{}, "
      "max|div u| {:.2e} 1/s (before {:.2e}), max|u| {:.3g} m/s, step {:.3f} s",
      time,
      dt,
      solve.solver,
      outcome,
      solve.relative_residual(),
      solve.solve_seconds,
      setup,
      projection.max_divergence,
      projection.max_divergence_before,
      max_speed,
      step_seconds);
}

SmokeSimulation::SmokeSimulation(const SmokeScene& scene) : scene_(scene) {
  scene_.validate();
  const std::array<int, 3> cells = scene_.cells();
  build_flags();
  system_ = linear::assemble_pressure_system(flags_);
  velocity_ = MacVelocity(scene_.dimension, cells, scene_.spacing());
  density_ = GridField::cell_centred(cells);
  temperature_ = GridField::cell_centred(cells);
  pressure_field_ = GridField::cell_centred(cells);
  rhs_field_ = GridField::cell_centred(cells);
  rhs_ = linear::Vector::Zero(system_.unknown_count());
  solution_ = linear::Vector::Zero(system_.unknown_count());
  log::info("smoke scene {}: {}x{}x{} cells, h {:.4g} m, {} fluid, {} solid, {} air, {} unknowns",
            to_string(scene_.kind),
            cells[0],
            cells[1],
            cells[2],
            scene_.spacing(),
            flags_.count(CellFlag::kFluid),
            flags_.count(CellFlag::kSolid),
            flags_.count(CellFlag::kAir),
            system_.unknown_count());
}

void SmokeSimulation::build_flags() {
  const std::array<int, 3> cells = scene_.cells();
  const double h = scene_.spacing();
  const int dimension = scene_.dimension;
  flags_ = linear::FlagGrid(dimension, cells, h, CellFlag::kFluid);

  // Walls: the outermost cell layer; with open_top the top layer (inside the side walls)
  // is air instead.
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 0; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        const bool side_wall =
            x == 0 || x == cells[0] - 1 || (dimension == 3 && (z == 0 || z == cells[2] - 1));
        const bool floor = y == 0;
        const bool top = y == cells[1] - 1;
        if (side_wall || floor || (top && !scene_.open_top)) {
          flags_(x, y, z) = CellFlag::kBoundary;
        } else if (top) {
          flags_(x, y, z) = CellFlag::kAir;
        }
      }
    }
  }

  if (scene_.kind == SceneKind::kBunny) {
    // The domain box in metres; a 2D scene is the z-middle slice of a box as deep as wide.
    const double depth = dimension == 3 ? cells[2] * h : scene_.domain_width;
    const BoundingBox domain{Eigen::Vector3d::Zero(),
                             Eigen::Vector3d(cells[0] * h, cells[1] * h, depth)};
    obstacle_ = place_mesh(read_obj(scene_.mesh_path), domain, scene_.mesh_placement);
    GridFrame frame;
    frame.cells = cells;
    frame.spacing = h;
    frame.origin = Eigen::Vector3d(0, 0, dimension == 3 ? 0.0 : 0.5 * (depth - h));
    VoxelizeSummary voxelized;
    const std::vector<std::uint8_t> inside = voxelize(obstacle_, frame, &voxelized);
    for (std::int64_t cell = 0; cell < flags_.cell_count(); ++cell) {
      if (inside[cell] != 0 && flags_[cell] == CellFlag::kFluid) flags_[cell] = CellFlag::kSolid;
    }
    log::info(
        "obstacle '{}': {} triangles, {} solid cells ({} disputed by the axis vote), {:.2f} s",
        scene_.mesh_path,
        obstacle_.triangles.size(),
        voxelized.inside_cells,
        voxelized.disputed_cells,
        voxelized.seconds);
    if (voxelized.inside_cells == 0) {
      // The signed volume means nothing for an open mesh: report its extent instead.
      const Eigen::Vector3d extent = bounding_box(obstacle_).extent();
      log::warn(
          "obstacle '{}' gives no solid cells at n = {}: no cell centre lies inside it (is the "
          "mesh open or flat? placed extent {:.3g} x {:.3g} x {:.3g} m, cell size {:.3g} m, {} "
          "open edges)",
          scene_.mesh_path,
          scene_.resolution,
          extent.x(),
          extent.y(),
          extent.z(),
          h,
          count_open_edges(obstacle_));
    }
  }
  remove_enclosed_fluid();
}

void SmokeSimulation::remove_enclosed_fluid() {
  // Face-connected fluid components by breadth-first search; the largest one and those
  // that touch air stay fluid, the others (pockets sealed by the obstacle) become solid.
  const std::array<int, 3>& cells = flags_.cells();
  const std::int64_t cell_count = flags_.cell_count();
  std::vector<int> component(cell_count, -1);
  std::vector<std::int64_t> component_size;
  std::vector<bool> touches_air;
  std::deque<std::int64_t> queue;
  const std::array<std::int64_t, 3> stride{
      1, cells[0], static_cast<std::int64_t>(cells[0]) * cells[1]};
  for (std::int64_t seed = 0; seed < cell_count; ++seed) {
    if (flags_[seed] != CellFlag::kFluid || component[seed] >= 0) continue;
    const int label = static_cast<int>(component_size.size());
    component_size.push_back(0);
    touches_air.push_back(false);
    component[seed] = label;
    queue.push_back(seed);
    while (!queue.empty()) {
      const std::int64_t cell = queue.front();
      queue.pop_front();
      ++component_size[label];
      const std::array<int, 3> at{static_cast<int>(cell % cells[0]),
                                  static_cast<int>((cell / cells[0]) % cells[1]),
                                  static_cast<int>(cell / stride[2])};
      for (int axis = 0; axis < flags_.dimension(); ++axis) {
        for (int direction : {-1, 1}) {
          const int next = at[axis] + direction;
          if (next < 0 || next >= cells[axis]) continue;
          const std::int64_t neighbour = cell + direction * stride[axis];
          if (flags_[neighbour] == CellFlag::kAir) touches_air[label] = true;
          if (flags_[neighbour] != CellFlag::kFluid || component[neighbour] >= 0) continue;
          component[neighbour] = label;
          queue.push_back(neighbour);
        }
      }
    }
  }
  if (component_size.size() <= 1) return;
  const auto largest = static_cast<int>(
      std::max_element(component_size.begin(), component_size.end()) - component_size.begin());
  std::int64_t sealed = 0;
  for (std::int64_t cell = 0; cell < cell_count; ++cell) {
    const int label = component[cell];
    if (label < 0 || label == largest || touches_air[label]) continue;
    flags_[cell] = CellFlag::kSolid;
    ++sealed;
  }
  if (sealed > 0) {
    log::info("smoke scene: {} fluid cells sealed off from the main region made solid", sealed);
  }
}

bool SmokeSimulation::is_solid(std::int64_t cell) const {
  const CellFlag flag = flags_[cell];
  return flag == CellFlag::kSolid || flag == CellFlag::kBoundary;
}

void SmokeSimulation::clear_solid_cells(GridField& field) const {
  for (std::int64_t cell = 0; cell < flags_.cell_count(); ++cell) {
    if (is_solid(cell)) field[cell] = 0.0;
  }
}

double SmokeSimulation::next_dt() const {
  if (scene_.fixed_dt > 0) return scene_.fixed_dt;
  // dt = min(max_dt, C h / max|u|): a backtrace crosses at most C cells.
  const double speed = velocity_.max_abs();
  const double cfl_limit = scene_.cfl_number * spacing();
  return speed * scene_.max_dt <= cfl_limit ? scene_.max_dt : cfl_limit / speed;
}

void SmokeSimulation::apply_source() {
  if (scene_.source_radius_fraction <= 0) return;
  const std::array<int, 3>& cells = flags_.cells();
  const double h = spacing();
  const Eigen::Vector3d extent(cells[0] * h, cells[1] * h, cells[2] * h);
  const Eigen::Vector3d centre = scene_.source_centre_fraction.cwiseProduct(extent);
  const double radius = scene_.source_radius_fraction * scene_.domain_width;
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 0; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        Eigen::Vector3d offset = h * Eigen::Vector3d(x + 0.5, y + 0.5, z + 0.5) - centre;
        if (dimension() == 2) offset.z() = 0.0;
        if (offset.norm() > radius || flags_(x, y, z) != CellFlag::kFluid) continue;
        density_(x, y, z) = scene_.source_density;
        temperature_(x, y, z) = scene_.source_temperature;
        if (scene_.source_speed != 0) {
          velocity_.component(1)(x, y, z) = scene_.source_speed;
          velocity_.component(1)(x, y + 1, z) = scene_.source_speed;
        }
      }
    }
  }
}

void SmokeSimulation::add_buoyancy(double dt) {
  // Boussinesq buoyancy on the vertical faces between two cells:
  //   v += dt (temperature_lift T - density_weight d), T and d averaged over both cells.
  const std::array<int, 3>& cells = flags_.cells();
  GridField& v = velocity_.component(1);
  auto lift = [&](int x, int y, int z) {
    return scene_.temperature_lift * temperature_(x, y, z) -
           scene_.density_weight * density_(x, y, z);
  };
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 1; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        v(x, y, z) += dt * 0.5 * (lift(x, y - 1, z) + lift(x, y, z));
      }
    }
  }
}

void SmokeSimulation::enforce_solid_velocities() {
  // Every face with a solid or wall cell on either side carries the solid's velocity (0).
  // A face on the grid's outer boundary next to an air cell copies its inner neighbour
  // (zero-gradient outflow); next to any other cell it is a wall.
  const std::array<int, 3>& cells = flags_.cells();
  for (int axis = 0; axis < dimension(); ++axis) {
    GridField& component = velocity_.component(axis);
    const std::array<int, 3>& size = component.size();
    for (int k = 0; k < size[2]; ++k) {
      for (int j = 0; j < size[1]; ++j) {
        for (int i = 0; i < size[0]; ++i) {
          std::array<int, 3> upper{i, j, k};  // the cell above the face along `axis`
          std::array<int, 3> lower{i, j, k};
          lower[axis] -= 1;
          const int along = upper[axis];
          if (along == 0 || along == cells[axis]) {
            const std::array<int, 3>& inside = along == 0 ? upper : lower;
            if (flags_(inside[0], inside[1], inside[2]) == CellFlag::kAir) {
              std::array<int, 3> inner{i, j, k};
              inner[axis] += along == 0 ? 1 : -1;
              component(i, j, k) = component(inner[0], inner[1], inner[2]);
            } else {
              component(i, j, k) = 0.0;
            }
            continue;
          }
          if (is_solid(flags_.index(lower[0], lower[1], lower[2])) ||
              is_solid(flags_.index(upper[0], upper[1], upper[2]))) {
            component(i, j, k) = 0.0;
          }
        }
      }
    }
  }
}

ProjectionSummary SmokeSimulation::project(linear::LinearSolver& solver,
                                           const linear::SolveOptions& options) {
  // Derivation with the unscaled matrix. The update u = u* - (dt / rho) grad p on the face
  // between cells i and j (j on the positive side) reads
  //   u_f = u*_f - dt / (rho h) (p_j - p_i),
  // with p = 0 in air cells (Dirichlet) and no update on faces touching a solid (Neumann:
  // u_f is the solid's velocity). Summing the outward face velocities of fluid cell i,
  //   h div u_i = h div u*_i - dt / (rho h) sum_{j fluid or air} (p_j - p_i)
  //             = h div u*_i + (A x)_i,    x = dt p / (rho h),
  // because (A x)_i = (number of fluid and air neighbours) x_i - sum_{j fluid} x_j is the
  // unscaled negative Laplacian of linear/pressure_system.hpp. Asking div u = 0 gives
  //   A x = b,  b_i = -h div u*_i = -(net outflow of cell i),
  // and the update u_f <- u*_f - (x_j - x_i), free of h, dt and rho. Afterwards the net
  // outflow of cell i is exactly -(b - A x)_i: max |div u| = ||b - A x||_inf / h, so the
  // solver's residual bounds the divergence left behind.
  ProjectionSummary summary;
  enforce_solid_velocities();

  const std::array<int, 3>& cells = flags_.cells();
  const double h = spacing();
  std::fill(rhs_field_.values().begin(), rhs_field_.values().end(), 0.0);
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 0; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        if (flags_(x, y, z) != CellFlag::kFluid) continue;
        const double outflow = velocity_.net_outflow(x, y, z);
        rhs_field_(x, y, z) = -outflow;
        summary.max_divergence_before =
            std::max(summary.max_divergence_before, std::abs(outflow) / h);
      }
    }
  }
  rhs_ = system_.gather(rhs_field_.values().data());
  // In a closed box the net outflows of a component sum to zero exactly; the projection
  // removes the round-off that would make A x = b inconsistent.
  const linear::RhsProjection removed = linear::project_onto_range(system_.system, rhs_);
  summary.removed_rhs_norm = removed.removed_norm;
  summary.rhs_norm = rhs_.norm();
  system_.scatter(rhs_, rhs_field_.values().data());

  if (prepared_solver_ != &solver) {
    solver.setup(system_.system);
    prepared_solver_ = &solver;
    summary.solver_set_up = true;
  }
  // Zero initial guess: every frame's solve is then the same problem for every solver.
  solution_ = linear::Vector::Zero(system_.unknown_count());
  summary.solve = solver.solve(rhs_, solution_, options);
  if (!summary.solve.converged()) {
    log::warn("pressure solve did not converge: {}", summary.solve.brief());
  }
  require<NumericalError>(solution_.allFinite(),
                          "pressure solve returned non-finite values after step ",
                          steps_taken_,
                          ": ",
                          summary.solve.brief());
  std::fill(pressure_field_.values().begin(), pressure_field_.values().end(), 0.0);
  system_.scatter(solution_, pressure_field_.values().data());

  // u_f <- u*_f - (x_j - x_i) on faces with no solid side and a fluid cell on either side.
  for (int axis = 0; axis < dimension(); ++axis) {
    GridField& component = velocity_.component(axis);
    std::array<int, 3> first{0, 0, 0};
    first[axis] = 1;
    for (int k = first[2]; k < cells[2]; ++k) {
      for (int j = first[1]; j < cells[1]; ++j) {
        for (int i = first[0]; i < cells[0]; ++i) {
          std::array<int, 3> lower{i, j, k};
          lower[axis] -= 1;
          const std::int64_t lower_cell = flags_.index(lower[0], lower[1], lower[2]);
          const std::int64_t upper_cell = flags_.index(i, j, k);
          if (is_solid(lower_cell) || is_solid(upper_cell)) continue;
          if (flags_[lower_cell] != CellFlag::kFluid && flags_[upper_cell] != CellFlag::kFluid) {
            continue;
          }
          component(i, j, k) -= pressure_field_[upper_cell] - pressure_field_[lower_cell];
        }
      }
    }
  }
  summary.max_divergence = max_fluid_divergence();
  return summary;
}

StepSummary SmokeSimulation::step(linear::LinearSolver& solver,
                                  const linear::SolveOptions& options) {
  const Stopwatch step_watch;
  StepSummary summary;
  const double dt = next_dt();
  apply_source();

  const Stopwatch advection_watch;
  MacVelocity advected = advect_velocity(velocity_, dt);
  GridField advected_density;
  GridField advected_temperature;
  advect_field(velocity_, dt, density_, advected_density);
  advect_field(velocity_, dt, temperature_, advected_temperature);
  velocity_ = std::move(advected);
  density_ = std::move(advected_density);
  temperature_ = std::move(advected_temperature);
  clear_solid_cells(density_);
  clear_solid_cells(temperature_);
  summary.advection_seconds = advection_watch.seconds();

  add_buoyancy(dt);
  summary.projection = project(solver, options);

  ++steps_taken_;
  time_ += dt;
  last_dt_ = dt;
  summary.step = steps_taken_;
  summary.time = time_;
  summary.dt = dt;
  summary.max_speed = velocity_.max_abs();
  summary.step_seconds = step_watch.seconds();
  log::debug("smoke step {}: {}", summary.step, summary.brief());
  return summary;
}

double SmokeSimulation::max_fluid_divergence() const {
  const std::array<int, 3>& cells = flags_.cells();
  double largest = 0.0;
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 0; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        if (flags_(x, y, z) != CellFlag::kFluid) continue;
        largest = std::max(largest, std::abs(velocity_.net_outflow(x, y, z)));
      }
    }
  }
  return largest / spacing();
}

double SmokeSimulation::density_centroid_height() const {
  const std::array<int, 3>& cells = flags_.cells();
  double mass = 0.0;
  double moment = 0.0;
  for (int z = 0; z < cells[2]; ++z) {
    for (int y = 0; y < cells[1]; ++y) {
      for (int x = 0; x < cells[0]; ++x) {
        if (flags_(x, y, z) != CellFlag::kFluid) continue;
        mass += density_(x, y, z);
        moment += density_(x, y, z) * (y + 0.5) * spacing();
      }
    }
  }
  return mass > 0 ? moment / mass : 0.0;
}

}  // namespace deepnum::smoke
