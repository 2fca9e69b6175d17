#include "deepnum/dcdm/network.hpp"

#include <utility>

#include <ATen/Context.h>
#include <ATen/ops/mkldnn_convolution.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/options/upsampling.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/options.hpp"

namespace deepnum::dcdm {
namespace {

// A convolution of the network's dimension with "same" zero padding.
torch::nn::AnyModule make_conv(int dimension, int in_channels, int out_channels, int kernel) {
  const int padding = kernel / 2;
  if (dimension == 3) {
    return torch::nn::AnyModule(torch::nn::Conv3d(
        torch::nn::Conv3dOptions(in_channels, out_channels, kernel).padding(padding)));
  }
  return torch::nn::AnyModule(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in_channels, out_channels, kernel).padding(padding)));
}

// Applies a convolution module. Without gradients, on the CPU in float32, it calls oneDNN
// directly: LibTorch 1.13 picks its slow unfold-based kernel for a batch of one unless
// batch * channels * (first two spatial extents) exceeds 20480, which for this network
// means every grid below 36^3 and the first layer below 143^3 (measured 5-10x slower).
torch::Tensor convolve(torch::nn::AnyModule& conv, const torch::Tensor& input) {
  const bool inference = !torch::GradMode::is_enabled();
  if (inference && input.is_cpu() && input.scalar_type() == torch::kFloat32 && at::hasMKLDNN()) {
    const auto& module = *conv.ptr();
    const auto parameters = module.named_parameters(/*recurse=*/false);
    const torch::Tensor& weight = parameters["weight"];
    const torch::Tensor& bias = parameters["bias"];
    const auto spatial = static_cast<std::size_t>(weight.dim() - 2);
    const std::vector<std::int64_t> padding(spatial, weight.size(-1) / 2);
    const std::vector<std::int64_t> ones(spatial, 1);
    return at::mkldnn_convolution(input.contiguous(), weight, bias, padding, ones, ones, 1);
  }
  return conv.forward(input);
}

std::string size_hint(std::int64_t extent) {
  const std::int64_t lower = extent - 1;
  return lower >= 2 ? detail::concatenate(lower, " or ", extent + 1)
                    : detail::concatenate(extent + 1);
}

}  // namespace

NetworkOptions NetworkOptions::for_grid_64(int dimension) {
  NetworkOptions options;
  options.dimension = dimension;
  return options;
}

NetworkOptions NetworkOptions::for_grid_128(int dimension) {
  NetworkOptions options;
  options.dimension = dimension;
  options.fine_blocks = 3;
  options.coarse_blocks = 5;
  options.output_blocks = 3;
  return options;
}

void NetworkOptions::validate() const {
  // Upper bounds far above any useful network: a corrupt model file must not make the
  // loader allocate gigabytes before the weights are even read.
  constexpr int kMostChannels = 1024;
  constexpr int kMostBlocks = 64;
  require_option(
      dimension == 2 || dimension == 3, "NetworkOptions", "dimension", dimension, "must be 2 or 3");
  require_option(channels >= 1 && channels <= kMostChannels,
                 "NetworkOptions",
                 "channels",
                 channels,
                 "must be in [1, 1024]");
  for (const auto& [name, blocks] : {std::pair<const char*, int>{"fine_blocks", fine_blocks},
                                     {"coarse_blocks", coarse_blocks},
                                     {"output_blocks", output_blocks}}) {
    require_option(
        blocks >= 0 && blocks <= kMostBlocks, "NetworkOptions", name, blocks, "must be in [0, 64]");
  }
}

bool operator==(const NetworkOptions& left, const NetworkOptions& right) {
  return left.dimension == right.dimension && left.channels == right.channels &&
         left.fine_blocks == right.fine_blocks && left.coarse_blocks == right.coarse_blocks &&
         left.output_blocks == right.output_blocks;
}

