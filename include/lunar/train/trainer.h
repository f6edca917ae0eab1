// The training loop (docs/training.md): AdamW, the learning-rate schedule, gradient accumulation,
// clipping, evaluation every E steps on the full validation set, best/last checkpoints and
// early stopping. Progress, logs and diagnostics attach as callbacks.
#pragma once

#include <torch/optim/optimizer.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "lunar/data/task_config.h"
#include "lunar/models/model.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/config.h"
#include "lunar/train/evaluate.h"
#include "lunar/train/synchronizer.h"

namespace lunar::train {

struct StepRecord {
  int64_t step = 0;
  int64_t total_steps = 0;
  double loss = 0, accuracy = 0;  // on this step's global batch
  double learning_rate = 0;
  double grad_norm = 0;          // before clipping
  double tokens_per_second = 0;  // real (unpadded) tokens
  double seconds = 0;            // wall time of the step
};

struct EvalRecord {
  int64_t step = 0;
  EvalResult validation;
  bool improved = false;  // a new best validation accuracy
};

struct TrainOutcome {
  TrainingState state;  // at the end
  bool stopped_early = false;
  // SIGINT/SIGTERM: a checkpoint was written, the run can resume. A stop during an evaluation
  // abandons it; the checkpoint then has `evaluation_pending` and the resumed run evaluates first.
  bool interrupted = false;
};

// Callbacks see the model and the step's inputs; they must not change training results.
class TrainerCallback {
 public:
  virtual ~TrainerCallback() = default;
  virtual void on_start(const TrainingState&, models::LunarModel&) {}
  // After backward and the optimizer step; `input` is the step's last micro-batch and
  // `output` its forward result (gradients of parameters still hold that step's values).
  virtual void on_step(const StepRecord&, models::LunarModel&, const models::ModelOutput&) {}
  // After each batch of an evaluation of `split` ("val", "test"): examples done of `total`.
  virtual void on_eval_progress(const std::string& /*split*/, int64_t /*done*/, int64_t /*total*/) {
  }
  virtual void on_eval(const EvalRecord&, models::LunarModel&) {}
  virtual void on_end(const TrainOutcome&) {}
};

struct CheckpointPaths {
  std::filesystem::path last, best;
};

class Trainer {
 public:
  // With a synchronizer, this process is one rank of a data-parallel group: it takes its
  // shard of every global batch, gradients are averaged across ranks before the optimizer step,
  // metrics are summed, and only rank 0 writes checkpoints.
  Trainer(const RunConfig& config, models::LunarModel model, const data::TaskData& task,
          at::Device device, CheckpointPaths paths, std::string config_toml,
          std::shared_ptr<GradientSynchronizer> sync = nullptr);

  void add_callback(std::shared_ptr<TrainerCallback> callback);
  // Restores model, optimizer, RNG, data position and counters from a checkpoint.
  void resume_from(const std::filesystem::path& checkpoint);
  TrainOutcome run();
  // The model on a whole split as the run evaluates (its evaluation batch and padding, across
  // ranks), reporting progress to the callbacks; a stop request ends it early (not `complete`).
  EvalResult evaluate_split(const std::string& split, const std::vector<data::Example>& examples);

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  const TrainingState& state() const { return state_; }

 private:
  void save(const std::filesystem::path& path);
  void evaluate_and_checkpoint(TrainOutcome& outcome);
  bool stop_requested_anywhere();

  RunConfig config_;
  models::LunarModel model_;
  const data::TaskData& task_;
  at::Device device_;
  CheckpointPaths paths_;
  std::string config_toml_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<data::BatchLoader> loader_;
  TrainingState state_;
  std::vector<std::shared_ptr<TrainerCallback>> callbacks_;
  std::shared_ptr<GradientSynchronizer> sync_;
};

// Builds the optimizer named by `optim` over all parameters (weight decay on all of them).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim,
                                                        std::vector<at::Tensor> parameters);

}  // namespace lunar::train
