// The convolutional network of the Deep Conjugate Direction Method (Kaneda, Akar, Chen,
// Kala, Hyde, Teran, ICML 2023): it maps a unit-norm residual on the grid to a search
// direction on the grid.
//
// Layout (all convolutions 3x3x3, or 3x3 in 2D, `channels` wide, zero "same" padding):
//   input conv 1 -> C, linear
//   fine_blocks residual blocks        h = relu(conv(relu(conv(h)))) + h
//   2x average pooling
//   coarse_blocks residual blocks      (half resolution)
//   2x nearest upsampling, + the fine features (skip connection)
//   output_blocks residual blocks
//   per-voxel linear output C -> 1     (1x1x1 convolution)
// With the defaults (C = 16, 2 + 3 + 2 blocks) the 3D network has 97,457 parameters, the
// size of the reference network for 64^3 grids; for_grid_128() is the deeper variant
// (3 + 5 + 3 blocks, 152,881 parameters). The network is fully convolutional: a model
// trained on one grid size runs on any size it can take (every extent even).
//
// Tensors: float32, shape (batch, 1, nz, ny, nx) in 3D and (batch, 1, ny, nx) in 2D, on
// the device the module lives on. forward() does not mask: callers zero the input and
// the output outside the fluid (NetworkDirection, the training loss).
// Thread safety: forward() may run concurrently in inference mode; training is not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace deepnum::dcdm {

// The architecture's name, stored with every model file.
inline constexpr const char* kArchitectureName = "dcdm-cnn";

struct NetworkOptions {
  int dimension = 3;      // 2 (Conv2d) or 3 (Conv3d)
  int channels = 16;      // feature channels at every level
  int fine_blocks = 2;    // residual blocks at full resolution before pooling
  int coarse_blocks = 3;  // residual blocks at half resolution
  int output_blocks = 2;  // residual blocks after upsampling and the skip connection

  // The reference layouts: 64^3 (the defaults) and the deeper 128^3 variant.
  static NetworkOptions for_grid_64(int dimension = 3);
  static NetworkOptions for_grid_128(int dimension = 3);

  // Throws OptionError naming the field, its value and the rule.
  void validate() const;
};

bool operator==(const NetworkOptions& left, const NetworkOptions& right);

// Throws InvalidArgumentError unless the network can take a grid of these cell counts
// (nx, ny, nz; nz = 1 in 2D): every extent used must be even and at least 2, because of
// the one 2x pooling level. The message names the extent and the sizes it could take.
void check_grid_size(int dimension, const std::vector<std::int64_t>& cells);

// A residual block: relu(conv2(relu(conv1(h)))) + h.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(int dimension, int channels);
  torch::Tensor forward(const torch::Tensor& features);

 private:
  torch::nn::AnyModule conv1_;
  torch::nn::AnyModule conv2_;
};
TORCH_MODULE(ResidualBlock);

class DcdmNetworkImpl : public torch::nn::Module {
 public:
  // Builds a network with LibTorch's default (random) initialization, float32 on the
  // CPU. Throws OptionError for invalid options.
  explicit DcdmNetworkImpl(NetworkOptions options = {});

  // residuals: (batch, 1, nz, ny, nx) or (batch, 1, ny, nx), float32. Returns the
  // directions with the same shape. Throws InvalidArgumentError for a wrong rank or
  // channel count, or a grid size the network cannot take (check_grid_size).
  torch::Tensor forward(const torch::Tensor& residuals);

  const NetworkOptions& options() const { return options_; }
  std::int64_t parameter_count() const;

 private:
  NetworkOptions options_;
  torch::nn::AnyModule input_;
  torch::nn::ModuleList fine_;
  torch::nn::ModuleList coarse_;
  torch::nn::ModuleList output_blocks_;
  torch::nn::AnyModule output_;
};
TORCH_MODULE(DcdmNetwork);

}  // namespace deepnum::dcdm
