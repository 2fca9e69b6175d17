// Training data and training: Lanczos Ritz values against Eigen's dense eigenvalues, the
// training vectors' invariants and file round trip, and a tiny training run.
#define BOOST_TEST_MODULE dcdm_training
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>

#include <torch/torch.h>
#include <unistd.h>
#include <Eigen/Dense>

#include "deepnum/core/error.hpp"
#include "deepnum/dcdm/grid_field.hpp"
#include "deepnum/dcdm/lanczos.hpp"
#include "deepnum/dcdm/network.hpp"
#include "deepnum/dcdm/training.hpp"
#include "deepnum/dcdm/training_set.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/nn/device.hpp"
#include "test_grids.hpp"

namespace {

namespace dcdm = deepnum::dcdm;
using deepnum::linear::PressureSystem;
using deepnum::linear::Vector;

struct TemporaryFolder {
  std::filesystem::path path;
  TemporaryFolder() {
    path = std::filesystem::temp_directory_path() /
           ("deepnum_dcdm_training_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// The basis is stored in float32: orthogonality, and so the Ritz values, hold to about
// float epsilon times ||A|| (||A|| <= 12 for the 7-point stencil).
constexpr double kRitzTolerance = 1e-5;

}  // namespace

BOOST_AUTO_TEST_CASE(lanczos_ritz_values_match_dense_eigenvalues) {
  // Nonsingular (open top) 3D system: full Lanczos (m = n) reproduces the spectrum.
  const PressureSystem pressure =
      deepnum::linear::assemble_pressure_system(dcdm_test::box_grid(3, {6, 6, 6}, true));
  const auto& A = pressure.system.matrix;
  dcdm::LanczosOptions options;
  options.steps = static_cast<int>(A.rows());
  const auto result = dcdm::lanczos(A, dcdm::lanczos_start_vector(A, 3), options);
  const auto ritz = dcdm::ritz_pairs(result);

  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense{Eigen::MatrixXd(A)};
  const Eigen::VectorXd eigenvalues = dense.eigenvalues();
  // The pressure matrix has repeated eigenvalues (symmetry of the box); Lanczos from one
  // start vector finds each distinct value once. Every Ritz value must be an eigenvalue,
  // and the extreme ones must be found.
  for (Eigen::Index i = 0; i < ritz.values.size(); ++i) {
    BOOST_TEST_CONTEXT("Ritz value " << i << " = " << ritz.values[i]) {
      const double distance = (eigenvalues.array() - ritz.values[i]).abs().minCoeff();
      BOOST_TEST(distance <= kRitzTolerance * eigenvalues.maxCoeff());
    }
  }
  BOOST_TEST(std::abs(ritz.values.minCoeff() - eigenvalues.minCoeff()) <=
             kRitzTolerance * eigenvalues.maxCoeff());
  BOOST_TEST(std::abs(ritz.values.maxCoeff() - eigenvalues.maxCoeff()) <=
             kRitzTolerance * eigenvalues.maxCoeff());

  // The stored basis is orthonormal to float32 round-off.
  const Eigen::MatrixXd basis = result.basis.cast<double>();
  const Eigen::MatrixXd gram = basis.transpose() * basis;
  BOOST_TEST((gram - Eigen::MatrixXd::Identity(gram.rows(), gram.cols())).cwiseAbs().maxCoeff() <=
             kRitzTolerance);
}

BOOST_AUTO_TEST_CASE(lanczos_on_a_singular_matrix_keeps_the_null_space_out) {
  const PressureSystem pressure =
      deepnum::linear::assemble_pressure_system(dcdm_test::box_grid(3, {6, 6, 6}, false));
  const auto& A = pressure.system.matrix;
  BOOST_REQUIRE(pressure.system.null_space.size() == 1);
  dcdm::LanczosOptions options;
  options.steps = static_cast<int>(A.rows());
  const auto result = dcdm::lanczos(A, dcdm::lanczos_start_vector(A, 4), options);
  const auto ritz = dcdm::ritz_pairs(result);
  // Every kept value is a positive eigenvalue; the constant vector contributed none.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> dense{Eigen::MatrixXd(A)};
  const double smallest_positive = dense.eigenvalues()[1];
  BOOST_TEST(ritz.values.minCoeff() >= smallest_positive * (1 - kRitzTolerance));
}

BOOST_AUTO_TEST_CASE(lanczos_refuses_a_basis_beyond_the_memory_limit) {
  const PressureSystem pressure =
      deepnum::linear::assemble_pressure_system(dcdm_test::box_grid(3, {6, 6, 6}, true));
  dcdm::LanczosOptions options;
  options.steps = 50;
  options.memory_limit_gb = 1e-6;  // 1 kB
  const auto& A = pressure.system.matrix;
  BOOST_CHECK_THROW(dcdm::lanczos(A, dcdm::lanczos_start_vector(A, 1), options),
                    deepnum::OptionError);
}

BOOST_AUTO_TEST_CASE(training_vectors_are_unit_fluid_fields_and_survive_the_file) {
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, false);
  dcdm::TrainingSetOptions options;
  options.lanczos.steps = 60;
  options.vectors = 25;
  options.block_size = 10;  // exercise more than one block
  const dcdm::TrainingSet set = dcdm::build_training_set(grid, options, "box", 3);
  BOOST_TEST(set.count() == 25);
  BOOST_TEST(set.vectors.sizes() == torch::IntArrayRef({25, 1, 8, 8, 8}));

  const dcdm::GridStencil stencil(grid);
  const auto norms = set.vectors.flatten(1).norm(2, 1);
  // float32 storage of unit vectors: norms to float round-off.
  BOOST_TEST((norms - 1).abs().max().item<double>() <= 1e-5);
  BOOST_TEST((set.vectors * (1 - stencil.fluid_mask())).abs().max().item<double>() == 0.0);
  // Built from Ritz vectors of a singular A: orthogonal to the null space (the constant).
  const auto means = (set.vectors * stencil.fluid_mask()).flatten(1).sum(1);
  BOOST_TEST(means.abs().max().item<double>() <= 1e-4);

  TemporaryFolder folder;
  const std::string path = folder.file("set.h5");
  dcdm::write_training_set(set, path);
  const dcdm::TrainingSet loaded = dcdm::read_training_set(path);
  BOOST_TEST(torch::equal(loaded.vectors, set.vectors));
  BOOST_TEST(loaded.grid.flags() == grid.flags());
  BOOST_TEST(loaded.scene == "box");
  BOOST_TEST(loaded.frame == 3);
  BOOST_TEST(loaded.lanczos_steps == set.lanczos_steps);
  BOOST_TEST(loaded.ritz_values.isApprox(set.ritz_values));
}

BOOST_AUTO_TEST_CASE(a_set_file_with_a_zero_or_nan_vector_is_refused_naming_it) {
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, false);
  dcdm::TrainingSetOptions options;
  options.lanczos.steps = 30;
  options.vectors = 6;
  TemporaryFolder folder;
  for (const float damage : {0.0f, std::numeric_limits<float>::quiet_NaN()}) {
    BOOST_TEST_CONTEXT("vector 4 times " << damage) {
      dcdm::TrainingSet set = dcdm::build_training_set(grid, options, "box", 1);
      set.vectors[4] *= damage;
      const std::string path = folder.file("damaged.h5");
      dcdm::write_training_set(set, path);
      try {
        dcdm::read_training_set(path);
        BOOST_FAIL("a damaged training set was read");
      } catch (const deepnum::io::CorruptFileError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find("1 of the 6 vectors in /vectors are not unit vectors") !=
                       std::string::npos,
                   message);
        BOOST_TEST(message.find("index 4") != std::string::npos, message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(low_modes_dominate_the_training_vectors) {
  // E[b^T A b] ~ sum_i w_i theta_i / sum_i w_i over the Ritz values theta_i, with weights
  // w_i = 81 on the lowest 55% and 1 elsewhere; on this grid that is about half the
  // equal-weight mean (5.2). 0.7 leaves room for the sampling spread of 20 vectors.
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, true);
  const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
  dcdm::TrainingSetOptions boosted;
  boosted.lanczos.steps = 80;
  boosted.vectors = 20;
  dcdm::TrainingSetOptions flat = boosted;
  flat.low_mode_factor = 1.0;
  const dcdm::GridVectorMap map(grid);
  auto mean_rayleigh = [&](const dcdm::TrainingSet& set) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < set.count(); ++i) {
      Vector b;
      map.to_vector(set.vectors[i], b);
      const Vector a_b = pressure.system.matrix * b;
      sum += b.dot(a_b);
    }
    return sum / static_cast<double>(set.count());
  };
  BOOST_TEST(mean_rayleigh(dcdm::build_training_set(grid, boosted)) <
             0.7 * mean_rayleigh(dcdm::build_training_set(grid, flat)));
}

BOOST_AUTO_TEST_CASE(a_short_training_run_lowers_the_loss) {
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, false);
  dcdm::TrainingSetOptions set_options;
  set_options.lanczos.steps = 60;
  set_options.vectors = 40;
  const dcdm::TrainingSet set = dcdm::build_training_set(grid, set_options, "box");

