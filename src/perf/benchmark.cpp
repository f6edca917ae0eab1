// Measurement loop of `lunar bench`.
#include "lunar/perf/benchmark.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/perf/flop_counter.h"
#include "lunar/perf/memory_probe.h"
#include "lunar/runtime/compat.h"
#include "lunar/runtime/platform.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/trainer.h"

namespace lunar::perf {

namespace {
using Clock = std::chrono::steady_clock;

void synchronize(const at::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

Spread spread(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  return {median, values.front(), values.back()};
}

// One step of the benchmarked work: forward (and backward and an optimizer step when training)
// on a fixed random batch with every position real.
class Workload {
 public:
  Workload(const train::RunConfig& config, const BenchOptions& options, int64_t length)
      : options_(options), model_(models::build_model(config.model)) {
    model_->to(options.device);
    const auto& input = config.model.input;
    const int64_t low = input.embedding == models::Embedding::pixel ? 0 : 2;
    const int64_t high = input.embedding == models::Embedding::pixel ? 256 : input.vocab_size;
    const auto ids = at::TensorOptions().dtype(at::kLong).device(options.device);
    input_.tokens = at::randint(low, high, {options.batch, length}, ids);
    input_.mask = at::ones({options.batch, length}, ids.dtype(at::kBool));
    if (config.model.pair) {
      input_.tokens2 = at::randint(low, high, {options.batch, length}, ids);
      input_.mask2 = input_.mask;
    }
    labels_ = at::randint(0, config.model.num_classes, {options.batch}, ids);
    if (training()) {
      model_->train();
      optimizer_ = train::make_optimizer(config.optim, model_->parameters());
    } else {
      model_->eval();
    }
  }

  bool training() const { return options_.mode == BenchMode::train; }

  void step() {
    const bool bf16 = options_.precision == train::Precision::bf16;
    if (!training()) {
      at::NoGradGuard no_grad;
      const nn::AttentionWeightsUnused logits_only;
      compat::AutocastGuard autocast(options_.device, bf16, at::kBFloat16);
      model_->forward(input_);
      return;
    }
    optimizer_->zero_grad();
    at::Tensor loss;
    {
      compat::AutocastGuard autocast(options_.device, bf16, at::kBFloat16);
      loss = at::cross_entropy_loss(model_->forward(input_).logits.to(at::kFloat), labels_);
    }
    const auto penalty = model_->regularization();
    (penalty.defined() ? loss + penalty : loss).backward();
    optimizer_->step();
  }

 private:
  const BenchOptions& options_;
  models::LunarModel model_;
  models::ModelInput input_;
  at::Tensor labels_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
};

// What the shorter lengths predict for `length`: cost ∝ length^p with p fitted on the last two
// measured lengths (clamped to [1, 2]), or p = 2 from a single one.
double extrapolate(const std::vector<std::pair<int64_t, double>>& measured, int64_t length) {
  if (measured.empty()) return 0;
  const auto& [l1, v1] = measured.back();
  double exponent = 2;
  if (measured.size() >= 2) {
    const auto& [l0, v0] = measured[measured.size() - 2];
    if (v0 > 0 && v1 > 0 && l1 != l0) {
      exponent = std::clamp(std::log(v1 / v0) / std::log(double(l1) / double(l0)), 1.0, 2.0);
    }
  }
  return v1 * std::pow(double(length) / double(l1), exponent);
}

BenchPoint make_point(const std::string& model, int64_t length, const std::string& status) {
  BenchPoint point;
  point.model = model;
  point.length = length;
  point.status = status;
  return point;
}

std::string gib(double bytes) { return fmt::format("{:.1f} GiB", bytes / double(1LL << 30)); }

// Model FLOPs per token of one step of `workload`.
double count_flops(Workload& workload, const BenchOptions& options, int64_t length) {
  FlopCounter counter;
  workload.step();
  return double(counter.flops()) / double(options.batch * length);
}

BenchPoint measure(const train::RunConfig& config, const BenchOptions& options,
                   const std::string& model, int64_t length) {
  auto point = make_point(model, length, "ok");
  const bool fused = config.model.fused_attention;
  if (fused) {
    // The fused attention kernel computes its block products where the counter (one thread,
    // ATen ops) does not see them. The reference path computes the same products, so it is
    // counted instead, at batch 1 to need less memory (FLOPs per token do not depend on the
    // batch), before the fused workload exists.
    auto reference = config;
    reference.model.fused_attention = false;
    auto one = options;
    one.batch = 1;
    seed_everything(options.seed);
    Workload counted(reference, one, length);
    point.flops_per_token = count_flops(counted, one, length);
  }
  seed_everything(options.seed);
  Workload workload(config, options, length);
  const double flops = count_flops(workload, options, length);  // also the first warm-up step
  if (!fused) point.flops_per_token = flops;
  for (int i = 1; i < options.warmup; ++i) workload.step();
  synchronize(options.device);
  PeakMemoryProbe probe(options.device);
  probe.start();
  std::vector<double> seconds;
  for (int i = 0; i < options.repeats; ++i) {
    const auto started = Clock::now();
    workload.step();
    synchronize(options.device);
    seconds.push_back(std::chrono::duration<double>(Clock::now() - started).count());
  }
  point.peak_bytes = probe.peak_bytes();
  const double tokens = double(options.batch * length);
  std::vector<double> rates, millis;
  for (double s : seconds) {
    rates.push_back(tokens / s);
    millis.push_back(1000 * s);
  }
  point.tokens_per_s = spread(rates);
  point.step_ms = spread(millis);
  point.flops_per_s = point.flops_per_token * point.tokens_per_s.median;
  return point;
}
}  // namespace

double measure_gemm_rate(const at::Device& device, train::Precision precision, int64_t n) {
  const auto dtype = precision == train::Precision::bf16 ? at::kBFloat16 : at::kFloat;
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  const auto a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  std::vector<double> rates;
  // The first ten products warm up (thread pool, BLAS buffers, first-touch pages): with two
  // warm-up products the rate came out 2.4x too low in one build, varying between builds.
  for (int i = 0; i < 30; ++i) {
    synchronize(device);
    const auto started = Clock::now();
    const auto c = at::mm(a, b);
    synchronize(device);
    const double s = std::chrono::duration<double>(Clock::now() - started).count();
    if (i >= 10) rates.push_back(2.0 * double(n) * double(n) * double(n) / s);
  }
  return spread(rates).median;
}

train::RunConfig bench_config(const train::RunConfig& base, const std::string& model,
                              const BenchOptions& options) {
  auto config = base;
  config.model.architecture = model;
  config.model.luna.memory_len = options.memory_len;
  const int64_t longest = *std::max_element(options.lengths.begin(), options.lengths.end());
  config.model.input.max_length = std::max(config.model.input.max_length, longest);
  config.task.max_length = config.model.input.max_length;
  config.runtime.precision = options.precision;
  config.model = models::resolve(config.model);
  models::validate(config.model);
  return config;
}

BenchReport run_benchmark(const train::RunConfig& base, const BenchOptions& options,
                          const std::function<void(const BenchPoint&)>& on_point) {
  check(!options.models.empty(), "[bench] expected at least one model");
  check(!options.lengths.empty(), "[bench] expected at least one length");
  for (int64_t length : options.lengths)
    check(length >= 1, "[bench] expected lengths >= 1, got {}", length);
  check(options.batch >= 1, "[bench] expected --batch >= 1, got {}", options.batch);
  check(options.warmup >= 1 && options.repeats >= 1,
        "[bench] expected --warmup >= 1 and --repeats >= 1, got {} and {}", options.warmup,
        options.repeats);

  BenchReport report;
  report.options = options;
  report.threads = at::get_num_threads();
  report.torch_version = compat::torch_version();
  const auto blas = detect_blas();
  report.blas = blas.library;
  report.blas_kernels = blas.kernels;
  report.gemm_flops_per_s = measure_gemm_rate(options.device, options.precision);
  const int64_t memory_limit =
      options.memory_limit_bytes > 0
          ? options.memory_limit_bytes
          : static_cast<int64_t>(0.8 * double(available_memory_bytes(options.device)));

  for (const auto& model : options.models) {
    const auto config = bench_config(base, model, options);
    report.configs[model] = train::to_toml(config);
    std::vector<std::pair<int64_t, double>> memory, time;
    bool failed = false;
    for (int64_t length : options.lengths) {
      auto point = make_point(model, length, "skipped");
      const double expected_bytes = extrapolate(memory, length);
      const double expected_s = extrapolate(time, length) * (options.warmup + options.repeats);
      if (failed) {
        point.reason = "a shorter length already failed";
      } else if (expected_bytes > double(memory_limit)) {
        point.reason = fmt::format("needs about {} (limit {})", gib(expected_bytes),
                                   gib(double(memory_limit)));
      } else if (expected_s > options.time_limit_s) {
        point.reason =
            fmt::format("needs about {:.0f} s (limit {:.0f} s)", expected_s, options.time_limit_s);
      } else {
        try {
          point = measure(config, options, model, length);
          memory.emplace_back(length, double(point.peak_bytes));
          time.emplace_back(length, point.step_ms.median / 1000);
        } catch (const std::bad_alloc&) {
          point.status = "failed";
          point.reason = "out of memory";
        } catch (const c10::Error& error) {
          point.status = "failed";
          point.reason = error.what_without_backtrace();
        }
        failed = point.status == "failed";
      }
      if (on_point) on_point(point);
      report.points.push_back(point);
    }
  }
  return report;
}

}  // namespace lunar::perf
