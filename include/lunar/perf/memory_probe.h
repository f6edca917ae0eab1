// Peak memory of a piece of work: the bytes held by tensors at once, counted on CPU by an
// allocator wrapped around LibTorch's (installed by the first probe), and on CUDA by the caching
// allocator's own statistics. Memory outside tensors (BLAS buffers, the allocator's caches) is
// not included.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace lunar::perf {

class PeakMemoryProbe {
 public:
  explicit PeakMemoryProbe(at::Device device);

  // Starts a measurement: the current usage becomes the baseline.
  void start();
  // Highest tensor memory since start() minus the baseline, in bytes (>= 0).
  int64_t peak_bytes() const;

 private:
  at::Device device_;
  int64_t baseline_ = 0;
};

// Bytes a benchmark may still use on `device`: MemAvailable on CPU, free memory on CUDA.
int64_t available_memory_bytes(const at::Device& device);

}  // namespace lunar::perf
