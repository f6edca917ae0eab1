// Evaluation shared between the processes of a data-parallel run.
#include "lunar/train/synchronizer.h"

#include <algorithm>
#include <cmath>

#include "lunar/core/error.h"

namespace lunar::train {

EvalResult evaluate_across(GradientSynchronizer* sync, models::LunarModel& model,
                           const std::vector<data::Example>& examples, int64_t batch_size,
                           int64_t pad_to, const at::Device& device, bool bf16) {
  if (sync == nullptr || sync->world_size() == 1) {
    return evaluate(model, examples, batch_size, pad_to, device, bf16);
  }
  check(!examples.empty(), "[evaluate] expected a non-empty split");
  const auto count = static_cast<int64_t>(examples.size());
  const int64_t batches = (count + batch_size - 1) / batch_size;
  const int64_t rank = sync->rank(), world = sync->world_size();
  const int64_t first = std::min(count, rank * batches / world * batch_size);
  const int64_t last = std::min(count, (rank + 1) * batches / world * batch_size);
  // loss sum, correct, count
  std::vector<double> sums{0, 0, 0};
  if (last > first) {
    const std::vector<data::Example> shard(examples.begin() + first, examples.begin() + last);
    const auto result = evaluate(model, shard, batch_size, pad_to, device, bf16);
    sums = {result.loss * result.count, result.accuracy * result.count,
            static_cast<double>(result.count)};
  }
  sync->sum(sums);
  return {sums[0] / sums[2], std::round(sums[1]) / sums[2], static_cast<int64_t>(sums[2])};
}

}  // namespace lunar::train
