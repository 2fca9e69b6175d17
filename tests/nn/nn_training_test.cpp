#define BOOST_TEST_MODULE nn_training
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "deepnum/core/error.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/nn/device.hpp"
#include "deepnum/nn/module_io.hpp"
#include "deepnum/nn/training_loop.hpp"

namespace nn = deepnum::nn;
namespace io = deepnum::io;

namespace {

std::string scratch_path(const std::string& name) {
  std::filesystem::remove(name);
  return name;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool bit_identical(const torch::Tensor& a, const torch::Tensor& b) {
  return a.scalar_type() == b.scalar_type() && a.sizes().equals(b.sizes()) &&
         std::memcmp(a.contiguous().data_ptr(),
                     b.contiguous().data_ptr(),
                     a.numel() * a.element_size()) == 0;
}

// A small network with every ingredient a resume must restore: parameters, batch
// normalization buffers, dropout (random masks) and random mini-batches.
struct MlpImpl : torch::nn::Module {
  MlpImpl()
      : hidden(register_module("hidden", torch::nn::Linear(4, 16))),
        norm(register_module("norm", torch::nn::BatchNorm1d(16))),
        output(register_module("output", torch::nn::Linear(16, 1))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    const auto h = torch::tanh(norm->forward(hidden->forward(x)));
    return output->forward(torch::dropout(h, /*p=*/0.2, is_training()));
  }
  torch::nn::Linear hidden;
  torch::nn::BatchNorm1d norm;
  torch::nn::Linear output;
};
TORCH_MODULE(Mlp);

struct Dataset {
  torch::Tensor inputs;   // [64, 4]
  torch::Tensor targets;  // [64, 1]
};

Dataset make_dataset() {
  nn::seed_everything(123);
  const auto inputs = torch::randn({64, 4});
  return {inputs, torch::sin(inputs.sum(1, /*keepdim=*/true))};
}

// Everything a run ends with that a resumed run must reproduce.
struct RunResult {
  nn::TrainingSummary summary;
  std::vector<torch::Tensor> tensors;  // parameters, buffers, Adam moments
  std::vector<double> losses;
};

RunResult train_mlp(std::uint64_t seed,
                    std::int64_t total_steps,
                    const std::string& checkpoint_path,
                    bool amsgrad,
                    const Dataset& data) {
  nn::seed_everything(seed);
  Mlp model;
  torch::optim::Adam adam(model->parameters(),
                          torch::optim::AdamOptions(1e-2).weight_decay(1e-4).amsgrad(amsgrad));
  nn::TrainingOptions options;
  options.total_steps = total_steps;
  options.log_every = 4;
  options.checkpoint_every = 3;
  options.checkpoint_path = checkpoint_path;
  options.task = "mlp";
  nn::TrainingLoop loop(*model, adam, options);

  RunResult result;
  result.summary = loop.run([&](std::int64_t) {
    // A random mini-batch from the global generator: resuming must restore its state.
    const auto batch = torch::randint(0, 64, {16}, torch::kInt64);
    const auto prediction = model->forward(data.inputs.index_select(0, batch));
    const auto loss = torch::mse_loss(prediction, data.targets.index_select(0, batch));
    loss.backward();
    return loss.item<double>();
  });
  for (const auto& parameter : model->parameters()) {
    result.tensors.push_back(parameter.detach().clone());
    const auto& state = static_cast<const torch::optim::AdamParamState&>(
        *adam.state().at(c10::guts::to_string(parameter.unsafeGetTensorImpl())));
    result.tensors.push_back(state.exp_avg().clone());
    result.tensors.push_back(state.exp_avg_sq().clone());
    if (amsgrad) result.tensors.push_back(state.max_exp_avg_sq().clone());
  }
  for (const auto& buffer : model->buffers()) result.tensors.push_back(buffer.clone());
  result.losses = loop.loss_history();
  return result;
}

// y = x . (1.5, -2, 0.5) + 0.3 without noise: least squares recovers the coefficients.
struct LinearProblem {
  torch::Tensor inputs = torch::randn({128, 3}, torch::kFloat64);
  torch::Tensor coefficients = torch::tensor({1.5, -2.0, 0.5}, torch::kFloat64);
  double intercept = 0.3;
  torch::Tensor targets = inputs.matmul(coefficients).unsqueeze(1) + intercept;
};

// A one-layer regression loop used by the signal, stop and checkpoint tests.
struct RegressionRun {
  torch::nn::Linear model{torch::nn::LinearOptions(3, 1)};
  torch::optim::Adam adam;
  LinearProblem problem;

  explicit RegressionRun(bool amsgrad = false)
      : adam(model->parameters(), torch::optim::AdamOptions(1e-2).amsgrad(amsgrad)) {
    model->to(torch::kFloat64);
  }
  double step() {
    const auto loss = torch::mse_loss(model->forward(problem.inputs), problem.targets);
    loss.backward();
    return loss.item<double>();
  }
};

}  // namespace

// ---- Devices, threads, seeding -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(cpu_device_is_parsed) {
  BOOST_TEST(nn::parse_device("cpu") == torch::Device(torch::kCPU));
}

