// Run configuration of `lunar train`: plain structs loaded from TOML, overridden with
// `--set key=value`, and written back in full (to_toml) beside every run. Every key is defined
// once, beside its struct: models::model_keys() for [model], data::task_keys() for [task], and
// src/train/config_keys.cpp for the rest; docs/configuration.md lists them.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lunar/core/choice.h"
#include "lunar/data/task_config.h"
#include "lunar/models/config.h"

namespace lunar::train {

// adamw (decoupled weight decay) | adam (L2 penalty in the gradient)
enum class OptimizerKind { adamw, adam };
constexpr std::array<Named<OptimizerKind>, 2> choice_names(OptimizerKind) {
  return {{{OptimizerKind::adamw, "adamw"}, {OptimizerKind::adam, "adam"}}};
}

// `[optim]`: the optimizer. The research ran AdamW with weight decay on all parameters.
struct OptimConfig {
  OptimizerKind name = OptimizerKind::adamw;
  double lr = 0.005;           // base learning rate, scaled by the schedule
  double beta1 = 0.9;          // in [0, 1)
  double beta2 = 0.999;        // in [0, 1)
  double eps = 1e-8;           // > 0
  double weight_decay = 0.01;  // >= 0
  double grad_clip = 0.0;      // max global L2 norm of the gradient; 0 = off
};

// rsqrt:    the research's lr · min(1, step/W) / √max(step, W) (peak lr/√W at step W)
// cosine:   linear warmup to lr over W steps, then cosine decay to min_lr at train.steps
// constant: linear warmup to lr over W steps, then flat
enum class ScheduleKind { rsqrt, cosine, constant };
constexpr std::array<Named<ScheduleKind>, 3> choice_names(ScheduleKind) {
  return {{{ScheduleKind::rsqrt, "rsqrt"},
           {ScheduleKind::cosine, "cosine"},
           {ScheduleKind::constant, "constant"}}};
}

// `[schedule]`: the learning rate over steps; update n takes the schedule's value at n − 1, as
// PyTorch's LambdaLR (so the first update has learning rate 0 when W > 0).
struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::rsqrt;
  int64_t warmup = 1000;  // W >= 0
  double min_lr = 0.0;    // cosine only: the final learning rate, >= 0
};

// `[train]`: the loop.
struct TrainConfig {
  int64_t steps = 1000;           // optimizer steps, > 0
  int64_t batch_size = 32;        // global batch (examples per optimizer step), > 0
  int64_t micro_batch = 0;        // 0 = batch_size; else accumulate batch_size/micro_batch
                                  // micro-batches per step (must divide batch_size)
  int64_t eval_every = 200;       // steps between evaluations on the full validation set, > 0
  int64_t eval_batch_size = 0;    // 0 = batch_size
  int64_t patience = 0;           // evaluations without improvement before stopping; 0 = off
  int64_t log_every = 50;         // steps between training-log lines, > 0
  int64_t checkpoint_every = 0;   // steps between checkpoints; 0 = at every evaluation
  uint64_t seed = 0;              // seeds parameters, dropout and batch order (< 2^63)
  bool bucket_by_length = false;  // batch examples of similar length together (less padding)
};

// fp32 | bf16 (autocast, as the research ran on GPU)
enum class Precision { fp32, bf16 };
constexpr std::array<Named<Precision>, 2> choice_names(Precision) {
  return {{{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}}};
}

// `[runtime]`: where and how the computation runs.
struct RuntimeConfig {
  std::string device = "cpu";  // cpu | cuda | cuda:N | auto (cuda when available, else cpu)
  int64_t threads = 0;         // CPU intra-op threads; 0 = all cores
  Precision precision = Precision::fp32;
  int64_t dist_timeout_s = 300;  // distributed runs: rendezvous and collective timeout
};

// `[diag]`: memory-collapse diagnostics (docs/memory-collapse.md).
struct DiagConfig {
  int64_t every = 0;                   // metrics every N steps; 0 = at each evaluation
  std::vector<int64_t> heatmap_steps;  // steps at which to write heatmaps of P and its gradient
};

struct RunConfig {
  models::ModelConfig model;  // `[model]`, `[model.input]`, `[model.luna]`, `[model.convluna]`
  data::TaskConfig task;      // `[task]`
  OptimConfig optim;          // `[optim]`
  ScheduleConfig schedule;    // `[schedule]`
  TrainConfig train;          // `[train]`
  RuntimeConfig runtime;      // `[runtime]`
  DiagConfig diag;            // `[diag]`
  std::string run_dir = "runs/default";  // top-level: where logs, checkpoints and config go
};

// Reads a TOML file whose tables mirror RunConfig. Keys absent from the file keep their defaults.
// A top-level `include = "base.toml"` (or an array of paths), relative to the including file, is
// applied before the file's own keys; include cycles are errors. Unknown keys and tables, values
// of the wrong type and values out of range throw lunar::DataError naming the file, the line and
// the dotted key: `configs/x.toml:7: train.steps: expected a positive integer, got -5`.
RunConfig load_config(const std::filesystem::path& path);

// The same from TOML text without includes (e.g. the configuration stored in a checkpoint);
// `source` names it in error messages.
RunConfig parse_config(const std::string& text, const std::string& source);

// Applies one `key=value` (dotted key, value read as a TOML value; a value that is not valid TOML
// is taken as a bare string, so `model.architecture=luna` works, and string keys take the text
// as written unless it is a quoted TOML string). Errors as load_config, with `--set` as the file.
// Checks relations between keys (e.g. micro_batch divides batch_size) after the assignment.
void apply_override(RunConfig& config, const std::string& assignment);

// Applies several assignments in order, checking relations between keys once, after the last:
// `--set train.batch_size=64 --set train.micro_batch=16` is valid in either order.
void apply_overrides(RunConfig& config, const std::vector<std::string>& assignments);

// Checks every key's range and the relations between keys; throws lunar::DataError naming
// `source` (e.g. "--set" or a file path) without a line. load_config and apply_override call it.
void validate(const RunConfig& config, const std::string& source = "config");

// The full effective configuration, every key with its description as a comment, defaults
// included. load_config reads it back to an equal RunConfig.
std::string to_toml(const RunConfig& config);

// Writes to_toml(config) to `path` atomically (readers never see a half-written file).
void save_config(const RunConfig& config, const std::filesystem::path& path);

// Key-by-key equality over every key of the table.
bool operator==(const RunConfig& a, const RunConfig& b);
bool operator!=(const RunConfig& a, const RunConfig& b);

// The length every batch is padded to: model.input.max_length (the positional table's length)
// when task.padding = max_length, else 0 (each batch to its longest example).
int64_t padded_length(const RunConfig& config);

// Examples per evaluation batch: train.eval_batch_size, or train.batch_size when it is 0.
int64_t evaluation_batch_size(const RunConfig& config);

// One row per configuration key, for `lunar train --list-keys [--json]` and
// docs/configuration.md.
struct KeyDescription {
  std::string key;                  // dotted, e.g. "model.luna.memory_len"
  std::string type;                 // integer | float | boolean | string | array of integers
  std::string default_value;        // as TOML text, e.g. `16`, `"convluna"`, `[]`
  std::string expected;             // the accepted values, e.g. "a positive integer"
  std::vector<std::string> values;  // an enumerated key's values, in order; else empty
  std::string description;
};
std::vector<KeyDescription> describe_keys();

// describe_keys() as JSON, for programs (python/lunar_torch reads it): an array of objects
// {"key", "type", "default" (the value itself: 16, "convluna", []), "expected", "values",
// "description"}.
std::string describe_keys_json();

}  // namespace lunar::train
