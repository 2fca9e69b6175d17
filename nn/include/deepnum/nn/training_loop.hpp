// A training loop for one module and one Adam optimizer: runs the steps, reports progress,
// writes checkpoints to one HDF5 file and resumes from it bit-identically.
//
//   deepnum::nn::TrainingOptions options;
//   options.total_steps = 10000;
//   options.checkpoint_every = 1000;
//   options.checkpoint_path = "run/checkpoint.h5";
//   deepnum::nn::TrainingLoop loop(*net, optimizer, options);
//   const auto summary = loop.run([&](std::int64_t step) {
//     const auto loss = torch::mse_loss(net->forward(inputs(step)), targets(step));
//     loss.backward();
//     return loss.item<double>();
//   });
//
// Division of work per step: the loop zeroes the gradients, calls the step function (which
// computes the loss of step `step`, calls backward() on it and returns its value), then
// applies optimizer.step(). The step function may clip gradients before returning.
//
// Checkpoint file layout (HDF5, readable with h5py):
//   /model                   parameters and buffers, as written by save_module (module_io)
//   /optimizer               attributes lr, beta1, beta2, eps, weight_decay (float64, one
//                            value per parameter group) and amsgrad (int64, 0 or 1)
//   /optimizer/state/<name>  Adam state of parameter <name> (a module parameter name):
//                            step (int64, rank 0), exp_avg, exp_avg_sq and, with amsgrad,
//                            max_exp_avg_sq (shape and dtype of the parameter). Parameters
//                            that never received a gradient have no state yet.
//   /training                step (int64, rank 0: completed steps), loss_history (float64,
//                            one loss per completed step)
//   /rng                     cpu (uint8): the CPU generator's state; cuda_<i> per GPU
// Every checkpoint replaces the previous file atomically (written beside it, then renamed),
// so an interrupted write never leaves a torn checkpoint.
//
// Resuming restores all of the above, including the optimizer's parameter-group options and
// the random generators, so that N steps + resume + N steps give the same parameters as 2N
// steps in one run (bit-identical on CPU, given a step function that depends only on the
// step index and LibTorch's random generators).
//
// Signals: with handle_signals, SIGINT and SIGTERM received during run() make the loop finish
// the current step, write a checkpoint and return with reason kInterrupted; a second signal
// ends the process at once (default action). The previous handlers are restored when run()
// returns. Only one TrainingLoop may run at a time in a process when handle_signals is set.
//
// Ownership and threads: the loop holds references to the module and the optimizer, which
// must outlive it. It runs on the calling thread; request_stop() may be called from any
// thread or from the step function.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/adam.h>

namespace deepnum::nn {

struct TrainingOptions {
  // Steps of the whole run, counting steps done before a resume; must be > 0.
  std::int64_t total_steps = 1000;
  // Steps between progress reports; the reported loss is the mean over this many last steps.
  std::int64_t log_every = 100;
  // Minimum wall-clock seconds between two progress lines (first and last always shown).
  double progress_interval_seconds = 2.0;
  // Steps between checkpoints; 0 writes one only at the end (and on interruption).
  std::int64_t checkpoint_every = 0;
  // Checkpoint file; empty means no checkpoints and no resume.
  std::string checkpoint_path;
  // Continue from checkpoint_path when that file exists.
  bool resume = true;
  // Stop gracefully on SIGINT / SIGTERM (see the header comment).
  bool handle_signals = true;
  // Name shown in progress lines.
  std::string task = "training";
  // What this run trains on (data, layout), in words; stored in every checkpoint. A
  // checkpoint that records another description is refused on resume: its weights were
  // fitted to other data. Empty: not recorded, not checked.
  std::string run_description;

  void validate() const;
};

enum class TrainingStopReason {
  kCompleted,        // total_steps reached
  kInterrupted,      // SIGINT / SIGTERM or request_stop()
  kAlreadyComplete,  // the resumed checkpoint had already reached total_steps
};

std::string_view to_string(TrainingStopReason reason);
std::ostream& operator<<(std::ostream& stream, TrainingStopReason reason);

struct TrainingSummary {
  TrainingStopReason reason = TrainingStopReason::kCompleted;
  std::int64_t first_step = 0;  // completed steps when run() started (resumed step or 0)
  std::int64_t final_step = 0;  // completed steps when run() returned
  std::int64_t steps_run = 0;   // final_step - first_step
  double final_loss = 0.0;      // loss of the last completed step (NaN if there is none)
  double running_loss = 0.0;    // mean loss over the last log_every completed steps
  double seconds = 0.0;         // wall-clock time of run()
  double steps_per_second = 0.0;
  std::int64_t checkpoints_written = 0;

  // "completed: steps 0 -> 1000 (1000 run), loss 1.2e-03 (mean 1.5e-03), 12.3 s, 81.3 steps/s"
  std::string brief() const;
};

class TrainingLoop {
 public:
  // Computes the loss of step `step` (0-based), calls backward() on it, returns its value.
  using StepFunction = std::function<double(std::int64_t step)>;

  // Validates the options. Throws InvalidArgumentError when an optimizer parameter is not a
  // parameter of the module (its state could not be named in the checkpoint).
  TrainingLoop(torch::nn::Module& module, torch::optim::Adam& optimizer, TrainingOptions options);

  // Resumes from options.checkpoint_path when asked and present, runs the remaining steps,
  // checkpoints every checkpoint_every steps and at the end. Throws NumericalError naming the
  // step when the step function returns a non-finite loss (no checkpoint is written for it);
  // exceptions from the step function propagate, leaving the last checkpoint in place.
  TrainingSummary run(const StepFunction& step_function);

  // Writes the current state (module, optimizer, step, loss history, random generators).
  void save_checkpoint(const std::string& path) const;

  // Restores the state saved by save_checkpoint. Throws the io errors for a missing or
  // corrupt file and InvalidArgumentError, naming the tensor, when the checkpoint does not
  // match the module or the optimizer (names, shapes, dtypes).
  void load_checkpoint(const std::string& path);

  // Completed steps so far (after a resume: including the resumed ones).
  std::int64_t completed_steps() const { return completed_steps_; }

  // Loss of every completed step, index = step.
  const std::vector<double>& loss_history() const { return loss_history_; }

  // Asks run() to stop after the current step, as on SIGINT. Thread safe.
  void request_stop() { stop_requested_ = true; }

 private:
  double running_loss() const;
  std::string parameter_name(const torch::Tensor& parameter) const;

  torch::nn::Module& module_;
  torch::optim::Adam& optimizer_;
  TrainingOptions options_;
  std::int64_t completed_steps_ = 0;
  std::vector<double> loss_history_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace deepnum::nn
