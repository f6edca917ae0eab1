// A run's model rebuilt from one of its checkpoints, with the run's configuration: what
// `lunar eval`, `predict`, `inspect` and `export` start from.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lunar/models/model.h"
#include "lunar/train/config.h"

namespace lunar::train {

struct CheckpointModel {
  RunConfig config;  // the run's configuration, with the caller's overrides applied
  models::LunarModel model{nullptr};
};

// Reads the configuration stored in `checkpoint`, applies `overrides` (e.g. task.path=...),
// builds the model and loads the checkpoint's weights (eval mode).
CheckpointModel load_checkpoint_model(const std::filesystem::path& checkpoint,
                                      const std::vector<std::string>& overrides);

}  // namespace lunar::train
