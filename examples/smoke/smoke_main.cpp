// deepnum_smoke: runs a smoke scene and writes every frame (and optionally its pressure
// system) to HDF5 with an XDMF sidecar for ParaView.
//
//   deepnum_smoke --scene bunny --n 64 --frames 50 --solver icpcg --output bunny.h5
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "deepnum/config.hpp"
#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/program.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/io/output_file.hpp"
#include "deepnum/linear/solver_comparison.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/smoke/frame_output.hpp"
#include "deepnum/smoke/scene_options.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"
#if DEEPNUM_WITH_PETSC
#include "deepnum/linear/petsc_session.hpp"
#endif
#if DEEPNUM_SMOKE_WITH_DCDM
#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/nn/device.hpp"
#endif

namespace {

struct DriverOptions {
  deepnum::smoke::SmokeScene scene;
  std::string scene_name = "plume";
  int frames = 10;
  std::string solver = "icpcg";
  deepnum::linear::SolveOptions solve;
  std::string output;
  bool save_systems = false;
  int commit_every = 0;  // 0: chosen from the grid size
  std::string log_level = "info";
  // Side-by-side comparison on the frames' own pressure systems.
  std::vector<std::string> compare_solvers;
  std::string dcdm_model;  // empty: the shipped default model
  int threads = 1;         // LibTorch intra-op threads of dcdm (0: one per core)
  int compare_every = 1;
  std::vector<double> compare_rtols;  // empty: the --rtol of the projection
  std::string records_path;
};

// Creates the folder of an output file, then checks that the file can be written all or
// nothing (io::require_replaceable_file): run before any frame is computed.
void prepare_output_path(const std::string& path, const std::string& kind) {
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!folder.empty() && !std::filesystem::create_directories(folder, error) && error) {
    throw deepnum::IoError("cannot create the folder '" + folder.string() + "' of " + kind + " '" +
                           path + "': " + error.message());
  }
  deepnum::io::require_replaceable_file(path, kind);
}

// Writes the comparison records as JSON all or nothing (a temporary file beside the
// target, then a rename), so an interrupted run never leaves a half-written file.
void write_records(const std::string& path,
                   const std::vector<deepnum::linear::SolverRecord>& records) {
  deepnum::io::write_text_atomically(
      path, deepnum::linear::records_to_json(records, /*with_history=*/true), "records file");
}

#if DEEPNUM_WITH_PETSC
bool uses_petsc(const DriverOptions& options) {
  auto is_petsc = [](const std::string& name) { return name.rfind("petsc", 0) == 0; };
  return is_petsc(options.solver) ||
         std::any_of(options.compare_solvers.begin(), options.compare_solvers.end(), is_petsc);
}
#endif

// Frames per commit when --commit-every is not given: every frame while a commit (a copy
// of the whole file) stays cheap, less often for big grids.
int default_commit_interval(const deepnum::smoke::SmokeScene& scene, int frames) {
  const std::array<int, 3> cells = scene.cells();
  const double cell_count = static_cast<double>(cells[0]) * cells[1] * cells[2];
  if (cell_count <= 64.0 * 64 * 64) return 1;
  if (cell_count <= 128.0 * 128 * 128) return 10;
  return std::max(frames, 1);
}

// The solvers this driver can compare: the classical ones and, in builds with LibTorch,
// the neural "dcdm", which needs the scene's flag grid and a model file.
std::vector<std::string> comparable_solvers() {
  std::vector<std::string> names = deepnum::linear::available_solvers();
#if DEEPNUM_SMOKE_WITH_DCDM
  names.push_back("dcdm");
#endif
  return names;
}

std::unique_ptr<deepnum::linear::LinearSolver> make_compared_solver(
    const std::string& name,
    const deepnum::smoke::SmokeSimulation& simulation,
    const DriverOptions& options) {
#if DEEPNUM_SMOKE_WITH_DCDM
  if (name == "dcdm") {
    const std::string model =
        options.dcdm_model.empty() ? deepnum::dcdm::default_model_path() : options.dcdm_model;
    deepnum::log::info("dcdm: model '{}'", model);
    return std::make_unique<deepnum::dcdm::DcdmSolver>(simulation.flags(), model);
  }
#else
  (void)simulation;
  (void)options;
#endif
  return deepnum::linear::make_solver(name);
}

