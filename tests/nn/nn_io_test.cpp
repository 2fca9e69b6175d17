#define BOOST_TEST_MODULE nn_io
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "deepnum/io/attributes.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/nn/device.hpp"
#include "deepnum/nn/module_io.hpp"
#include "deepnum/nn/tensor_io.hpp"

namespace nn = deepnum::nn;
namespace io = deepnum::io;

namespace {

// A fresh path in the test's working folder (the build tree), removed first.
std::string scratch_path(const std::string& name) {
  std::filesystem::remove(name);
  return name;
}

// Runs tests/nn/check_nn_file.py (h5py + numpy) on a file; true when every check passed.
bool h5py_accepts(const std::string& mode, const std::string& path) {
  const std::string command = std::string(DEEPNUM_PYTHON) + " " + DEEPNUM_SOURCE_DIR +
                              "/tests/nn/check_nn_file.py " + mode + " " + path;
  return std::system(command.c_str()) == 0;
}

// True when both tensors have the same dtype, sizes and bytes (NaN payloads included).
bool bit_identical(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || !a.sizes().equals(b.sizes())) return false;
  const auto ca = a.cpu().contiguous();
  const auto cb = b.cpu().contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

// The values check_nn_file.py expects, built with LibTorch: 24 elements in shape (2, 3, 4).
std::vector<std::pair<std::string, torch::Tensor>> reference_tensors() {
  const auto n = torch::arange(24, torch::kInt64);
  const auto ratio = (n.to(torch::kFloat64) - 12) / 7;
  const std::vector<std::int64_t> shape{2, 3, 4};
  return {
      {"int8", ((n - 12) * 10).to(torch::kInt8).reshape(shape)},
      {"uint8", (n * 11).to(torch::kUInt8).reshape(shape)},
      {"int32", ((n - 12) * 100000007).to(torch::kInt32).reshape(shape)},
      {"int64", ((n - 12) * std::int64_t{1000000000000000} + 1).reshape(shape)},
      {"float32", ratio.to(torch::kFloat32).reshape(shape)},
      {"float64", ratio.reshape(shape)},
      {"bool", (n.remainder(3) == 0).reshape(shape)},
      {"scalar", torch::tensor(3.25, torch::kFloat64).reshape({})},
      {"empty", torch::zeros({0, 5}, torch::kFloat32)},
  };
}

// Conv3d followed by batch normalization (whose running statistics are buffers), with
// variants that differ from the saved one in a shape, an extra parameter or a missing layer.
struct ConvNormImpl : torch::nn::Module {
  explicit ConvNormImpl(std::int64_t out_channels = 4,
                        bool with_norm = true,
                        bool with_scale = false)
      : conv(register_module("conv",
                             torch::nn::Conv3d(torch::nn::Conv3dOptions(2, out_channels, 3)))) {
    if (with_norm) norm = register_module("norm", torch::nn::BatchNorm3d(out_channels));
    if (with_scale) scale = register_parameter("scale", torch::ones({1}));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = conv->forward(x);
    return norm ? norm->forward(y) : y;
  }
  torch::nn::Conv3d conv;
  torch::nn::BatchNorm3d norm{nullptr};
  torch::Tensor scale;
};
TORCH_MODULE(ConvNorm);

// A trained-looking ConvNorm: random weights and three batches through the running stats.
ConvNorm make_trained_conv_norm(std::uint64_t seed) {
  nn::seed_everything(seed);
  ConvNorm model;
  model->train();
  torch::NoGradGuard no_grad;
  for (int batch = 0; batch < 3; ++batch) model->forward(torch::randn({2, 2, 5, 5, 5}) * 2 + 1);
  return model;
}

std::string message_of_load(torch::nn::Module& module, const std::string& path) {
  try {
    nn::load_module(module, path);
  } catch (const nn::ModuleMismatchError& error) {
    return error.what();
  }
  BOOST_FAIL("load_module accepted a module that does not match the file");
  return {};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(tensors_of_every_dtype_round_trip_bit_identically) {
  const auto path = scratch_path("round_trip.h5");
  auto tensors = reference_tensors();
  // Values no formula above reaches: extremes, signed zero, infinities, NaN, subnormals.
  tensors.emplace_back("float64_special",
                       torch::tensor({0.0,
                                      -0.0,
                                      1e-310,
                                      -1e308,
                                      std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::quiet_NaN()},
                                     torch::kFloat64));
  tensors.emplace_back("int64_extremes",
                       torch::tensor({std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max()},
                                     torch::kInt64));
  nn::seed_everything(5);
  tensors.emplace_back("float32_rank5", torch::randn({2, 1, 3, 2, 2}, torch::kFloat32));
  {
    io::AtomicFileWriter writer(path);
    for (const auto& [name, tensor] : tensors) nn::write_tensor(writer.file(), name, tensor);
    writer.commit();
  }

  const auto file = io::File::open_read(path);
  for (const auto& [name, tensor] : tensors) {
    BOOST_TEST_CONTEXT("dataset " << name) {
      const auto read = nn::read_tensor(file, name);
      BOOST_TEST(read.device().is_cpu());
      BOOST_TEST(bit_identical(read, tensor));
    }
  }
}

BOOST_AUTO_TEST_CASE(h5py_reads_each_dataset_with_the_numpy_dtype_and_values) {
  const auto path = scratch_path("h5py_tensors.h5");
  {
    io::AtomicFileWriter writer(path);
    for (const auto& [name, tensor] : reference_tensors()) {
      nn::write_tensor(writer.file(), name, tensor);
    }
    writer.commit();
  }
  BOOST_TEST(h5py_accepts("tensors", path));
}

BOOST_AUTO_TEST_CASE(non_contiguous_and_gradient_tracking_tensors_are_written_in_logical_order) {
  const auto path = scratch_path("strided.h5");
  const auto base = torch::arange(12, torch::kFloat64).reshape({3, 4}).requires_grad_();
  const auto transposed = base.t();  // strides (1, 4): not C order
  {
    io::AtomicFileWriter writer(path);
    nn::write_tensor(writer.file(), "transposed", transposed);
    writer.commit();
  }
  const auto file = io::File::open_read(path);
  const auto read = nn::read_tensor(file, "transposed", torch::kFloat64, {4, 3});
  BOOST_TEST(torch::equal(read, transposed.detach()));
  BOOST_TEST(!read.requires_grad());
}

BOOST_AUTO_TEST_CASE(read_with_wrong_dtype_names_file_path_and_both_dtypes) {
  const auto path = scratch_path("wrong_dtype.h5");
  {
    io::AtomicFileWriter writer(path);
    nn::write_tensor(writer.file(), "group/values", torch::zeros({3}, torch::kFloat64));
    writer.commit();
  }
  const auto file = io::File::open_read(path);
  try {
    nn::read_tensor(file, "group/values", torch::kFloat32, {3});
    BOOST_FAIL("read_tensor accepted float64 data as float32");
  } catch (const io::DtypeMismatchError& error) {
    const std::string message = error.what();
    BOOST_TEST_INFO("message: " << message);
    BOOST_TEST(contains(message, "group/values"));
    BOOST_TEST(contains(message, path));
    BOOST_TEST(contains(message, "expected dtype float32, file has float64"));
  }
}

BOOST_AUTO_TEST_CASE(read_with_wrong_shape_names_both_shapes) {
  const auto path = scratch_path("wrong_shape.h5");
  {
    io::AtomicFileWriter writer(path);
    nn::write_tensor(writer.file(), "values", torch::zeros({2, 3}, torch::kInt32));
    writer.commit();
  }
  const auto file = io::File::open_read(path);
  try {
    nn::read_tensor(file, "values", torch::kInt32, {3, 2});
    BOOST_FAIL("read_tensor accepted shape [2, 3] as [3, 2]");
  } catch (const io::ShapeMismatchError& error) {
    const std::string message = error.what();
    BOOST_TEST_INFO("message: " << message);
    BOOST_TEST(contains(message, "expected shape [3, 2], file has [2, 3]"));
  }
}

BOOST_AUTO_TEST_CASE(unsupported_dtypes_and_missing_datasets_are_refused) {
  const auto path = scratch_path("refused.h5");
  io::AtomicFileWriter writer(path);
  BOOST_CHECK_THROW(nn::write_tensor(writer.file(), "half", torch::zeros({2}, torch::kFloat16)),
                    deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(nn::write_tensor(writer.file(), "undefined", torch::Tensor()),
                    deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(nn::read_tensor(writer.file(), "absent"), io::ObjectNotFoundError);
}

BOOST_AUTO_TEST_CASE(saved_module_reloads_with_bit_identical_outputs) {
  const auto path = scratch_path("conv_norm.h5");
  auto saved = make_trained_conv_norm(11);
  nn::save_module(*saved, path);

  auto loaded = make_trained_conv_norm(12);  // different weights and statistics before loading
  nn::load_module(*loaded, path);

  for (const auto& item : saved->named_parameters()) {
    BOOST_TEST_CONTEXT("parameter " << item.key()) {
      BOOST_TEST(bit_identical(item.value(), loaded->named_parameters()[item.key()]));
      BOOST_TEST(loaded->named_parameters()[item.key()].requires_grad());
    }
  }
  for (const auto& item : saved->named_buffers()) {
    BOOST_TEST_CONTEXT("buffer " << item.key()) {
      BOOST_TEST(bit_identical(item.value(), loaded->named_buffers()[item.key()]));
    }
  }
  saved->eval();
  loaded->eval();
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({1, 2, 6, 6, 6});
  BOOST_TEST(bit_identical(saved->forward(input), loaded->forward(input)));
}

BOOST_AUTO_TEST_CASE(h5py_sees_one_dataset_per_tensor_and_the_metadata) {
  const auto path = scratch_path("conv_norm_h5py.h5");
  nn::ModelMetadata metadata;
  metadata.text["architecture"] = "conv3d-batchnorm";
  metadata.integers["epochs"] = 40;
  nn::save_module(*make_trained_conv_norm(3), path, "/model", metadata);
  BOOST_TEST(h5py_accepts("module", path));
}

BOOST_AUTO_TEST_CASE(metadata_round_trips_with_format_version_and_date) {
  const auto path = scratch_path("metadata.h5");
  nn::ModelMetadata metadata;
  metadata.text["architecture"] = "unet3d";
  metadata.numbers["learning_rate"] = 1e-3;
  metadata.integers["epochs"] = 40;
  nn::save_module(*make_trained_conv_norm(3), path, "/networks/encoder", metadata);

  const auto read = nn::read_module_metadata(path, "/networks/encoder");
  BOOST_TEST(read.text.at("architecture") == "unet3d");
  BOOST_TEST(read.numbers.at("learning_rate") == 1e-3);
  BOOST_TEST(read.integers.at("epochs") == 40);
  BOOST_TEST(read.text.at("format") == "deepnum.nn.module/1");
  BOOST_TEST(read.text.count("deepnum_version") == 1U);
  // ISO 8601 UTC: "YYYY-MM-DDTHH:MM:SSZ".
  BOOST_TEST(read.text.at("created").size() == 20U);
  BOOST_TEST(read.text.at("created").back() == 'Z');
}

BOOST_AUTO_TEST_CASE(reserved_or_malformed_metadata_keys_are_refused) {
  const auto path = scratch_path("bad_metadata.h5");
  nn::ModelMetadata reserved;
  reserved.text["format"] = "mine";
  BOOST_CHECK_THROW(nn::save_module(*make_trained_conv_norm(3), path, "/model", reserved),
                    deepnum::InvalidArgumentError);
  nn::ModelMetadata slash;
  slash.numbers["a/b"] = 1.0;
  BOOST_CHECK_THROW(nn::save_module(*make_trained_conv_norm(3), path, "/model", slash),
                    deepnum::InvalidArgumentError);
  BOOST_TEST(!std::filesystem::exists(path));
}

BOOST_AUTO_TEST_CASE(loading_into_a_module_of_other_shape_names_the_tensor_and_both_shapes) {
  const auto path = scratch_path("shape_mismatch.h5");
  nn::save_module(*make_trained_conv_norm(3), path);
  ConvNorm wider(/*out_channels=*/5);
  const auto message = message_of_load(*wider, path);
  BOOST_TEST_INFO("message: " << message);
  BOOST_TEST(
      contains(message, "shape of 'conv.weight': module [5, 2, 3, 3, 3], file [4, 2, 3, 3, 3]"));
  BOOST_TEST(contains(message, "shape of 'norm.running_mean': module [5], file [4]"));
  BOOST_TEST(contains(message, path));
}

BOOST_AUTO_TEST_CASE(loading_into_a_module_with_an_extra_parameter_names_it_missing) {
  const auto path = scratch_path("extra_parameter.h5");
  nn::save_module(*make_trained_conv_norm(3), path);
  ConvNorm with_scale(4, /*with_norm=*/true, /*with_scale=*/true);
  const auto message = message_of_load(*with_scale, path);
  BOOST_TEST_INFO("message: " << message);
  BOOST_TEST(contains(message, "missing in file: scale"));
}

BOOST_AUTO_TEST_CASE(loading_into_a_module_without_a_layer_names_the_unexpected_tensors) {
  const auto path = scratch_path("unexpected_tensors.h5");
  nn::save_module(*make_trained_conv_norm(3), path);
  ConvNorm without_norm(4, /*with_norm=*/false);
  const auto message = message_of_load(*without_norm, path);
  BOOST_TEST_INFO("message: " << message);
  BOOST_TEST(contains(message,
                      "not in module: norm.bias, norm.num_batches_tracked, norm.running_mean, "
                      "norm.running_var, norm.weight"));
}

BOOST_AUTO_TEST_CASE(loading_into_a_module_of_other_dtype_names_both_dtypes) {
  const auto path = scratch_path("dtype_mismatch.h5");
  nn::save_module(*make_trained_conv_norm(3), path);
  ConvNorm in_double;
  in_double->to(torch::kFloat64);
  const auto message = message_of_load(*in_double, path);
  BOOST_TEST_INFO("message: " << message);
  BOOST_TEST(contains(message, "dtype of 'conv.weight': module float64, file float32"));
}

BOOST_AUTO_TEST_CASE(a_refused_load_leaves_the_module_unchanged) {
  const auto path = scratch_path("refused_load.h5");
  nn::save_module(*make_trained_conv_norm(3), path);
  nn::seed_everything(4);
  ConvNorm with_scale(4, true, true);
  const auto before = with_scale->conv->weight.clone();
  BOOST_CHECK_THROW(nn::load_module(*with_scale, path), nn::ModuleMismatchError);
  BOOST_TEST(bit_identical(with_scale->conv->weight, before));
}

BOOST_AUTO_TEST_CASE(non_finite_weights_are_refused_naming_the_dataset_and_count) {
  const auto path = scratch_path("non_finite_weights.h5");
  auto broken = make_trained_conv_norm(5);
  {
    torch::NoGradGuard no_grad;
    auto flat = broken->conv->weight.view(-1);
    flat[3] = std::numeric_limits<float>::quiet_NaN();
    flat[7] = std::numeric_limits<float>::infinity();
  }
  nn::save_module(*broken, path);

  auto target = make_trained_conv_norm(6);
  const auto before = target->conv->weight.clone();
  try {
    nn::load_module(*target, path);
    BOOST_FAIL("weights with NaN and Inf were loaded");
  } catch (const io::CorruptFileError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find(path) != std::string::npos, message);
    BOOST_TEST(message.find("weight") != std::string::npos, message);
    BOOST_TEST(message.find("holds 2 non-finite") != std::string::npos, message);
  }
  BOOST_TEST(bit_identical(target->conv->weight, before));
}

BOOST_AUTO_TEST_CASE(a_module_group_of_another_format_is_refused_naming_it) {
  const auto path = scratch_path("other_format.h5");
  nn::save_module(*make_trained_conv_norm(7), path);
  {
    io::AtomicFileWriter writer(path, io::WriteMode::kUpdate);
    io::write_attribute(writer.file(), "/model", "format", std::string("other.module/9"));
    writer.commit();
  }
  auto target = make_trained_conv_norm(8);
  try {
    nn::load_module(*target, path);
    BOOST_FAIL("a module group of another format was loaded");
  } catch (const io::CorruptFileError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("has format 'other.module/9', expected 'deepnum.nn.module/1'") !=
                   std::string::npos,
               message);
  }
}

BOOST_AUTO_TEST_CASE(missing_files_and_groups_are_reported_by_type) {
  const auto path = scratch_path("group_missing.h5");
  ConvNorm model;
  BOOST_CHECK_THROW(nn::load_module(*model, scratch_path("does_not_exist.h5")),
                    io::FileNotFoundError);
  nn::save_module(*model, path, "/model");
  BOOST_CHECK_THROW(nn::load_module(*model, path, "/other"), io::ObjectNotFoundError);
}
