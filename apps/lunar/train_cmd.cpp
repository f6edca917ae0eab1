// `lunar train`: one training run from a configuration file.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/dist/data_parallel.h"
#include "lunar/dist/env.h"
#include "lunar/runs/layout.h"
#include "lunar/runs/summary.h"
#include "lunar/runtime/compat.h"
#include "lunar/runtime/platform.h"
#include "lunar/train/config.h"
#include "lunar/train/run.h"
#include "lunar/train/signals.h"

namespace lunar::cli {

namespace {
struct TrainOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string device;
  int64_t threads = -1;
  bool run_dir_given = false;  // --run-dir "" is an error, not "use the configuration's"
  bool resume = false;
  bool list_keys = false;
  bool json = false;  // --list-keys as JSON
  bool distributed = false;
};

void list_keys(bool json) {
  if (json) {
    fmt::print("{}", train::describe_keys_json());
    return;
  }
  for (const auto& key : train::describe_keys()) {
    fmt::print("{:<36} {:<10} default {:<14} {}\n", key.key, key.type, key.default_value,
               key.description);
  }
}

// Ends an interrupted run with Interrupted; a rank stopped because another one received the
// signal reports SIGTERM.
void stop_if_interrupted(const runs::RunSummary& summary) {
  if (!summary.interrupted) return;
  const int signal = train::stop_signal();
  throw Interrupted{signal != 0 ? signal : SIGTERM};
}

void run_train(const TrainOptions& options) {
  if (options.list_keys) return list_keys(options.json);
  check(!options.run_dir_given || !options.run_dir.empty(),
        "[train] --run-dir: expected a folder, got an empty string");
  train::RunConfig config;
  if (!options.config.empty()) config = train::load_config(options.config);
  if (options.run_dir_given) config.run_dir = options.run_dir;
  const std::string run_dir = config.run_dir;
  if (options.resume) {
    // A resumed run continues with its own saved configuration (overrides still apply), in
    // the folder it was found in: a copied or moved run resumes in place.
    const auto saved = runs::config_path(run_dir);
    check(std::filesystem::exists(saved), "[train] --resume: expected a run in '{}', found no {}",
          run_dir, saved.string());
    config = train::load_config(saved);
    config.run_dir = run_dir;
  } else {
    check(!options.config.empty(), "[train] expected --config FILE (or --resume --run-dir DIR)");
  }
  std::vector<std::string> overrides = options.overrides;
  if (!options.device.empty()) overrides.push_back("runtime.device=" + options.device);
  if (options.threads >= 0) overrides.push_back(fmt::format("runtime.threads={}", options.threads));
  train::apply_overrides(config, overrides);
  check(!options.resume || config.run_dir == run_dir,
        "[train] --resume continues the run in '{}': expected no other run_dir, got '{}'", run_dir,
        config.run_dir);
  // One rank of a data-parallel run: with --distributed, or when a launcher set WORLD_SIZE > 1.
  std::optional<dist::DistEnv> env;
  if (options.distributed || dist::env_requests_distributed(dist::process_environment())) {
    env = dist::parse_env(dist::process_environment());
    if (config.runtime.device == "cuda" ||
        (config.runtime.device == "auto" && compat::cuda_available())) {
      config.runtime.device = fmt::format("cuda:{}", env->local_rank);  // one GPU per rank
    }
  }
  const bool main_rank = !env || env->rank == 0;
  train::RunOptions run_options;
  run_options.resume = options.resume;
  run_options.terminal = isatty(STDERR_FILENO) == 1;
  if (env) {
    run_options.sync = std::make_shared<dist::DataParallel>(
        dist::ProcessGroup::connect(*env, parse_device(config.runtime.device),
                                    std::chrono::seconds(config.runtime.dist_timeout_s)));
  }
  if (!main_rank) {  // rank 0 prints and writes the run directory
    stop_if_interrupted(train::run_training(config, run_options));
    return;
  }
  // Printed once the run is accepted: exactly what config.toml holds, comments left out.
  run_options.on_config_saved = [&config, &env](const std::string& config_toml) {
    fmt::print("# effective configuration (saved as {}/config.toml)\n", config.run_dir);
    std::istringstream lines(config_toml);
    for (std::string line; std::getline(lines, line);) {
      const auto comment = line.find("  # ");
      if (line.empty() || line[0] == '#') continue;
      fmt::print("{}\n", comment == std::string::npos ? line : line.substr(0, comment));
    }
    fmt::print("lunar train: {} on {} -> {}\n", config.model.architecture, config.task.name,
               config.run_dir);
    if (env) {
      fmt::print("distributed: {} ranks, rendezvous at {}:{}\n", env->world_size, env->master_addr,
                 env->master_port);
    }
  };
  const auto summary = train::run_training(config, run_options);
  if (summary.interrupted) {
    fmt::print("interrupted at step {}; resume with: lunar train --resume --run-dir {}\n",
               summary.steps, summary.run_dir);
    stop_if_interrupted(summary);
  }
  fmt::print("steps {}  parameters {}  time {:.1f} s\n", summary.steps, summary.parameters,
             summary.seconds);
  fmt::print("best validation accuracy {:.4f} at step {}\n", summary.best_validation_accuracy,
             summary.best_step);
  fmt::print("test accuracy {:.4f} (best checkpoint)  {:.4f} (last)  majority class {:.4f}\n",
             summary.test_accuracy_best, summary.test_accuracy_last, summary.majority_rate);
  if (summary.best_predicts_one_class) {
    fmt::print("warning: {}\n", runs::one_class_warning("the best checkpoint", "test"));
  }
  fmt::print("run directory: {}\n", summary.run_dir);
}
}  // namespace

void register_train(CLI::App& app) {
  auto options = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand("train", "Train a model from a TOML configuration");
  cmd->add_option("-c,--config", options->config, "configuration file (configs/...)");
  cmd->add_option("--set", options->overrides, "override a key: --set train.steps=100")->take_all();
  auto* run_dir =
      cmd->add_option("--run-dir", options->run_dir, "run directory (overrides run_dir)");
  cmd->add_option("--device", options->device, "cpu | cuda | cuda:N | auto (runtime.device)");
  cmd->add_option("--threads", options->threads, "CPU threads, 0 = all cores (runtime.threads)");
  cmd->add_flag("--resume", options->resume, "continue the run in its run directory");
  cmd->add_flag("--list-keys", options->list_keys, "list every configuration key and exit");
  cmd->add_flag("--json", options->json,
                "with --list-keys: as JSON (key, type, default, expected, values, description)");
  cmd->add_flag("--distributed", options->distributed,
                "one rank of a data-parallel run (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE; "
                "implied when WORLD_SIZE > 1)");
  cmd->callback([options, run_dir] {
    options->run_dir_given = run_dir->count() > 0;
    run_train(*options);
  });
}

}  // namespace lunar::cli
