// summary.json: the results of a finished run, written once at its end (atomically) and read by
// `lunar report` and `lunar sweep`. Its presence marks a run as finished.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace lunar::runs {

struct RunSummary {
  std::string run_dir;
  int64_t steps = 0;  // steps completed
  int64_t best_step = 0;
  double best_validation_accuracy = 0;
  double test_accuracy_best = 0;  // test accuracy at the best validation checkpoint
  double test_accuracy_last = 0;  // test accuracy at the last step
  double test_loss_best = 0;
  double majority_rate = 0;  // test accuracy of always answering the most frequent class
  // The best checkpoint gives every test example the same class: it learnt the label prior only.
  // Summaries written before lunar recorded it say so by a test accuracy at the majority rate
  // (at_majority_rate); read_summary fills it that way.
  bool best_predicts_one_class = false;
  int64_t parameters = 0;
  double seconds = 0;  // wall time of the invocation that finished the run
  bool stopped_early = false;
  bool interrupted = false;  // by SIGINT/SIGTERM, in training or in the test evaluation
};

// An accuracy equal to the majority-class rate: both count examples of one test split divided by
// its size, so equality means the model most likely answers the majority class only.
bool at_majority_rate(double accuracy, double majority_rate);

// The warning lunar prints and reports when `checkpoint` (e.g. "the best checkpoint") gives every
// example of `split` the same class, without a "warning: " prefix: one wording everywhere.
std::string one_class_warning(const std::string& checkpoint, const std::string& split);

// Writes every field as a JSON object (keys sorted, indented by 2), atomically.
void write_summary(const std::filesystem::path& path, const RunSummary& summary);

// Reads a summary. steps, best_step, best_validation_accuracy, test_accuracy_best,
// test_accuracy_last, majority_rate and seconds are required; the other fields keep their
// defaults when absent (best_predicts_one_class came later; see above). Throws lunar::DataError
// naming the file and the field for a missing file, malformed JSON, a missing required field or
// a value of the wrong type.
RunSummary read_summary(const std::filesystem::path& path);

}  // namespace lunar::runs
