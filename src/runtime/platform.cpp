// Device parsing, thread configuration and BLAS detection.
#include "lunar/runtime/platform.h"

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "lunar/core/error.h"
#include "lunar/runtime/compat.h"

namespace lunar {

at::Device parse_device(const std::string& name) {
  if (name == "auto")
    return compat::cuda_available() ? at::Device(at::kCUDA) : at::Device(at::kCPU);
  if (name == "cpu") return at::Device(at::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    check(compat::cuda_available(),
          "[device] expected a CUDA build of LibTorch with a GPU for '{}', "
          "got none (Debian's LibTorch is CPU-only)",
          name);
    return at::Device(name);
  }
  throw Error(fmt::format("[device] expected cpu, cuda, cuda:N or auto, got '{}'", name));
}

int configure_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

namespace {
int collect_blas(dl_phdr_info* info, size_t, void* data) {
  auto* found = static_cast<std::string*>(data);
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;
  const std::string name = std::filesystem::path(info->dlpi_name).filename().string();
  const bool blas = name.rfind("libblas", 0) == 0 || name.find("openblas") != std::string::npos ||
                    name.find("mkl_rt") != std::string::npos || name.rfind("libblis", 0) == 0;
  if (!blas) return 0;
  std::error_code error;
  const auto resolved = std::filesystem::canonical(info->dlpi_name, error);
  *found = error ? std::string(info->dlpi_name) : resolved.string();
  return 1;
}

bool detect_avx512() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
#else
  return false;
#endif
}

bool detect_avx512_bf16() {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  return detect_avx512() && __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// OpenBLAS's kernel set, asked of the loaded library itself; "" for any other BLAS.
std::string openblas_kernels() {
  using CoreName = char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = core_name ? core_name() : nullptr;
  return name ? name : "";
}
}  // namespace

bool cpu_has_avx512() {
  static const bool has = detect_avx512();
  return has;
}

bool cpu_has_avx512_bf16() {
  static const bool has = detect_avx512_bf16();
  return has;
}

BlasInfo detect_blas() {
  std::string library;
  dl_iterate_phdr(collect_blas, &library);
  std::string lower = library;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  const bool optimized = lower.find("openblas") != std::string::npos ||
                         lower.find("mkl") != std::string::npos ||
                         lower.find("blis") != std::string::npos;
  return {library, optimized, openblas_kernels()};
}

std::string blas_warning(const BlasInfo& info, bool avx512) {
  if (!info.optimized && !info.library.empty()) {
    return fmt::format(
        "LibTorch is using the reference BLAS ({}), about 15x slower than OpenBLAS: "
        "install libopenblas0-openmp (apt-get install libopenblas0-openmp)",
        info.library);
  }
  std::string lower = info.kernels;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  const bool avx512_kernels =
      lower == "skylakex" || lower == "cooperlake" || lower == "sapphirerapids";
  if (!avx512 || info.kernels.empty() || avx512_kernels) return "";
  const char* asked = std::getenv("OPENBLAS_CORETYPE");
  return fmt::format(
      "OpenBLAS runs its {} kernels{} on a CPU with AVX-512: its SkylakeX kernels run fp32 "
      "matrix products about 1.8x faster (unset OPENBLAS_CORETYPE, or set it to SkylakeX)",
      info.kernels, asked ? fmt::format(" (OPENBLAS_CORETYPE={})", asked) : "");
}

}  // namespace lunar
