// Evaluation shared between the processes of a data-parallel run.
#include "lunar/train/synchronizer.h"

#include <algorithm>
#include <cmath>

#include "lunar/core/error.h"

namespace lunar::train {

EvalResult evaluate_across(GradientSynchronizer* sync, models::LunarModel& model,
                           const std::vector<data::Example>& examples, int64_t batch_size,
                           int64_t pad_to, const at::Device& device, bool bf16,
                           const EvalProgress& progress) {
  if (sync == nullptr || sync->world_size() == 1) {
    return evaluate(model, examples, batch_size, pad_to, device, bf16, progress);
  }
  check(!examples.empty(), "[evaluate] expected a non-empty split");
  const auto count = static_cast<int64_t>(examples.size());
  const int64_t batches = (count + batch_size - 1) / batch_size;
  const int64_t rank = sync->rank(), world = sync->world_size();
  const int64_t first = std::min(count, rank * batches / world * batch_size);
  const int64_t last = std::min(count, (rank + 1) * batches / world * batch_size);
  const int64_t classes = model->config().num_classes;
  // loss sum, correct, count, incomplete ranks, then the predictions per class
  std::vector<double> sums(4 + static_cast<size_t>(classes), 0.0);
  if (last > first) {
    const std::vector<data::Example> shard(examples.begin() + first, examples.begin() + last);
    // The shards run side by side: this one's progress stands for the whole split's.
    EvalProgress shard_progress;
    if (progress) {
      shard_progress = [&](int64_t done, int64_t total) {
        return progress(done * count / total, count);
      };
    }
    const auto result = evaluate(model, shard, batch_size, pad_to, device, bf16, shard_progress);
    sums[0] = result.loss * result.count;
    sums[1] = result.accuracy * result.count;
    sums[2] = static_cast<double>(result.count);
    sums[3] = result.complete ? 0.0 : 1.0;
    for (int64_t c = 0; c < classes; ++c) sums[4 + c] = static_cast<double>(result.predictions[c]);
  }
  sync->sum(sums);
  EvalResult result;
  result.count = static_cast<int64_t>(sums[2]);
  result.loss = result.count > 0 ? sums[0] / sums[2] : 0.0;
  result.accuracy = result.count > 0 ? std::round(sums[1]) / sums[2] : 0.0;
  result.complete = sums[3] == 0.0;
  for (int64_t c = 0; c < classes; ++c) result.predictions.push_back(std::llround(sums[4 + c]));
  return result;
}

}  // namespace lunar::train
