// One sink for a run's named values: metrics.jsonl and TensorBoard scalars ("split/name").
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "lunar/train/event_writer.h"
#include "lunar/train/metrics_log.h"

namespace lunar::train {

class RunLog {
 public:
  // Opens <run_dir>/metrics.jsonl for appending and a new event file in <run_dir>/tensorboard.
  explicit RunLog(const std::filesystem::path& run_dir);
  void record(int64_t step, const std::string& split, const std::map<std::string, double>& values);

 private:
  MetricsLog metrics_;
  EventWriter events_;
};

}  // namespace lunar::train
