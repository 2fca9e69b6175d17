// deepnum_dcdm_compare: DCDM against CG and IC(0)-PCG on the pressure system of a smoke
// frame, at the same tolerances on the same residual norm ||b - A x|| / ||b||, and the
// network's cost per application in sparse matrix-vector products.
//
//   deepnum_dcdm_compare --scene bunny --n 64 --frames 20 --rtol 1e-4 --rtol 1e-6
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/nn/device.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"

namespace {

namespace dcdm = deepnum::dcdm;
using deepnum::linear::Vector;

struct DriverOptions {
  deepnum::smoke::SmokeScene scene;
  std::string scene_name = "plume";
  int frames = 20;
  std::string model;
  std::vector<double> rtols{1e-4, 1e-6};
  std::vector<std::string> solvers{"cg", "icpcg", "dcdm"};
  int max_iterations = 5000;
  int threads = 0;
  int repeats = 5;
  std::string log_level = "warn";
};

// Seconds per call of `work`, the best of `repeats` rounds of `calls` calls each.
template <class Work>
double seconds_per_call(int repeats, int calls, const Work& work) {
  double best = 1e300;
  for (int round = 0; round < repeats; ++round) {
    deepnum::Stopwatch clock;
    for (int call = 0; call < calls; ++call) work();
    best = std::min(best, clock.seconds() / calls);
  }
  return best;
}

int run(const DriverOptions& options) {
  const int threads = deepnum::nn::configure_threads(options.threads);
  const std::string model = options.model.empty() ? dcdm::default_model_path() : options.model;

  // The frame: the scene after `frames` steps (solved with IC-PCG to 1e-8).
  deepnum::smoke::SmokeSimulation simulation(options.scene);
  {
    auto solver = deepnum::linear::make_solver("icpcg");
    deepnum::linear::SolveOptions solve;
    solve.rtol = 1e-8;
    solve.record_history = false;
    for (int frame = 1; frame <= options.frames; ++frame) simulation.step(*solver, solve);
  }
  const auto& system = simulation.pressure_system().system;
  const Vector& b = simulation.rhs();
  const auto cells = simulation.flags().cells();
  fmt::print("{} {}x{}x{}, frame {}: {} unknowns, {} null vectors, ||b|| = {:.4g}\n",
             options.scene_name,
             cells[0],
             cells[1],
             cells[2],
             options.frames,
             b.size(),
             system.null_space.size(),
             b.norm());
  const auto loaded = dcdm::load_model(model);
  const auto& provenance = loaded.provenance;
  fmt::print("model {} (trained on {} {}x{}x{}, {} steps, loss {:.4g}), {} threads\n",
             model,
             provenance.training_scene,
             provenance.training_grid[0],
             provenance.training_grid[1],
             provenance.training_grid[2],
             provenance.training_steps,
             provenance.final_loss,
             threads);

  // Solvers at each tolerance.
  fmt::print("{:>8} {:>7} {:>10} {:>10} {:>10} {:>9} {:>9} {}\n",
             "rtol",
             "solver",
             "iterations",
             "relres",
             "solve s",
             "setup s",
             "network s",
             "result");
  for (const double rtol : options.rtols) {
    for (const std::string& name : options.solvers) {
      std::unique_ptr<deepnum::linear::LinearSolver> solver;
      if (name == "dcdm") {
        solver = std::make_unique<dcdm::DcdmSolver>(simulation.flags(), loaded.network);
      } else {
        solver = deepnum::linear::make_solver(name);
      }
      solver->setup(system);
      deepnum::linear::SolveOptions solve;
      solve.rtol = rtol;
      solve.max_iterations = options.max_iterations;
      solve.record_history = false;
      Vector x = Vector::Zero(b.size());
      const auto summary = solver->solve(b, x, solve);
      fmt::print("{:>8.0e} {:>7} {:>10} {:>10.2e} {:>10.3f} {:>9.3f} {:>9.3f} {}{}\n",
                 rtol,
                 name,
                 summary.iterations,
                 summary.relative_residual(),
                 summary.solve_seconds,
                 summary.setup_seconds,
                 summary.preconditioner_seconds,
                 deepnum::linear::to_string(summary.reason),
                 name == "dcdm" ? fmt::format(" ({} fallback steps)", summary.fallback_steps)
                                : std::string());
    }
  }

  // Cost of one network application against one sparse product at this size.
  const dcdm::NetworkDirection direction(loaded.network, simulation.flags());
  Vector unit = b / b.norm();
  Vector q;
  Vector product(b.size());
  direction(unit, q);  // warm-up (allocations, kernel selection)
  const double network_seconds = seconds_per_call(options.repeats, 3, [&] { direction(unit, q); });
  const double matvec_seconds =
      seconds_per_call(options.repeats, 50, [&] { product.noalias() = system.matrix * unit; });
  fmt::print("network apply {:.4f} s, sparse matvec {:.6f} s: one application = {:.0f} matvecs\n",
             network_seconds,
             matvec_seconds,
             network_seconds / matvec_seconds);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DriverOptions options;
  options.scene.resolution = 64;
  CLI::App app{
      "Compares DCDM with CG and IC(0)-PCG on the pressure system of one smoke frame, at the "
      "same relative tolerances on ||b - A x|| / ||b||, and measures the network's cost per "
      "application in sparse matrix-vector products."};
  app.add_option("--scene", options.scene_name, "smoke scene")
      ->check(CLI::IsMember({"plume", "bunny"}))
      ->capture_default_str();
  app.add_option("--n", options.scene.resolution, "cells along each axis, walls included (even)")
      ->check(CLI::Range(8, 512))
      ->capture_default_str();
  app.add_flag("--open-top", options.scene.open_top, "top cell layer is air (p = 0)");
  app.add_option("--frames", options.frames, "frames simulated; the last one is solved")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--model", options.model, "DCDM model file (default: the shipped model)");
  app.add_option("--rtol", options.rtols, "relative tolerances (repeatable)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--solver", options.solvers, "solvers: cg, icpcg, dcdm, petsc-... (repeatable)")
      ->capture_default_str();
  app.add_option("--max-iterations", options.max_iterations, "iteration limit per solve")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--threads", options.threads, "LibTorch threads (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--repeats", options.repeats, "timing rounds for the cost measurement")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option(
         "--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    deepnum::log::set_level(options.log_level);
    options.scene.kind = deepnum::smoke::scene_kind_from_string(options.scene_name);
    options.scene.validate();
    return run(options);
  } catch (const std::exception& error) {
    deepnum::log::error("{}", error.what());
    return 1;
  }
}
