// A whole training run and its directory.
#include "lunar/train/run.h"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <numeric>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/data/task.h"
#include "lunar/models/registry.h"
#include "lunar/runs/layout.h"
#include "lunar/runs/metrics_log.h"
#include "lunar/runtime/host_memory.h"
#include "lunar/runtime/platform.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/callbacks.h"
#include "lunar/train/evaluate.h"
#include "lunar/train/event_writer.h"
#include "lunar/train/signals.h"
#include "lunar/train/trainer.h"

namespace lunar::train {

namespace fs = std::filesystem;

void apply_task_facts(RunConfig& config, const data::TaskInfo& info) {
  auto& model = config.model;
  model.num_classes = info.num_classes;
  model.pair = info.pair;
  model.input.embedding = info.pixels ? models::Embedding::pixel : models::Embedding::token;
  model.input.vocab_size = info.vocab_size;
  model.input.max_length = info.max_length;
  model.input.pixel_mean = info.pixel_mean;
  model.input.pixel_std = info.pixel_std;
}

fs::path resume_checkpoint(const fs::path& run_dir) {
  fs::path newest;
  int64_t newest_step = -1;
  for (const auto& path : {runs::last_checkpoint(run_dir), runs::best_checkpoint(run_dir)}) {
    if (!fs::exists(path)) continue;
    const int64_t step = read_checkpoint_header(path).state.step;
    if (step > newest_step) newest = path, newest_step = step;
  }
  check(newest_step >= 0,
        "[train] --resume: expected a checkpoint in '{}' (last.pt or best.pt), got none",
        runs::checkpoints_folder(run_dir).string());
  return newest;
}

namespace {
// A fresh run never mixes into another run's files: a folder with a checkpoint or a summary
// holds a run to continue (--resume) or to keep.
void check_fresh_run_dir(const fs::path& run_dir) {
  for (const auto& file : {runs::last_checkpoint(run_dir), runs::best_checkpoint(run_dir),
                           runs::summary_path(run_dir)}) {
    check(!fs::exists(file),
          "[train] expected a new run_dir, got '{}', which already holds a run ({}): continue it "
          "with --resume or choose another run_dir",
          run_dir.string(), fs::relative(file, run_dir).string());
  }
}

// The first `count` validation examples, padded as the run pads its batches.
data::Batch probe_batch(const std::vector<data::Example>& validation, int64_t count,
                        int64_t pad_to) {
  std::vector<int64_t> indices(std::min<size_t>(validation.size(), static_cast<size_t>(count)));
  std::iota(indices.begin(), indices.end(), 0);
  return data::collate(validation, indices, pad_to);
}

// The test split at the last step and at the best checkpoint, which it loads into `model`, into
// `summary`. False when a stop request ended an evaluation (the run resumes to evaluate again).
bool evaluate_test(Trainer& trainer, models::LunarModel& model,
                   const std::vector<data::Example>& test, const TrainingState& state,
                   const fs::path& best_path, GradientSynchronizer* sync, bool main_process,
                   runs::RunSummary& summary) {
  const auto at_last = trainer.evaluate_split("test", test);
  if (!at_last.complete) return false;
  summary.test_accuracy_last = at_last.accuracy;
  // Rank 0 reads the best checkpoint and hands its weights to the others, so only rank 0
  // needs the run directory here.
  std::vector<double> has_best{main_process && fs::exists(best_path) ? 1.0 : 0.0};
  if (sync) sync->sum(has_best);
  if (has_best[0] == 0) return true;
  auto best = at_last;  // the last step is the best one: the model holds best.pt's weights
  if (state.best_step != state.step) {
    if (main_process) load_checkpoint(best_path, *model, nullptr);
    if (sync) sync->broadcast_model(model);
    best = trainer.evaluate_split("test", test);
    if (!best.complete) return false;
  }
  summary.test_accuracy_best = best.accuracy;
  summary.test_loss_best = best.loss;
  summary.best_predicts_one_class = predicts_one_class(best);
  return true;
}

// Before an error goes on: TensorBoard's hparams dashboard then shows the session as failed, not
// as running forever. A second error while writing that is not the one to report.
void record_failure(RunLog& log, int64_t step) noexcept {
  try {
    log.record_failure(step);
  } catch (...) {  // the first error is the one reported
  }
}
}  // namespace

runs::RunSummary run_training(RunConfig config, const RunOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  install_stop_handlers();  // a stop asked while the data loads is honoured before step 1
  const fs::path run_dir = config.run_dir;
  const auto last = runs::last_checkpoint(run_dir);
  const fs::path resume_from = options.resume ? resume_checkpoint(run_dir) : fs::path();
  if (!options.resume) check_fresh_run_dir(run_dir);
  const int threads = configure_threads(static_cast<int>(config.runtime.threads));
  retain_freed_memory();
  const auto warning = blas_warning(detect_blas());
  if (!warning.empty()) fmt::print(stderr, "warning: {}\n", warning);
  const auto device = parse_device(config.runtime.device);
  // A configuration written for a GPU (device = auto) says where it landed.
  const bool cpu_fallback = config.runtime.device == "auto" && device.is_cpu();
  if (cpu_fallback && is_main_process(options.sync.get())) {
    fmt::print(stderr,
               "runtime.device = auto: no GPU found; training on the CPU, {} thread(s), {}\n",
               threads, config.runtime.precision);
  }

  const auto task = data::load_task(config.task);
  apply_task_facts(config, task.info);
  auto* sync = options.sync.get();
  const bool main_process = is_main_process(sync);
  const auto config_toml = to_toml(config);
  if (main_process) {
    fs::create_directories(run_dir);
    remove_temporary_files(run_dir);  // what writers killed mid-write left behind
    remove_temporary_files(runs::checkpoints_folder(run_dir));
    // A run stopped before its first checkpoint left a history that nothing continues.
    if (!options.resume) fs::remove(runs::metrics_path(run_dir));
    write_atomically(runs::config_path(run_dir), config_toml);
    if (options.on_config_saved) options.on_config_saved(config_toml);
  }

  seed_everything(config.train.seed);
  auto model = models::build_model(config.model);  // rank 0's weights reach every rank
  // Each rank draws its own dropout masks; rank 0 (and a single process) keeps the seed's.
  if (sync && sync->rank() > 0) seed_everything(rank_seed(config.train.seed, sync->rank()));
  model->to(device);
  CheckpointPaths paths{last, runs::best_checkpoint(run_dir)};
  Trainer trainer(config, model, task, device, paths, config_toml, options.sync);
  if (options.resume) {
    trainer.resume_from(resume_from);
    if (main_process) {  // steps after the checkpoint are logged again from here
      runs::truncate_metrics_log(runs::metrics_path(run_dir), trainer.state().step);
      truncate_event_files(runs::tensorboard_folder(run_dir), trainer.state().step,
                           kRunEndTagPrefixes);
    }
  }
  std::shared_ptr<RunLog> log;
  if (main_process) {  // logs and diagnostics by rank 0 only
    log = std::make_shared<RunLog>(run_dir);
    if (!options.resume) log->record_start(config, config_toml);
    if (options.resume && trainer.state().step < config.train.steps) {
      log->record_config(trainer.state().step + 1, config_toml);
    }
    // The majority-class rates at step 0, so that a report on a live run can draw them (a resumed
    // run keeps this line: truncation keeps the steps up to its checkpoint's).
    std::map<std::string, double> majority;
    if (!task.validation.empty()) majority["majority_val"] = majority_rate(task.validation);
    if (!task.test.empty()) majority["majority_test"] = majority_rate(task.test);
    if (!options.resume && !majority.empty()) log->record(0, "data", majority);
    trainer.add_callback(
        std::make_shared<ProgressCallback>(config.train.log_every, options.terminal));
    trainer.add_callback(std::make_shared<LogCallback>(log, config.train.log_every));
    if (cpu_fallback) trainer.add_callback(std::make_shared<SlowRunWarning>(kSlowRunSeconds));
    trainer.add_callback(std::make_shared<DiagnosticsCallback>(
        log, probe_batch(task.validation, 32, padded_length(config)), device, config.diag.every,
        config.diag.heatmap_steps, runs::heatmaps_folder(run_dir)));
  }
  runs::RunSummary summary;
  try {
    const auto outcome = trainer.run();
    summary.run_dir = run_dir.string();
    summary.steps = outcome.state.step;
    summary.best_step = outcome.state.best_step;
    summary.best_validation_accuracy = outcome.state.best_accuracy;
    summary.parameters = models::count_parameters(*model);
    summary.stopped_early = outcome.stopped_early;
    summary.interrupted = outcome.interrupted;
    summary.majority_rate = majority_rate(task.test);
    if (!outcome.interrupted && !task.test.empty()) {
      summary.interrupted = !evaluate_test(trainer, model, task.test, outcome.state, paths.best,
                                           sync, main_process, summary);
      if (log && !summary.interrupted) {
        log->record(summary.steps, "test",
                    {{"accuracy_best", summary.test_accuracy_best},
                     {"accuracy_last", summary.test_accuracy_last}});
      }
    }
    if (log && !summary.interrupted) log->record_end(summary.steps);
  } catch (...) {
    if (log) record_failure(*log, trainer.state().step);
    throw;
  }
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!summary.interrupted && main_process) {
    runs::write_summary(runs::summary_path(run_dir), summary);
  }
  return summary;
}

}  // namespace lunar::train