BOOST_AUTO_TEST_CASE(cuda_device_without_cuda_throws_device_error_naming_the_reason) {
  if (torch::cuda::is_available()) {
    BOOST_TEST(nn::parse_device("cuda") == torch::Device(torch::kCUDA, 0));
    return;
  }
  for (const std::string name : {"cuda", "cuda:0", "cuda:1"}) {
    BOOST_TEST_CONTEXT("device " << name) {
      try {
        nn::parse_device(name);
        BOOST_FAIL("parse_device accepted " + name + " without CUDA");
      } catch (const deepnum::DeviceError& error) {
        const std::string message = error.what();
        BOOST_TEST_INFO("message: " << message);
        BOOST_TEST(contains(message, "'" + name + "'"));
        BOOST_TEST((contains(message, "built without CUDA") || contains(message, "no GPU")));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(cuda_device_number_beyond_the_visible_gpus_throws_device_error) {
  const auto beyond = "cuda:" + std::to_string(torch::cuda::device_count());
  BOOST_CHECK_THROW(nn::parse_device(beyond), deepnum::DeviceError);
}

BOOST_AUTO_TEST_CASE(malformed_device_names_throw_invalid_argument_error) {
  for (const std::string name :
       {"gpu", "CPU", " cpu", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", ""}) {
    BOOST_TEST_CONTEXT("device '" << name << "'") {
      BOOST_CHECK_THROW(nn::parse_device(name), deepnum::InvalidArgumentError);
    }
  }
}

BOOST_AUTO_TEST_CASE(configure_threads_sets_libtorch_intra_op_threads) {
  BOOST_TEST(nn::configure_threads(1) == 1);
  BOOST_TEST(at::get_num_threads() == 1);
  const int hardware = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  BOOST_TEST(nn::configure_threads(0) == hardware);
  BOOST_TEST(at::get_num_threads() == hardware);
  BOOST_CHECK_THROW(nn::configure_threads(-1), deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(nn::configure_threads(nn::kThreadsPerCoreLimit * hardware + 1),
                    deepnum::InvalidArgumentError);
  BOOST_TEST(at::get_num_threads() == hardware);  // a refused count changes nothing
}

BOOST_AUTO_TEST_CASE(seeding_alike_draws_identical_random_tensors) {
  const auto draw = [] {
    return std::vector<torch::Tensor>{torch::randn({5, 7}),
                                      torch::rand({3}, torch::kFloat64),
                                      torch::randint(0, 1000, {9}),
                                      torch::randperm(20)};
  };
  nn::seed_everything(2024);
  const auto first = draw();
  nn::seed_everything(2024);
  const auto second = draw();
  nn::seed_everything(2025);
  const auto other = draw();
  for (std::size_t i = 0; i < first.size(); ++i) {
    BOOST_TEST_CONTEXT("draw " << i) {
      BOOST_TEST(bit_identical(first[i], second[i]));
      BOOST_TEST(!torch::equal(first[i], other[i]));
    }
  }
}

// ---- Training loop -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(invalid_training_options_name_the_field) {
  nn::TrainingOptions options;
  options.total_steps = 0;
  try {
    options.validate();
    BOOST_FAIL("validate() accepted total_steps = 0");
  } catch (const deepnum::OptionError& error) {
    BOOST_TEST(std::string(error.what()) ==
               "TrainingOptions.total_steps = 0 is invalid: must be > 0");
  }
  options.total_steps = 10;
  options.checkpoint_every = -1;
  BOOST_CHECK_THROW(options.validate(), deepnum::OptionError);
}

BOOST_AUTO_TEST_CASE(training_recovers_the_coefficients_of_a_noise_free_regression) {
  nn::seed_everything(1);
  RegressionRun run;
  run.adam.param_groups()[0].options().set_lr(0.05);
  nn::TrainingOptions options;
  options.total_steps = 600;
  options.log_every = 100;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  const auto summary = loop.run([&](std::int64_t) { return run.step(); });

  BOOST_TEST(summary.reason == nn::TrainingStopReason::kCompleted);
  BOOST_TEST(summary.steps_run == 600);
  BOOST_TEST(loop.loss_history().size() == 600U);
  // The data are noise free, so the least-squares minimum is zero loss at the true
  // coefficients; Adam with a constant step ends within a small multiple of its step there.
  constexpr double kFinalToInitialLossRatio = 1e-4;
  BOOST_TEST(summary.final_loss < kFinalToInitialLossRatio * loop.loss_history().front());
  constexpr double kCoefficientTolerance = 1e-2;
  const auto weights = run.model->weight.detach().squeeze(0);
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST_CONTEXT("coefficient " << i) {
      BOOST_TEST(std::abs(weights[i].item<double>() - run.problem.coefficients[i].item<double>()) <
                 kCoefficientTolerance);
    }
  }
  BOOST_TEST(std::abs(run.model->bias.item<double>() - run.problem.intercept) <
             kCoefficientTolerance);
  // The reported running loss is the mean of the last log_every losses.
  const auto& losses = loop.loss_history();
  const double mean_of_last = std::accumulate(losses.end() - 100, losses.end(), 0.0) / 100;
  BOOST_TEST(summary.running_loss == mean_of_last);
}

BOOST_AUTO_TEST_CASE(resumed_run_gives_bit_identical_parameters_and_optimizer_state) {
  const Dataset data = make_dataset();
  constexpr std::int64_t kHalf = 7;  // not a multiple of checkpoint_every (3)
  for (const bool amsgrad : {false, true}) {
    BOOST_TEST_CONTEXT("amsgrad " << amsgrad) {
      const auto path = scratch_path("resume.h5");
      const auto straight = train_mlp(1, 2 * kHalf, "", amsgrad, data);
      const auto first_half = train_mlp(1, kHalf, path, amsgrad, data);
      // A different seed: everything the second half depends on must come from the file.
      const auto second_half = train_mlp(99, 2 * kHalf, path, amsgrad, data);

      BOOST_TEST(first_half.summary.final_step == kHalf);
      BOOST_TEST(second_half.summary.first_step == kHalf);
      BOOST_TEST(second_half.summary.steps_run == kHalf);
      BOOST_TEST(second_half.losses == straight.losses);
      BOOST_REQUIRE(second_half.tensors.size() == straight.tensors.size());
      for (std::size_t i = 0; i < straight.tensors.size(); ++i) {
        BOOST_TEST_CONTEXT("tensor " << i) {
          BOOST_TEST(bit_identical(second_half.tensors[i], straight.tensors[i]));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(checkpoint_layout_is_what_h5py_expects) {
  const auto path = scratch_path("layout.h5");
  nn::seed_everything(3);
  RegressionRun run(/*amsgrad=*/true);
  nn::TrainingOptions options;
  options.total_steps = 6;
  options.checkpoint_path = path;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  loop.run([&](std::int64_t) { return run.step(); });
  const std::string command = std::string(DEEPNUM_PYTHON) + " " + DEEPNUM_SOURCE_DIR +
                              "/tests/nn/check_nn_file.py checkpoint " + path;
  BOOST_TEST(std::system(command.c_str()) == 0);

  // The checkpoint's model group is an ordinary saved module.
  torch::nn::Linear reloaded(torch::nn::LinearOptions(3, 1));
  reloaded->to(torch::kFloat64);
  nn::load_module(*reloaded, path, "/model");
  BOOST_TEST(bit_identical(reloaded->weight, run.model->weight));
}

BOOST_AUTO_TEST_CASE(sigint_finishes_the_step_checkpoints_and_stops) {
  const auto path = scratch_path("interrupted.h5");
  struct sigaction before {};
  sigaction(SIGINT, nullptr, &before);

  nn::seed_everything(5);
  RegressionRun run;
  nn::TrainingOptions options;
  options.total_steps = 50;
  options.checkpoint_path = path;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  const auto summary = loop.run([&](std::int64_t step) {
    if (step == 4) std::raise(SIGINT);
    return run.step();
  });

  BOOST_TEST(summary.reason == nn::TrainingStopReason::kInterrupted);
  BOOST_TEST(summary.final_step == 5);
  BOOST_TEST(summary.checkpoints_written == 1);
  const auto file = io::File::open_read(path);
  BOOST_TEST(io::read_dataset<std::int64_t>(file, "/training/step").values.at(0) == 5);
  struct sigaction after {};
  sigaction(SIGINT, nullptr, &after);
  BOOST_TEST(after.sa_handler == before.sa_handler);
}

BOOST_AUTO_TEST_CASE(request_stop_from_the_step_function_stops_after_that_step) {
  nn::seed_everything(5);
  RegressionRun run;
  nn::TrainingOptions options;
  options.total_steps = 50;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  const auto summary = loop.run([&](std::int64_t step) {
    if (step == 2) loop.request_stop();
    return run.step();
  });
  BOOST_TEST(summary.reason == nn::TrainingStopReason::kInterrupted);
  BOOST_TEST(summary.final_step == 3);
  BOOST_TEST(summary.checkpoints_written == 0);
}

BOOST_AUTO_TEST_CASE(non_finite_loss_throws_numerical_error_and_keeps_the_last_checkpoint) {
  const auto path = scratch_path("non_finite.h5");
  nn::seed_everything(5);
  RegressionRun run;
  nn::TrainingOptions options;
  options.total_steps = 10;
  options.checkpoint_every = 2;
  options.checkpoint_path = path;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  try {
    loop.run([&](std::int64_t step) {
      const double loss = run.step();
      return step == 3 ? std::nan("") : loss;
    });
    BOOST_FAIL("run() accepted a NaN loss");
  } catch (const deepnum::NumericalError& error) {
    BOOST_TEST_INFO("message: " << error.what());
    BOOST_TEST(contains(error.what(), "step 3"));
  }
  const auto file = io::File::open_read(path);
  BOOST_TEST(io::read_dataset<std::int64_t>(file, "/training/step").values.at(0) == 2);
}

BOOST_AUTO_TEST_CASE(finished_checkpoint_is_reported_already_complete) {
  const auto path = scratch_path("complete.h5");
  nn::TrainingOptions options;
  options.total_steps = 4;
  options.checkpoint_path = path;
  {
    RegressionRun run;
    nn::TrainingLoop loop(*run.model, run.adam, options);
    loop.run([&](std::int64_t) { return run.step(); });
  }
  RegressionRun run;
  nn::TrainingLoop loop(*run.model, run.adam, options);
  const auto summary = loop.run([&](std::int64_t) { return run.step(); });
  BOOST_TEST(summary.reason == nn::TrainingStopReason::kAlreadyComplete);
  BOOST_TEST(summary.steps_run == 0);
  BOOST_TEST(summary.final_step == 4);

  options.total_steps = 3;  // fewer steps than the checkpoint has done
  RegressionRun shorter;
  nn::TrainingLoop shorter_loop(*shorter.model, shorter.adam, options);
  BOOST_CHECK_THROW(shorter_loop.run([&](std::int64_t) { return shorter.step(); }),
                    deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(resuming_into_another_architecture_throws_module_mismatch) {
  const auto path = scratch_path("other_architecture.h5");
  nn::TrainingOptions options;
  options.total_steps = 2;
  options.checkpoint_path = path;
  {
    RegressionRun run;
    nn::TrainingLoop loop(*run.model, run.adam, options);
    loop.run([&](std::int64_t) { return run.step(); });
  }
  torch::nn::Linear wider(torch::nn::LinearOptions(3, 2));
  wider->to(torch::kFloat64);
  torch::optim::Adam adam(wider->parameters());
  options.total_steps = 4;
  nn::TrainingLoop loop(*wider, adam, options);
  BOOST_CHECK_THROW(loop.run([](std::int64_t) { return 0.0; }), nn::ModuleMismatchError);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_of_a_run_on_other_data_is_refused_naming_both) {
  const auto path = scratch_path("other_data.h5");
  nn::TrainingOptions options;
  options.total_steps = 2;
  options.checkpoint_path = path;
  options.run_description = "the plume set";
  {
    RegressionRun run;
    nn::TrainingLoop loop(*run.model, run.adam, options);
    loop.run([&](std::int64_t) { return run.step(); });
  }
  options.total_steps = 4;
  options.run_description = "the bunny set";
  RegressionRun other;
  nn::TrainingLoop loop(*other.model, other.adam, options);
  try {
    loop.run([&](std::int64_t) { return other.step(); });
    BOOST_FAIL("a checkpoint of a run on other data was resumed");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("was written by a run on the plume set; this run is on the bunny "
                            "set") != std::string::npos,
               message);
  }
  // The same description resumes.
  options.run_description = "the plume set";
  RegressionRun same;
  nn::TrainingLoop same_loop(*same.model, same.adam, options);
  BOOST_TEST(same_loop.run([&](std::int64_t) { return same.step(); }).first_step == 2);
}

BOOST_AUTO_TEST_CASE(optimizer_over_a_foreign_tensor_is_refused) {
  torch::nn::Linear model(torch::nn::LinearOptions(3, 1));
  auto foreign = torch::zeros({2}, torch::requires_grad());
  torch::optim::Adam adam(std::vector<torch::Tensor>{model->weight, foreign});
  BOOST_CHECK_THROW(nn::TrainingLoop(*model, adam, nn::TrainingOptions{}),
                    deepnum::InvalidArgumentError);
}
