// `lunar eval`: accuracy and loss of a checkpoint on a split, batched and padded as the run
// evaluated it, so the test split reproduces the run's summary.json.
#include <fmt/format.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/data/task.h"
#include "lunar/runs/summary.h"
#include "lunar/runtime/platform.h"
#include "lunar/train/callbacks.h"
#include "lunar/train/checkpoint_model.h"
#include "lunar/train/evaluate.h"
#include "lunar/train/signals.h"

namespace lunar::cli {

namespace {
struct EvalOptions {
  std::string checkpoint;
  std::string split = "test";
  std::vector<std::string> overrides;
  std::string device = "cpu";
  int64_t batch_size = 0;  // 0 = the run's evaluation batch
};

void run_eval(const EvalOptions& options) {
  auto loaded = train::load_checkpoint_model(options.checkpoint, options.overrides);
  configure_threads(static_cast<int>(loaded.config.runtime.threads));
  const auto device = parse_device(options.device);
  loaded.model->to(device);
  const auto task = data::load_task(loaded.config.task);
  const std::vector<data::Example>* examples = nullptr;
  if (options.split == "test") examples = &task.test;
  if (options.split == "val") examples = &task.validation;
  if (options.split == "train") examples = &task.train;
  check(examples != nullptr, "[eval] expected --split train, val or test, got '{}'", options.split);
  const int64_t batch =
      options.batch_size > 0 ? options.batch_size : train::evaluation_batch_size(loaded.config);
  train::install_stop_handlers();
  train::EvalProgressLine progress(isatty(STDERR_FILENO) == 1);
  const auto result = train::evaluate(
      loaded.model, *examples, batch, train::padded_length(loaded.config), device,
      loaded.config.runtime.precision == train::Precision::bf16, [&](int64_t done, int64_t total) {
        progress.update(options.split, done, total);
        return !train::stop_requested();
      });
  if (!result.complete) {
    fmt::print(stderr, "\ninterrupted after {} of {} examples; nothing was written\n", result.count,
               examples->size());
    throw Interrupted{train::stop_signal()};
  }
  fmt::print("{} {} examples: accuracy {:.4f}  loss {:.4f}  majority class {:.4f}\n", options.split,
             result.count, result.accuracy, result.loss, train::majority_rate(*examples));
  if (train::predicts_one_class(result)) {
    fmt::print("warning: {}\n", runs::one_class_warning("the checkpoint", options.split));
  }
}
}  // namespace

void register_eval(CLI::App& app) {
  auto options = std::make_shared<EvalOptions>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a checkpoint on a split");
  cmd->add_option("--checkpoint", options->checkpoint, "checkpoint (.pt)")->required();
  cmd->add_option("--split", options->split, "train | val | test")->capture_default_str();
  cmd->add_option("--set", options->overrides, "override a key, e.g. task.path=...");
  cmd->add_option("--device", options->device, "cpu | cuda | auto")->capture_default_str();
  cmd->add_option("--batch-size", options->batch_size,
                  "examples per batch (default: the run's evaluation batch, as its summary.json)");
  cmd->callback([options] { run_eval(*options); });
}

}  // namespace lunar::cli
