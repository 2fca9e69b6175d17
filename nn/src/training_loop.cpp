#include "deepnum/nn/training_loop.hpp"

#include <signal.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <limits>
#include <mutex>
#include <numeric>
#include <unordered_map>
#include <utility>

#include <ATen/Context.h>
#include <c10/util/string_utils.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/nn/module_io.hpp"
#include "deepnum/nn/tensor_io.hpp"

namespace deepnum::nn {
namespace {

constexpr const char* kModelGroup = "/model";
constexpr const char* kOptimizerGroup = "/optimizer";
constexpr const char* kOptimizerStateGroup = "/optimizer/state";
constexpr const char* kStepPath = "/training/step";
constexpr const char* kLossHistoryPath = "/training/loss_history";
constexpr const char* kRunDescriptionAttribute = "run_description";
constexpr const char* kCpuGeneratorPath = "/rng/cpu";

std::string cuda_generator_path(std::size_t device) {
  return "/rng/cuda_" + std::to_string(device);
}

// ---- Signals ---------------------------------------------------------------------------

// The signal that asked run() to stop, 0 while none did. Written by the handler only.
volatile std::sig_atomic_t stop_signal_received = 0;

extern "C" void record_stop_signal(int signal_number) {
  stop_signal_received = signal_number;
}

// Installs the stop handler for SIGINT and SIGTERM while it lives and restores the previous
// handlers afterwards. SA_RESETHAND restores the default action on delivery, so a second
// signal ends the process at once.
class StopSignalHandlers {
 public:
  explicit StopSignalHandlers(bool enabled) : enabled_(enabled) {
    stop_signal_received = 0;
    if (!enabled_) return;
    struct sigaction action {};
    action.sa_handler = record_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &action, &previous_interrupt_);
    sigaction(SIGTERM, &action, &previous_terminate_);
  }
  ~StopSignalHandlers() {
    if (!enabled_) return;
    sigaction(SIGINT, &previous_interrupt_, nullptr);
    sigaction(SIGTERM, &previous_terminate_, nullptr);
  }
  StopSignalHandlers(const StopSignalHandlers&) = delete;
  StopSignalHandlers& operator=(const StopSignalHandlers&) = delete;

  static int received() { return stop_signal_received; }

 private:
  bool enabled_;
  struct sigaction previous_interrupt_ {};
  struct sigaction previous_terminate_ {};
};

// ---- Optimizer state -------------------------------------------------------------------

// The key under which torch::optim::Adam keeps a parameter's state: the address of its
// TensorImpl, printed (as Adam::step itself forms it).
std::string adam_state_key(const torch::Tensor& parameter) {
  return c10::guts::to_string(parameter.unsafeGetTensorImpl());
}

const torch::optim::AdamOptions& adam_options(const torch::optim::OptimizerParamGroup& group) {
  return static_cast<const torch::optim::AdamOptions&>(group.options());
}

torch::optim::AdamOptions& adam_options(torch::optim::OptimizerParamGroup& group) {
  return static_cast<torch::optim::AdamOptions&>(group.options());
}

void write_scalar(io::File& file, const std::string& path, std::int64_t value) {
  io::write_dataset(file, path, &value, io::Shape{});
}

std::int64_t read_scalar(const io::File& file, const std::string& path) {
  std::int64_t value = 0;
  io::read_dataset_raw(file, path, io::Dtype::kInt64, &value, io::Shape{});
  return value;
}

// A parameter's Adam state read from a checkpoint, not yet handed to the optimizer.
struct StagedAdamState {
  std::string key;
  std::unique_ptr<torch::optim::AdamParamState> state;
};

// Reads <base>/<name> with the parameter's dtype and shape, on its device.
torch::Tensor read_like(const io::File& file,
                        const std::string& path,
                        const torch::Tensor& parameter) {
  return read_tensor(file, path, parameter.scalar_type(), parameter.sizes(), parameter.device());
}

}  // namespace

// ---- Options and summary ---------------------------------------------------------------

