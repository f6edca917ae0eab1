// Reading a run directory; its config.toml with toml++.
#include "lunar/runs/run_folder.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <toml++/toml.h>
#include <algorithm>

#include "lunar/core/error.h"
#include "lunar/runs/layout.h"
#include "text_file.h"

namespace lunar::runs {

namespace fs = std::filesystem;

namespace {

// The configuration keys a report reads; train.steps may be absent.
constexpr char kArchitectureKey[] = "model.architecture";
constexpr char kMemoryLenKey[] = "model.luna.memory_len";
constexpr char kTaskKey[] = "task.name";
constexpr char kSeedKey[] = "train.seed";
constexpr char kStepsKey[] = "train.steps";

template <typename T>
T config_value(const toml::table& table, const fs::path& path, const std::string& key) {
  const auto node = table.at_path(key);
  if (!node) throw DataError(path.string(), 0, key, "expected the key, got none");
  const auto value = node.value_exact<T>();
  if (!value) {
    throw DataError(path.string(), static_cast<int64_t>(node.node()->source().begin.line), key,
                    "expected a value of the key's type");
  }
  return *value;
}

void read_config(RunFolder& run) {
  const auto path = config_path(run.dir);
  run.config_text = read_text_file(path);
  toml::table table;
  try {
    table = toml::parse(run.config_text, path.string());
  } catch (const toml::parse_error& error) {
    throw DataError(path.string(), static_cast<int64_t>(error.source().begin.line), "",
                    fmt::format("expected valid TOML: {}", error.description()));
  }
  run.architecture = config_value<std::string>(table, path, kArchitectureKey);
  run.memory_len = config_value<int64_t>(table, path, kMemoryLenKey);
  run.task = config_value<std::string>(table, path, kTaskKey);
  run.seed = config_value<int64_t>(table, path, kSeedKey);
  if (table.at_path(kStepsKey)) run.planned_steps = config_value<int64_t>(table, path, kStepsKey);
}

}  // namespace

RunFolder read_run_folder(const fs::path& dir) {
  RunFolder run;
  run.dir = dir;
  read_config(run);
  if (fs::exists(summary_path(dir))) run.results = read_summary(summary_path(dir));
  if (fs::exists(metrics_path(dir))) run.metrics = read_metrics_log(metrics_path(dir));
  run.heatmaps = list_heatmaps(dir);
  return run;
}

std::vector<RunFolder> read_run_folders(const fs::path& root) {
  check(fs::is_directory(root), "[runs] expected a folder of run directories, got '{}'",
        root.string());
  std::vector<fs::path> dirs;
  if (is_run_dir(root)) dirs.push_back(root);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    if (!it->is_directory()) continue;
    if (is_run_part(it->path().filename().string())) {
      it.disable_recursion_pending();
    } else if (is_run_dir(it->path())) {
      dirs.push_back(it->path());
      it.disable_recursion_pending();
    }
  }
  check(!dirs.empty(), "[runs] expected run directories (with config.toml) under '{}', got none",
        root.string());
  std::sort(dirs.begin(), dirs.end());
  std::vector<RunFolder> loaded;
  for (const auto& dir : dirs) loaded.push_back(read_run_folder(dir));
  return loaded;
}

}  // namespace lunar::runs