int run(const DriverOptions& options) {
  using namespace deepnum;
  // The command line's files first: two options naming one file, or a path that cannot
  // be written, fail before any work.
  io::require_distinct_files({{"--output", options.output},
                              {"--records", options.records_path},
                              {"--dcdm-model", options.dcdm_model},
                              {"--mesh", options.scene.mesh_path}});
  const auto& names = options.compare_solvers;
  for (auto name = names.begin(); name != names.end(); ++name) {
    require<InvalidArgumentError>(std::find(names.begin(), name, *name) == name,
                                  "--compare-solvers names '",
                                  *name,
                                  "' twice");
  }
  require<InvalidArgumentError>(
      options.dcdm_model.empty() || std::find(names.begin(), names.end(), "dcdm") != names.end(),
      "--dcdm-model '",
      options.dcdm_model,
      "' is given but --compare-solvers does not name dcdm");
  std::unique_ptr<smoke::FrameOutput> output;
  if (!options.output.empty()) {
    prepare_output_path(options.output, "HDF5 file");
    smoke::FrameOutputOptions output_options;
    output_options.path = options.output;
    output_options.save_systems = options.save_systems;
    output_options.commit_interval = options.commit_every > 0
                                         ? options.commit_every
                                         : default_commit_interval(options.scene, options.frames);
    output = std::make_unique<smoke::FrameOutput>(output_options);
    log::info("writing frames to '{}' (sidecar '{}'), committed every {} frame(s){}",
              options.output,
              output->xdmf_path(),
              output_options.commit_interval,
              options.save_systems ? ", with pressure systems" : "");
  }
  if (!options.records_path.empty()) prepare_output_path(options.records_path, "records file");

#if DEEPNUM_WITH_PETSC
  std::optional<linear::PetscSession> petsc;
  if (uses_petsc(options)) petsc.emplace();
#endif
  std::unique_ptr<linear::LinearSolver> solver = linear::make_solver(options.solver);
  smoke::SmokeSimulation simulation(options.scene);

  // The flags, hence the matrix, stay fixed during a run: set the compared solvers up
  // once, then solve every compared frame's right-hand side with each of them.
  std::optional<linear::SolverComparison> comparison;
  std::vector<double> compare_rtols = options.compare_rtols;
  if (compare_rtols.empty()) compare_rtols.push_back(options.solve.rtol);
  if (!options.compare_solvers.empty()) {
#if DEEPNUM_SMOKE_WITH_DCDM
    if (std::find(names.begin(), names.end(), "dcdm") != names.end()) {
      nn::configure_threads(options.threads);
    }
#endif
    comparison.emplace(std::vector<std::string>{});
    for (const std::string& name : options.compare_solvers) {
      comparison->add_solver(make_compared_solver(name, simulation, options));
    }
    comparison->set_system(simulation.pressure_system().system);
    simulation.require_solver_setup();
  }

  ProgressReporter progress("smoke " + options.scene_name, options.frames);
  double solve_seconds = 0.0;
  double setup_seconds = 0.0;
  long long iterations = 0;
  int unconverged = 0;
  for (int frame = 1; frame <= options.frames; ++frame) {
    const smoke::StepSummary step = simulation.step(*solver, options.solve);
    const linear::SolveSummary& solve = step.projection.solve;
    log::info("frame {}: {}", frame, step.brief());
    solve_seconds += solve.solve_seconds;
    if (step.projection.solver_set_up) setup_seconds += solve.setup_seconds;
    iterations += solve.iterations;
    if (!solve.converged()) ++unconverged;
    if (output) output->write(simulation, step);
    if (comparison && frame % options.compare_every == 0) {
      for (const double rtol : compare_rtols) {
        linear::SolveOptions compare_options = options.solve;
        compare_options.rtol = rtol;
        compare_options.record_history = true;
        comparison->solve(
            simulation.rhs(), compare_options, options.scene_name, options.scene.resolution, frame);
      }
    }
    progress.update(frame, fmt::format("{} iterations", solve.iterations));
  }
  if (output) output->finish();
  if (comparison) {
    if (!options.records_path.empty()) write_records(options.records_path, comparison->records());
    // The table is this program's result: it goes to standard output, the log to stderr.
    const std::array<int, 3> cells = options.scene.cells();
    fmt::print("\nPressure solvers on the {} scene, {} cells ({} frames compared, x0 = 0):\n{}\n",
               options.scene_name,
               options.scene.dimension == 2 ? fmt::format("{}x{}", cells[0], cells[1])
                                            : fmt::format("{}x{}x{}", cells[0], cells[1], cells[2]),
               options.frames / options.compare_every,
               linear::format_solver_table(comparison->records()));
  }

  log::info(
      "{} frames in {}: {} solver, {:.1f} iterations and {:.3f} s per solve, setup {:.3f} s{}",
      options.frames,
      format_duration(progress.elapsed_seconds()),
      options.solver,
      static_cast<double>(iterations) / options.frames,
      solve_seconds / options.frames,
      setup_seconds,
      unconverged > 0 ? fmt::format(", {} solves did not converge", unconverged) : "");
  return unconverged > 0 ? 2 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  DriverOptions options;
  deepnum::smoke::SmokeScene& scene = options.scene;
  CLI::App app{
      "DeepNum smoke simulation on a MAC grid: writes every frame (flags, rhs, pressure, "
      "velocity, density) to HDF5 with an XDMF sidecar, and optionally each frame's pressure "
      "system for benchmarks and training. Cells: n x round(height_factor n) x n, y up, "
      "walls included."};
  deepnum::smoke::add_scene_options(app, scene, options.scene_name);
  app.add_option("--frames", options.frames, "number of frames (one step each)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--solver", options.solver, "pressure solver")
      ->check(CLI::IsMember(deepnum::linear::available_solvers()))
      ->capture_default_str();
  app.add_option("--rtol", options.solve.rtol, "relative residual tolerance ||b - A x|| / ||b||")
      ->check(deepnum::smoke::number_above_zero())
      ->capture_default_str();
  app.add_option("--max-iterations", options.solve.max_iterations, "solver iteration limit")
      ->check(CLI::Range(1, 1000000000))
      ->capture_default_str();
  app.add_option("--output", options.output, "HDF5 file for the frames (none: no output)")
      ->check(deepnum::smoke::non_empty_path());
  app.add_flag("--save-systems",
               options.save_systems,
               "store each frame's pressure system (CSR matrix, rhs, solution)");
  app.add_option("--commit-every",
                 options.commit_every,
                 "frames per atomic commit of the output (each commit copies the file; "
                 "0: 1 up to 64^3 cells, 10 up to 128^3, else once at the end)")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  CLI::Option* compare_solvers =
      app.add_option("--compare-solvers",
                     options.compare_solvers,
                     "also solve each compared frame's pressure system from x0 = 0 with each of "
                     "these solvers and print a table (comma-separated)")
          ->delimiter(',')
          ->check(CLI::IsMember(comparable_solvers()));
  app.add_option("--compare-every", options.compare_every, "compare on every k-th frame")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--compare-rtol",
                 options.compare_rtols,
                 "relative tolerances of the comparison (comma-separated; default --rtol)")
      ->delimiter(',')
      ->check(deepnum::smoke::number_above_zero());
  app.add_option("--records",
                 options.records_path,
                 "JSON file for the comparison's records (one per solve, with residual "
                 "histories; needs --compare-solvers)")
      ->check(deepnum::smoke::non_empty_path())
      ->needs(compare_solvers);
#if DEEPNUM_SMOKE_WITH_DCDM
  app.add_option("--dcdm-model",
                 options.dcdm_model,
                 "DCDM model file (HDF5) for --compare-solvers dcdm (default: the shipped model)")
      ->check(CLI::ExistingFile)
      ->needs(compare_solvers);
  app.add_option("--threads",
                 options.threads,
                 "LibTorch threads of --compare-solvers dcdm (0: one per core; the default 1 "
                 "matches the single-threaded classical solvers)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
#endif
  app.add_option(
         "--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Every failure ends here as one line and status 1; unwinding removes temporary files.
  return deepnum::run_reporting_errors(
      [&] {
        deepnum::log::set_level(options.log_level);
        scene.kind = deepnum::smoke::scene_kind_from_string(options.scene_name);
        options.solve.record_history = false;
        options.solve.validate();
        return run(options);
      },
      [&] {
        const std::array<int, 3> cells = scene.cells();
        return fmt::format("out of memory: the {} scene of {} x {} x {} cells does not fit",
                           options.scene_name,
                           cells[0],
                           cells[1],
                           cells[2]);
      });
}
