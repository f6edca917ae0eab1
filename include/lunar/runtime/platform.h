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

// Whether this CPU has the AVX-512 subsets lunar's fp32 kernels use (F, DQ, BW, VL); detected once.
bool cpu_has_avx512();
// Whether it also has AVX512-BF16 (bf16 dot products with fp32 accumulation); detected once.
bool cpu_has_avx512_bf16();

struct BlasInfo {
  std::string library;  // resolved path of the BLAS shared object, or "" if none is loaded
  bool optimized;       // OpenBLAS, MKL or BLIS; false for the reference BLAS
  std::string kernels;  // OpenBLAS's kernel set (openblas_get_corename: "Haswell", "SkylakeX"…)
};

// Finds the BLAS library LibTorch resolved at load time. Debian's default `libblas.so.3` is the
// reference implementation, about 15x slower than OpenBLAS.
BlasInfo detect_blas();

// A warning for users when the BLAS is slow here, empty when all is well: the reference BLAS, or
// OpenBLAS held to kernels without AVX-512 on a CPU that has it (`avx512`). On 2-core AMD EPYC
// machines with AVX-512, OpenBLAS 0.3.21 picks its Cooperlake kernels by itself, and an
// OPENBLAS_CORETYPE=Haswell in the environment holds it to its AVX2 ones: 1024³ fp32 GEMMs at
// 190–200 GFLOP/s on 2 threads instead of 320–350.
std::string blas_warning(const BlasInfo& info, bool avx512 = cpu_has_avx512());

}  // namespace lunar
