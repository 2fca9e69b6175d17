#include "deepnum/nn/tensor_io.hpp"

#include <array>
#include <sstream>

#include "deepnum/core/error.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/errors.hpp"

namespace deepnum::nn {
namespace {

// The attribute that marks a uint8 dataset as holding a bool tensor.
constexpr const char* kTorchDtypeAttribute = "torch_dtype";
constexpr const char* kBoolMarker = "bool";

struct DtypePair {
  torch::ScalarType tensor;
  io::Dtype dataset;
};

constexpr std::array<DtypePair, 6> kDtypePairs{{{torch::kInt8, io::Dtype::kInt8},
                                                {torch::kUInt8, io::Dtype::kUInt8},
                                                {torch::kInt32, io::Dtype::kInt32},
                                                {torch::kInt64, io::Dtype::kInt64},
                                                {torch::kFloat32, io::Dtype::kFloat32},
                                                {torch::kFloat64, io::Dtype::kFloat64}}};

io::Shape dataset_shape_of(torch::IntArrayRef sizes) {
  io::Shape shape;
  shape.reserve(sizes.size());
  for (const auto size : sizes) shape.push_back(static_cast<std::uint64_t>(size));
  return shape;
}

std::vector<std::int64_t> tensor_sizes_of(const io::Shape& shape) {
  return {shape.begin(), shape.end()};
}

bool is_marked_bool(const io::File& file, const std::string& path) {
  return io::has_attribute(file, path, kTorchDtypeAttribute) &&
         io::read_attribute<std::string>(file, path, kTorchDtypeAttribute) == kBoolMarker;
}

// Reads a dataset known to be of type stored_dtype and shape `shape` into a new CPU tensor.
torch::Tensor read_into_new_tensor(const io::File& file,
                                   const std::string& path,
                                   io::Dtype stored_dtype,
                                   const io::Shape& shape) {
  auto tensor =
      torch::empty(tensor_sizes_of(shape), torch::TensorOptions(tensor_dtype_of(stored_dtype)));
  read_dataset_raw(file, path, stored_dtype, tensor.data_ptr(), shape);
  return tensor;
}

}  // namespace

io::Dtype dataset_dtype_of(torch::ScalarType dtype) {
  if (dtype == torch::kBool) return io::Dtype::kUInt8;
  for (const auto& pair : kDtypePairs) {
    if (pair.tensor == dtype) return pair.dataset;
  }
  throw InvalidArgumentError(detail::concatenate(
      "tensor dtype ",
      c10::toString(dtype),
      " cannot be stored; supported: bool, int8, uint8, int32, int64, float32, float64"));
}

torch::ScalarType tensor_dtype_of(io::Dtype dtype) {
  for (const auto& pair : kDtypePairs) {
    if (pair.dataset == dtype) return pair.tensor;
  }
  throw InvalidArgumentError(
      detail::concatenate("no tensor dtype for dataset type ", io::to_string(dtype)));
}

std::string dtype_name(torch::ScalarType dtype) {
  if (dtype == torch::kBool) return "bool";
  for (const auto& pair : kDtypePairs) {
    if (pair.tensor == dtype) return io::to_string(pair.dataset);
  }
  return c10::toString(dtype);
}

std::string to_string(torch::IntArrayRef sizes) {
  std::ostringstream text;
  text << '[';
  for (std::size_t i = 0; i < sizes.size(); ++i) text << (i > 0 ? ", " : "") << sizes[i];
  text << ']';
  return text.str();
}

void write_tensor(io::File& file,
                  const std::string& path,
                  const torch::Tensor& tensor,
                  const io::WriteOptions& options) {
  require<InvalidArgumentError>(tensor.defined(),
                                "cannot write an undefined tensor to '",
                                path,
                                "' in file '",
                                file.path(),
                                "'");
  require<InvalidArgumentError>(tensor.layout() == torch::kStrided,
                                "cannot write tensor '",
                                path,
                                "' to file '",
                                file.path(),
                                "': only dense (strided) tensors are supported, got layout ",
                                tensor.layout());
  const io::Dtype dataset_dtype = dataset_dtype_of(tensor.scalar_type());

  // The dataset holds the values in C order on the host: copy to the CPU and make the
  // strides row-major (no copy when the tensor already is).
  const auto host = tensor.detach().to(torch::kCPU).contiguous();
  io::write_dataset_raw(
      file, path, dataset_dtype, host.data_ptr(), dataset_shape_of(host.sizes()), options);
  if (tensor.scalar_type() == torch::kBool) {
    io::write_attribute(file, path, kTorchDtypeAttribute, kBoolMarker);
  }
}

torch::Tensor read_tensor(const io::File& file, const std::string& path, torch::Device device) {
  const io::DatasetInfo info = io::dataset_info(file, path);
  auto tensor = read_into_new_tensor(file, path, info.dtype, info.shape);
  if (info.dtype == io::Dtype::kUInt8 && is_marked_bool(file, path)) {
    tensor = tensor.to(torch::kBool);
  }
  return tensor.to(device);
}

torch::Tensor read_tensor(const io::File& file,
                          const std::string& path,
                          torch::ScalarType expected_dtype,
                          torch::IntArrayRef expected_sizes,
                          torch::Device device) {
  const io::DatasetInfo info = io::dataset_info(file, path);
  const bool stored_bool = info.dtype == io::Dtype::kUInt8 && is_marked_bool(file, path);
  const torch::ScalarType stored_dtype = stored_bool ? torch::kBool : tensor_dtype_of(info.dtype);
  // A bool tensor may be read as the uint8 it is stored as.
  const bool dtype_matches =
      stored_dtype == expected_dtype || (stored_bool && expected_dtype == torch::kUInt8);
  require<io::DtypeMismatchError>(dtype_matches,
                                  "tensor '",
                                  path,
                                  "' in file '",
                                  file.path(),
                                  "': expected dtype ",
                                  dtype_name(expected_dtype),
                                  ", file has ",
                                  dtype_name(stored_dtype));

  const auto stored_sizes = tensor_sizes_of(info.shape);
  require<io::ShapeMismatchError>(expected_sizes.equals(stored_sizes),
                                  "tensor '",
                                  path,
                                  "' in file '",
                                  file.path(),
                                  "': expected shape ",
                                  to_string(expected_sizes),
                                  ", file has ",
                                  to_string(stored_sizes));

  auto tensor = read_into_new_tensor(file, path, info.dtype, info.shape);
  if (expected_dtype == torch::kBool) tensor = tensor.to(torch::kBool);
  return tensor.to(device);
}

}  // namespace deepnum::nn