void check_grid_size(int dimension, const std::vector<std::int64_t>& cells) {
  static constexpr const char* kAxis[] = {"nx", "ny", "nz"};
  require<InvalidArgumentError>(
      dimension == 2 || dimension == 3, "DCDM network: dimension must be 2 or 3, got ", dimension);
  require<InvalidArgumentError>(cells.size() >= static_cast<std::size_t>(dimension),
                                "DCDM network: expected ",
                                dimension,
                                " grid extents, got ",
                                cells.size());
  for (int axis = 0; axis < dimension; ++axis) {
    const std::int64_t extent = cells[static_cast<std::size_t>(axis)];
    require<InvalidArgumentError>(
        extent >= 2 && extent % 2 == 0,
        "DCDM network cannot take a grid with ",
        kAxis[axis],
        " = ",
        extent,
        ": every extent must be even and at least 2 (one 2x average-pooling level), e.g. ",
        size_hint(extent));
  }
}

ResidualBlockImpl::ResidualBlockImpl(int dimension, int channels)
    : conv1_(make_conv(dimension, channels, channels, 3)),
      conv2_(make_conv(dimension, channels, channels, 3)) {
  register_module("conv1", conv1_.ptr());
  register_module("conv2", conv2_.ptr());
}

torch::Tensor ResidualBlockImpl::forward(const torch::Tensor& features) {
  // h + relu(conv2(relu(conv1(h))))
  const auto inner = torch::relu(convolve(conv1_, features));
  return torch::relu(convolve(conv2_, inner)) + features;
}

DcdmNetworkImpl::DcdmNetworkImpl(NetworkOptions options) : options_(options) {
  options_.validate();
  const int dimension = options_.dimension;
  const int channels = options_.channels;
  input_ = make_conv(dimension, 1, channels, 3);
  register_module("input", input_.ptr());
  for (int block = 0; block < options_.fine_blocks; ++block) {
    fine_->push_back(ResidualBlock(dimension, channels));
  }
  for (int block = 0; block < options_.coarse_blocks; ++block) {
    coarse_->push_back(ResidualBlock(dimension, channels));
  }
  for (int block = 0; block < options_.output_blocks; ++block) {
    output_blocks_->push_back(ResidualBlock(dimension, channels));
  }
  register_module("fine", fine_);
  register_module("coarse", coarse_);
  register_module("output_blocks", output_blocks_);
  output_ = make_conv(dimension, channels, 1, 1);
  register_module("output", output_.ptr());
}

torch::Tensor DcdmNetworkImpl::forward(const torch::Tensor& residuals) {
  const int dimension = options_.dimension;
  require<InvalidArgumentError>(residuals.dim() == dimension + 2,
                                "DCDM network (",
                                dimension,
                                "D) expects a tensor of rank ",
                                dimension + 2,
                                " (batch, 1, ",
                                dimension == 3 ? "nz, ny, nx" : "ny, nx",
                                "), got rank ",
                                residuals.dim());
  require<InvalidArgumentError>(
      residuals.size(1) == 1, "DCDM network expects 1 input channel, got ", residuals.size(1));
  std::vector<std::int64_t> cells;
  for (int axis = 0; axis < dimension; ++axis) {
    cells.push_back(residuals.size(residuals.dim() - 1 - axis));  // nx, ny[, nz]
  }
  check_grid_size(dimension, cells);

  // Full resolution: a linear lifting, then residual blocks.
  auto fine = convolve(input_, residuals);
  for (const auto& block : *fine_) fine = block->as<ResidualBlockImpl>()->forward(fine);

  // Half resolution.
  namespace F = torch::nn::functional;
  auto coarse = dimension == 3 ? F::avg_pool3d(fine, F::AvgPool3dFuncOptions(2))
                               : F::avg_pool2d(fine, F::AvgPool2dFuncOptions(2));
  for (const auto& block : *coarse_) coarse = block->as<ResidualBlockImpl>()->forward(coarse);

  // Back to full resolution with the skip connection.
  const std::vector<double> factors(static_cast<std::size_t>(dimension), 2.0);
  auto merged =
      F::interpolate(coarse,
                     F::InterpolateFuncOptions().scale_factor(factors).mode(torch::kNearest)) +
      fine;
  for (const auto& block : *output_blocks_) {
    merged = block->as<ResidualBlockImpl>()->forward(merged);
  }
  return convolve(output_, merged);
}

std::int64_t DcdmNetworkImpl::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& parameter : parameters()) count += parameter.numel();
  return count;
}

}  // namespace deepnum::dcdm
