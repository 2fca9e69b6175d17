// Where tensors live and how many threads LibTorch uses: device parsing, thread
// configuration and seeding for reproducible runs.
//
// Device: the same code runs on a CPU-only LibTorch (Debian's) and on a CUDA LibTorch
// found through Torch_DIR; parse_device decides at run time from what this LibTorch and
// this machine offer (torch::cuda::is_available()).
// Thread safety: configure_threads, seed_everything and set_deterministic_algorithms change
// process-wide LibTorch state; call them once at start-up, before worker threads run.
#pragma once

#include <cstdint>
#include <string_view>

#include <torch/types.h>

namespace deepnum::nn {

// Turns a device name into a torch::Device:
//   "cpu"     -> CPU
//   "cuda"    -> CUDA device 0
//   "cuda:N"  -> CUDA device N (N written in decimal digits)
// Throws DeviceError when CUDA is asked for and this LibTorch was built without CUDA, no
// GPU is visible, or N is not below the number of visible GPUs; InvalidArgumentError for
// any other text (the message lists the accepted forms).
torch::Device parse_device(std::string_view name);

// The best device available: CUDA device 0 when torch::cuda::is_available(), else CPU.
torch::Device default_device();

// Sets LibTorch's intra-op thread count (at::set_num_threads) and returns it.
// requested = 0 means one thread per hardware thread (std::thread::hardware_concurrency);
// Debian's LibTorch otherwise starts with a single intra-op thread. Logs the choice at
// info. Throws InvalidArgumentError for requested < 0 or above kThreadsPerCoreLimit per
// hardware thread.
inline constexpr int kThreadsPerCoreLimit = 4;
int configure_threads(int requested = 0);

// Seeds every LibTorch random generator: the CPU generator and, when CUDA is available,
// the generator of every visible GPU. Two runs seeded alike draw identical random tensors
// on CPU. Bit-identical CUDA runs additionally need set_deterministic_algorithms(true).
void seed_everything(std::uint64_t seed);

// Makes LibTorch use deterministic kernels (at::Context::setDeterministicAlgorithms) and
// turns cuDNN autotuning off and cuDNN determinism on. Operations without a deterministic
// implementation then throw instead of silently varying between runs.
void set_deterministic_algorithms(bool enabled);

}  // namespace deepnum::nn
