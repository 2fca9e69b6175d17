#include "deepnum/dcdm/training_set.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/dcdm/grid_field.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/nn/tensor_io.hpp"

namespace deepnum::dcdm {
namespace {

const std::string kFormat = "deepnum.dcdm.training_set/1";

io::Shape to_io_shape(const std::vector<std::int64_t>& extents) {
  io::Shape shape;
  for (const std::int64_t extent : extents) shape.push_back(static_cast<std::uint64_t>(extent));
  return shape;
}

}  // namespace

void TrainingSetOptions::validate() const {
  lanczos.validate();
  require_option(vectors >= 1, "TrainingSetOptions", "vectors", vectors, "must be >= 1");
  require_option(low_mode_fraction >= 0 && low_mode_fraction <= 1,
                 "TrainingSetOptions",
                 "low_mode_fraction",
                 low_mode_fraction,
                 "must be in [0, 1]");
  require_option(
      low_mode_factor > 0, "TrainingSetOptions", "low_mode_factor", low_mode_factor, "must be > 0");
  require_option(ritz_value_floor >= 0,
                 "TrainingSetOptions",
                 "ritz_value_floor",
                 ritz_value_floor,
                 "must be >= 0");
  require_option(block_size >= 1, "TrainingSetOptions", "block_size", block_size, "must be >= 1");
}

torch::Tensor draw_training_vectors(const LanczosResult& lanczos,
                                    const RitzPairs& ritz,
                                    const linear::FlagGrid& grid,
                                    const std::vector<std::int64_t>& cell_of_unknown,
                                    const TrainingSetOptions& options) {
  options.validate();
  const auto kept = ritz.values.size();
  require<NumericalError>(kept > 0,
                          "draw_training_vectors: no Ritz value is above the floor ",
                          options.ritz_value_floor,
                          " (",
                          ritz.dropped,
                          " dropped)");
  require<InvalidArgumentError>(
      static_cast<std::size_t>(lanczos.basis.rows()) == cell_of_unknown.size(),
      "draw_training_vectors: the basis has ",
      lanczos.basis.rows(),
      " rows for ",
      cell_of_unknown.size(),
      " fluid cells");

  // Coefficients of the lowest Ritz values are boosted (reference: x9 for the lowest 55%).
  const auto boosted = static_cast<Eigen::Index>(std::floor(options.low_mode_fraction * kept));
  std::mt19937_64 generator(options.seed + 0x9e3779b97f4a7c15ULL);
  std::normal_distribution<double> normal(0.0, 1.0);

  auto vectors = torch::zeros(field_shape(grid, options.vectors), torch::kFloat32);
  float* data = vectors.data_ptr<float>();
  const std::int64_t cells = grid.cell_count();
  for (int first = 0; first < options.vectors; first += options.block_size) {
    const int count = std::min(options.block_size, options.vectors - first);

    // C ~ N(0, 1), k x count, low modes scaled up
    Eigen::MatrixXd c(kept, count);
    for (int j = 0; j < count; ++j) {
      for (Eigen::Index i = 0; i < kept; ++i) {
        c(i, j) = normal(generator) * (i < boosted ? options.low_mode_factor : 1.0);
      }
    }
    // B = V (S C): the Ritz combinations without forming the Ritz vectors.
    const Eigen::MatrixXf lanczos_coefficients = (ritz.coefficients * c).cast<float>();
    const Eigen::MatrixXf block = lanczos.basis * lanczos_coefficients;

    for (int j = 0; j < count; ++j) {
      const double norm = block.col(j).cast<double>().norm();
      require<NumericalError>(norm > 0 && std::isfinite(norm),
                              "draw_training_vectors: vector ",
                              first + j,
                              " has norm ",
                              norm);
      float* target = data + static_cast<std::int64_t>(first + j) * cells;
      for (std::size_t i = 0; i < cell_of_unknown.size(); ++i) {
        target[cell_of_unknown[i]] =
            static_cast<float>(block(static_cast<Eigen::Index>(i), j) / norm);
      }
    }
  }
  return vectors;
}

TrainingSet build_training_set(const linear::FlagGrid& grid,
                               const TrainingSetOptions& options,
                               const std::string& scene,
                               int frame) {
  options.validate();
  const linear::PressureSystem pressure = linear::assemble_pressure_system(grid);
  const auto n = static_cast<double>(pressure.unknown_count());
  const double m = std::min<double>(options.lanczos.steps, n);
  const double total_gb =
      (4.0 * n * m + 4.0 * static_cast<double>(grid.cell_count()) * options.vectors + 8.0 * m * m) /
      1e9;
  require_option(total_gb <= options.lanczos.memory_limit_gb,
                 "TrainingSetOptions",
                 "vectors",
                 options.vectors,
                 detail::concatenate("basis, set and tridiagonal eigenvectors need ",
                                     total_gb,
                                     " GB, above memory_limit_gb = ",
                                     options.lanczos.memory_limit_gb,
                                     "; lower vectors or lanczos steps"));

  Stopwatch clock;
  const auto& A = pressure.system.matrix;
  const LanczosResult basis = lanczos(
      A, lanczos_start_vector(A, options.seed), options.lanczos, pressure.system.null_space);
  const RitzPairs ritz = ritz_pairs(basis, options.ritz_value_floor);
  log::info("training set: {} Ritz values kept in [{:.3e}, {:.3e}], {} dropped below {:g}",
            ritz.values.size(),
            ritz.values.size() ? ritz.values[0] : 0.0,
            ritz.values.size() ? ritz.values[ritz.values.size() - 1] : 0.0,
            ritz.dropped,
            options.ritz_value_floor);

  TrainingSet set;
  set.grid = grid;
  set.vectors = draw_training_vectors(basis, ritz, grid, pressure.cell_of_unknown, options);
  set.ritz_values = ritz.values;
  set.scene = scene;
  set.frame = frame;
  set.lanczos_steps = basis.steps;
  set.dropped_ritz_values = ritz.dropped;
  set.low_mode_fraction = options.low_mode_fraction;
  set.low_mode_factor = options.low_mode_factor;
  set.seed = options.seed;
  log::info("training set: {} vectors on {}x{}x{} in {:.1f} s",
            set.count(),
            grid.nx(),
            grid.ny(),
            grid.nz(),
            clock.seconds());
  return set;
}

void write_training_set(const TrainingSet& set, const std::string& path) {
  require<InvalidArgumentError>(set.vectors.defined() && set.vectors.dim() >= 3,
                                "write_training_set: no vectors to write to '",
                                path,
                                "'");
  io::AtomicFileWriter writer(path);
  io::File& file = writer.file();

  const auto spatial = spatial_shape(set.grid);
  std::vector<std::int8_t> codes(set.grid.flags().size());
  std::transform(
      set.grid.flags().begin(), set.grid.flags().end(), codes.begin(), [](linear::CellFlag flag) {
        return linear::to_code(flag);
      });
  io::write_dataset(file, "/flags", codes.data(), to_io_shape(spatial));
  io::write_attribute(file, "/flags", "axis_order", set.grid.dimension() == 3 ? "zyx" : "yx");

  // (count, 1, spatial...) -> (count, spatial...) on disk
  nn::write_tensor(file, "/vectors", set.vectors.squeeze(1));
  std::vector<double> ritz(set.ritz_values.data(), set.ritz_values.data() + set.ritz_values.size());
  io::write_dataset(file, "/ritz_values", ritz.data(), io::Shape{ritz.size()});

  io::write_attribute(file, "/", "format", kFormat);
  io::write_attribute(file, "/", "dimension", set.grid.dimension());
  io::write_attribute(file, "/", "spacing", set.grid.spacing());
  io::write_attribute(file, "/", "scene", set.scene);
  io::write_attribute(file, "/", "frame", set.frame);
  io::write_attribute(file, "/", "lanczos_steps", set.lanczos_steps);
  io::write_attribute(file, "/", "dropped_ritz_values", set.dropped_ritz_values);
  io::write_attribute(file, "/", "low_mode_fraction", set.low_mode_fraction);
  io::write_attribute(file, "/", "low_mode_factor", set.low_mode_factor);
  io::write_attribute(file, "/", "seed", static_cast<std::int64_t>(set.seed));
  writer.commit();
}

// Float32 vectors normalized in float64 keep their norm within about 1e-6 of 1.
constexpr double kUnitNormTolerance = 1e-4;

TrainingSet read_training_set(const std::string& path) {
  const io::File file = io::File::open_read(path);
  const std::string format = io::read_attribute<std::string>(file, "/", "format");
  require<io::CorruptFileError>(
      format == kFormat, "'", path, "' has format '", format, "', expected '", kFormat, "'");
  const int dimension = io::read_attribute<int>(file, "/", "dimension");
  require<io::CorruptFileError>(dimension == 2 || dimension == 3,
                                "'",
                                path,
                                "': attribute dimension = ",
                                dimension,
                                ", expected 2 or 3");

  const auto flags = io::read_dataset<std::int8_t>(file, "/flags");
  require<io::CorruptFileError>(flags.shape.size() == static_cast<std::size_t>(dimension),
                                "'",
                                path,
                                "': /flags has shape ",
                                io::to_string(flags.shape),
                                ", expected rank ",
                                dimension);
  std::array<int, 3> cells{1, 1, 1};
  for (int axis = 0; axis < dimension; ++axis) {
    cells[static_cast<std::size_t>(axis)] =
        static_cast<int>(flags.shape[static_cast<std::size_t>(dimension - 1 - axis)]);
  }

  TrainingSet set;
  set.grid = linear::flag_grid_from_codes(
      dimension, cells, io::read_attribute<double>(file, "/", "spacing"), flags.values);
  io::Shape expected = io::dataset_shape(file, "/vectors");
  require<io::CorruptFileError>(
      expected.size() == flags.shape.size() + 1 &&
          std::equal(flags.shape.begin(), flags.shape.end(), expected.begin() + 1),
      "'",
      path,
      "': /vectors has shape ",
      io::to_string(expected),
      ", expected (count, ",
      io::to_string(flags.shape).substr(1));
  set.vectors = nn::read_tensor(file, "/vectors").to(torch::kFloat32).unsqueeze(1).contiguous();
  // Every vector was normalized when the set was built: a zero, NaN or rescaled vector
  // means the file was damaged or written by something else, and training on it would
  // report a meaningless loss.
  if (set.count() > 0) {
    const torch::Tensor norms = set.vectors.flatten(1).to(torch::kFloat64).norm(2, 1);
    const torch::Tensor off = torch::logical_not((norms - 1.0).abs() <= kUnitNormTolerance);
    const std::int64_t bad = off.sum().item<std::int64_t>();
    if (bad > 0) {
      const std::int64_t first = off.nonzero()[0][0].item<std::int64_t>();
      throw io::CorruptFileError(detail::concatenate("'",
                                                     path,
                                                     "': ",
                                                     bad,
                                                     " of the ",
                                                     set.count(),
                                                     " vectors in /vectors are not unit vectors "
                                                     "(the first, index ",
                                                     first,
                                                     ", has norm ",
                                                     norms[first].item<double>(),
                                                     ")"));
    }
  }
  const auto ritz = io::read_dataset<double>(file, "/ritz_values");
  set.ritz_values = Eigen::Map<const Eigen::VectorXd>(
      ritz.values.data(), static_cast<Eigen::Index>(ritz.values.size()));
  set.scene = io::read_attribute<std::string>(file, "/", "scene");
  set.frame = io::read_attribute<int>(file, "/", "frame");
  set.lanczos_steps = io::read_attribute<int>(file, "/", "lanczos_steps");
  set.dropped_ritz_values = io::read_attribute<int>(file, "/", "dropped_ritz_values");
  set.low_mode_fraction = io::read_attribute<double>(file, "/", "low_mode_fraction");
  set.low_mode_factor = io::read_attribute<double>(file, "/", "low_mode_factor");
  set.seed = static_cast<std::uint64_t>(io::read_attribute<std::int64_t>(file, "/", "seed"));
  return set;
}

}  // namespace deepnum::dcdm
