// Shared by the commands that start from a checkpoint: rebuild the run's model and task config.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "lunar/models/model.h"
#include "lunar/train/config.h"

namespace lunar::cli {

struct CheckpointModel {
  train::RunConfig config;  // the run's configuration, with the caller's overrides applied
  models::LunarModel model{nullptr};
};

// Reads the configuration stored in `checkpoint`, applies `overrides` (e.g. task.path=...),
// builds the model and loads the checkpoint's weights (eval mode).
CheckpointModel load_checkpoint_model(const std::filesystem::path& checkpoint,
                                      const std::vector<std::string>& overrides);

}  // namespace lunar::cli
