// metrics.jsonl: an append-only JSON-lines log of named values per step and split, its reader
// (used by the report, also on a live run), and the truncation that keeps a resumed run's log
// free of duplicates.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace lunar::runs {

// One line: {"step": 200, "split": "val", "accuracy": 0.41, "loss": 1.62}. "step" and "split"
// come first, then the values by name. Non-finite values are written as null and read back as
// NaN (JSON has no NaN or infinity).
struct MetricsRecord {
  int64_t step = 0;
  std::string split;                     // e.g. "train", "val", "test", "diag"
  std::map<std::string, double> values;  // names other than "step" and "split"
};

// Appends records to a metrics log, one flushed line each, so a crash loses at most the line
// being written. Not thread safe.
class MetricsLog {
 public:
  // Opens `path` for appending (creating directories and the file). If an earlier run left a
  // final line without its newline, a newline is added so new records start on their own line.
  explicit MetricsLog(const std::filesystem::path& path);

  // Throws lunar::Error for an empty split or a value named "", "step" or "split".
  void append(const MetricsRecord& record);

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Every record of a metrics log in file order; empty lines are skipped, and so is a final line
// cut short (no newline, not valid JSON): a live run may be writing it, a killed one left it.
// Throws lunar::DataError naming `path:line` (and the field) for any other malformed line, and
// for a missing file.
std::vector<MetricsRecord> read_metrics_log(const std::filesystem::path& path);

struct TruncateResult {
  int64_t kept_lines = 0;
  int64_t removed_lines = 0;
};

// Before resuming from a checkpoint at `last_step`: removes the lines with step > last_step
// and the "test" lines (a resumed run evaluates the test split again when it ends), rewriting the
// file atomically (nothing is rewritten when nothing is removed; a missing file is left missing). A
// final line cut short by a crash (no newline, not valid JSON) is removed too; any other malformed
// line throws lunar::DataError. Call it before opening a MetricsLog on the file: a writer opened
// earlier keeps appending to the replaced file.
TruncateResult truncate_metrics_log(const std::filesystem::path& path, int64_t last_step);

}  // namespace lunar::runs
