// metrics.jsonl + TensorBoard in one call.
#include "lunar/train/run_log.h"

#include <vector>

namespace lunar::train {

RunLog::RunLog(const std::filesystem::path& run_dir)
    : metrics_(run_dir / kMetricsFileName), events_(run_dir / "tensorboard") {}

void RunLog::record(int64_t step, const std::string& split,
                    const std::map<std::string, double>& values) {
  metrics_.append({step, split, values});
  std::vector<Scalar> scalars;
  for (const auto& [name, value] : values) scalars.push_back({split + "/" + name, value});
  events_.add_scalars(step, scalars);
}

}  // namespace lunar::train
