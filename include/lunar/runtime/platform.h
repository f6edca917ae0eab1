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
