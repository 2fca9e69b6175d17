// A module's parameters and buffers as one HDF5 group, with metadata as attributes.
//
// Layout of the group (default "/model"), readable with h5py:
//   <group>/<name>    one dataset per defined parameter and buffer, named exactly as
//                     named_parameters() / named_buffers() name it, dots kept (for example
//                     "/model/encoder.0.weight", "/model/norm.running_mean"); stored as by
//                     write_tensor (same dtype and shape, bool as uint8). Each dataset has
//                     the string attribute "kind" = "parameter" or "buffer".
//   group attributes  "format" = "deepnum.nn.module/1", "deepnum_version", "created"
//                     (UTC, ISO 8601, unless the metadata gives one) and the metadata:
//                     text entries as strings, numbers as float64, integers as int64.
//
// Matching on load is strict: the file must hold exactly the module's parameter and buffer
// names, each with the module's shape and dtype; otherwise nothing is copied and
// ModuleMismatchError lists every missing name, unexpected name, and shape or dtype
// difference (module vs file). Convert the module (module.to(torch::kFloat64)) before
// loading a file of another precision.
//
// Devices: saving copies to the CPU; loading copies into the existing tensors, on whatever
// device they are, without recording gradients.
// Thread safety: do not run forward/backward on the module while it is being saved or
// loaded.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <torch/nn/module.h>

#include "deepnum/core/error.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"

namespace deepnum::nn {

// The file does not hold the module's parameters and buffers (names, shapes or dtypes).
class ModuleMismatchError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

// Descriptive attributes stored with a module (architecture, date, hyper-parameters).
// Keys are attribute names: non-empty, without '/', and not "format" or "deepnum_version"
// (written by save_module itself).
struct ModelMetadata {
  std::map<std::string, std::string> text;       // e.g. {"architecture", "unet3d"}
  std::map<std::string, double> numbers;         // e.g. {"learning_rate", 1e-3}
  std::map<std::string, std::int64_t> integers;  // e.g. {"epochs", 40}

  bool empty() const { return text.empty() && numbers.empty() && integers.empty(); }
};

// Writes the module's parameters, buffers and metadata to `file_path`, which afterwards
// holds this module only (an existing file is replaced). The file appears atomically: it is
// written beside the target and renamed on success, so readers never see half a model.
// Throws InvalidArgumentError for bad metadata keys, the io errors when writing fails.
void save_module(const torch::nn::Module& module,
                 const std::string& file_path,
                 const std::string& group = "/model",
                 const ModelMetadata& metadata = {});

// Copies the tensors stored in `group` of `file_path` into the module's parameters and
// buffers. Throws FileNotFoundError / CorruptFileError for the file, ObjectNotFoundError
// when the group is missing, ModuleMismatchError when names, shapes or dtypes differ (the
// module is then left unchanged).
void load_module(torch::nn::Module& module,
                 const std::string& file_path,
                 const std::string& group = "/model");

// The metadata of a saved module, including "format", "deepnum_version" and "created".
// Attributes that are neither strings nor scalar numbers are left out.
ModelMetadata read_module_metadata(const std::string& file_path,
                                   const std::string& group = "/model");

// The same, on a file the caller has open: write_module adds the group to a writable file
// (for example an AtomicFileWriter's, next to other data) and throws HdfError when the
// group already holds a tensor of that name; read_module and read_module_metadata(File&)
// behave as the path-taking forms.
void write_module(io::File& file,
                  const torch::nn::Module& module,
                  const std::string& group = "/model",
                  const ModelMetadata& metadata = {},
                  const io::WriteOptions& options = {});
void read_module(const io::File& file,
                 torch::nn::Module& module,
                 const std::string& group = "/model");
ModelMetadata read_module_metadata(const io::File& file, const std::string& group = "/model");

// Throws as read_module would (ObjectNotFoundError, ModuleMismatchError) when the group
// cannot be loaded into the module; reads no tensor data and changes nothing.
void check_module_matches(const io::File& file,
                          const torch::nn::Module& module,
                          const std::string& group = "/model");

}  // namespace deepnum::nn
