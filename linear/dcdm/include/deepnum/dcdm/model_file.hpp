// DCDM model files: the network's weights with the layout and the provenance needed to
// rebuild and to trust it, one HDF5 file written through nn::save_module.
//
// Layout (readable with h5py): group "/model" holds one float32 dataset per parameter
// ("input.weight", "fine.0.conv1.weight", ...) and the attributes
//   architecture        "dcdm-cnn"
//   dimension           2 or 3
//   channels, fine_blocks, coarse_blocks, output_blocks     the NetworkOptions
//   training_grid       [nx, ny, nz] of the matrix the training vectors came from
//   training_scene      e.g. "plume"
//   training_vectors    number of right-hand sides in the training set
//   training_steps      optimizer steps taken
//   final_loss          mean loss over the last logged steps
//   command_line        the command that trained it
//   created             UTC date, ISO 8601 (written by save_module)
// Thread safety: as deepnum::io (serialized).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <torch/types.h>

#include "deepnum/dcdm/network.hpp"

namespace deepnum::dcdm {

struct ModelProvenance {
  std::string training_scene;                 // scene the training matrix came from
  std::array<int, 3> training_grid{0, 0, 0};  // nx, ny, nz of that matrix
  std::int64_t training_vectors = 0;
  std::int64_t training_steps = 0;
  double final_loss = 0.0;
  std::string command_line;
  std::string created;  // filled in by load_model; save_module writes the date
};

// A network with its layout and provenance, as loaded from a model file.
struct DcdmModel {
  NetworkOptions options;
  DcdmNetwork network{nullptr};
  ModelProvenance provenance;
  std::string path;  // the file it came from (empty when built in memory)
};

// Writes the network and its provenance to `path` (replaced atomically). The network may
// live on any device. Throws the io errors when writing fails.
void save_model(DcdmNetwork network, const ModelProvenance& provenance, const std::string& path);

// Reads a model file and rebuilds the network on `device`, in evaluation mode. Throws
// io::FileNotFoundError / io::CorruptFileError for a missing or unreadable file,
// InvalidArgumentError when the file is not a DCDM model (its architecture attribute is
// missing or different, or its layout attributes are invalid), nn::ModuleMismatchError
// when the weights do not fit the recorded layout, DeviceError when `device` is CUDA and
// this build or machine has none.
DcdmModel load_model(const std::string& path, torch::Device device = torch::kCPU);

// The same, requiring a network of `dimension` (2 or 3); InvalidArgumentError names the
// file and both dimensions otherwise.
DcdmModel load_model(const std::string& path, int dimension, torch::Device device);

// The file name of the shipped model.
inline constexpr const char* kDefaultModelFileName = "dcdm_plume_32.h5";

// Where the shipped model is: $DEEPNUM_DCDM_MODEL when set (io::FileNotFoundError naming it
// when it is not a readable file), else models/ in the source tree this library was built
// from, else <prefix>/share/deepnum/models of the install. Throws io::FileNotFoundError
// listing the places searched when none holds it.
std::string default_model_path();

}  // namespace deepnum::dcdm
