#include "deepnum/dcdm/training.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <fmt/format.h>
#include <torch/optim/adam.h>
#include <torch/torch.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/nn/device.hpp"

namespace deepnum::dcdm {
namespace {

// Per-sample sum over every axis but the batch one.
torch::Tensor sample_sum(const torch::Tensor& values) {
  std::vector<std::int64_t> axes(static_cast<std::size_t>(values.dim() - 1));
  std::iota(axes.begin(), axes.end(), 1);
  return values.sum(axes);
}

// The batch order: a fresh permutation of the set per epoch, a function of (seed, epoch)
// only, so that step s draws the same batch whether or not the run was resumed.
class BatchSchedule {
 public:
  BatchSchedule(std::int64_t count, int batch_size, std::uint64_t seed)
      : count_(count), batch_size_(batch_size), seed_(seed) {}

  std::vector<std::int64_t> batch(std::int64_t step) {
    // Each epoch is the first floor(count / batch) batches of its permutation.
    const std::int64_t batches_per_epoch = count_ / batch_size_;
    const std::int64_t epoch = step / batches_per_epoch;
    const std::int64_t position = (step % batches_per_epoch) * batch_size_;
    if (epoch != epoch_) {
      order_.resize(static_cast<std::size_t>(count_));
      std::iota(order_.begin(), order_.end(), 0);
      std::mt19937_64 generator(seed_ * 1000003ULL + static_cast<std::uint64_t>(epoch));
      std::shuffle(order_.begin(), order_.end(), generator);
      epoch_ = epoch;
    }
    return {order_.begin() + position, order_.begin() + position + batch_size_};
  }

 private:
  std::int64_t count_;
  int batch_size_;
  std::uint64_t seed_;
  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> order_;
};

}  // namespace

torch::Tensor scale_invariant_loss(const torch::Tensor& rhs,
                                   const torch::Tensor& directions,
                                   const GridStencil& stencil) {
  require<InvalidArgumentError>(rhs.sizes() == directions.sizes(),
                                "scale_invariant_loss: rhs and directions differ in shape");
  // q restricted to the fluid; A q by the batched stencil.
  const auto q = directions * stencil.fluid_mask().to(directions.options());
  const auto a_q = stencil.apply(q);

  // alpha = (q^T b) / (q^T A q), one per sample, broadcast over the grid.
  const auto alpha = sample_sum(q * rhs) / sample_sum(q * a_q);
  std::vector<std::int64_t> broadcast(static_cast<std::size_t>(rhs.dim()), 1);
  broadcast[0] = rhs.size(0);
  const auto residual = rhs - alpha.view(broadcast) * a_q;

  // mean over the batch of ||b - alpha A q||^2
  return sample_sum(residual * residual).mean();
}

void TrainOptions::validate() const {
  require_option(steps >= 1, "TrainOptions", "steps", steps, "must be >= 1");
  require_option(batch_size >= 1, "TrainOptions", "batch_size", batch_size, "must be >= 1");
  require_option(learning_rate > 0, "TrainOptions", "learning_rate", learning_rate, "must be > 0");
  require_option(
      checkpoint_every >= 0, "TrainOptions", "checkpoint_every", checkpoint_every, "must be >= 0");
  require_option(log_every >= 1, "TrainOptions", "log_every", log_every, "must be >= 1");
  require_option(progress_interval_seconds >= 0,
                 "TrainOptions",
                 "progress_interval_seconds",
                 progress_interval_seconds,
                 "must be >= 0");
}

double learning_rate_at(const TrainOptions& options, std::int64_t step) {
  if (options.final_learning_rate <= 0) return options.learning_rate;
  // Half-cosine decay (Loshchilov and Hutter 2017, without restarts).
  const double progress = static_cast<double>(step) / static_cast<double>(options.steps);
  return options.final_learning_rate + (options.learning_rate - options.final_learning_rate) * 0.5 *
                                           (1.0 + std::cos(M_PI * progress));
}

nn::TrainingSummary train_network(DcdmNetwork network,
                                  const TrainingSet& set,
                                  const TrainOptions& options) {
  options.validate();
  require<InvalidArgumentError>(network.ptr() != nullptr, "train_network: null network");
  require<InvalidArgumentError>(network->options().dimension == set.grid.dimension(),
                                "train_network: the network is ",
                                network->options().dimension,
                                "D but the training set is ",
                                set.grid.dimension(),
                                "D");
  require<InvalidArgumentError>(set.count() >= options.batch_size,
                                "train_network: the set holds ",
                                set.count(),
                                " vectors, fewer than batch_size = ",
                                options.batch_size);
  check_grid_size(set.grid.dimension(), {set.grid.nx(), set.grid.ny(), set.grid.nz()});

  const torch::Device device = nn::parse_device(options.device);
  network->to(device);
  network->train();
  const GridStencil stencil(set.grid, 1.0, torch::kFloat32, device);
  torch::optim::Adam optimizer(network->parameters(),
                               torch::optim::AdamOptions(options.learning_rate));

  nn::TrainingOptions loop_options;
  loop_options.total_steps = options.steps;
  loop_options.log_every = options.log_every;
  loop_options.progress_interval_seconds = options.progress_interval_seconds;
  loop_options.checkpoint_every = options.checkpoint_every;
  loop_options.checkpoint_path = options.checkpoint_path;
  loop_options.resume = options.resume;
  loop_options.handle_signals = options.handle_signals;
  loop_options.task = "dcdm training";
  // A checkpoint from a run on another training set is refused instead of resumed.
  const auto cells = set.grid.cells();
  loop_options.run_description = fmt::format(
      "the training set of {} vectors from the {} scene, frame {}, {}x{}x{} cells (Lanczos {} "
      "steps, seed {}, lowest {} of the Ritz values x{})",
      set.count(),
      set.scene.empty() ? std::string("unnamed") : set.scene,
      set.frame,
      cells[0],
      cells[1],
      cells[2],
      set.lanczos_steps,
      set.seed,
      set.low_mode_fraction,
      set.low_mode_factor);
  nn::TrainingLoop loop(*network, optimizer, loop_options);

  BatchSchedule schedule(set.count(), options.batch_size, options.seed);
  const auto summary = loop.run([&](std::int64_t step) {
    // The rate of this step (also after a resume, which restores the previous one).
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate_at(options, step));
    }
    const auto indices = schedule.batch(step);
    const auto rhs = set.vectors.index_select(0, torch::tensor(indices, torch::kInt64)).to(device);
    const auto loss = scale_invariant_loss(rhs, network->forward(rhs), stencil);
    loss.backward();
    return loss.item<double>();
  });
  network->eval();
  return summary;
}

}  // namespace deepnum::dcdm
