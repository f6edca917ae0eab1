// Version guards for LibTorch 1.13 .. 2.x.
#include "lunar/runtime/compat.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <fmt/format.h>

namespace lunar::compat {

std::string torch_version() {
  return fmt::format("{}.{}.{}", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
}

// LibTorch 2.4 replaced the per-backend autocast functions by ones taking the device type (the
// old ones print a deprecation warning on every call in 2.11).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(const at::Device& device) {
  return at::autocast::is_autocast_enabled(device.type());
}

at::ScalarType autocast_dtype(const at::Device& device) {
  return at::autocast::get_autocast_dtype(device.type());
}

void set_autocast(const at::Device& device, bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(device.type(), enabled);
  at::autocast::set_autocast_dtype(device.type(), dtype);
  if (!enabled) at::autocast::clear_cache();
}

namespace {
void restore_autocast(const at::Device& device, bool enabled) {
  at::autocast::set_autocast_enabled(device.type(), enabled);
}
}  // namespace
#else
bool autocast_enabled(const at::Device& device) {
  if (device.is_cuda()) return at::autocast::is_enabled();
  return at::autocast::is_cpu_enabled();
}

at::ScalarType autocast_dtype(const at::Device& device) {
  return device.is_cuda() ? at::autocast::get_autocast_gpu_dtype()
                          : at::autocast::get_autocast_cpu_dtype();
}

void set_autocast(const at::Device& device, bool enabled, at::ScalarType dtype) {
  if (device.is_cuda()) {
    at::autocast::set_enabled(enabled);
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_cpu_enabled(enabled);
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
  if (!enabled) at::autocast::clear_cache();
}

namespace {
void restore_autocast(const at::Device& device, bool enabled) {
  if (device.is_cuda()) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
}
}  // namespace
#endif

AutocastGuard::AutocastGuard(const at::Device& device, bool enabled, at::ScalarType dtype)
    : device_(device), previous_enabled_(autocast_enabled(device)), changed_(enabled) {
  if (changed_) set_autocast(device, true, dtype);
}

AutocastGuard::~AutocastGuard() {
  if (changed_) {
    restore_autocast(device_, previous_enabled_);
    if (!previous_enabled_) at::autocast::clear_cache();
  }
}

bool cuda_available() { return torch::cuda::is_available(); }

}  // namespace lunar::compat

#if LUNAR_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>

namespace lunar::compat {
int64_t cuda_peak_memory(const at::Device& device) {
  if (!device.is_cuda()) return 0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
  // Index 0 is StatType::AGGREGATE, an enum that moved namespaces in LibTorch 2.x.
  return stats.allocated_bytes[0].peak;
}
void cuda_reset_peak_memory(const at::Device& device) {
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
}
int64_t cuda_free_memory(const at::Device& device) {
  if (!device.is_cuda()) return 0;
  c10::cuda::CUDAGuard guard(device.index());
  size_t free_bytes = 0, total_bytes = 0;
  C10_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return static_cast<int64_t>(free_bytes);
}
}  // namespace lunar::compat
#else
namespace lunar::compat {
int64_t cuda_peak_memory(const at::Device&) { return 0; }
void cuda_reset_peak_memory(const at::Device&) {}
int64_t cuda_free_memory(const at::Device&) { return 0; }
}  // namespace lunar::compat
#endif
