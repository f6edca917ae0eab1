// One training run from a configuration: loads the task, builds the model, trains with the
// standard callbacks, evaluates the test split at the best validation checkpoint and at the
// last one, and writes the run directory (lunar/runs/layout.h names its files).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "lunar/data/task_config.h"
#include "lunar/runs/summary.h"
#include "lunar/train/config.h"
#include "lunar/train/synchronizer.h"

namespace lunar::train {

struct RunOptions {
  bool resume = false;    // continue from resume_checkpoint(run_dir)
  bool terminal = false;  // progress as an updating line (stderr is a terminal)
  // Set when this process is one rank of a data-parallel group (lunar::dist); only rank 0
  // writes the run directory.
  std::shared_ptr<GradientSynchronizer> sync;
  // Called on rank 0 with the effective configuration (task facts applied) as it was just saved
  // in the run directory, once the run is accepted and before its first step.
  std::function<void(const std::string& config_toml)> on_config_saved;
};

// Copies the task's facts into the model configuration (vocabulary, classes, pair, pixel
// embedding, maximum length).
void apply_task_facts(RunConfig& config, const data::TaskInfo& info);

// The run's summary; summary.json holds it unless the run was interrupted.
runs::RunSummary run_training(RunConfig config, const RunOptions& options);

// The checkpoint --resume continues from: the newer, by stored step, of last.pt and best.pt
// (a run killed between writing best.pt and last.pt has only a newer best.pt). Throws when
// there is none, or when one of them is unreadable or corrupted.
std::filesystem::path resume_checkpoint(const std::filesystem::path& run_dir);

}  // namespace lunar::train
