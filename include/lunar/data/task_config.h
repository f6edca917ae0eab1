// Plain configuration of a task's data (`[task]` table), and what a loaded task looks like.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lunar/core/choice.h"

namespace lunar::data {

// How a batch is padded. longest: to its longest example (fast); max_length: every batch to
// task.max_length, as the research did, so that with masks off an example's output never
// depends on which other examples share its batch. See docs/data.md, "Padding".
enum class Padding { longest, max_length };
constexpr std::array<Named<Padding>, 2> choice_names(Padding) {
  return {{{Padding::longest, "longest"}, {Padding::max_length, "max_length"}}};
}

struct TaskConfig {
  std::string name = "listops";  // a row of the task table (data::task_names())
  std::string path = "";         // folder holding the task's files (see docs/data.md)
  int64_t max_length = 0;        // tokens per text without CLS; 0 takes the task's default
  Padding padding = Padding::longest;
  double validation_fraction = 0.1;  // text only: held-out slice of train (LRA validates on test)
  std::string pathfinder_difficulty = "curv_contour_length_14";
  std::string cache_dir = "";  // "" = $XDG_CACHE_HOME/lunar or ~/.cache/lunar; "off" = none
  int64_t limit = 0;           // > 0: keep at most this many examples per split (quick runs)
};

// Static facts about a task, independent of any file.
struct TaskInfo {
  std::string name;
  int64_t vocab_size;  // token ids are in [0, vocab_size); 0 is padding. 256 for pixel tasks
  int64_t num_classes;
  int64_t max_length;        // default truncation length (without CLS)
  bool pair;                 // two texts per example (matching)
  bool pixels;               // tokens are raw pixel intensities 0..255, fixed length, no padding
  double pixel_mean = 0.48;  // pixel tasks: the model sees (p/255 − pixel_mean)/pixel_std, the
  double pixel_std = 0.24;   // research's constants per task
};

// One example: token ids (bytes + 1, ListOps symbol ids, or pixel values), and the label.
struct Example {
  std::vector<int32_t> tokens;
  std::vector<int32_t> tokens2;  // second document for matching; empty otherwise
  int32_t label = 0;
};

struct TaskData {
  TaskInfo info;
  std::vector<Example> train, validation, test;
  bool from_cache = false;  // true when the examples came from the binary cache
};

}  // namespace lunar::data
