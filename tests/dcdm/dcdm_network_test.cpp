// The DCDM network, the grid stencil, the loss and model files: shapes and parameter
// counts against closed forms, the batched stencil against the assembled sparse matrix,
// the loss's scale invariance, save/load round trips and the errors for bad input.
#define BOOST_TEST_MODULE dcdm_network
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <torch/torch.h>
#include <unistd.h>
#include <Eigen/Dense>

#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/dcdm/grid_field.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/dcdm/network.hpp"
#include "deepnum/dcdm/training.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/nn/device.hpp"
#include "deepnum/nn/module_io.hpp"
#include "test_grids.hpp"

namespace {

namespace dcdm = deepnum::dcdm;
using deepnum::linear::PressureSystem;
using deepnum::linear::Vector;

// float32 sums of a few hundred O(1) terms.
constexpr double kFloatRoundOff = 1e-5;

// A folder of its own under the system's temporary folder, removed afterwards.
struct TemporaryFolder {
  std::filesystem::path path;
  TemporaryFolder() {
    path = std::filesystem::temp_directory_path() /
           ("deepnum_dcdm_network_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TemporaryFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

// Parameters of a network with C channels and B residual blocks: input conv (1 -> C,
// k^d weights + C biases), 2B convs (C -> C), the 1x1 output conv (C -> 1).
std::int64_t expected_parameters(int dimension, int channels, int blocks) {
  const std::int64_t taps = dimension == 3 ? 27 : 9;
  const std::int64_t input = taps * channels + channels;
  const std::int64_t inner = taps * channels * channels + channels;
  const std::int64_t output = channels + 1;
  return input + 2 * blocks * inner + output;
}

dcdm::DcdmNetwork seeded_network(int dimension, std::uint64_t seed = 7) {
  deepnum::nn::seed_everything(seed);
  return dcdm::DcdmNetwork(dcdm::NetworkOptions::for_grid_64(dimension));
}

}  // namespace

BOOST_AUTO_TEST_CASE(parameter_counts_match_the_reference_layouts) {
  dcdm::DcdmNetwork network64(dcdm::NetworkOptions::for_grid_64(3));
  dcdm::DcdmNetwork network128(dcdm::NetworkOptions::for_grid_128(3));
  dcdm::DcdmNetwork network2d(dcdm::NetworkOptions::for_grid_64(2));
  BOOST_TEST(network64->parameter_count() == expected_parameters(3, 16, 7));
  BOOST_TEST(network64->parameter_count() == 97457);  // "about 98K" in the paper
  BOOST_TEST(network128->parameter_count() == expected_parameters(3, 16, 11));
  BOOST_TEST(network2d->parameter_count() == expected_parameters(2, 16, 7));
}

BOOST_AUTO_TEST_CASE(network_keeps_the_grid_shape_in_2d_and_3d) {
  for (const int dimension : {2, 3}) {
    BOOST_TEST_CONTEXT("dimension " << dimension) {
      auto network = seeded_network(dimension);
      const std::vector<std::int64_t> shape = dimension == 3
                                                  ? std::vector<std::int64_t>{2, 1, 4, 6, 8}
                                                  : std::vector<std::int64_t>{2, 1, 6, 8};
      const auto output = network->forward(torch::randn(shape));
      BOOST_TEST(output.sizes() == torch::IntArrayRef(shape));
      BOOST_TEST(output.scalar_type() == torch::kFloat32);
    }
  }
}

BOOST_AUTO_TEST_CASE(inference_path_matches_the_autograd_path) {
  // Without gradients the convolutions call oneDNN directly; with them LibTorch chooses.
  // Both are float32 convolutions of the same weights: they agree to float round-off
  // accumulated over 16 layers.
  for (const int dimension : {2, 3}) {
    BOOST_TEST_CONTEXT("dimension " << dimension) {
      auto network = seeded_network(dimension);
      const auto input =
          dimension == 3 ? torch::randn({1, 1, 8, 12, 16}) : torch::randn({1, 1, 12, 16});
      const auto with_grad = network->forward(input).detach();
      torch::NoGradGuard no_grad;
      const auto without_grad = network->forward(input);
      const double scale = with_grad.abs().max().item<double>();
      BOOST_TEST((with_grad - without_grad).abs().max().item<double>() <= 1e-5 * scale);
    }
  }
}

BOOST_AUTO_TEST_CASE(odd_grid_sizes_are_rejected_with_the_sizes_that_work) {
  auto network = seeded_network(3);
  try {
    network->forward(torch::zeros({1, 1, 8, 8, 9}));
    BOOST_FAIL("an odd nx was accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("nx = 9") != std::string::npos);
    BOOST_TEST(message.find("8 or 10") != std::string::npos);
  }
  const auto grid = dcdm_test::box_grid(3, {8, 7, 8}, true);
  BOOST_CHECK_THROW(dcdm::NetworkDirection(network, grid), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(batched_stencil_equals_the_assembled_matrix) {
  for (const int dimension : {2, 3}) {
    for (const bool open_top : {false, true}) {
      for (const bool scaled : {false, true}) {
        BOOST_TEST_CONTEXT("dimension " << dimension << ", open_top " << open_top << ", scaled "
                                        << scaled) {
          const auto grid =
              dcdm_test::box_grid(dimension, {8, 6, dimension == 3 ? 10 : 1}, open_top);
          deepnum::linear::AssemblyOptions assembly;
          assembly.scale_by_spacing = scaled;
          const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid, assembly);
          const double scale = scaled ? 1.0 / (grid.spacing() * grid.spacing()) : 1.0;
          const dcdm::GridStencil stencil(grid, scale, torch::kFloat64);
          const dcdm::GridVectorMap map(grid);

          // A batch of three vectors, with garbage outside the fluid that must be ignored.
          std::vector<Vector> vectors;
          std::vector<torch::Tensor> fields;
          for (unsigned seed = 0; seed < 3; ++seed) {
            vectors.push_back(dcdm_test::random_vector(pressure.unknown_count(), seed));
            auto field = map.to_field(vectors.back(), torch::kFloat64);
            field = field + (1 - stencil.fluid_mask()) * 100.0;
            fields.push_back(field);
          }
          const auto products = stencil.apply(torch::cat(fields, 0));
          for (int i = 0; i < 3; ++i) {
            Vector product;
            map.to_vector(products[i], product);
            const Vector reference = pressure.system.matrix * vectors[static_cast<std::size_t>(i)];
            BOOST_TEST((product - reference).norm() <= 1e-12 * reference.norm());
          }
          // Zero outside the fluid.
          const double outside = (products * (1 - stencil.fluid_mask())).abs().max().item<double>();
          BOOST_TEST(outside == 0.0);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(loss_matches_its_closed_form_and_ignores_the_direction_scale) {
  const auto grid = dcdm_test::box_grid(3, {6, 6, 6}, true);
  const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
  const dcdm::GridStencil stencil(grid, 1.0, torch::kFloat64);
  const dcdm::GridVectorMap map(grid);
  Vector b = dcdm_test::random_vector(pressure.unknown_count(), 11);
  b /= b.norm();
  const Vector q = dcdm_test::random_vector(pressure.unknown_count(), 12);

  // Closed form with the assembled matrix: alpha = q^T b / q^T A q, ||b - alpha A q||^2.
  const Vector a_q = pressure.system.matrix * q;
  const double alpha = q.dot(b) / q.dot(a_q);
  const double reference = (b - alpha * a_q).squaredNorm();

  const auto rhs = map.to_field(b, torch::kFloat64);
  for (const double factor : {1.0, -3.5, 1e-4, 250.0}) {
    BOOST_TEST_CONTEXT("direction scaled by " << factor) {
      const auto direction = map.to_field(q * factor, torch::kFloat64);
      const double loss = dcdm::scale_invariant_loss(rhs, direction, stencil).item<double>();
      BOOST_TEST(std::abs(loss - reference) <= 1e-12);
    }
  }
}

BOOST_AUTO_TEST_CASE(saved_and_loaded_models_give_identical_outputs) {
  TemporaryFolder folder;
  const std::string path = folder.file("model.h5");
  auto network = seeded_network(3);
  dcdm::ModelProvenance provenance;
  provenance.training_scene = "plume";
  provenance.training_grid = {8, 8, 8};
  provenance.training_vectors = 40;
  provenance.training_steps = 12;
  provenance.final_loss = 0.25;
  provenance.command_line = "deepnum_dcdm_train --test";
  dcdm::save_model(network, provenance, path);

  dcdm::DcdmModel model = dcdm::load_model(path);
  BOOST_TEST((model.options == network->options()));
  BOOST_TEST(model.provenance.training_scene == "plume");
  BOOST_TEST((model.provenance.training_grid == provenance.training_grid));
  BOOST_TEST(model.provenance.training_vectors == 40);
  BOOST_TEST(model.provenance.training_steps == 12);
  BOOST_TEST(model.provenance.final_loss == 0.25);
  BOOST_TEST(model.provenance.command_line == provenance.command_line);
  BOOST_TEST(!model.provenance.created.empty());

  torch::NoGradGuard no_grad;
  network->eval();
  const auto input = torch::randn({2, 1, 8, 6, 4});
  BOOST_TEST(torch::equal(network->forward(input), model.network->forward(input)));
}

BOOST_AUTO_TEST_CASE(model_of_the_wrong_dimension_is_refused) {
  TemporaryFolder folder;
  const std::string path = folder.file("model_2d.h5");
  dcdm::save_model(seeded_network(2), {}, path);
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, true);
  try {
    dcdm::DcdmSolver solver(grid, path);
    BOOST_FAIL("a 2D model was accepted for a 3D grid");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("2D network") != std::string::npos);
    BOOST_TEST(message.find(path) != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(corrupt_model_file_is_reported_as_such) {
  TemporaryFolder folder;
  const std::string path = folder.file("corrupt.h5");
  {
    std::ofstream out(path, std::ios::binary);
    out << "this is not an HDF5 file, just forty-odd bytes of text";
  }
  BOOST_CHECK_THROW(dcdm::load_model(path), deepnum::io::CorruptFileError);
  BOOST_CHECK_THROW(dcdm::load_model(folder.file("missing.h5")), deepnum::io::FileNotFoundError);
}

BOOST_AUTO_TEST_CASE(model_with_another_architecture_is_refused) {
  TemporaryFolder folder;
  const std::string path = folder.file("other.h5");
  torch::nn::Linear other(3, 2);
  deepnum::nn::ModelMetadata metadata;
  metadata.text["architecture"] = "mlp";
  deepnum::nn::save_module(*other, path, "/model", metadata);
  try {
    dcdm::load_model(path);
    BOOST_FAIL("an mlp model file was accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(std::string(error.what()).find("'mlp'") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(model_recording_an_absurd_layout_is_refused_before_allocating) {
  TemporaryFolder folder;
  const std::string path = folder.file("huge.h5");
  torch::nn::Linear other(3, 2);
  deepnum::nn::ModelMetadata metadata;
  metadata.text["architecture"] = "dcdm-cnn";
  metadata.integers["dimension"] = 3;
  metadata.integers["channels"] = 16;
  metadata.integers["fine_blocks"] = 2;
  metadata.integers["coarse_blocks"] = 100000;
  metadata.integers["output_blocks"] = 2;
  deepnum::nn::save_module(*other, path, "/model", metadata);
  try {
    dcdm::load_model(path);
    BOOST_FAIL("a layout of 100000 blocks was accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("records an invalid layout") != std::string::npos, message);
    BOOST_TEST(message.find("coarse_blocks") != std::string::npos, message);
    BOOST_TEST(message.find("100000") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(cuda_is_refused_clearly_where_absent) {
  if (torch::cuda::is_available()) return;  // this check is about machines without a GPU
  const auto grid = dcdm_test::box_grid(3, {8, 8, 8}, true);
  dcdm::DcdmOptions options;
  options.device = "cuda";
  BOOST_CHECK_THROW(dcdm::DcdmSolver(grid, seeded_network(3), options), deepnum::DeviceError);
  TemporaryFolder folder;
  const std::string path = folder.file("model.h5");
  dcdm::save_model(seeded_network(3), {}, path);
  BOOST_CHECK_THROW(dcdm::load_model(path, torch::Device(torch::kCUDA, 0)), deepnum::DeviceError);
}

BOOST_AUTO_TEST_CASE(one_network_drives_the_solver_on_several_grid_sizes) {
  // Fully convolutional: one (untrained) 3D network on 8^3 and 12 x 16 x 10 grids, a 2D
  // one on 16 x 12. Every step is an exact line search, so the A^{-1}-norm of the
  // residual cannot grow.
  const std::vector<std::pair<int, std::array<int, 3>>> cases{
      {3, {8, 8, 8}}, {3, {12, 16, 10}}, {2, {16, 12, 1}}};
  for (const auto& [dimension, cells] : cases) {
    BOOST_TEST_CONTEXT("grid " << cells[0] << "x" << cells[1] << "x" << cells[2]) {
      auto network = seeded_network(dimension);
      const auto grid = dcdm_test::box_grid(dimension, cells, true);
      const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
      dcdm::DcdmSolver solver(grid, network);
      solver.setup(pressure.system);
      const Vector b =
          pressure.system.matrix * dcdm_test::random_vector(pressure.unknown_count(), 3);
      const Eigen::MatrixXd dense = Eigen::MatrixXd(pressure.system.matrix);
      const Eigen::LDLT<Eigen::MatrixXd> inverse(dense);
      auto energy = [&](const Vector& x) {
        const Vector r = b - pressure.system.matrix * x;
        return r.dot(inverse.solve(r));
      };
      double previous = energy(Vector::Zero(b.size()));
      for (int steps = 1; steps <= 5; ++steps) {
        Vector x = Vector::Zero(b.size());
        deepnum::linear::SolveOptions options;
        options.rtol = 1e-12;
        options.max_iterations = steps;
        const auto summary = solver.solve(b, x, options);
        BOOST_TEST(summary.iterations == steps);
        BOOST_TEST(summary.preconditioner_seconds > 0.0);
        const double current = energy(x);
        // Round-off of the dense solve on O(100) norms.
        BOOST_TEST(current <= previous * (1 + 1e-12));
        previous = current;
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_model_named_in_the_environment_that_is_missing_is_an_error) {
  ::setenv("DEEPNUM_DCDM_MODEL", "no_such_model.h5", 1);
  std::string message;
  try {
    dcdm::default_model_path();
  } catch (const deepnum::io::FileNotFoundError& error) {
    message = error.what();
  }
  ::unsetenv("DEEPNUM_DCDM_MODEL");
  BOOST_TEST(message.find("DEEPNUM_DCDM_MODEL names 'no_such_model.h5'") != std::string::npos,
             message);
}

BOOST_AUTO_TEST_CASE(shipped_model_beats_plain_residual_directions) {
  // The shipped model, trained on a plume at another size, on small closed boxes of other
  // sizes: it must need fewer iterations than the same outer loop fed with the residual
  // (CG-like).
  std::string path;
  try {
    path = dcdm::default_model_path();
  } catch (const deepnum::io::FileNotFoundError&) {
    BOOST_TEST_MESSAGE("no shipped model in this tree; skipped");
    return;
  }
  for (const auto& cells : {std::array<int, 3>{16, 16, 16}, std::array<int, 3>{24, 20, 16}}) {
    BOOST_TEST_CONTEXT("grid " << cells[0] << "x" << cells[1] << "x" << cells[2]) {
      const auto grid = dcdm_test::box_grid(3, cells, false);
      const PressureSystem pressure = deepnum::linear::assemble_pressure_system(grid);
      const Vector b =
          pressure.system.matrix * dcdm_test::random_vector(pressure.unknown_count(), 9);
      deepnum::linear::SolveOptions options;
      options.rtol = 1e-6;
      options.max_iterations = 1000;

      dcdm::DcdmSolver network_solver(grid, path);
      network_solver.setup(pressure.system);
      Vector x = Vector::Zero(b.size());
      const auto network_summary = network_solver.solve(b, x, options);

      dcdm::DcdmSolver residual_solver([](const Vector& r, Vector& q) { q = r; });
      residual_solver.setup(pressure.system);
      Vector x_residual = Vector::Zero(b.size());
      const auto residual_summary = residual_solver.solve(b, x_residual, options);

      BOOST_TEST(network_summary.converged());
      BOOST_TEST(network_summary.iterations < residual_summary.iterations);
    }
  }
}
