// `lunar bench`: speed, peak memory and FLOP rate of each model against sequence length.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lunar/train/config.h"

namespace lunar::perf {

// What a benchmark step runs: forward, backward and an optimizer step, or forward alone.
enum class BenchMode { train, infer };
constexpr std::array<Named<BenchMode>, 2> choice_names(BenchMode) {
  return {{{BenchMode::train, "train"}, {BenchMode::infer, "infer"}}};
}

struct BenchOptions {
  std::vector<std::string> models;  // registry names
  std::vector<int64_t> lengths;     // tokens per sequence (without CLS), measured in this order
  int64_t batch = 1;
  int64_t memory_len = 256;  // M for the models with a memory
  BenchMode mode = BenchMode::train;
  train::Precision precision = train::Precision::fp32;  // bf16: under autocast
  int warmup = 2;                                       // untimed steps before the timed ones
  int repeats = 5;                                      // timed steps
  at::Device device = at::kCPU;
  int64_t memory_limit_bytes = 0;  // skip lengths expected to need more; 0 = 80% of available
  double time_limit_s = 300;       // skip lengths expected to take longer (warm-up + repeats)
  uint64_t seed = 0;
};

struct Spread {
  double median = 0, min = 0, max = 0;
};

struct BenchPoint {
  std::string model;
  int64_t length = 0;
  std::string status;  // ok | skipped | failed
  std::string reason;  // why skipped or failed
  Spread tokens_per_s;
  Spread step_ms;
  int64_t peak_bytes = 0;      // memory a step needs beyond the resting state
  double flops_per_token = 0;  // model FLOPs of one step (forward, and backward when training)
  double flops_per_s = 0;      // at the median step time
};

struct BenchReport {
  BenchOptions options;
  int threads = 0;
  std::string torch_version;
  std::string blas;
  std::string blas_kernels;     // OpenBLAS's kernel set ("Haswell", "SkylakeX", ...); "" otherwise
  double gemm_flops_per_s = 0;  // measured square GEMM rate in the same precision
  std::vector<BenchPoint> points;
  std::map<std::string, std::string> configs;  // model -> effective run config (TOML)
};

// FLOP/s of a square n×n×n matrix product in `precision` (median of several after warm-up).
double measure_gemm_rate(const at::Device& device, train::Precision precision, int64_t n = 1024);

// The effective configuration benchmarked for `model`: `base` with the architecture, memory
// size and maximum length set, and the model resolved.
train::RunConfig bench_config(const train::RunConfig& base, const std::string& model,
                              const BenchOptions& options);

// Measures every model at every length; `on_point` sees each point as soon as it is measured.
// Lengths a model cannot afford (memory or time extrapolated from the shorter lengths, or an
// allocation failure) are reported as skipped or failed, never crashed on.
BenchReport run_benchmark(const train::RunConfig& base, const BenchOptions& options,
                          const std::function<void(const BenchPoint&)>& on_point = {});

std::string to_markdown(const BenchReport& report);
nlohmann::json to_json(const BenchReport& report);

}  // namespace lunar::perf
