// `lunar data listops` (generate LRA ListOps) and `lunar data check` (inspect a task's files).
#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "lunar/data/check.h"
#include "lunar/data/listops_generator.h"
#include "lunar/data/task.h"

namespace lunar::cli {
namespace {

struct ListOpsCommand {
  data::ListOpsOptions options;
  std::string out;
};

struct CheckCommand {
  data::TaskConfig config;
};

void run_listops(const ListOpsCommand& command) {
  const auto start = std::chrono::steady_clock::now();
  const auto summary = data::write_listops(command.options, command.out);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << fmt::format(
      "wrote {}/basic_{{train,val,test}}.tsv: {} / {} / {} examples ({} trees drawn) in {:.2f} s\n",
      command.out, summary.train, summary.val, summary.test, summary.attempts, seconds);
}

void run_check(const CheckCommand& command) {
  const auto start = std::chrono::steady_clock::now();
  const data::TaskData task = data::load_task(command.config);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto report = data::summarize_task(task, data::expected_counts(command.config));
  std::cout << data::format_check_report(report);
  std::cout << fmt::format("loaded in {:.2f} s\n", seconds);
}

}  // namespace

void register_data(CLI::App& app) {
  auto* data_app = app.add_subcommand("data", "Generate and inspect task data");
  data_app->require_subcommand(1);

  auto listops = std::make_shared<ListOpsCommand>();
  auto* generate = data_app->add_subcommand(
      "listops", "Generate LRA ListOps (basic_{train,val,test}.tsv) with a seeded generator");
  generate->add_option("--out", listops->out, "Output folder")->required();
  generate->add_option("--seed", listops->options.seed, "Random seed")->capture_default_str();
  generate->add_option("--train", listops->options.num_train, "Training examples")
      ->capture_default_str();
  generate->add_option("--val", listops->options.num_val, "Validation examples")
      ->capture_default_str();
  generate->add_option("--test", listops->options.num_test, "Test examples")->capture_default_str();
  generate
      ->add_option("--min-len", listops->options.min_length,
                   "Accept trees longer than this many tokens")
      ->capture_default_str();
  generate
      ->add_option("--max-len", listops->options.max_length,
                   "Accept trees shorter than this many tokens")
      ->capture_default_str();
  generate->add_option("--max-depth", listops->options.max_depth, "Maximum tree depth")
      ->capture_default_str();
  generate->add_option("--max-args", listops->options.max_args, "Maximum operator arguments")
      ->capture_default_str();
  generate->callback([listops] { run_listops(*listops); });

  auto check = std::make_shared<CheckCommand>();
  auto* inspect = data_app->add_subcommand(
      "check", "Load a task and report counts, label balance and lengths against the LRA release");
  std::string names;
  for (const auto& name : data::task_names()) names += (names.empty() ? "" : "|") + name;
  inspect->add_option("--task", check->config.name, names)->required();
  inspect->add_option("--path", check->config.path, "Folder (or file) holding the task's data")
      ->required();
  inspect->add_option("--max-length", check->config.max_length, "Tokens per text (0 = default)")
      ->capture_default_str();
  inspect
      ->add_option("--validation-fraction", check->config.validation_fraction,
                   "Text: held-out share of train (0 = validate on test)")
      ->capture_default_str();
  inspect->add_option("--difficulty", check->config.pathfinder_difficulty, "Pathfinder difficulty")
      ->capture_default_str();
  inspect->add_option(
      "--cache-dir", check->config.cache_dir,
      "Cache folder (\"\" = $XDG_CACHE_HOME/lunar or ~/.cache/lunar, off = no cache)");
  inspect->add_option("--limit", check->config.limit, "Keep at most this many examples per split")
      ->capture_default_str();
  inspect->callback([check] { run_check(*check); });
}

}  // namespace lunar::cli
