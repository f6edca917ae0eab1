// The entry point trainers call: one table of tasks, one row each (name, facts, loader), to
// which a program may add its own rows with register_task.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lunar/core/keys.h"
#include "lunar/data/task_config.h"

namespace lunar::data {

// What a complete release should contain after lunar's split conventions (docs/data.md).
struct SplitCounts {
  int64_t train = 0, validation = 0, test = 0;
};

// One row of the task table: everything lunar knows about a task lives here.
struct TaskDefinition {
  // Name (task.name), vocabulary, classes, default max length, pair, pixels and the pixel
  // normalisation: the model's input facts (train::apply_task_facts copies them).
  TaskInfo info;
  // The files `load` reads for a config, first the one to name when a split is empty; the
  // binary cache is keyed by their paths, sizes and times.
  std::function<std::vector<std::filesystem::path>(const TaskConfig&)> sources;
  // The three splits, tokenised and cut to config.max_length (already the task default when
  // the user left it 0); throws DataError on malformed files.
  std::function<TaskData(const TaskConfig&)> load;
  // What a complete release holds, for `lunar data check`.
  std::function<SplitCounts(const TaskConfig&)> expected;
  // Tokens of one user-typed text (`lunar predict`) cut to max_length (<= 0: no cut). Pixel
  // tasks leave it empty: they read intensities.
  std::function<std::vector<int32_t>(std::string_view text, int64_t max_length)> tokenize;
  // The task's own `[task]` keys (Pathfinder's difficulty), bound to fields of TaskConfig:
  // task_keys() lists them after the common keys, and the binary cache is keyed by their values
  // when this task is chosen. Empty for most tasks.
  std::vector<keys::Key<TaskConfig>> options = {};
};

// Adds a row to the task table; task.name then selects it like a built-in task. Throws
// lunar::Error when the name is empty or taken, a function is missing, the facts are
// impossible (vocab_size < 2, num_classes < 2, max_length < 1), or an option's key is taken.
void register_task(TaskDefinition definition);

// A copy of a task's row; throws lunar::Error listing the valid names for an unknown one.
TaskDefinition task_definition(const std::string& name);

// Static facts about a task (task_definition(name).info).
TaskInfo task_info(const std::string& name);

// The names in the task table, in table order (built-in rows first, then registered ones).
std::vector<std::string> task_names();

// Loads all three splits, tokenised and truncated to the task's max length (config.max_length
// or the task default), through the binary cache unless config.cache_dir == "off".
// config.limit > 0 keeps at most that many examples per split. The returned info carries the
// max length in effect.
TaskData load_task(const TaskConfig& config);

// The files a task reads for `config` (the cache is keyed by their paths, sizes and times).
std::vector<std::filesystem::path> task_sources(const TaskConfig& config);

// What the LRA release should contain for `config` (the row's `expected`).
SplitCounts expected_counts(const TaskConfig& config);

}  // namespace lunar::data
