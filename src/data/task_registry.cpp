// The task table: every task's facts, sources, loader and expected counts in one row each.
#include <array>
#include <cmath>
#include <functional>

#include "lunar/core/error.h"
#include "lunar/data/cache.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

struct TaskEntry {
  TaskInfo info;
  std::vector<fs::path> (*sources)(const TaskConfig&);
  TaskData (*load)(const TaskConfig&);
  SplitCounts (*expected)(const TaskConfig&);
};

SplitCounts text_counts(const TaskConfig& config) {
  // 25,000 train and 25,000 test; a held-out slice of train unless the fraction is 0.
  const auto held = static_cast<int64_t>(std::llround(config.validation_fraction * 25000));
  if (config.validation_fraction <= 0) return {25000, 25000, 25000};
  return {25000 - held, held, 25000};
}

const std::array<TaskEntry, 6>& table() {
  // name, vocab, classes, max length, pair, pixels[, pixel mean, pixel std]
  static const std::array<TaskEntry, 6> entries = {{
      {{"listops", kListOpsVocabSize, 10, 2000, false, false},
       listops_sources,
       load_listops,
       [](const TaskConfig&) {
         return SplitCounts{96000, 2000, 2000};
       }},
      {{"text", kByteVocabSize, 2, 4000, false, false}, text_sources, load_text, text_counts},
      {{"matching", kByteVocabSize, 2, 4000, true, false},
       matching_sources,
       load_matching,
       [](const TaskConfig&) {
         return SplitCounts{147086, 18090, 17437};
       }},
      {{"cifar10", kPixelVocabSize, 10, 1024, false, true},
       cifar10_sources,
       load_cifar10,
       [](const TaskConfig&) {
         return SplitCounts{45000, 5000, 10000};
       }},
      {{"fmnist", kPixelVocabSize, 10, 784, false, true},
       fmnist_sources,
       load_fmnist,
       [](const TaskConfig&) {
         return SplitCounts{54000, 6000, 10000};
       }},
      {{"pathfinder", kPixelVocabSize, 2, 1024, false, true, 0.5, 0.5},
       pathfinder_sources,
       load_pathfinder,
       [](const TaskConfig&) {
         return SplitCounts{160000, 20000, 20000};
       }},
  }};
  return entries;
}

const TaskEntry& find_entry(const std::string& name) {
  for (const auto& entry : table()) {
    if (entry.info.name == name) return entry;
  }
  std::string names;
  for (const auto& entry : table()) names += (names.empty() ? "" : ", ") + entry.info.name;
  throw Error(fmt::format("[data] expected a task name ({}), got '{}'", names, name));
}

// The config with max_length resolved to the task default (pixel tasks keep whole images).
TaskConfig resolved(const TaskConfig& config, const TaskEntry& entry) {
  TaskConfig out = config;
  check(config.max_length >= 0, "[data] expected max_length >= 0, got {}", config.max_length);
  check(config.validation_fraction >= 0 && config.validation_fraction < 1,
        "[data] expected 0 <= validation_fraction < 1, got {}", config.validation_fraction);
  if (out.max_length == 0 || entry.info.pixels) out.max_length = entry.info.max_length;
  return out;
}

}  // namespace

TaskInfo task_info(const std::string& name) { return find_entry(name).info; }

std::vector<std::string> task_names() {
  std::vector<std::string> names;
  for (const auto& entry : table()) names.push_back(entry.info.name);
  return names;
}

std::vector<fs::path> task_sources(const TaskConfig& config) {
  const TaskEntry& entry = find_entry(config.name);
  return entry.sources(resolved(config, entry));
}

SplitCounts expected_counts(const TaskConfig& config) {
  return find_entry(config.name).expected(config);
}

TaskData load_task(const TaskConfig& config) {
  const TaskEntry& entry = find_entry(config.name);
  check(!config.path.empty(), "[data] expected a path for task '{}', got none", config.name);
  const TaskConfig effective = resolved(config, entry);

  TaskData data;
  const fs::path folder = cache_folder(effective);
  bool loaded = false;
  uint64_t key = 0;
  fs::path file;
  if (!folder.empty()) {
    key = cache_key(effective, entry.sources(effective));
    file = cache_file(folder, effective.name, key);
    if (auto cached = read_cache(file, key)) {
      data = std::move(*cached);
      loaded = true;
    }
  }
  if (!loaded) {
    data = entry.load(effective);
    if (!folder.empty()) {
      // The cache is an optimisation: a read-only data folder must not stop training.
      try {
        write_cache(file, key, data);
      } catch (const std::exception&) {
      }
    }
  }
  if (data.train.empty()) {
    // Training cannot start without examples; `data check` says so as `train` would.
    throw DataError(entry.sources(effective).front().string(), 0, "train",
                    "expected examples in the training split, got none");
  }
  data.info = entry.info;
  data.info.max_length = effective.max_length;
  if (config.limit > 0) {
    for (auto* split : {&data.train, &data.validation, &data.test}) {
      if (static_cast<int64_t>(split->size()) > config.limit) split->resize(config.limit);
    }
  }
  return data;
}

}  // namespace lunar::data
