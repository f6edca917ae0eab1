// Device parsing, thread configuration and BLAS detection.
#include "lunar/runtime/platform.h"

#include <ATen/Parallel.h>

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
}  // namespace

BlasInfo detect_blas() {
  std::string library;
  dl_iterate_phdr(collect_blas, &library);
  std::string lower = library;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  const bool optimized = lower.find("openblas") != std::string::npos ||
                         lower.find("mkl") != std::string::npos ||
                         lower.find("blis") != std::string::npos;
  return {library, optimized};
}

std::string blas_warning(const BlasInfo& info) {
  if (info.optimized || info.library.empty()) return "";
  return fmt::format(
      "LibTorch is using the reference BLAS ({}), about 15x slower than OpenBLAS: "
      "install libopenblas0-openmp (apt-get install libopenblas0-openmp)",
      info.library);
}

}  // namespace lunar
