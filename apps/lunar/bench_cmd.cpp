// `lunar bench`: tokens/s, peak memory and FLOP rate per model and sequence length.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/data/task.h"
#include "lunar/models/registry.h"
#include "lunar/perf/benchmark.h"
#include "lunar/runtime/host_memory.h"
#include "lunar/runtime/platform.h"
#include "lunar/train/config.h"
#include "lunar/train/run.h"

namespace lunar::cli {

namespace {
struct BenchCommandOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> models = models::architecture_names();  // every registry row
  std::vector<int64_t> lengths{1024, 2048, 4096, 8192, 16384, 32768};
  std::string device = "cpu";
  int threads = 0;
  double memory_limit_gib = 0;
  std::string out;
  perf::BenchOptions bench;
};

// Without --config: the LRA ListOps model (d 128, 4 heads, FFN 512, 6 blocks).
train::RunConfig base_config(const BenchCommandOptions& options) {
  train::RunConfig config;
  if (!options.config.empty()) {
    config = train::load_config(options.config);
  } else {
    config.task.name = "listops";
    config.model.num_blocks = 6;
  }
  train::apply_overrides(config, options.overrides);
  train::apply_task_facts(config, data::task_info(config.task.name));
  return config;
}

void run_bench(BenchCommandOptions options) {
  const int threads = configure_threads(options.threads);
  retain_freed_memory();
  const auto warning = blas_warning(detect_blas());
  if (!warning.empty()) fmt::print(stderr, "warning: {}\n", warning);
  options.bench.models = options.models;
  options.bench.lengths = options.lengths;
  options.bench.device = parse_device(options.device);
  options.bench.memory_limit_bytes = static_cast<int64_t>(options.memory_limit_gib * (1LL << 30));
  const auto base = base_config(options);
  fmt::print(stderr, "lunar bench: {} threads, measuring...\n", threads);
  const auto report = perf::run_benchmark(base, options.bench, [](const perf::BenchPoint& p) {
    if (p.status == "ok") {
      fmt::print(stderr, "  {} L={}: {:.0f} tokens/s, {:.1f} ms/step\n", p.model, p.length,
                 p.tokens_per_s.median, p.step_ms.median);
    } else {
      fmt::print(stderr, "  {} L={}: {} ({})\n", p.model, p.length, p.status, p.reason);
    }
  });
  fmt::print("{}", perf::to_markdown(report));
  if (!options.out.empty()) {
    write_atomically(options.out, perf::to_json(report).dump(2) + "\n");
    fmt::print("\nwrote {}\n", options.out);
  }
}
}  // namespace

void register_bench(CLI::App& app) {
  auto options = std::make_shared<BenchCommandOptions>();
  auto* cmd = app.add_subcommand(
      "bench", "Measure tokens/s, peak memory and FLOP/s per model and sequence length");
  cmd->add_option("--models", options->models, "registry names (default: all)")->delimiter(',');
  cmd->add_option("--lengths", options->lengths, "sequence lengths")->delimiter(',');
  cmd->add_option("--batch", options->bench.batch, "sequences per step");
  cmd->add_option("--memory", options->bench.memory_len, "memory size M of the Luna family");
  add_choice(cmd, "--mode", options->bench.mode, "train (forward, backward, AdamW) | infer");
  add_choice(cmd, "--precision", options->bench.precision, "fp32 | bf16 (autocast)");
  cmd->add_option("--warmup", options->bench.warmup, "untimed steps per point");
  cmd->add_option("--repeats", options->bench.repeats, "timed steps per point");
  cmd->add_option("--config", options->config,
                  "run configuration giving the model's sizes (default: LRA ListOps sizes)");
  cmd->add_option("--set", options->overrides, "override a key: --set model.dim=256")->take_all();
  cmd->add_option("--device", options->device, "cpu | cuda | cuda:N");
  cmd->add_option("--threads", options->threads, "CPU threads, 0 = all cores");
  cmd->add_option("--memory-limit", options->memory_limit_gib,
                  "skip lengths expected to need more GiB (default 80% of available)");
  cmd->add_option("--time-limit", options->bench.time_limit_s,
                  "skip lengths expected to take longer, in seconds per point");
  cmd->add_option("--seed", options->bench.seed, "seed of the weights and inputs");
  cmd->add_option("--out", options->out, "also write the results as JSON");
  cmd->callback([options] { run_bench(*options); });
}

}  // namespace lunar::cli
