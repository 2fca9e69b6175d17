// torch::Tensor to and from HDF5 datasets (deepnum::io), one tensor per dataset.
//
// Element types: int8, uint8, int32, int64, float32 and float64 map one-to-one onto the
// dataset types of the same name (numpy's int8 ... float64 in h5py). A bool tensor is
// stored as uint8 (0 or 1) with the string attribute "torch_dtype" = "bool" on the
// dataset; read_tensor turns such a dataset back into a bool tensor. Other types (float16,
// bfloat16, complex, int16, quantized) are refused with InvalidArgumentError.
//
// Shapes: a tensor of sizes [d0, ..., dk] becomes a dataset of shape (d0, ..., dk) in C
// order (a 0-dim tensor is a scalar dataset); values are copied bit for bit.
//
// Devices: writing copies the tensor to the CPU first; reading returns a tensor on the
// device asked for. Gradient tracking is never recorded (the values are copied detached).
// Thread safety: as deepnum::io (serialized behind one lock).
#pragma once

#include <string>

#include <torch/types.h>

#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"

namespace deepnum::nn {

// The dataset type holding a tensor of this dtype (bool -> kUInt8). Throws
// InvalidArgumentError naming the dtype when it has none.
io::Dtype dataset_dtype_of(torch::ScalarType dtype);

// The tensor dtype of a dataset type.
torch::ScalarType tensor_dtype_of(io::Dtype dtype);

// numpy's name of a dtype ("float32", "int64", "bool"); LibTorch's for the unsupported ones.
std::string dtype_name(torch::ScalarType dtype);

// "[3, 4]" for sizes {3, 4}, "[]" for a 0-dim tensor.
std::string to_string(torch::IntArrayRef sizes);

// Writes tensor (any device, any strides, any rank) to a new dataset at path, creating
// missing groups. Throws InvalidArgumentError for an undefined, sparse or unsupported-dtype
// tensor and the io errors when writing fails (for example when path exists and
// options.replace_existing is off).
void write_tensor(io::File& file,
                  const std::string& path,
                  const torch::Tensor& tensor,
                  const io::WriteOptions& options = {});

// Reads the dataset at path as a tensor of the stored dtype and shape, on device.
// Throws ObjectNotFoundError when path is not a dataset, DtypeMismatchError for a stored
// type outside the six above.
torch::Tensor read_tensor(const io::File& file,
                          const std::string& path,
                          torch::Device device = torch::kCPU);

// Reads the dataset at path, insisting on its dtype and shape: throws DtypeMismatchError or
// ShapeMismatchError naming the file, the path, and the expected and actual dtype or shape.
torch::Tensor read_tensor(const io::File& file,
                          const std::string& path,
                          torch::ScalarType expected_dtype,
                          torch::IntArrayRef expected_sizes,
                          torch::Device device = torch::kCPU);

}  // namespace deepnum::nn
