// What the training loop needs from several processes that train one model together (data
// parallelism). lunar::dist implements it over PyTorch's c10d; a single process has none.
// train never depends on dist: the dependency points the other way.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "lunar/data/task_config.h"
#include "lunar/models/model.h"
#include "lunar/train/evaluate.h"

namespace lunar::train {

class GradientSynchronizer {
 public:
  virtual ~GradientSynchronizer() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  // Makes every process hold rank 0's parameters and buffers.
  virtual void broadcast_model(models::LunarModel& model) = 0;
  // Before each backward pass of a step; `last_micro_batch` marks the one after which the
  // gradients are complete, so an implementation may start averaging them while backward runs.
  virtual void prepare_backward(const std::vector<at::Tensor>& parameters,
                                bool last_micro_batch) = 0;
  // After the last backward, before clipping and the optimizer step: replaces each defined
  // gradient by its mean over the processes.
  virtual void average_gradients(const std::vector<at::Tensor>& parameters) = 0;
  // Sums `values` element-wise over the processes, in place (metric counters).
  virtual void sum(std::vector<double>& values) = 0;
  // Returns once every process has called it (e.g. after rank 0 wrote a checkpoint).
  virtual void barrier() = 0;
};

// Evaluation split across processes: rank r evaluates a contiguous run of whole evaluation
// batches (the same batches one process would form, so padding and results are identical) and
// the sums are reduced, so every rank returns the exact single-process result. Without a
// synchronizer it is evaluate(). A rank whose `progress` stops early makes every rank's result
// incomplete; `progress` sees this rank's share scaled to the whole split.
EvalResult evaluate_across(GradientSynchronizer* sync, models::LunarModel& model,
                           const std::vector<data::Example>& examples, int64_t batch_size,
                           int64_t pad_to, const at::Device& device, bool bf16,
                           const EvalProgress& progress = {});

// True on the process that writes logs, checkpoints and summaries (rank 0, or no synchronizer).
inline bool is_main_process(const GradientSynchronizer* sync) {
  return sync == nullptr || sync->rank() == 0;
}

}  // namespace lunar::train
