// The Deep Conjugate Direction Method (Kaneda, Akar, Chen, Kala, Hyde, Teran, ICML 2023)
// behind linear::LinearSolver, named "dcdm".
//
// Iteration (a flexible conjugate-direction method; the network is not linear):
//   r = b - A x
//   q = f(r / ||r||)                                 the network's direction
//   q -= sum_j (q^T A p_j) / (p_j^T A p_j) p_j       over the previous k directions
//   alpha = (q^T r) / (q^T A q),  x += alpha q,  r -= alpha A q
// until ||r|| <= max(rtol ||b||, atol) (linear_solver.hpp), confirmed on the true residual
// b - A x, which also replaces the recursive one every residual_replacement_interval steps.
// A direction that is useless (non-finite, |q^T r| <= usefulness_tolerance ||q|| ||r||
// after the orthogonalization, or q^T A q <= 0) is replaced by the residual itself,
// A-orthogonalized the same way (a CG-like step), counted in SolveSummary::fallback_steps.
// When even that step is impossible the solve stops with kBreakdown. Time spent in the
// direction function is SolveSummary::preconditioner_seconds. Iterations count updates
// of x (one product with A each; residual replacements add one more each).
//
// The direction function sees unit-norm compressed vectors (one entry per unknown); its
// output scale does not matter (the line search absorbs it).
// Thread safety: one solve at a time per solver object.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "deepnum/dcdm/grid_field.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/linear/flag_grid.hpp"
#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::dcdm {

// direction = f(unit_residual); `direction` is resized by the function.
using DirectionFunction =
    std::function<void(const linear::Vector& unit_residual, linear::Vector& direction)>;

// The network as a direction function on the compressed vectors of one flag grid: the
// residual is scattered onto the grid (zero outside the fluid), passed through the network
// in float32 on the network's device, and the fluid cells of the output are gathered.
class NetworkDirection {
 public:
  // Throws InvalidArgumentError when the network's dimension differs from the grid's or
  // the grid's size is one the network cannot take (check_grid_size).
  NetworkDirection(DcdmNetwork network, const linear::FlagGrid& grid);

  void operator()(const linear::Vector& unit_residual, linear::Vector& direction) const;

  std::int64_t unknown_count() const { return map_.unknown_count(); }
  const GridVectorMap& map() const { return map_; }
  torch::Device device() const;

 private:
  // forward() is not const in LibTorch; applying the network changes no state here.
  mutable DcdmNetwork network_;
  GridVectorMap map_;
};

struct DcdmOptions {
  // Previous directions each new one is A-orthogonalized against (the paper uses 2).
  int previous_directions = 2;
  // Recompute r = b - A x every this many iterations (0: only to confirm convergence).
  int residual_replacement_interval = 50;
  // A direction q with |q^T r| <= usefulness_tolerance ||q|| ||r|| is replaced by r.
  double usefulness_tolerance = 1e-8;
  // Device the network runs on: "cpu", "cuda" or "cuda:N" (nn::parse_device).
  std::string device = "cpu";

  void validate() const;  // throws OptionError naming field, value and rule
};

class DcdmSolver : public linear::LinearSolver {
 public:
  // The network of a model file on the grid the systems come from. Throws as load_model,
  // InvalidArgumentError for a 2D model on a 3D grid (and vice versa) or a grid size the
  // network cannot take, DeviceError when options.device is CUDA and there is none.
  DcdmSolver(const linear::FlagGrid& grid, const std::string& model_path, DcdmOptions options = {});
  // A network already in memory (moved to options.device).
  DcdmSolver(const linear::FlagGrid& grid, DcdmNetwork network, DcdmOptions options = {});
  // Any direction function, e.g. a linear stand-in M^{-1} r; no grid is needed.
  explicit DcdmSolver(DirectionFunction direction, DcdmOptions options = {});

  std::string name() const override { return "dcdm"; }

  // Throws InvalidArgumentError when the system's size differs from the grid's fluid cell
  // count (solvers built on a grid).
  void setup(const linear::LinearSystem& system) override;

  // Throws InvalidArgumentError before setup() and for input the solve cannot start on
  // (linear::check_solve_input).
  linear::SolveSummary solve(const linear::Vector& b,
                             linear::Vector& x,
                             const linear::SolveOptions& options) override;

  const DcdmOptions& options() const { return options_; }

 private:
  DcdmOptions options_;
  DirectionFunction direction_;
  std::int64_t expected_unknowns_ = -1;  // the grid's fluid cells, -1 without a grid
  double network_setup_seconds_ = 0.0;
  const linear::LinearSystem* system_ = nullptr;
};

}  // namespace deepnum::dcdm
