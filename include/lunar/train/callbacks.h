// Standard trainer callbacks: the progress line, the run log, memory-collapse diagnostics.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "lunar/data/batch_loader.h"
#include "lunar/data/task_config.h"
#include "lunar/diag/heatmap.h"
#include "lunar/train/run_log.h"
#include "lunar/train/trainer.h"

namespace lunar::train {

// How far an evaluation has got, on stderr: an updating line on a terminal; otherwise a plain
// line at most every `every` seconds, so a short evaluation prints nothing.
class EvalProgressLine {
 public:
  explicit EvalProgressLine(bool terminal, double every = 30.0);
  // `done` of `total` examples of `split`; done restarting from below marks a new evaluation.
  void update(const std::string& split, int64_t done, int64_t total);

 private:
  bool terminal_;
  double every_;
  int64_t last_done_ = 0;
  std::chrono::steady_clock::time_point started_, printed_;
};

// Step, loss, accuracy, tokens/s and ETA on stderr: one updating line on a terminal, plain
// lines every `log_every` steps otherwise. Evaluations show their progress (EvalProgressLine)
// and always print a result line.
class ProgressCallback : public TrainerCallback {
 public:
  ProgressCallback(int64_t log_every, bool terminal);
  void on_start(const TrainingState& state, models::LunarModel&) override;
  void on_step(const StepRecord& record, models::LunarModel&, const models::ModelOutput&) override;
  void on_eval_progress(const std::string& split, int64_t done, int64_t total) override;
  void on_eval(const EvalRecord& record, models::LunarModel&) override;
  void on_end(const TrainOutcome& outcome) override;

 private:
  int64_t log_every_;
  bool terminal_;
  EvalProgressLine eval_line_;
  int64_t first_step_ = 0;
  std::chrono::steady_clock::time_point started_;
  double loss_sum_ = 0, accuracy_sum_ = 0, tokens_per_second_ = 0;
  int64_t window_ = 0;
};

// A run that fell back to the CPU (runtime.device = auto) warns once, after a few steps, when
// the steps left would take longer than `limit_seconds` at the speed measured so far.
class SlowRunWarning : public TrainerCallback {
 public:
  explicit SlowRunWarning(double limit_seconds, int64_t measured_steps = 5);
  void on_start(const TrainingState& state, models::LunarModel&) override;
  void on_step(const StepRecord& record, models::LunarModel&, const models::ModelOutput&) override;

 private:
  double limit_seconds_;
  int64_t measured_steps_;
  int64_t first_step_ = 0;
  bool warned_ = false;
  std::chrono::steady_clock::time_point started_;
};

// What SlowRunWarning allows a CPU run before it warns.
inline constexpr double kSlowRunSeconds = 2 * 3600.0;

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
// evaluation); heatmaps of P and of its gradient at the chosen steps, as PNG files in
// `heatmap_dir` and as TensorBoard images tagged memory/P and memory/grad_P. Runs the model in
// eval mode without gradients and restores the training mode: it does not change training
// results.
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
  void write_heatmap(const std::string& file_name, const std::string& tag, int64_t step,
                     const at::Tensor& values, const diag::HeatmapOptions& options);

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
