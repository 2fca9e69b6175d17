// The DCDM training set: unit right-hand sides built from Ritz vectors of one pressure
// matrix (Kaneda et al. 2023; reference datasetcreate.py), stored on the grid in HDF5.
//
// Each vector is  b = V S c / ||V S c||  with V the Lanczos basis, S the Ritz coefficients
// (Ritz vectors V S, values >= 1e-8) and c ~ N(0, 1) per Ritz vector, the coefficients of
// the lowest low_mode_fraction of the Ritz values multiplied by low_mode_factor, so that
// the set leans towards the smooth modes CG resolves last.
//
// File layout (h5py: f["vectors"][i] is the i-th right-hand side on the grid):
//   /flags        int8 (nz, ny, nx), or (ny, nx) in 2D; attribute axis_order "zyx" / "yx"
//   /vectors      float32 (count, nz, ny, nx), or (count, ny, nx): unit 2-norm, zero
//                 outside the fluid
//   /ritz_values  float64 (kept Ritz values, ascending)
//   root attributes: format "deepnum.dcdm.training_set/1", dimension, spacing, scene,
//                 frame, lanczos_steps, dropped_ritz_values, low_mode_fraction,
//                 low_mode_factor, seed
// Memory while building: the float32 basis (n x m x 4 bytes), the float32 set (count x
// cells x 4 bytes) and T's eigenvectors (m x m x 8 bytes); the vectors are formed in
// blocks of `block_size`.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>
#include <Eigen/Core>

#include "deepnum/dcdm/lanczos.hpp"
#include "deepnum/linear/flag_grid.hpp"

namespace deepnum::dcdm {

struct TrainingSetOptions {
  LanczosOptions lanczos;           // m steps, memory limit (applies to the whole build)
  int vectors = 2000;               // right-hand sides to generate
  double low_mode_fraction = 0.55;  // share of the Ritz values (lowest first) boosted
  double low_mode_factor = 9.0;     // their coefficients' multiplier
  double ritz_value_floor = 1e-8;   // smaller Ritz values are the null space: dropped
  std::uint64_t seed = 1;           // for A x_rand and the coefficients
  int block_size = 128;             // vectors formed per matrix-matrix product

  void validate() const;  // throws OptionError naming field, value and rule
};

struct TrainingSet {
  linear::FlagGrid grid;  // the flags of the matrix
  torch::Tensor vectors;  // (count, 1, spatial...) float32 on the CPU
  Eigen::VectorXd ritz_values;
  std::string scene;  // provenance: scene and frame of the flags
  int frame = 0;
  int lanczos_steps = 0;
  int dropped_ritz_values = 0;
  double low_mode_fraction = 0.0;
  double low_mode_factor = 0.0;
  std::uint64_t seed = 0;

  std::int64_t count() const { return vectors.defined() ? vectors.size(0) : 0; }
};

// Assembles the grid's pressure matrix (unscaled: the loss is scale invariant), runs
// Lanczos from A x_rand, and draws the vectors. Throws OptionError for invalid options or
// when the basis and the set together exceed lanczos.memory_limit_gb, InvalidArgumentError
// when the grid has no fluid, NumericalError when every Ritz value is below the floor.
TrainingSet build_training_set(const linear::FlagGrid& grid,
                               const TrainingSetOptions& options,
                               const std::string& scene = {},
                               int frame = 0);

// The vectors from a Lanczos run (the building block of build_training_set): a float32
// tensor (count, 1, spatial...) as described above. `cell_of_unknown` maps the basis rows
// to grid cells.
torch::Tensor draw_training_vectors(const LanczosResult& lanczos,
                                    const RitzPairs& ritz,
                                    const linear::FlagGrid& grid,
                                    const std::vector<std::int64_t>& cell_of_unknown,
                                    const TrainingSetOptions& options);

// Writes the set (atomically: the file appears complete or not at all).
void write_training_set(const TrainingSet& set, const std::string& path);

// Reads a set written by write_training_set. Throws the io errors for a missing or
// unreadable file and io::CorruptFileError when the datasets disagree (shapes, format).
TrainingSet read_training_set(const std::string& path);

}  // namespace deepnum::dcdm
