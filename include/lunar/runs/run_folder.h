// What a run directory holds, read without LibTorch: the setting (config.toml), the results
// (summary.json), the learning and collapse curves (metrics.jsonl) and the heatmap images.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lunar/runs/metrics_log.h"
#include "lunar/runs/summary.h"

namespace lunar::runs {

struct RunFolder {
  std::filesystem::path dir;
  // From config.toml, by the keys in the comments.
  std::string architecture;              // model.architecture
  int64_t memory_len = 0;                // model.luna.memory_len
  std::string task;                      // task.name
  int64_t seed = 0;                      // train.seed
  std::optional<int64_t> planned_steps;  // train.steps, when the config has it
  std::string config_text;               // config.toml as written
  std::optional<RunSummary> results;     // absent while the run is unfinished
  // A step, a split (train, val, diag, test, and data: the majority-class rates at step 0) and
  // named values per record.
  std::vector<MetricsRecord> metrics;
  std::vector<std::filesystem::path> heatmaps;  // list_heatmaps
};

// Reads one run directory, live or finished. A missing or malformed config.toml, a malformed
// summary.json or a malformed metrics line throws lunar::DataError naming the file, the line and
// the field.
RunFolder read_run_folder(const std::filesystem::path& dir);

// Every run directory (a folder holding config.toml) under `root`, `root` itself included,
// sorted by path, read with read_run_folder. Throws when there is none.
std::vector<RunFolder> read_run_folders(const std::filesystem::path& root);

}  // namespace lunar::runs
