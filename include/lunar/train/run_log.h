// One sink for a run's logs: metrics.jsonl, and TensorBoard's event file with the scalars
// ("split/name"), heatmap images, the configuration text and the hparams dashboard's records.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lunar/runs/metrics_log.h"
#include "lunar/train/config.h"
#include "lunar/train/event_writer.h"

namespace lunar::train {

// The scalar tags TensorBoard's hparams dashboard compares runs by (the last value of each).
inline const std::vector<std::string> kRunMetricTags = {"test/accuracy_best", "test/accuracy_last",
                                                        "val/accuracy"};

// Tag prefixes of what a run logs once, at its end: the test split's scalars and the hparams
// session end. A resumed run logs them again, so give them to truncate_event_files, as
// runs::truncate_metrics_log drops the "test" lines.
inline const std::vector<std::string> kRunEndTagPrefixes = {"test/", kHParamsSessionEndTag};

// The hyper-parameters a researcher filters runs by, named by their configuration keys:
// model.architecture, task.name, the model's size (dim, num_blocks, num_heads),
// optim.lr, train.batch_size, train.steps, train.seed, runtime.precision and
// model.luna.memory_len (0 for architectures without a memory). Strings stay strings; integers
// become numbers. Every configuration gives the same names in the same order.
std::vector<HParam> run_hparams(const RunConfig& config);

class RunLog {
 public:
  // Opens <run_dir>/metrics.jsonl for appending and a new event file in <run_dir>/tensorboard.
  explicit RunLog(const std::filesystem::path& run_dir);

  // Values of one step and split: a metrics.jsonl line, and scalars tagged "split/name".
  void record(int64_t step, const std::string& split, const std::map<std::string, double>& values);

  // PNG bytes (e.g. a heatmap) for TensorBoard's image dashboard, under `tag` at `step`.
  void record_image(const std::string& tag, int64_t step, const std::string& png);

  // The start of a fresh run, at step 0: the effective configuration `config_toml` as text (tag
  // "config", indented by 4 spaces so that TensorBoard's Markdown shows it verbatim) and the
  // hparams session start with run_hparams(config) and kRunMetricTags. A resumed run does not
  // call it again: truncate_event_files keeps the first start's records (step 0).
  void record_start(const RunConfig& config, const std::string& config_toml);

  // The configuration a resumed run continues with (`--set` may have changed it), as text
  // tagged "config" at `step`, the first step it trains: resuming again from the same checkpoint
  // removes it with the other steps after that checkpoint and logs it anew.
  void record_config(int64_t step, const std::string& config_toml);

  // The end of a finished run at its last step: the hparams session end, status success.
  void record_end(int64_t step);

  // The end of a run stopped by an error at `step`: the hparams session end, status failure, so
  // that TensorBoard does not show the session as running. Resuming the run removes it with the
  // steps after the checkpoint (truncate_event_files, kRunEndTagPrefixes).
  void record_failure(int64_t step);

 private:
  runs::MetricsLog metrics_;
  EventWriter events_;
};

}  // namespace lunar::train
