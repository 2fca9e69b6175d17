// deepnum_dcdm_train: builds the DCDM training set from a smoke scene's pressure matrix and
// trains the network on it, writing a model file with its provenance.
//
//   deepnum_dcdm_train --scene plume --n 32 --steps 3000 --output models/dcdm_plume_32.h5
//
// (a) Training set: the scene runs for --frames frames, then Lanczos (full
//     reorthogonalization, --lanczos-steps) on that frame's pressure matrix yields Ritz
//     pairs; each training vector is a random combination of the Ritz vectors with the
//     lowest modes boosted, normalized. Written to --dataset (reused when it exists and
//     matches the scene, unless --rebuild-dataset).
// (b) Training: Adam on the scale-invariant loss, progress lines, a checkpoint every
//     --checkpoint-every steps; rerunning the same command resumes from the checkpoint.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/program.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/dcdm/network.hpp"
#include "deepnum/dcdm/training.hpp"
#include "deepnum/dcdm/training_set.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/output_file.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "deepnum/nn/device.hpp"
#include "deepnum/nn/module_io.hpp"
#include "deepnum/smoke/scene_options.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"

namespace {

namespace dcdm = deepnum::dcdm;
namespace fs = std::filesystem;

struct DriverOptions {
  deepnum::smoke::SmokeScene scene;
  std::string scene_name = "plume";
  int frames = 5;
  std::string frame_solver = "icpcg";
  dcdm::TrainingSetOptions set;
  std::string dataset;
  bool rebuild_dataset = false;
  std::string layout = "64";
  dcdm::TrainOptions train;
  std::string output;
  int threads = 0;
  std::string log_level = "info";
  std::string command_line;
};

std::string default_stem(const DriverOptions& options) {
  return fmt::format("dcdm_{}_{}", options.scene_name, options.scene.resolution);
}

// Runs the scene for the requested frames and returns its flags (they do not change
// during a run; the frames make the provenance concrete and check that the scene works).
deepnum::linear::FlagGrid scene_flags(const DriverOptions& options) {
  deepnum::smoke::SmokeSimulation simulation(options.scene);
  auto solver = deepnum::linear::make_solver(options.frame_solver);
  deepnum::linear::SolveOptions solve;
  solve.rtol = 1e-6;
  solve.record_history = false;
  for (int frame = 1; frame <= options.frames; ++frame) {
    const auto step = simulation.step(*solver, solve);
    deepnum::log::info("frame {}: {}", frame, step.brief());
  }
  return simulation.flags();
}

// What differs between a stored training set and the one these options would build
// ("" when they agree): the flags, the vector count and every recorded build setting.
std::string training_set_difference(const dcdm::TrainingSet& stored,
                                    const deepnum::linear::FlagGrid& flags,
                                    const DriverOptions& options) {
  std::vector<std::string> differences;
  auto compare = [&](const char* what, const auto& stored_value, const auto& wanted) {
    if (!(stored_value == wanted)) {
      differences.push_back(fmt::format("{} {} (wanted {})", what, stored_value, wanted));
    }
  };
  if (stored.grid.cells() != flags.cells() || stored.grid.flags() != flags.flags()) {
    differences.push_back("other flags");
  }
  compare("scene", stored.scene, options.scene_name);
  compare("frame", stored.frame, options.frames);
  compare("vectors", stored.count(), static_cast<std::int64_t>(options.set.vectors));
  compare("lanczos steps", stored.lanczos_steps, options.set.lanczos.steps);
  compare("low-mode fraction", stored.low_mode_fraction, options.set.low_mode_fraction);
  compare("low-mode factor", stored.low_mode_factor, options.set.low_mode_factor);
  compare("seed", stored.seed, options.set.seed);
  std::string joined;
  for (const auto& difference : differences) joined += (joined.empty() ? "" : ", ") + difference;
  return joined;
}

// The training set of the scene: read from options.dataset when it is there and was
// built the same way (training_set_difference), else built and written.
dcdm::TrainingSet training_set(const DriverOptions& options) {
  const deepnum::linear::FlagGrid flags = scene_flags(options);
  if (!options.rebuild_dataset && fs::exists(options.dataset)) {
    dcdm::TrainingSet stored = dcdm::read_training_set(options.dataset);
    const std::string difference = training_set_difference(stored, flags, options);
    if (difference.empty()) {
      deepnum::log::info(
          "training set: reusing '{}' ({} vectors)", options.dataset, stored.count());
      return stored;
    }
    deepnum::log::warn(
        "training set '{}' was built with {}; rebuilding", options.dataset, difference);
  }
  dcdm::TrainingSet set =
      dcdm::build_training_set(flags, options.set, options.scene_name, options.frames);
  dcdm::write_training_set(set, options.dataset);
  deepnum::log::info("training set: wrote '{}'", options.dataset);
  return set;
}

// Everything that can be checked before the scene runs and the training set is built:
// minutes of work must not end in an error that was known at the start.
void check_before_running(const DriverOptions& options) {
  deepnum::io::require_distinct_files({{"--dataset", options.dataset},
                                       {"--checkpoint", options.train.checkpoint_path},
                                       {"--output", options.output},
                                       {"--mesh", options.scene.mesh_path}});
  for (const auto& [path, kind] :
       {std::pair<std::string, std::string>{options.output, "model file (--output)"},
        {options.dataset, "training set file (--dataset)"},
        {options.train.checkpoint_path, "checkpoint file (--checkpoint)"}}) {
    const fs::path folder = fs::path(path).parent_path();
    std::error_code error;
    if (!folder.empty() && !fs::create_directories(folder, error) && error) {
      throw deepnum::IoError("cannot create the folder '" + folder.string() + "' of the " + kind +
                             " '" + path + "': " + error.message());
    }
    deepnum::io::require_replaceable_file(path, kind);
  }
  deepnum::require<deepnum::OptionError>(options.train.batch_size <= options.set.vectors,
                                         "--batch-size ",
                                         options.train.batch_size,
                                         " is larger than the training set (--vectors ",
                                         options.set.vectors,
                                         ")");
  deepnum::nn::parse_device(options.train.device);  // throws for a device not available here
}

int run(DriverOptions& options) {
  deepnum::nn::configure_threads(options.threads);
  deepnum::nn::seed_everything(options.train.seed);
  deepnum::Stopwatch clock;

  // (a) the training set
  const dcdm::TrainingSet set = training_set(options);
  const double set_seconds = clock.seconds();

  // (b) the network, trained (resumed from the checkpoint when there is one)
  dcdm::NetworkOptions layout = options.layout == "128"
                                    ? dcdm::NetworkOptions::for_grid_128(set.grid.dimension())
                                    : dcdm::NetworkOptions::for_grid_64(set.grid.dimension());
  dcdm::DcdmNetwork network(layout);
  deepnum::log::info("network: {}D, {} parameters, layout {}",
                     layout.dimension,
                     network->parameter_count(),
                     options.layout);
  const auto summary = dcdm::train_network(network, set, options.train);
  if (summary.reason == deepnum::nn::TrainingStopReason::kInterrupted) {
    deepnum::log::warn("training interrupted at step {}; rerun the command to resume from '{}'",
                       summary.final_step,
                       options.train.checkpoint_path);
    return 3;
  }

  dcdm::ModelProvenance provenance;
  provenance.training_scene = options.scene_name;
  provenance.training_grid = set.grid.cells();
  provenance.training_vectors = set.count();
  provenance.training_steps = summary.final_step;
  provenance.final_loss = summary.running_loss;
  provenance.command_line = options.command_line;
  dcdm::save_model(network, provenance, options.output);
  deepnum::log::info(
      "wrote '{}': {} steps, final loss {:.4g} (mean of the last {}), training set {}, "
      "total {}",
      options.output,
      summary.final_step,
      summary.running_loss,
      std::min<std::int64_t>(options.train.log_every, summary.final_step),
      deepnum::format_duration(set_seconds),
      deepnum::format_duration(clock.seconds()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DriverOptions options;
  options.scene.resolution = 32;
  std::ostringstream command;
  for (int i = 0; i < argc; ++i) command << (i ? " " : "") << argv[i];
  options.command_line = command.str();

  CLI::App app{
      "Trains the Deep Conjugate Direction Method network (Kaneda et al., ICML 2023) on the "
      "pressure matrix of a smoke scene: builds the Ritz-vector training set (HDF5), then "
      "trains with the scale-invariant loss, checkpointing and resuming, and writes the "
      "model file with its provenance."};
  auto& scene = options.scene;
  deepnum::smoke::add_scene_options(app, scene, options.scene_name);
  app.add_option("--frames", options.frames, "frames simulated before the matrix is taken")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--frame-solver", options.frame_solver, "pressure solver for those frames")
      ->check(CLI::IsMember(deepnum::linear::available_solvers()))
      ->capture_default_str();

  app.add_option("--lanczos-steps", options.set.lanczos.steps, "Lanczos steps m")
      ->check(CLI::Range(2, 1000000))
      ->capture_default_str();
  app.add_option("--vectors", options.set.vectors, "training vectors to generate")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--low-mode-fraction",
                 options.set.low_mode_fraction,
                 "share of the Ritz values, lowest first, whose coefficients are boosted")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option(
         "--low-mode-factor", options.set.low_mode_factor, "multiplier of the boosted coefficients")
      ->check(deepnum::smoke::number_above_zero())
      ->capture_default_str();
  app.add_option("--memory-limit-gb",
                 options.set.lanczos.memory_limit_gb,
                 "refuse a training set build needing more memory than this")
      ->check(deepnum::smoke::number_above_zero())
      ->capture_default_str();
  app.add_option("--dataset",
                 options.dataset,
                 "training set file (default: <scene>_<n>_training_set.h5 here)");
  app.add_flag("--rebuild-dataset",
               options.rebuild_dataset,
               "rebuild the training set even when --dataset exists");

  app.add_option(
         "--layout", options.layout, "network layout: 64 (97K parameters) or 128 (deeper, 153K)")
      ->check(CLI::IsMember({"64", "128"}))
      ->capture_default_str();
  app.add_option("--steps", options.train.steps, "optimizer steps in total (resumes count)")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--batch-size", options.train.batch_size, "right-hand sides per step")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--learning-rate", options.train.learning_rate, "Adam learning rate")
      ->check(deepnum::smoke::number_above_zero())
      ->capture_default_str();
  app.add_option("--final-learning-rate",
                 options.train.final_learning_rate,
                 "when > 0: half-cosine decay of the learning rate down to this at the end")
      ->check(deepnum::smoke::number_at_least_zero())
      ->capture_default_str();
  app.add_option("--seed", options.train.seed, "seed of the initialization and batch order")
      ->capture_default_str();
  app.add_option("--device", options.train.device, "cpu, cuda or cuda:N")->capture_default_str();
  app.add_option("--threads", options.threads, "LibTorch threads (0: one per core)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  app.add_option("--checkpoint",
                 options.train.checkpoint_path,
                 "checkpoint file (default: <output name>.checkpoint.h5 here)");
  app.add_option("--checkpoint-every", options.train.checkpoint_every, "steps between checkpoints")
      ->check(CLI::Range(0, 100000000))
      ->capture_default_str();
  app.add_option("--log-every", options.train.log_every, "steps averaged per progress line")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--output", options.output, "model file to write (default: dcdm_<scene>_<n>.h5)");
  app.add_option(
         "--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  return deepnum::run_reporting_errors([&] {
    deepnum::log::set_level(options.log_level);
    scene.kind = deepnum::smoke::scene_kind_from_string(options.scene_name);
    scene.validate();
    if (options.output.empty()) options.output = default_stem(options) + ".h5";
    // The large intermediate files go to the working folder, not next to the model.
    if (options.dataset.empty()) {
      options.dataset = fmt::format("{}_{}_training_set.h5", options.scene_name, scene.resolution);
    }
    if (options.train.checkpoint_path.empty()) {
      options.train.checkpoint_path = fs::path(options.output).stem().string() + ".checkpoint.h5";
    }
    options.train.handle_signals = true;
    options.train.progress_interval_seconds = 10.0;
    options.set.seed = options.train.seed + 1;
    options.set.validate();
    options.train.validate();
    check_before_running(options);
    return run(options);
  });
}
