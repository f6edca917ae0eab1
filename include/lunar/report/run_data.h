// What a report needs from a run directory, read without LibTorch: the setting (config.toml),
// the results (summary.json), the learning and collapse curves (metrics.jsonl) and the heatmap
// images (heatmaps/*.png).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lunar::report {

// One line of metrics.jsonl: a step, a split (train, val, diag, test, and data: the
// majority-class rates at step 0) and named values.
struct MetricsPoint {
  int64_t step = 0;
  std::string split;
  std::map<std::string, double> values;  // null values (non-finite when logged) are NaN
};

struct RunResults {  // summary.json
  int64_t steps = 0;
  int64_t best_step = 0;
  double best_validation_accuracy = 0.0;
  double test_accuracy_best = 0.0;
  double test_accuracy_last = 0.0;
  double majority_rate = 0.0;
  double seconds = 0.0;
  // The best checkpoint gave every test example one class; summaries written before lunar
  // recorded it say so by a test accuracy at the majority rate (at_majority_rate).
  bool best_predicts_one_class = false;
};

// An accuracy equal to the majority-class rate: both count examples of one test split divided by
// its size, so equality means the model most likely answers the majority class only.
bool at_majority_rate(double accuracy, double majority_rate);

struct RunData {
  std::filesystem::path dir;
  std::string architecture;              // model.architecture
  int64_t memory_len = 0;                // model.luna.memory_len
  std::string task;                      // task.name
  int64_t seed = 0;                      // train.seed
  std::optional<int64_t> planned_steps;  // train.steps, when the config has it
  std::string config_text;               // config.toml as written
  std::optional<RunResults> results;     // absent while the run is unfinished
  std::vector<MetricsPoint> metrics;
  std::vector<std::filesystem::path> heatmaps;  // sorted by name (memory_step000100.png, ...)
};

// What a heatmap's file name says: memory_step000200.png is P at step 200,
// memory_grad_step000200.png its gradient. `step` is -1 for a name of neither form.
struct HeatmapName {
  bool gradient = false;
  int64_t step = -1;
};
HeatmapName parse_heatmap_name(const std::filesystem::path& path);

// Reads one run directory. A missing or malformed config.toml, a malformed summary.json or a
// malformed metrics line throws lunar::DataError naming the file, the line and the field.
RunData load_run(const std::filesystem::path& dir);

// Every run directory (a folder holding config.toml) under `root`, `root` itself included,
// sorted by path. Throws when there is none.
std::vector<RunData> load_runs(const std::filesystem::path& root);

}  // namespace lunar::report
