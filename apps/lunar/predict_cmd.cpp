// `lunar predict`: classes and probabilities (or raw logits) for examples, one per line.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint_model.h"
#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/data/batch_loader.h"
#include "lunar/data/input_line.h"
#include "lunar/data/task.h"
#include "lunar/train/evaluate.h"

namespace lunar::cli {

namespace {
struct PredictOptions {
  std::string checkpoint;
  std::string input = "-";
  bool logits = false;
  std::vector<std::string> overrides;
  int64_t batch_size = 32;
};

std::vector<data::Example> read_examples(const PredictOptions& options, const data::TaskInfo& info,
                                         int64_t max_length) {
  std::ifstream file;
  if (options.input != "-") {
    file.open(options.input, std::ios::binary);
    check(static_cast<bool>(file), "[predict] cannot open input '{}'", options.input);
  }
  std::istream& in = options.input == "-" ? std::cin : file;
  const std::string source = options.input == "-" ? "<stdin>" : options.input;
  std::vector<data::Example> examples;
  std::string line;
  // Every line is an example, an empty one too (an error), so outputs line up with inputs.
  for (int64_t number = 1; std::getline(in, line); ++number) {
    examples.push_back(data::parse_input_line(info, line, max_length, source, number));
  }
  check(!examples.empty(), "[predict] expected at least one example in '{}'", source);
  return examples;
}

void run_predict(const PredictOptions& options) {
  auto loaded = load_checkpoint_model(options.checkpoint, options.overrides);
  auto info = data::task_info(loaded.config.task.name);
  const auto examples = read_examples(options, info, loaded.config.model.input.max_length);
  const int64_t pad_to = train::padded_length(loaded.config);
  at::NoGradGuard no_grad;
  for (size_t start = 0; start < examples.size(); start += options.batch_size) {
    std::vector<int64_t> indices;
    for (size_t i = start; i < std::min(examples.size(), start + options.batch_size); ++i) {
      indices.push_back(static_cast<int64_t>(i));
    }
    const auto batch = data::collate(examples, indices, pad_to);
    const auto logits = loaded.model->forward(train::to_model_input(batch, at::kCPU)).logits;
    const auto values = options.logits ? logits : at::softmax(logits, -1);
    const auto classes = logits.argmax(-1);
    for (int64_t row = 0; row < logits.size(0); ++row) {
      std::vector<std::string> numbers;
      for (int64_t c = 0; c < values.size(1); ++c) {
        numbers.push_back(fmt::format("{:.9g}", values[row][c].item<double>()));
      }
      fmt::print("{}\t{}\n", classes[row].item<int64_t>(), fmt::join(numbers, " "));
    }
  }
}
}  // namespace

void register_predict(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  auto* cmd = app.add_subcommand(
      "predict", "Predict classes for examples, one per line (prints: class TAB probabilities)");
  cmd->add_option("--checkpoint", options->checkpoint, "checkpoint (.pt)")->required();
  cmd->add_option("--input", options->input, "file with one example per line; - for stdin")
      ->capture_default_str();
  cmd->add_flag("--logits", options->logits, "print raw logits instead of probabilities");
  cmd->add_option("--set", options->overrides, "override a key of the stored configuration");
  cmd->add_option("--batch-size", options->batch_size, "examples per batch")->capture_default_str();
  cmd->callback([options] { run_predict(*options); });
}

}  // namespace lunar::cli
