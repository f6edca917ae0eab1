// metrics.jsonl + TensorBoard in one call, and what a run tells TensorBoard at its start and end.
#include "lunar/train/run_log.h"

#include <vector>

#include "lunar/models/registry.h"
#include "lunar/runs/layout.h"

namespace lunar::train {
namespace {

// Markdown's indented code block: every non-empty line gets 4 leading spaces.
std::string indent_as_code(const std::string& text) {
  std::string out;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    const size_t stop = end == std::string::npos ? text.size() : end + 1;
    if (text[begin] != '\n') out += "    ";
    out.append(text, begin, stop - begin);
    begin = stop;
  }
  return out;
}

}  // namespace

std::vector<HParam> run_hparams(const RunConfig& config) {
  const auto number = [](auto value) { return static_cast<double>(value); };
  return {
      {"model.architecture", config.model.architecture},
      {"task.name", config.task.name},
      {"model.dim", number(config.model.dim)},
      {"model.num_blocks", number(config.model.num_blocks)},
      {"model.num_heads", number(config.model.num_heads)},
      {"optim.lr", config.optim.lr},
      {"train.batch_size", number(config.train.batch_size)},
      {"train.steps", number(config.train.steps)},
      {"train.seed", number(config.train.seed)},
      {"runtime.precision", std::string(to_string(config.runtime.precision))},
      // Every run declares the same names, so that the Experiment TensorBoard takes from any
      // one run describes them all; a model without a memory has a memory of length 0.
      {"model.luna.memory_len", models::find_architecture(config.model.architecture).has_memory
                                    ? number(config.model.luna.memory_len)
                                    : 0.0},
  };
}

RunLog::RunLog(const std::filesystem::path& run_dir)
    : metrics_(runs::metrics_path(run_dir)), events_(runs::tensorboard_folder(run_dir)) {}

void RunLog::record(int64_t step, const std::string& split,
                    const std::map<std::string, double>& values) {
  metrics_.append({step, split, values});
  std::vector<Scalar> scalars;
  for (const auto& [name, value] : values) scalars.push_back({split + "/" + name, value});
  events_.add_scalars(step, scalars);
}

void RunLog::record_image(const std::string& tag, int64_t step, const std::string& png) {
  events_.add_image(tag, step, png);
}

void RunLog::record_start(const RunConfig& config, const std::string& config_toml) {
  record_config(0, config_toml);
  events_.add_hparams(0, run_hparams(config), kRunMetricTags);
}

void RunLog::record_config(int64_t step, const std::string& config_toml) {
  events_.add_text("config", step, indent_as_code(config_toml));
}

void RunLog::record_end(int64_t step) { events_.add_session_end(step, SessionStatus::kSuccess); }

void RunLog::record_failure(int64_t step) {
  events_.add_session_end(step, SessionStatus::kFailure);
}

}  // namespace lunar::train
