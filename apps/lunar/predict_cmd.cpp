// `lunar predict`: classes and probabilities (or raw logits) for examples, one per line.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/train/classifier.h"

namespace lunar::cli {

namespace {
struct PredictOptions {
  std::string checkpoint;
  std::string input = "-";
  bool logits = false;
  std::vector<std::string> overrides;
  int64_t batch_size = 32;
};

// Every line is an input, an empty one too (an error), so outputs line up with inputs.
std::vector<std::string> read_lines(const std::string& input) {
  std::ifstream file;
  if (input != "-") {
    file.open(input, std::ios::binary);
    check(static_cast<bool>(file), "[predict] cannot open input '{}'", input);
  }
  std::istream& in = input == "-" ? std::cin : file;
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  check(!lines.empty(), "[predict] expected at least one example in '{}'",
        input == "-" ? "<stdin>" : input);
  return lines;
}

void run_predict(const PredictOptions& options) {
  train::Classifier classifier(options.checkpoint, options.overrides);
  const auto predictions =
      classifier.classify(read_lines(options.input),
                          options.input == "-" ? "<stdin>" : options.input, options.batch_size);
  for (const auto& prediction : predictions) {
    std::vector<std::string> numbers;
    for (double value : options.logits ? prediction.logits : prediction.probabilities) {
      numbers.push_back(fmt::format("{:.9g}", value));
    }
    fmt::print("{}\t{}\n", prediction.label, fmt::join(numbers, " "));
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
