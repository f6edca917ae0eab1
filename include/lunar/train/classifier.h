// Classifying raw inputs with a trained model, as `lunar predict` does: the entry point for a
// program that embeds lunar (docs/api.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lunar/data/task_config.h"
#include "lunar/train/checkpoint_model.h"

namespace lunar::train {

struct Prediction {
  int64_t label = 0;                  // the most probable class
  std::vector<double> logits;         // one per class
  std::vector<double> probabilities;  // softmax of the logits
};

class Classifier {
 public:
  // Loads a checkpoint of a run (best.pt, last.pt, or what `lunar import` wrote) with the run's
  // configuration; `overrides` ("key=value", as --set) change keys of it. Throws lunar::Error
  // naming the file when it is missing or corrupt.
  explicit Classifier(const std::filesystem::path& checkpoint,
                      const std::vector<std::string>& overrides = {});

  // One prediction per input, each in the task's line format (lunar/data/input_line.h: a
  // ListOps expression, raw text, two documents separated by a TAB, or pixel values), batched
  // `batch_size` at a time and padded as the run padded. Throws lunar::DataError naming
  // `source` and the input's 1-based position on a bad input (an empty one included).
  std::vector<Prediction> classify(const std::vector<std::string>& inputs,
                                   const std::string& source = "<input>", int64_t batch_size = 32);

  const RunConfig& config() const { return loaded_.config; }
  const data::TaskInfo& task() const { return task_; }

 private:
  CheckpointModel loaded_;
  data::TaskInfo task_;
};

}  // namespace lunar::train
