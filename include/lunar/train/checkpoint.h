// Checkpoints: model, optimizer, schedule position, every rank's RNG and data position, plus the
// run's configuration, written atomically so a run killed at any moment resumes from the last
// one.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <filesystem>
#include <string>

#include "lunar/data/batch_loader.h"

namespace lunar::train {

// Everything besides weights and optimizer state that a resumed run needs to continue exactly.
struct TrainingState {
  int64_t step = 0;                 // optimizer steps completed
  data::LoaderState loader;         // the next training batch
  int64_t best_step = 0;            // step of the best validation accuracy (0 = none yet)
  double best_accuracy = -1.0;      // best validation accuracy so far
  int64_t evals_since_best = 0;     // for early stopping
  bool evaluation_pending = false;  // step's evaluation was stopped: the resumed run does it first
  at::Tensor rng;  // [ranks, bytes]: row r is rank r's random_state (undefined: none saved)
};

// Saves to `path` atomically. `optimizer` may be null (weights-only checkpoints).
void save_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                     torch::optim::Optimizer* optimizer, const TrainingState& state,
                     const std::string& config_toml);

struct CheckpointContents {
  TrainingState state;
  std::string config_toml;  // the effective configuration of the run that wrote it
};

// Reads the configuration and state only (to rebuild the model before loading weights).
CheckpointContents read_checkpoint_header(const std::filesystem::path& path);

// Loads weights into `model` (names and shapes must match) and the optimizer state when
// `optimizer` is not null. The random states are returned in `state.rng`, not applied.
CheckpointContents load_checkpoint(const std::filesystem::path& path, torch::nn::Module& model,
                                   torch::optim::Optimizer* optimizer);

}  // namespace lunar::train
