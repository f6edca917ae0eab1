// The task table: every task's facts, sources, loader, expected counts and tokeniser in one row
// each. Adding a built-in task is one row in builtin_tasks(); a program adds its own with
// register_task.
#include <algorithm>
#include <cmath>
#include <mutex>

#include "lunar/core/error.h"
#include "lunar/data/cache.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "lunar/data/task_keys.h"
#include "lunar/data/tokenizer.h"

namespace lunar::data {
namespace {

SplitCounts text_counts(const TaskConfig& config) {
  // 25,000 train and 25,000 test; a held-out slice of train unless the fraction is 0.
  const auto held = static_cast<int64_t>(std::llround(config.validation_fraction * 25000));
  if (config.validation_fraction <= 0) return {25000, 25000, 25000};
  return {25000 - held, held, 25000};
}

// A release's fixed split sizes.
auto counts(int64_t train, int64_t validation, int64_t test) {
  return [=](const TaskConfig&) { return SplitCounts{train, validation, test}; };
}

// One row; the facts are name, vocab, classes, max length, pair, pixels[, pixel mean, std].
TaskDefinition row(TaskInfo info, decltype(TaskDefinition::sources) sources,
                   decltype(TaskDefinition::load) load, decltype(TaskDefinition::expected) expected,
                   decltype(TaskDefinition::tokenize) tokenize,
                   decltype(TaskDefinition::options) options = {}) {
  return {std::move(info),     std::move(sources),  std::move(load),
          std::move(expected), std::move(tokenize), std::move(options)};
}

std::vector<TaskDefinition> builtin_tasks() {
  std::vector<TaskDefinition> rows;
  rows.push_back(row({"listops", kListOpsVocabSize, 10, 2000, false, false}, listops_sources,
                     load_listops, counts(96000, 2000, 2000), listops_tokens));
  rows.push_back(row({"text", kByteVocabSize, 2, 4000, false, false}, text_sources, load_text,
                     text_counts, byte_tokens));
  rows.push_back(row({"matching", kByteVocabSize, 2, 4000, true, false}, matching_sources,
                     load_matching, counts(147086, 18090, 17437), byte_tokens));
  rows.push_back(row({"cifar10", kPixelVocabSize, 10, 1024, false, true}, cifar10_sources,
                     load_cifar10, counts(45000, 5000, 10000), {}));
  rows.push_back(row({"fmnist", kPixelVocabSize, 10, 784, false, true}, fmnist_sources, load_fmnist,
                     counts(54000, 6000, 10000), {}));
  rows.push_back(row({"pathfinder", kPixelVocabSize, 2, 1024, false, true, 0.5, 0.5},
                     pathfinder_sources, load_pathfinder, counts(160000, 20000, 20000), {},
                     {pathfinder_difficulty_key()}));
  return rows;
}

// The table and its lock: rows are only ever added, and lookups return copies, so a row a
// loader is running from stays valid while another thread registers.
struct Table {
  std::mutex mutex;
  std::vector<TaskDefinition> rows = builtin_tasks();
};

Table& table() {
  static Table instance;
  return instance;
}

std::string joined_names(const std::vector<TaskDefinition>& rows) {
  std::string names;
  for (const auto& row : rows) names += (names.empty() ? "" : ", ") + row.info.name;
  return names;
}

// The values of a row's own keys, space-separated, strings as written ("curv_baseline").
std::string option_values(const std::vector<keys::Key<TaskConfig>>& options,
                          const TaskConfig& config) {
  std::string text;
  for (const auto& option : options) {
    const keys::Value value = option.get(config);
    const auto* name = std::get_if<std::string>(&value);
    text += (text.empty() ? "" : " ") + (name ? *name : keys::format_value(value));
  }
  return text;
}

// The config with max_length resolved to the task default (pixel tasks keep whole images).
TaskConfig resolved(const TaskConfig& config, const TaskInfo& info) {
  TaskConfig out = config;
  check(config.max_length >= 0, "[data] expected max_length >= 0, got {}", config.max_length);
  check(config.validation_fraction >= 0 && config.validation_fraction < 1,
        "[data] expected 0 <= validation_fraction < 1, got {}", config.validation_fraction);
  if (out.max_length == 0 || info.pixels) out.max_length = info.max_length;
  return out;
}

}  // namespace

void register_task(TaskDefinition definition) {
  const TaskInfo& info = definition.info;
  check(!info.name.empty(), "[data] register_task: expected a task name, got an empty one");
  check(definition.sources && definition.load && definition.expected,
        "[data] register_task '{}': expected sources, load and expected, got an empty function",
        info.name);
  check(info.pixels || definition.tokenize,
        "[data] register_task '{}': expected a tokenize function for a task of tokens, got none",
        info.name);
  check(info.vocab_size >= 2 && info.num_classes >= 2 && info.max_length >= 1,
        "[data] register_task '{}': expected vocab_size >= 2, num_classes >= 2, max_length >= 1, "
        "got {}, {}, {}",
        info.name, info.vocab_size, info.num_classes, info.max_length);
  const auto taken = task_keys();
  for (const auto& option : definition.options) {
    check(option.get && option.set &&
              std::none_of(taken.begin(), taken.end(),
                           [&](const auto& k) { return k.key == option.key; }),
          "[data] register_task '{}': expected options with new key names, got task.{}", info.name,
          option.key);
  }
  auto& registry = table();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  for (const auto& row : registry.rows) {
    check(row.info.name != info.name,
          "[data] register_task: expected a new task name, got '{}', which is taken", info.name);
  }
  registry.rows.push_back(std::move(definition));
}

TaskDefinition task_definition(const std::string& name) {
  auto& registry = table();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  for (const auto& row : registry.rows) {
    if (row.info.name == name) return row;
  }
  throw Error(
      fmt::format("[data] expected a task name ({}), got '{}'", joined_names(registry.rows), name));
}

TaskInfo task_info(const std::string& name) { return task_definition(name).info; }

std::vector<std::string> task_names() {
  auto& registry = table();
  const std::lock_guard<std::mutex> lock(registry.mutex);
  std::vector<std::string> names;
  for (const auto& row : registry.rows) names.push_back(row.info.name);
  return names;
}

std::vector<fs::path> task_sources(const TaskConfig& config) {
  const TaskDefinition task = task_definition(config.name);
  return task.sources(resolved(config, task.info));
}

SplitCounts expected_counts(const TaskConfig& config) {
  return task_definition(config.name).expected(config);
}

TaskData load_task(const TaskConfig& config) {
  const TaskDefinition task = task_definition(config.name);
  check(!config.path.empty(), "[data] expected a path for task '{}', got none", config.name);
  const TaskConfig effective = resolved(config, task.info);
  const std::vector<fs::path> sources = task.sources(effective);

  TaskData data;
  const fs::path folder = cache_folder(effective);
  bool loaded = false;
  uint64_t key = 0;
  fs::path file;
  if (!folder.empty()) {
    key = cache_key(effective, option_values(task.options, effective), sources);
    file = cache_file(folder, effective.name, key);
    if (auto cached = read_cache(file, key)) {
      data = std::move(*cached);
      loaded = true;
    }
  }
  if (!loaded) {
    data = task.load(effective);
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
    throw DataError(sources.empty() ? effective.path : sources.front().string(), 0, "train",
                    "expected examples in the training split, got none");
  }
  data.info = task.info;
  data.info.max_length = effective.max_length;
  if (config.limit > 0) {
    for (auto* split : {&data.train, &data.validation, &data.test}) {
      if (static_cast<int64_t>(split->size()) > config.limit) split->resize(config.limit);
    }
  }
  return data;
}

}  // namespace lunar::data
