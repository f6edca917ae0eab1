// The `[task]` keys.
#include "lunar/data/task_keys.h"

#include <algorithm>

#include "lunar/data/task.h"

namespace lunar::data {
namespace {

template <typename... Args>
keys::Key<TaskConfig> key(Args&&... args) {
  return keys::bind<TaskConfig>(std::forward<Args>(args)...);
}

keys::Rule task_name_rule() {
  auto rule = keys::one_of(task_names());
  rule.accepts = [](const keys::Value& v) {
    const auto names = task_names();
    return std::find(names.begin(), names.end(), std::get<std::string>(v)) != names.end();
  };
  return rule;
}

}  // namespace

std::vector<keys::Key<TaskConfig>> task_keys() {
  std::vector<keys::Key<TaskConfig>> out = {
      key(
          "name", [](auto& c) -> auto& { return c.name; }, task_name_rule(),
          "Task whose files task.path holds"),
      key(
          "path", [](auto& c) -> auto& { return c.path; }, keys::any_string(),
          "Folder holding the task's files (relative to the working directory)"),
      key(
          "max_length", [](auto& c) -> auto& { return c.max_length; }, keys::non_negative(),
          "Tokens per text without CLS; 0 = the task's default"),
      keys::bind<TaskConfig>(
          "padding", [](auto& c) -> auto& { return c.padding; },
          "Pad each batch to its longest example, or every batch to task.max_length as the "
          "research did (with masks off, an output then never depends on its batch)"),
      key(
          "validation_fraction", [](auto& c) -> auto& { return c.validation_fraction; },
          keys::fraction(), "Text only: held-out slice of train used for validation"),
      key(
          "cache_dir", [](auto& c) -> auto& { return c.cache_dir; }, keys::any_string(),
          "Tokenised-data cache; \"\" = $XDG_CACHE_HOME/lunar or ~/.cache/lunar, \"off\" disables "
          "it"),
      key(
          "limit", [](auto& c) -> auto& { return c.limit; }, keys::non_negative(),
          "Keep at most this many examples per split; 0 = all"),
  };
  for (const auto& name : task_names()) {
    for (auto& option : task_definition(name).options) out.push_back(std::move(option));
  }
  return out;
}

}  // namespace lunar::data
