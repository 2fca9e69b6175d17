// Training the DCDM network with the scale-invariant loss (Kaneda et al. 2023):
// for a unit right-hand side b and the network's direction q = f(b),
//   alpha = (q^T b) / (q^T A q),   loss(b) = ||b - alpha A q||^2,
// the squared residual after one exact line search along q. Scaling q by any c != 0
// leaves alpha q, and so the loss, unchanged. A q is the batched GridStencil product.
// Thread safety: one training run per network at a time.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

#include "deepnum/dcdm/grid_field.hpp"
#include "deepnum/dcdm/network.hpp"
#include "deepnum/dcdm/training_set.hpp"
#include "deepnum/nn/training_loop.hpp"

namespace deepnum::dcdm {

// rhs, directions: (batch, 1, spatial...) of the stencil's grid, same dtype and device;
// rhs unit norm and zero outside the fluid. Directions are masked to the fluid here.
// Returns the mean over the batch of ||b - alpha A q||^2 (a 0-dim tensor, differentiable).
// A direction with q^T A q = 0 (q zero on the fluid) gives a non-finite loss.
torch::Tensor scale_invariant_loss(const torch::Tensor& rhs,
                                   const torch::Tensor& directions,
                                   const GridStencil& stencil);

struct TrainOptions {
  std::int64_t steps = 1000;    // optimizer steps of the whole run (counting resumed ones)
  int batch_size = 10;          // right-hand sides per step
  double learning_rate = 1e-4;  // Adam, at step 0
  // When > 0: the rate decays from learning_rate to this over the run along a half cosine
  // (learning_rate_at); 0 keeps it constant.
  double final_learning_rate = 0.0;
  std::uint64_t seed = 0;       // batch order (seed the initialization: nn::seed_everything)
  std::string device = "cpu";   // nn::parse_device
  std::string checkpoint_path;  // empty: no checkpoints, no resume
  std::int64_t checkpoint_every = 100;
  std::int64_t log_every = 10;  // steps averaged per progress line
  double progress_interval_seconds = 10.0;
  bool resume = true;           // continue from checkpoint_path when it exists
  bool handle_signals = false;  // SIGINT / SIGTERM checkpoint and stop (drivers only)

  void validate() const;  // throws OptionError naming field, value and rule
};

// The learning rate of step `step` (0-based) of a run of options.steps:
//   final + (initial - final) (1 + cos(pi step / steps)) / 2  when final_learning_rate > 0,
//   learning_rate                                             otherwise.
double learning_rate_at(const TrainOptions& options, std::int64_t step);

// Trains `network` (moved to options.device, left in evaluation mode) on the set with Adam
// through nn::TrainingLoop: progress lines (step, loss, steps/s, time left), checkpoints,
// resume. Batches visit the set in a fresh seeded permutation every epoch, chosen by the
// step index only, so a resumed run draws the batches an uninterrupted one would.
// Throws InvalidArgumentError when the network's dimension differs from the set's or the
// set holds fewer vectors than a batch; NumericalError for a non-finite loss.
nn::TrainingSummary train_network(DcdmNetwork network,
                                  const TrainingSet& set,
                                  const TrainOptions& options);

}  // namespace deepnum::dcdm
