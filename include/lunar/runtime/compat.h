// The one place where LibTorch version differences (Debian's 1.13 vs CUDA builds of 2.x) are
// handled. Everything else calls these wrappers.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <string>

namespace lunar::compat {

inline constexpr int kTorchMajor = TORCH_VERSION_MAJOR;
inline constexpr int kTorchMinor = TORCH_VERSION_MINOR;

// LibTorch 2.0 added the fused at::scaled_dot_product_attention.
inline constexpr bool kHasFusedAttention = kTorchMajor >= 2;

std::string torch_version();

// Enables or disables autocast for `device` in the current thread with `dtype` as the lower
// precision (bf16 on CUDA). The API changed between 1.13 and 2.x.
void set_autocast(const at::Device& device, bool enabled, at::ScalarType dtype);
// Whether autocast is on for `device` in the current thread.
bool autocast_enabled(const at::Device& device);
// The lower precision autocast casts to on `device` (what set_autocast set).
at::ScalarType autocast_dtype(const at::Device& device);

// RAII guard around set_autocast; restores the previous state on destruction.
class AutocastGuard {
 public:
  AutocastGuard(const at::Device& device, bool enabled, at::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  at::Device device_;
  bool previous_enabled_;
  bool changed_;
};

// LibTorch 2.3 made c10::Allocator::copy_data pure virtual; allocators that wrap another one
// put this macro in their class body.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define LUNAR_ALLOCATOR_COPY_DATA                                                 \
  void copy_data(void* dest, const void* src, std::size_t count) const override { \
    default_copy_data(dest, src, count);                                          \
  }
#else
#define LUNAR_ALLOCATOR_COPY_DATA
#endif

// Peak memory allocated on `device` since the last reset, in bytes (CUDA only; 0 elsewhere).
int64_t cuda_peak_memory(const at::Device& device);
void cuda_reset_peak_memory(const at::Device& device);
// Free memory on a CUDA device in bytes (0 for other devices).
int64_t cuda_free_memory(const at::Device& device);
bool cuda_available();

}  // namespace lunar::compat