  deepnum::nn::seed_everything(5);
  dcdm::DcdmNetwork network(dcdm::NetworkOptions::for_grid_64(3));
  const dcdm::GridStencil stencil(grid);
  auto set_loss = [&] {
    torch::NoGradGuard no_grad;
    network->eval();
    return dcdm::scale_invariant_loss(set.vectors, network->forward(set.vectors), stencil)
        .item<double>();
  };
  const double before = set_loss();

  dcdm::TrainOptions options;
  options.steps = 40;
  options.batch_size = 4;
  options.learning_rate = 1e-3;  // a few steps must show progress
  options.log_every = 10;
  const auto summary = dcdm::train_network(network, set, options);
  BOOST_TEST(summary.steps_run == 40);
  const double after = set_loss();
  BOOST_TEST_MESSAGE("loss over the set: before " << before << ", after " << after);
  BOOST_TEST(after < 0.9 * before);
}

BOOST_AUTO_TEST_CASE(learning_rate_follows_the_half_cosine) {
  dcdm::TrainOptions options;
  options.steps = 90;
  options.learning_rate = 1e-3;
  BOOST_TEST(dcdm::learning_rate_at(options, 70) == 1e-3);  // constant without a final rate
  options.final_learning_rate = 1e-4;
  // Closed form final + (initial - final) (1 + cos(pi t)) / 2 at t = 0, 1/3, 1/2, 1, where
  // cos(pi t) = 1, 1/2, 0, -1.
  const double tolerance = 1e-15;  // a few double operations on 1e-3
  BOOST_TEST(std::abs(dcdm::learning_rate_at(options, 0) - 1e-3) <= tolerance);
  BOOST_TEST(std::abs(dcdm::learning_rate_at(options, 30) - 7.75e-4) <= tolerance);
  BOOST_TEST(std::abs(dcdm::learning_rate_at(options, 45) - 5.5e-4) <= tolerance);
  BOOST_TEST(std::abs(dcdm::learning_rate_at(options, 90) - 1e-4) <= tolerance);
}

BOOST_AUTO_TEST_CASE(training_refuses_a_network_of_the_wrong_dimension) {
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, true);
  dcdm::TrainingSetOptions set_options;
  set_options.lanczos.steps = 30;
  set_options.vectors = 10;
  const dcdm::TrainingSet set = dcdm::build_training_set(grid, set_options);
  dcdm::DcdmNetwork network(dcdm::NetworkOptions::for_grid_64(2));
  dcdm::TrainOptions options;
  options.steps = 1;
  BOOST_CHECK_THROW(dcdm::train_network(network, set, options), deepnum::InvalidArgumentError);
}
