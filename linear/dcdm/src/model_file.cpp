#include "deepnum/dcdm/model_file.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include <torch/cuda.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/nn/module_io.hpp"

namespace deepnum::dcdm {
namespace {

const std::string kGroup = "/model";

std::int64_t required_integer(const nn::ModelMetadata& metadata,
                              const std::string& path,
                              const std::string& name) {
  const auto found = metadata.integers.find(name);
  require<InvalidArgumentError>(found != metadata.integers.end(),
                                "model file '",
                                path,
                                "' is not a DCDM model: integer attribute '",
                                name,
                                "' is missing from ",
                                kGroup);
  return found->second;
}

std::string optional_text(const nn::ModelMetadata& metadata, const std::string& name) {
  const auto found = metadata.text.find(name);
  return found == metadata.text.end() ? std::string() : found->second;
}

std::int64_t optional_integer(const nn::ModelMetadata& metadata, const std::string& name) {
  const auto found = metadata.integers.find(name);
  return found == metadata.integers.end() ? 0 : found->second;
}

void require_device(torch::Device device, const std::string& path) {
  require<DeviceError>(!device.is_cuda() || torch::cuda::is_available(),
                       "cannot load model '",
                       path,
                       "' onto ",
                       device.str(),
                       ": this LibTorch has no CUDA support or no GPU is visible; use cpu");
}

}  // namespace

void save_model(DcdmNetwork network, const ModelProvenance& provenance, const std::string& path) {
  const NetworkOptions& options = network->options();
  nn::ModelMetadata metadata;
  metadata.text["architecture"] = kArchitectureName;
  metadata.integers["dimension"] = options.dimension;
  metadata.integers["channels"] = options.channels;
  metadata.integers["fine_blocks"] = options.fine_blocks;
  metadata.integers["coarse_blocks"] = options.coarse_blocks;
  metadata.integers["output_blocks"] = options.output_blocks;
  metadata.integers["parameter_count"] = network->parameter_count();
  metadata.text["training_scene"] = provenance.training_scene;
  metadata.text["training_grid"] = detail::concatenate(provenance.training_grid[0],
                                                       "x",
                                                       provenance.training_grid[1],
                                                       "x",
                                                       provenance.training_grid[2]);
  metadata.integers["training_grid_nx"] = provenance.training_grid[0];
  metadata.integers["training_grid_ny"] = provenance.training_grid[1];
  metadata.integers["training_grid_nz"] = provenance.training_grid[2];
  metadata.integers["training_vectors"] = provenance.training_vectors;
  metadata.integers["training_steps"] = provenance.training_steps;
  metadata.numbers["final_loss"] = provenance.final_loss;
  metadata.text["command_line"] = provenance.command_line;
  nn::save_module(*network, path, kGroup, metadata);
}

DcdmModel load_model(const std::string& path, torch::Device device) {
  const nn::ModelMetadata metadata = nn::read_module_metadata(path, kGroup);
  const std::string architecture = optional_text(metadata, "architecture");
  require<InvalidArgumentError>(architecture == kArchitectureName,
                                "model file '",
                                path,
                                "' holds architecture '",
                                architecture,
                                "', expected '",
                                kArchitectureName,
                                "'");

  DcdmModel model;
  model.path = path;
  model.options.dimension = static_cast<int>(required_integer(metadata, path, "dimension"));
  model.options.channels = static_cast<int>(required_integer(metadata, path, "channels"));
  model.options.fine_blocks = static_cast<int>(required_integer(metadata, path, "fine_blocks"));
  model.options.coarse_blocks = static_cast<int>(required_integer(metadata, path, "coarse_blocks"));
  model.options.output_blocks = static_cast<int>(required_integer(metadata, path, "output_blocks"));
  try {
    model.options.validate();
  } catch (const OptionError& error) {
    throw InvalidArgumentError(
        detail::concatenate("model file '", path, "' records an invalid layout: ", error.what()));
  }

  model.provenance.training_scene = optional_text(metadata, "training_scene");
  model.provenance.training_grid = {
      static_cast<int>(optional_integer(metadata, "training_grid_nx")),
      static_cast<int>(optional_integer(metadata, "training_grid_ny")),
      static_cast<int>(optional_integer(metadata, "training_grid_nz"))};
  model.provenance.training_vectors = optional_integer(metadata, "training_vectors");
  model.provenance.training_steps = optional_integer(metadata, "training_steps");
  const auto loss = metadata.numbers.find("final_loss");
  if (loss != metadata.numbers.end()) model.provenance.final_loss = loss->second;
  model.provenance.command_line = optional_text(metadata, "command_line");
  model.provenance.created = optional_text(metadata, "created");

  require_device(device, path);
  model.network = DcdmNetwork(model.options);
  nn::load_module(*model.network, path, kGroup);
  model.network->to(device);
  model.network->eval();
  log::debug("dcdm: loaded {} ({}D, {} parameters, trained on {} {}x{}x{})",
             path,
             model.options.dimension,
             model.network->parameter_count(),
             model.provenance.training_scene,
             model.provenance.training_grid[0],
             model.provenance.training_grid[1],
             model.provenance.training_grid[2]);
  return model;
}

DcdmModel load_model(const std::string& path, int dimension, torch::Device device) {
  // Read the layout first so that a wrong dimension is reported as such, not as a
  // mismatch of weight shapes.
  const nn::ModelMetadata metadata = nn::read_module_metadata(path, kGroup);
  const auto stored = metadata.integers.find("dimension");
  if (stored != metadata.integers.end()) {
    require<InvalidArgumentError>(stored->second == dimension,
                                  "model file '",
                                  path,
                                  "' holds a ",
                                  stored->second,
                                  "D network, but a ",
                                  dimension,
                                  "D one is needed for this grid");
  }
  return load_model(path, device);
}

std::string default_model_path() {
  // A model the user named in the environment is used or refused, never passed over.
  if (const char* from_environment = std::getenv("DEEPNUM_DCDM_MODEL")) {
    std::error_code error;
    require<io::FileNotFoundError>(std::filesystem::is_regular_file(from_environment, error),
                                   "DEEPNUM_DCDM_MODEL names '",
                                   from_environment,
                                   "', which is not a readable file");
    return from_environment;
  }
  std::vector<std::string> candidates;
  candidates.push_back(std::string(DEEPNUM_DCDM_SOURCE_MODEL_DIR) + "/" + kDefaultModelFileName);
  candidates.push_back(std::string(DEEPNUM_DCDM_INSTALL_MODEL_DIR) + "/" + kDefaultModelFileName);
  std::string searched;
  for (const auto& candidate : candidates) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
    searched += (searched.empty() ? "" : ", ") + candidate;
  }
  throw io::FileNotFoundError(
      detail::concatenate("the shipped DCDM model was not found; searched: ",
                          searched,
                          " (set DEEPNUM_DCDM_MODEL to a model file)"));
}

}  // namespace deepnum::dcdm
