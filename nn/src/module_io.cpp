#include "deepnum/nn/module_io.hpp"

#include <algorithm>
#include <ctime>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "deepnum/config.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/nn/tensor_io.hpp"

namespace deepnum::nn {
namespace {

constexpr const char* kFormatAttribute = "format";
constexpr const char* kFormat = "deepnum.nn.module/1";
constexpr const char* kVersionAttribute = "deepnum_version";
constexpr const char* kCreatedAttribute = "created";
constexpr const char* kKindAttribute = "kind";

// A parameter or buffer of the module with its full dotted name.
struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
  const char* kind;
};

// Parameters, then buffers, each in registration order; undefined tensors are skipped
// (a module may register an empty buffer slot).
std::vector<NamedTensor> named_tensors(const torch::nn::Module& module) {
  std::vector<NamedTensor> tensors;
  for (const auto& item : module.named_parameters()) {
    if (item.value().defined()) tensors.push_back({item.key(), item.value(), "parameter"});
  }
  for (const auto& item : module.named_buffers()) {
    if (item.value().defined()) tensors.push_back({item.key(), item.value(), "buffer"});
  }
  return tensors;
}

std::string dataset_path(const std::string& group, const std::string& name) {
  return group.empty() || group.back() != '/' ? group + "/" + name : group + name;
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

void require_valid_key(const std::string& key) {
  require<InvalidArgumentError>(!key.empty() && key.find('/') == std::string::npos,
                                "metadata key '",
                                key,
                                "' is invalid: keys must be non-empty and contain no '/'");
  require<InvalidArgumentError>(key != kFormatAttribute && key != kVersionAttribute,
                                "metadata key '",
                                key,
                                "' is reserved: save_module writes it itself");
}

void write_metadata(io::File& file, const std::string& group, const ModelMetadata& metadata) {
  for (const auto& [key, value] : metadata.text) require_valid_key(key);
  for (const auto& [key, value] : metadata.numbers) require_valid_key(key);
  for (const auto& [key, value] : metadata.integers) require_valid_key(key);

  io::write_attribute(file, group, kFormatAttribute, kFormat);
  io::write_attribute(file, group, kVersionAttribute, DEEPNUM_VERSION_STRING);
  if (metadata.text.count(kCreatedAttribute) == 0) {
    io::write_attribute(file, group, kCreatedAttribute, utc_now_iso8601());
  }
  for (const auto& [key, value] : metadata.text) io::write_attribute(file, group, key, value);
  for (const auto& [key, value] : metadata.numbers) io::write_attribute(file, group, key, value);
  for (const auto& [key, value] : metadata.integers) io::write_attribute(file, group, key, value);
}

std::string join(const std::vector<std::string>& names) {
  std::ostringstream text;
  for (std::size_t i = 0; i < names.size(); ++i) text << (i > 0 ? ", " : "") << names[i];
  return text.str();
}

// Every difference between the module and the stored group, one phrase each; empty when
// they match.
std::vector<std::string> differences(const io::File& file,
                                     const std::string& group,
                                     const std::vector<NamedTensor>& tensors) {
  std::set<std::string> stored;
  for (const auto& name : file.list(group)) {
    if (file.is_dataset(dataset_path(group, name))) stored.insert(name);
  }

  std::vector<std::string> missing;
  std::vector<std::string> mismatched;
  for (const auto& [name, tensor, kind] : tensors) {
    if (stored.erase(name) == 0) {
      missing.push_back(name);
      continue;
    }
    const io::DatasetInfo info = io::dataset_info(file, dataset_path(group, name));
    const std::vector<std::int64_t> stored_sizes(info.shape.begin(), info.shape.end());
    if (!tensor.sizes().equals(stored_sizes)) {
      mismatched.push_back(detail::concatenate("shape of '",
                                               name,
                                               "': module ",
                                               to_string(tensor.sizes()),
                                               ", file ",
                                               to_string(stored_sizes)));
    }
    if (dataset_dtype_of(tensor.scalar_type()) != info.dtype) {
      mismatched.push_back(detail::concatenate("dtype of '",
                                               name,
                                               "': module ",
                                               dtype_name(tensor.scalar_type()),
                                               ", file ",
                                               io::to_string(info.dtype)));
    }
  }

  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back("missing in file: " + join(missing));
  if (!stored.empty()) {
    problems.push_back("not in module: " + join({stored.begin(), stored.end()}));
  }
  problems.insert(problems.end(), mismatched.begin(), mismatched.end());
  return problems;
}

// Reads a scalar or string attribute into the matching map of metadata; attributes of
// other kinds (vectors) are left out. The io layer has no type query, so the kinds are
// tried in an order where a wrong guess throws: string, then int64 (refuses floats), then
// double.
void read_metadata_entry(const io::File& file,
                         const std::string& group,
                         const std::string& key,
                         ModelMetadata& metadata) {
  try {
    metadata.text[key] = io::read_attribute<std::string>(file, group, key);
    return;
  } catch (const io::DtypeMismatchError&) {
  } catch (const io::ShapeMismatchError&) {
  }
  try {
    metadata.integers[key] = io::read_attribute<std::int64_t>(file, group, key);
    return;
  } catch (const io::DtypeMismatchError&) {
  } catch (const io::ShapeMismatchError&) {
  }
  try {
    metadata.numbers[key] = io::read_attribute<double>(file, group, key);
  } catch (const io::DtypeMismatchError&) {
  } catch (const io::ShapeMismatchError&) {
  }
}

}  // namespace

void write_module(io::File& file,
                  const torch::nn::Module& module,
                  const std::string& group,
                  const ModelMetadata& metadata,
                  const io::WriteOptions& options) {
  file.create_groups(group);
  for (const auto& [name, tensor, kind] : named_tensors(module)) {
    const std::string path = dataset_path(group, name);
    write_tensor(file, path, tensor, options);
    io::write_attribute(file, path, kKindAttribute, kind);
  }
  write_metadata(file, group, metadata);
}

void save_module(const torch::nn::Module& module,
                 const std::string& file_path,
                 const std::string& group,
                 const ModelMetadata& metadata) {
  io::AtomicFileWriter writer(file_path, io::WriteMode::kReplace);
  write_module(writer.file(), module, group, metadata);
  writer.commit();
}

void check_module_matches(const io::File& file,
                          const torch::nn::Module& module,
                          const std::string& group) {
  require<io::ObjectNotFoundError>(
      file.is_group(group), "file '", file.path(), "' has no group '", group, "' holding a module");
  // Files written by other tools (h5py) carry no format attribute; ours carry this one.
  if (io::has_attribute(file, group, kFormatAttribute)) {
    const auto format = io::read_attribute<std::string>(file, group, kFormatAttribute);
    require<io::CorruptFileError>(format == kFormat,
                                  "group '",
                                  group,
                                  "' of file '",
                                  file.path(),
                                  "' has format '",
                                  format,
                                  "', expected '",
                                  kFormat,
                                  "'");
  }
  const auto problems = differences(file, group, named_tensors(module));
  if (!problems.empty()) {
    // The first few differences say what is wrong; thousands would bury it.
    constexpr std::size_t kListed = 10;
    std::ostringstream message;
    message << "cannot load group '" << group << "' of file '" << file.path() << "' into module "
            << module.name() << ": ";
    for (std::size_t i = 0; i < std::min(problems.size(), kListed); ++i) {
      message << (i > 0 ? "; " : "") << problems[i];
    }
    if (problems.size() > kListed) message << "; and " << problems.size() - kListed << " more";
    throw ModuleMismatchError(message.str());
  }
}

void read_module(const io::File& file, torch::nn::Module& module, const std::string& group) {
  check_module_matches(file, module, group);
  const auto tensors = named_tensors(module);

  // Read everything before touching the module, so that a failing read leaves it unchanged.
  std::vector<torch::Tensor> stored;
  stored.reserve(tensors.size());
  for (const auto& [name, tensor, kind] : tensors) {
    const std::string path = dataset_path(group, name);
    stored.push_back(read_tensor(file, path, tensor.scalar_type(), tensor.sizes(), torch::kCPU));
    // A NaN or Inf weight would turn every output into NaN far from its cause.
    if (stored.back().is_floating_point()) {
      const std::int64_t non_finite =
          stored.back().numel() - torch::isfinite(stored.back()).sum().item<std::int64_t>();
      require<io::CorruptFileError>(non_finite == 0,
                                    "'",
                                    file.path(),
                                    "': dataset '",
                                    path,
                                    "' holds ",
                                    non_finite,
                                    " non-finite value(s) (NaN or Inf) out of ",
                                    stored.back().numel());
    }
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < tensors.size(); ++i) tensors[i].tensor.copy_(stored[i]);
}

void load_module(torch::nn::Module& module,
                 const std::string& file_path,
                 const std::string& group) {
  const auto file = io::File::open_read(file_path);
  read_module(file, module, group);
}

ModelMetadata read_module_metadata(const io::File& file, const std::string& group) {
  ModelMetadata metadata;
  for (const auto& key : io::attribute_names(file, group)) {
    read_metadata_entry(file, group, key, metadata);
  }
  return metadata;
}

ModelMetadata read_module_metadata(const std::string& file_path, const std::string& group) {
  const auto file = io::File::open_read(file_path);
  return read_module_metadata(file, group);
}

}  // namespace deepnum::nn
