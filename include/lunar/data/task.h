// The entry point trainers call: one table of tasks (name -> facts, sources, loader).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lunar/data/task_config.h"

namespace lunar::data {

// Static facts about a task; throws lunar::Error listing the valid names for an unknown one.
TaskInfo task_info(const std::string& name);

// The names in the task table, in table order.
std::vector<std::string> task_names();

// Loads all three splits, tokenised and truncated to the task's max length (config.max_length
// or the task default), through the binary cache unless config.cache_dir == "off".
// config.limit > 0 keeps at most that many examples per split. The returned info carries the
// max length in effect.
TaskData load_task(const TaskConfig& config);

// The files a task reads for `config` (the cache is keyed by their paths, sizes and times).
std::vector<std::filesystem::path> task_sources(const TaskConfig& config);

// What the LRA release should contain after lunar's split conventions (docs/data.md).
struct SplitCounts {
  int64_t train = 0, validation = 0, test = 0;
};
SplitCounts expected_counts(const TaskConfig& config);

}  // namespace lunar::data
