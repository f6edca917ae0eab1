// Standard trainer callbacks: the progress line, the run log, memory-collapse diagnostics.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "lunar/data/batch_loader.h"
#include "lunar/data/task_config.h"
#include "lunar/train/run_log.h"
#include "lunar/train/trainer.h"

namespace lunar::train {

// Step, loss, accuracy, tokens/s and ETA on stderr: one updating line on a terminal, plain
// lines every `log_every` steps otherwise. Evaluations always print a line.
class ProgressCallback : public TrainerCallback {
 public:
  ProgressCallback(int64_t log_every, bool terminal);
  void on_start(const TrainingState& state, models::LunarModel&) override;
  void on_step(const StepRecord& record, models::LunarModel&, const models::ModelOutput&) override;
  void on_eval(const EvalRecord& record, models::LunarModel&) override;
  void on_end(const TrainOutcome& outcome) override;

 private:
  int64_t log_every_;
  bool terminal_;
  int64_t first_step_ = 0;
  std::chrono::steady_clock::time_point started_;
  double loss_sum_ = 0, accuracy_sum_ = 0, tokens_per_second_ = 0;
  int64_t window_ = 0;
};

// Training scalars (averaged over `log_every` steps) and validation results into the run log.
class LogCallback : public TrainerCallback {
 public:
  LogCallback(std::shared_ptr<RunLog> log, int64_t log_every);
  void on_step(const StepRecord& record, models::LunarModel&, const models::ModelOutput&) override;
  void on_eval(const EvalRecord& record, models::LunarModel&) override;

 private:
  std::shared_ptr<RunLog> log_;
  int64_t log_every_;
  std::map<std::string, double> sums_;
  int64_t window_ = 0;
};

// Memory-collapse metrics (docs/memory-collapse.md) of the initial memory P, its gradient and every
// block's output memory on a fixed validation batch, every `every` steps (0 = at each
// evaluation); heatmaps of P and of its gradient at the chosen steps. Runs the model in eval
// mode without gradients and restores the training mode: it does not change training results.
class DiagnosticsCallback : public TrainerCallback {
 public:
  DiagnosticsCallback(std::shared_ptr<RunLog> log, data::Batch probe, at::Device device,
                      int64_t every, std::vector<int64_t> heatmap_steps,
                      std::filesystem::path heatmap_dir);
  void on_start(const TrainingState& state, models::LunarModel& model) override;
  void on_step(const StepRecord& record, models::LunarModel& model,
               const models::ModelOutput&) override;
  void on_eval(const EvalRecord& record, models::LunarModel& model) override;

 private:
  void measure(int64_t step, models::LunarModel& model);
  void write_heatmaps(int64_t step, models::LunarModel& model);

  std::shared_ptr<RunLog> log_;
  data::Batch probe_;
  at::Device device_;
  int64_t every_;
  std::set<int64_t> heatmap_steps_;
  std::filesystem::path heatmap_dir_;
  double memory_limit_ = 0;  // colour scale of P, fixed at the first heatmap so steps compare
};

}  // namespace lunar::train

namespace lunar::train {

// The collapse metrics of a model on one batch, as named values: "initial.<metric>" for P,
// "grad.<metric>" for P's gradient (when it holds one), "block<i>.<metric>" for each block's
// output memory, plus "block<i>.pack_entropy" and "block<i>.slot_entropy"/"slot_effective".
// Empty for models without memory. Runs in eval mode without gradients.
std::map<std::string, double> memory_diagnostics(models::LunarModel& model,
                                                 const data::Batch& batch,
                                                 const at::Device& device);

}  // namespace lunar::train
