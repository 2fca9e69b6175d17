#include "deepnum/nn/device.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"

namespace deepnum::nn {
namespace {

constexpr std::string_view kAcceptedDevices = "'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...)";

// Why CUDA cannot be used here. A CUDA LibTorch registers its CUDA device guard when it
// loads, even on a machine without GPUs, so an absent guard means a CPU-only LibTorch.
std::string why_cuda_is_unavailable() {
  if (!c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA)) {
    return "this LibTorch was built without CUDA (point Torch_DIR at a CUDA LibTorch)";
  }
  return "this LibTorch has CUDA but no GPU is visible (check the driver and "
         "CUDA_VISIBLE_DEVICES)";
}

// Parses the N of "cuda:N": decimal digits only, no sign, no spaces.
int parse_device_index(std::string_view name, std::string_view digits) {
  int index = -1;
  const auto* first = digits.data();
  const auto* last = digits.data() + digits.size();
  const auto [end, status] = std::from_chars(first, last, index);
  require<InvalidArgumentError>(
      !digits.empty() && digits.front() != '-' && status == std::errc() && end == last,
      "device '",
      name,
      "' has no valid device number; expected ",
      kAcceptedDevices);
  return index;
}

torch::Device cuda_device(std::string_view name, int index) {
  require<DeviceError>(torch::cuda::is_available(),
                       "device '",
                       name,
                       "' asked for, but ",
                       why_cuda_is_unavailable());
  const auto visible = static_cast<int>(torch::cuda::device_count());
  require<DeviceError>(index < visible,
                       "device '",
                       name,
                       "' asked for, but only ",
                       visible,
                       " CUDA device(s) are visible (cuda:0 to cuda:",
                       visible - 1,
                       ")");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace

torch::Device parse_device(std::string_view name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda") return cuda_device(name, 0);

  constexpr std::string_view kCudaPrefix = "cuda:";
  if (name.substr(0, kCudaPrefix.size()) == kCudaPrefix) {
    const int index = parse_device_index(name, name.substr(kCudaPrefix.size()));
    return cuda_device(name, index);
  }
  throw InvalidArgumentError(
      detail::concatenate("unknown device '", name, "'; expected ", kAcceptedDevices));
}

torch::Device default_device() {
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

int configure_threads(int requested) {
  require<InvalidArgumentError>(
      requested >= 0, "thread count must be >= 0 (0 = all hardware threads), got ", requested);
  const int hardware = static_cast<int>(std::thread::hardware_concurrency());
  // More threads than cores only adds contention; thousands take minutes to start.
  const int most = kThreadsPerCoreLimit * std::max(hardware, 1);
  require<InvalidArgumentError>(requested <= most,
                                "thread count ",
                                requested,
                                " exceeds ",
                                kThreadsPerCoreLimit,
                                " per hardware thread (",
                                hardware,
                                " here, so at most ",
                                most,
                                "); 0 takes one per hardware thread");
  const int chosen = requested > 0 ? requested : std::max(hardware, 1);
  at::set_num_threads(chosen);
  log::info("LibTorch uses {} intra-op thread(s) ({} requested, {} hardware threads)",
            at::get_num_threads(),
            requested == 0 ? std::string("all") : std::to_string(requested),
            hardware);
  return at::get_num_threads();
}

void seed_everything(std::uint64_t seed) {
  // torch::manual_seed seeds the CPU generator and, when GPUs are visible, each of them;
  // the explicit call below keeps the CUDA part independent of that detail.
  torch::manual_seed(seed);
  if (torch::cuda::is_available()) torch::cuda::manual_seed_all(seed);
  log::debug("seeded LibTorch's random generators with {}", seed);
}

void set_deterministic_algorithms(bool enabled) {
  auto& context = at::globalContext();
  context.setDeterministicAlgorithms(enabled, /*warn_only=*/false);
  context.setDeterministicCuDNN(enabled);
  context.setBenchmarkCuDNN(!enabled);
}

}  // namespace deepnum::nn
