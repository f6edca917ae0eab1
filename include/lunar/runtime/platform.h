// Devices, CPU threads and the BLAS LibTorch runs on.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace lunar {

// Parses "cpu", "cuda" or "cuda:N"; "auto" picks CUDA when available. Throws lunar::Error for
// anything else or for CUDA on a build without it.
at::Device parse_device(const std::string& name);

// Sets LibTorch's intra-op thread pool. LibTorch starts at 1 thread on the project's machines;
// threads <= 0 means one per available core.
int configure_threads(int threads);

// Keeps memory freed by tensors inside the process for the next step to reuse. By default glibc
// hands blocks above 32 MiB back to the system (mmap) and every step faults them in again, page
// by page; for the attention maps of long sequences that costs more than the arithmetic (see
// docs/performance.md). Call once at start-up of a long-running command.
void retain_freed_memory();

struct BlasInfo {
  std::string library;  // resolved path of the BLAS shared object, or "" if none is loaded
  bool optimized;       // OpenBLAS, MKL or BLIS; false for the reference BLAS
};

// Finds the BLAS library LibTorch resolved at load time. Debian's default `libblas.so.3` is the
// reference implementation, about 15x slower than OpenBLAS.
BlasInfo detect_blas();

// A warning for users when the BLAS is the slow reference one; empty when all is well.
std::string blas_warning(const BlasInfo& info);

}  // namespace lunar
