#include "deepnum/dcdm/dcdm_solver.hpp"

#include <cmath>
#include <deque>
#include <optional>
#include <utility>

#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "deepnum/nn/device.hpp"

namespace deepnum::dcdm {
namespace {

using linear::SparseMatrix;
using linear::TerminationReason;
using linear::Vector;

// The previous search directions p_j with A p_j and p_j^T A p_j, newest last.
class DirectionHistory {
 public:
  explicit DirectionHistory(int capacity) : capacity_(static_cast<std::size_t>(capacity)) {}

  // q -= sum_j (q^T A p_j) / (p_j^T A p_j) p_j. Against p_j's from a truncated history,
  // so the directions are A-orthogonal to the last `capacity` ones (Kaneda et al. 2023,
  // Algorithm 1; the same truncation as Notay's flexible CG with mmax = capacity).
  void a_orthogonalize(Vector& q) const {
    for (const auto& previous : entries_) {
      q.noalias() -= (q.dot(previous.a_direction) / previous.curvature) * previous.direction;
    }
  }

  void push(const Vector& direction, const Vector& a_direction, double curvature) {
    if (capacity_ == 0) return;
    if (entries_.size() == capacity_) entries_.pop_front();
    entries_.push_back({direction, a_direction, curvature});
  }

 private:
  struct Entry {
    Vector direction;
    Vector a_direction;
    double curvature;
  };
  std::size_t capacity_;
  std::deque<Entry> entries_;
};

std::string fallback_note(int fallback_steps) {
  return fmt::format("{} fallback steps", fallback_steps);
}

// Records the fallback count and warns when the network's directions had to be replaced:
// converged or not, such a solve ran partly as plain CG, and many fallbacks mean that the
// model does not suit this problem.
linear::SolveSummary finish_with_fallbacks(linear::SolveSummary summary, int fallback_steps) {
  summary.fallback_steps = fallback_steps;
  if (fallback_steps > 0) {
    log::warn(
        "dcdm: the network's direction was unusable in {} of {} iterations (a residual step "
        "was taken instead); a model trained for this kind of problem should need none",
        fallback_steps,
        summary.iterations);
  }
  return summary;
}

}  // namespace

void DcdmOptions::validate() const {
  require_option(previous_directions >= 0,
                 "DcdmOptions",
                 "previous_directions",
                 previous_directions,
                 "must be >= 0");
  require_option(residual_replacement_interval >= 0,
                 "DcdmOptions",
                 "residual_replacement_interval",
                 residual_replacement_interval,
                 "must be >= 0");
  require_option(usefulness_tolerance >= 0 && usefulness_tolerance < 1,
                 "DcdmOptions",
                 "usefulness_tolerance",
                 usefulness_tolerance,
                 "must be in [0, 1)");
  require_option(
      !device.empty(), "DcdmOptions", "device", "''", "must name a device (cpu, cuda, cuda:N)");
}

NetworkDirection::NetworkDirection(DcdmNetwork network, const linear::FlagGrid& grid)
    : network_(std::move(network)), map_(grid) {
  require<InvalidArgumentError>(network_.ptr() != nullptr, "NetworkDirection: null network");
  const int dimension = network_->options().dimension;
  require<InvalidArgumentError>(dimension == grid.dimension(),
                                "the DCDM network is ",
                                dimension,
                                "D but the flag grid is ",
                                grid.dimension(),
                                "D");
  check_grid_size(dimension, {grid.nx(), grid.ny(), grid.nz()});
  network_->eval();
}

torch::Device NetworkDirection::device() const {
  const auto parameters = network_->parameters();
  return parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
}

void NetworkDirection::operator()(const Vector& unit_residual, Vector& direction) const {
  c10::InferenceMode inference;
  // q = f(r / ||r||) on the grid, zero outside the fluid on the way in and out.
  const auto residual_field = map_.to_field(unit_residual, torch::kFloat32, device());
  torch::Tensor direction_field;
  try {
    direction_field = network_->forward(residual_field);
  } catch (const c10::Error& error) {
    const auto cells = map_.grid().cells();
    throw Error(detail::concatenate("dcdm: the network failed on a ",
                                    cells[0],
                                    "x",
                                    cells[1],
                                    "x",
                                    cells[2],
                                    " grid on ",
                                    device().str(),
                                    ": ",
                                    error.what_without_backtrace()));
  }
  map_.to_vector(direction_field, direction);
}

DcdmSolver::DcdmSolver(const linear::FlagGrid& grid,
                       const std::string& model_path,
                       DcdmOptions options)
    : options_(std::move(options)) {
  options_.validate();
  Stopwatch clock;
  const torch::Device device = nn::parse_device(options_.device);
  DcdmModel model = load_model(model_path, grid.dimension(), device);
  NetworkDirection network_direction(model.network, grid);
  expected_unknowns_ = network_direction.unknown_count();
  direction_ = std::move(network_direction);
  network_setup_seconds_ = clock.seconds();
}

DcdmSolver::DcdmSolver(const linear::FlagGrid& grid, DcdmNetwork network, DcdmOptions options)
    : options_(std::move(options)) {
  options_.validate();
  Stopwatch clock;
  require<InvalidArgumentError>(network.ptr() != nullptr, "DcdmSolver: null network");
  network->to(nn::parse_device(options_.device));
  NetworkDirection network_direction(std::move(network), grid);
  expected_unknowns_ = network_direction.unknown_count();
  direction_ = std::move(network_direction);
  network_setup_seconds_ = clock.seconds();
}

DcdmSolver::DcdmSolver(DirectionFunction direction, DcdmOptions options)
    : options_(std::move(options)), direction_(std::move(direction)) {
  options_.validate();
  require<InvalidArgumentError>(static_cast<bool>(direction_),
                                "DcdmSolver: empty direction function");
}

void DcdmSolver::setup(const linear::LinearSystem& system) {
  require<InvalidArgumentError>(
      expected_unknowns_ < 0 || system.matrix.rows() == expected_unknowns_,
      "dcdm: the system has ",
      system.matrix.rows(),
      " unknowns but the flag grid has ",
      expected_unknowns_,
      " fluid cells");
  system_ = &system;
}

linear::SolveSummary DcdmSolver::solve(const Vector& b,
                                       Vector& x,
                                       const linear::SolveOptions& options) {
  require<InvalidArgumentError>(system_ != nullptr, "dcdm: solve() called before setup()");
  linear::IterationControl control("dcdm", *system_, b, x, options, network_setup_seconds_);
  if (control.zero_rhs()) {
    x.setZero();
    return control.finish(TerminationReason::kConverged, 0, x, "b = 0 gives x = 0");
  }
  if (control.inconsistent()) return control.finish(TerminationReason::kInconsistent, 0, x);

  const SparseMatrix& A = system_->matrix;
  const auto& null_space = system_->null_space;
  const Vector& rhs = control.working_rhs();
  auto project = [&](Vector& v) {
    if (!null_space.empty()) linear::remove_null_space(null_space, v);
  };

  // r0 = b - A x0
  Vector r = rhs - A * x;
  project(r);
  if (auto stop = control.start(r.norm(), x)) return control.finish(*stop, 0, x);

  DirectionHistory history(options_.previous_directions);
  Vector unit_residual(r.size());
  Vector q(r.size());
  Vector a_q(r.size());
  int fallback_steps = 0;

  // Makes q a usable search direction: projected onto range(A), A-orthogonal to the
  // previous directions, with q^T r clearly nonzero and q^T A q > 0. Fills a_q = A q and
  // returns (q^T r, q^T A q), or nothing when q is useless.
  struct Step {
    double q_dot_r;
    double curvature;
  };
  auto prepare = [&](Vector& direction, double r_norm) -> std::optional<Step> {
    if (!direction.allFinite()) return std::nullopt;
    project(direction);
    history.a_orthogonalize(direction);
    const double q_dot_r = direction.dot(r);
    if (!(std::abs(q_dot_r) > options_.usefulness_tolerance * direction.norm() * r_norm)) {
      return std::nullopt;
    }
    a_q.noalias() = A * direction;
    const double curvature = direction.dot(a_q);
    if (!(curvature > 0) || !std::isfinite(curvature)) return std::nullopt;
    return Step{q_dot_r, curvature};
  };

  double r_norm = r.norm();
  for (int k = 1;; ++k) {
    // q = f(r / ||r||)
    unit_residual = r / r_norm;
    Stopwatch network_clock;
    direction_(unit_residual, q);
    control.add_preconditioner_seconds(network_clock.seconds());
    require<InvalidArgumentError>(q.size() == r.size(),
                                  "dcdm: the direction function returned ",
                                  q.size(),
                                  " entries for a residual of ",
                                  r.size());

    auto step = prepare(q, r_norm);
    if (!step) {
      // The network's direction is useless here: take the CG-like step along r.
      ++fallback_steps;
      log::debug("dcdm: iteration {}: network direction unusable, falling back to r", k);
      q = r;
      step = prepare(q, r_norm);
      if (!step) {
        return finish_with_fallbacks(
            control.finish(
                TerminationReason::kBreakdown,
                k - 1,
                x,
                fmt::format("neither the network's direction nor the residual gives a descent "
                            "step at iteration {} (r^T A r not positive after "
                            "A-orthogonalization)",
                            k)),
            fallback_steps);
      }
    }

    // alpha = (q^T r) / (q^T A q); x += alpha q; r -= alpha A q
    const double alpha = step->q_dot_r / step->curvature;
    x.noalias() += alpha * q;
    r.noalias() -= alpha * a_q;
    project(r);
    history.push(q, a_q, step->curvature);

    // The recursive residual drifts from b - A x: replace it periodically, and confirm
    // convergence on the true residual.
    const bool replace_now = options_.residual_replacement_interval > 0 &&
                             k % options_.residual_replacement_interval == 0;
    r_norm = r.norm();
    if (replace_now || control.meets_tolerance(r_norm)) {
      r = rhs - A * x;
      project(r);
      r_norm = r.norm();
      if (control.meets_tolerance(r_norm) &&
          control.meets_tolerance(control.true_residual_norm(x))) {
        control.record(k, r_norm);
        return finish_with_fallbacks(
            control.finish(TerminationReason::kConverged, k, x, fallback_note(fallback_steps)),
            fallback_steps);
      }
    }
    if (auto stop = control.check(k, r_norm)) {
      return finish_with_fallbacks(control.finish(*stop, k, x, fallback_note(fallback_steps)),
                                   fallback_steps);
    }
  }
}

}  // namespace deepnum::dcdm
