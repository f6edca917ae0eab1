// `lunar data check`: counts, label balance and length percentiles of a loaded task, and how
// they differ from what the LRA release should contain.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lunar/data/task.h"
#include "lunar/data/task_config.h"

namespace lunar::data {

struct LengthSummary {
  int64_t p50 = 0, p90 = 0, p99 = 0, max = 0;  // nearest-rank percentiles of token counts
  int64_t at_max_length = 0;                   // examples cut at (or exactly at) max length
};

struct SplitSummary {
  std::string name;  // train | validation | test
  int64_t count = 0;
  int64_t expected = 0;
  std::vector<int64_t> label_counts;  // one per class
  LengthSummary lengths;
  LengthSummary lengths2;  // second document (matching only)
};

struct CheckReport {
  TaskInfo info;
  std::vector<SplitSummary> splits;
  std::vector<std::string> differences;  // empty when everything matches the release
  bool from_cache = false;
};

// Nearest-rank percentile `q` in [0, 100] of `values` (sorted or not); 0 for none.
int64_t percentile(std::vector<int64_t> values, double q);

CheckReport summarize_task(const TaskData& data, const SplitCounts& expected);

// A readable table for the command line.
std::string format_check_report(const CheckReport& report);

}  // namespace lunar::data