void TrainingOptions::validate() const {
  require_option(total_steps > 0, "TrainingOptions", "total_steps", total_steps, "must be > 0");
  require_option(log_every > 0, "TrainingOptions", "log_every", log_every, "must be > 0");
  require_option(progress_interval_seconds >= 0,
                 "TrainingOptions",
                 "progress_interval_seconds",
                 progress_interval_seconds,
                 "must be >= 0");
  require_option(checkpoint_every >= 0,
                 "TrainingOptions",
                 "checkpoint_every",
                 checkpoint_every,
                 "must be >= 0 (0 = only at the end)");
  require_option(!task.empty(), "TrainingOptions", "task", "''", "must not be empty");
}

std::string_view to_string(TrainingStopReason reason) {
  switch (reason) {
    case TrainingStopReason::kCompleted:
      return "completed";
    case TrainingStopReason::kInterrupted:
      return "interrupted";
    case TrainingStopReason::kAlreadyComplete:
      return "already complete";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& stream, TrainingStopReason reason) {
  return stream << to_string(reason);
}

std::string TrainingSummary::brief() const {
  return fmt::format(
      "{}: steps {} -> {} ({} run), loss {:.4g} (mean {:.4g}), {:.3g} s, "
      "{:.3g} steps/s, {} checkpoint(s)",
      to_string(reason),
      first_step,
      final_step,
      steps_run,
      final_loss,
      running_loss,
      seconds,
      steps_per_second,
      checkpoints_written);
}

// ---- The loop --------------------------------------------------------------------------

TrainingLoop::TrainingLoop(torch::nn::Module& module,
                           torch::optim::Adam& optimizer,
                           TrainingOptions options)
    : module_(module), optimizer_(optimizer), options_(std::move(options)) {
  options_.validate();
  for (const auto& group : optimizer_.param_groups()) {
    for (const auto& parameter : group.params()) parameter_name(parameter);
  }
}

std::string TrainingLoop::parameter_name(const torch::Tensor& parameter) const {
  for (const auto& item : module_.named_parameters()) {
    if (item.value().unsafeGetTensorImpl() == parameter.unsafeGetTensorImpl()) return item.key();
  }
  throw InvalidArgumentError(detail::concatenate("the optimizer holds a parameter of shape ",
                                                 to_string(parameter.sizes()),
                                                 " that is not a parameter of module ",
                                                 module_.name(),
                                                 "; its state could not be checkpointed"));
}

double TrainingLoop::running_loss() const {
  if (loss_history_.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto window =
      std::min<std::size_t>(loss_history_.size(), static_cast<std::size_t>(options_.log_every));
  const double sum = std::accumulate(loss_history_.end() - window, loss_history_.end(), 0.0);
  return sum / static_cast<double>(window);
}

TrainingSummary TrainingLoop::run(const StepFunction& step_function) {
  const Stopwatch stopwatch;
  const std::string& checkpoint_path = options_.checkpoint_path;
  const bool checkpointing = !checkpoint_path.empty();
  stop_requested_ = false;

  if (checkpointing && options_.resume && std::filesystem::exists(checkpoint_path)) {
    load_checkpoint(checkpoint_path);
    log::info("{}: resumed from '{}' at step {}", options_.task, checkpoint_path, completed_steps_);
  }
  require<InvalidArgumentError>(completed_steps_ <= options_.total_steps,
                                options_.task,
                                ": already at step ",
                                completed_steps_,
                                " (checkpoint '",
                                checkpoint_path,
                                "'), beyond TrainingOptions.total_steps = ",
                                options_.total_steps);

  TrainingSummary summary;
  summary.first_step = completed_steps_;
  summary.reason = completed_steps_ == options_.total_steps ? TrainingStopReason::kAlreadyComplete
                                                            : TrainingStopReason::kCompleted;

  const StopSignalHandlers signal_handlers(options_.handle_signals);
  ProgressReporter progress(
      options_.task, options_.total_steps, options_.progress_interval_seconds);
  progress.resume_from(completed_steps_);
  while (completed_steps_ < options_.total_steps) {
    const std::int64_t step = completed_steps_;

    // One step: fresh gradients, loss and backward by the caller, then the Adam update.
    optimizer_.zero_grad();
    const double loss = step_function(step);
    require<NumericalError>(std::isfinite(loss),
                            options_.task,
                            ": step ",
                            step,
                            " returned the non-finite loss ",
                            loss,
                            "; the update was not applied and the last checkpoint is kept");
    optimizer_.step();
    loss_history_.push_back(loss);
    ++completed_steps_;

    if (completed_steps_ % options_.log_every == 0 || completed_steps_ == options_.total_steps) {
      progress.update(completed_steps_,
                      fmt::format("loss {:.4g} (mean of last {}: {:.4g})",
                                  loss,
                                  std::min<std::int64_t>(completed_steps_, options_.log_every),
                                  running_loss()));
    }
    if (StopSignalHandlers::received() != 0 || stop_requested_) {
      summary.reason = TrainingStopReason::kInterrupted;
      break;
    }
    const bool checkpoint_due = options_.checkpoint_every > 0 &&
                                completed_steps_ % options_.checkpoint_every == 0 &&
                                completed_steps_ < options_.total_steps;
    if (checkpointing && checkpoint_due) {
      save_checkpoint(checkpoint_path);
      ++summary.checkpoints_written;
    }
  }

  if (checkpointing && summary.reason != TrainingStopReason::kAlreadyComplete) {
    save_checkpoint(checkpoint_path);
    ++summary.checkpoints_written;
  }
  if (summary.reason == TrainingStopReason::kInterrupted) {
    const int signal_number = StopSignalHandlers::received();
    log::warn("{}: stopped at step {} ({}){}",
              options_.task,
              completed_steps_,
              signal_number != 0 ? fmt::format("signal {}", signal_number) : "stop requested",
              checkpointing ? fmt::format("; checkpoint written to '{}'", checkpoint_path) : "");
  }

  summary.final_step = completed_steps_;
  summary.steps_run = summary.final_step - summary.first_step;
  summary.final_loss =
      loss_history_.empty() ? std::numeric_limits<double>::quiet_NaN() : loss_history_.back();
  summary.running_loss = running_loss();
  summary.seconds = stopwatch.seconds();
  summary.steps_per_second =
      summary.seconds > 0 ? static_cast<double>(summary.steps_run) / summary.seconds : 0.0;
  log::info("{}: {}", options_.task, summary.brief());
  return summary;
}

// ---- Checkpoints -----------------------------------------------------------------------

void TrainingLoop::save_checkpoint(const std::string& path) const {
  io::AtomicFileWriter writer(path, io::WriteMode::kReplace);
  io::File& file = writer.file();

  ModelMetadata model_metadata;
  model_metadata.integers["step"] = completed_steps_;
  write_module(file, module_, kModelGroup, model_metadata);

  // Adam: the options of every parameter group, then each parameter's moment estimates.
  std::vector<double> learning_rates, beta1s, beta2s, epsilons, weight_decays;
  std::vector<std::int64_t> amsgrads;
  for (const auto& group : optimizer_.param_groups()) {
    const auto& options = adam_options(group);
    learning_rates.push_back(options.lr());
    beta1s.push_back(std::get<0>(options.betas()));
    beta2s.push_back(std::get<1>(options.betas()));
    epsilons.push_back(options.eps());
    weight_decays.push_back(options.weight_decay());
    amsgrads.push_back(options.amsgrad() ? 1 : 0);

    for (const auto& parameter : group.params()) {
      const auto found = optimizer_.state().find(adam_state_key(parameter));
      if (found == optimizer_.state().end()) continue;  // no gradient seen yet
      const auto& state = static_cast<const torch::optim::AdamParamState&>(*found->second);
      const std::string base = std::string(kOptimizerStateGroup) + "/" + parameter_name(parameter);
      write_scalar(file, base + "/step", state.step());
      write_tensor(file, base + "/exp_avg", state.exp_avg());
      write_tensor(file, base + "/exp_avg_sq", state.exp_avg_sq());
      if (state.max_exp_avg_sq().defined()) {
        write_tensor(file, base + "/max_exp_avg_sq", state.max_exp_avg_sq());
      }
    }
  }
  file.create_groups(kOptimizerStateGroup);
  io::write_attribute(file, kOptimizerGroup, "kind", "adam");
  io::write_attribute(file, kOptimizerGroup, "lr", learning_rates);
  io::write_attribute(file, kOptimizerGroup, "beta1", beta1s);
  io::write_attribute(file, kOptimizerGroup, "beta2", beta2s);
  io::write_attribute(file, kOptimizerGroup, "eps", epsilons);
  io::write_attribute(file, kOptimizerGroup, "weight_decay", weight_decays);
  io::write_attribute(file, kOptimizerGroup, "amsgrad", amsgrads);

  write_scalar(file, kStepPath, completed_steps_);
  io::write_dataset(file,
                    kLossHistoryPath,
                    loss_history_.data(),
                    io::Shape{static_cast<std::uint64_t>(loss_history_.size())});
  io::write_attribute(file, "/training", "total_steps", options_.total_steps);
  if (!options_.run_description.empty()) {
    io::write_attribute(file, "/training", kRunDescriptionAttribute, options_.run_description);
  }

  // Random generators, so that random draws after a resume continue the same sequence.
  auto cpu_generator = at::globalContext().defaultGenerator(torch::kCPU);
  {
    const std::lock_guard<std::mutex> lock(cpu_generator.mutex());
    write_tensor(file, kCpuGeneratorPath, cpu_generator.get_state());
  }
  if (torch::cuda::is_available()) {
    for (std::size_t device = 0; device < torch::cuda::device_count(); ++device) {
      auto generator = at::globalContext().defaultGenerator(
          torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device)));
      const std::lock_guard<std::mutex> lock(generator.mutex());
      write_tensor(file, cuda_generator_path(device), generator.get_state());
    }
  }

  writer.commit();
  log::debug("{}: checkpoint at step {} written to '{}'", options_.task, completed_steps_, path);
}

