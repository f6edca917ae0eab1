// The `[task]` configuration keys, declared beside TaskConfig; train composes them into the run
// configuration's keys.
#pragma once

#include <vector>

#include "lunar/core/keys.h"
#include "lunar/data/task_config.h"

namespace lunar::data {

// Named relative to the table: "name", "max_length". The common keys come first, then each task
// row's own options (TaskDefinition::options) in table order. task.name accepts the rows of the
// task table (task_names()), rows registered at run time included.
std::vector<keys::Key<TaskConfig>> task_keys();

}  // namespace lunar::data