void TrainingLoop::load_checkpoint(const std::string& path) {
  const auto file = io::File::open_read(path);
  check_module_matches(file, module_, kModelGroup);
  if (!options_.run_description.empty()) {
    const std::string recorded =
        io::has_attribute(file, "/training", kRunDescriptionAttribute)
            ? io::read_attribute<std::string>(file, "/training", kRunDescriptionAttribute)
            : std::string("(nothing recorded)");
    require<InvalidArgumentError>(recorded == options_.run_description,
                                  "checkpoint '",
                                  path,
                                  "' was written by a run on ",
                                  recorded,
                                  "; this run is on ",
                                  options_.run_description,
                                  ". Remove the checkpoint or name another one");
  }

  // Stage everything first; the module, optimizer and generators change only once the
  // whole checkpoint has been read and checked.
  const std::int64_t step = read_scalar(file, kStepPath);
  const auto losses = io::read_dataset<double>(file, kLossHistoryPath);
  require<io::CorruptFileError>(step >= 0 && losses.values.size() == static_cast<std::size_t>(step),
                                "checkpoint '",
                                path,
                                "': ",
                                kLossHistoryPath,
                                " holds ",
                                losses.values.size(),
                                " losses but ",
                                kStepPath,
                                " is ",
                                step);

  auto& groups = optimizer_.param_groups();
  const auto learning_rates = io::read_attribute<std::vector<double>>(file, kOptimizerGroup, "lr");
  const auto beta1s = io::read_attribute<std::vector<double>>(file, kOptimizerGroup, "beta1");
  const auto beta2s = io::read_attribute<std::vector<double>>(file, kOptimizerGroup, "beta2");
  const auto epsilons = io::read_attribute<std::vector<double>>(file, kOptimizerGroup, "eps");
  const auto weight_decays =
      io::read_attribute<std::vector<double>>(file, kOptimizerGroup, "weight_decay");
  const auto amsgrads =
      io::read_attribute<std::vector<std::int64_t>>(file, kOptimizerGroup, "amsgrad");
  for (const std::size_t count :
       {beta1s.size(), beta2s.size(), epsilons.size(), weight_decays.size(), amsgrads.size()}) {
    require<io::CorruptFileError>(count == learning_rates.size(),
                                  "checkpoint '",
                                  path,
                                  "': the attributes of ",
                                  kOptimizerGroup,
                                  " differ in length (",
                                  learning_rates.size(),
                                  " learning rates, ",
                                  count,
                                  " values of another option)");
  }
  require<ModuleMismatchError>(learning_rates.size() == groups.size(),
                               "checkpoint '",
                               path,
                               "' holds ",
                               learning_rates.size(),
                               " optimizer parameter group(s), the optimizer has ",
                               groups.size());

  std::vector<StagedAdamState> staged;
  std::unordered_map<std::string, bool> claimed;
  for (const auto& name : file.list(kOptimizerStateGroup)) claimed[name] = false;
  for (const auto& group : groups) {
    for (const auto& parameter : group.params()) {
      const std::string name = parameter_name(parameter);
      const auto found = claimed.find(name);
      if (found == claimed.end()) continue;  // the parameter had no state when saved
      found->second = true;
      const std::string base = std::string(kOptimizerStateGroup) + "/" + name;
      auto state = std::make_unique<torch::optim::AdamParamState>();
      state->step(read_scalar(file, base + "/step"));
      state->exp_avg(read_like(file, base + "/exp_avg", parameter));
      state->exp_avg_sq(read_like(file, base + "/exp_avg_sq", parameter));
      if (file.exists(base + "/max_exp_avg_sq")) {
        state->max_exp_avg_sq(read_like(file, base + "/max_exp_avg_sq", parameter));
      }
      staged.push_back({adam_state_key(parameter), std::move(state)});
    }
  }
  for (const auto& [name, was_claimed] : claimed) {
    require<ModuleMismatchError>(was_claimed,
                                 "checkpoint '",
                                 path,
                                 "' holds Adam state for '",
                                 name,
                                 "', which is not a parameter of this optimizer");
  }

  const torch::Tensor cpu_generator_state = read_tensor(file, kCpuGeneratorPath);
  std::vector<std::pair<std::size_t, torch::Tensor>> cuda_generator_states;
  const std::size_t devices = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
  for (std::size_t device = 0; device < devices; ++device) {
    if (file.exists(cuda_generator_path(device))) {
      cuda_generator_states.emplace_back(device, read_tensor(file, cuda_generator_path(device)));
    }
  }

  // Apply: the module (which checks names, shapes and dtypes before copying), then the rest.
  read_module(file, module_, kModelGroup);

  for (std::size_t g = 0; g < groups.size(); ++g) {
    auto& options = adam_options(groups[g]);
    if (options.lr() != learning_rates[g]) {
      log::info(
          "{}: learning rate of parameter group {} restored from the checkpoint: {} "
          "(the optimizer was built with {})",
          options_.task,
          g,
          learning_rates[g],
          options.lr());
    }
    options.lr(learning_rates[g]);
    options.betas(std::make_tuple(beta1s[g], beta2s[g]));
    options.eps(epsilons[g]);
    options.weight_decay(weight_decays[g]);
    options.amsgrad(amsgrads[g] != 0);
  }
  optimizer_.state().clear();
  for (auto& entry : staged) optimizer_.state()[entry.key] = std::move(entry.state);

  completed_steps_ = step;
  loss_history_ = losses.values;

  auto cpu_generator = at::globalContext().defaultGenerator(torch::kCPU);
  {
    const std::lock_guard<std::mutex> lock(cpu_generator.mutex());
    cpu_generator.set_state(cpu_generator_state);
  }
  for (const auto& [device, state] : cuda_generator_states) {
    auto generator = at::globalContext().defaultGenerator(
        torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(device)));
    const std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }
}

}  // namespace deepnum::nn
