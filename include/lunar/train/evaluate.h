// Evaluation on a whole split, and the bridge from data batches to model inputs.
#pragma once

#include <functional>
#include <vector>

#include "lunar/data/batch_loader.h"
#include "lunar/models/model.h"

namespace lunar::train {

struct EvalResult {
  double loss = 0;                   // mean cross-entropy
  double accuracy = 0;               // fraction correct
  int64_t count = 0;                 // examples evaluated
  std::vector<int64_t> predictions;  // [C] examples predicted as each class
  bool complete = true;              // false when stopped before the split's end
};

// True when every prediction went to one class (a model that learnt only the label prior).
bool predicts_one_class(const EvalResult& result);

// Called after each batch with the examples evaluated so far and the split's size; returning
// false stops the evaluation there (its result is then not `complete`).
using EvalProgress = std::function<bool(int64_t done, int64_t total)>;

// Moves a batch to `device` as the model's input.
models::ModelInput to_model_input(const data::Batch& batch, const at::Device& device);

// Runs `model` in eval mode without gradients over every example of `examples` (restores the
// previous training mode afterwards), in batches padded as data::collate with `pad_to`.
// `bf16` enables autocast.
EvalResult evaluate(models::LunarModel& model, const std::vector<data::Example>& examples,
                    int64_t batch_size, int64_t pad_to, const at::Device& device, bool bf16,
                    const EvalProgress& progress = {});

// Fraction of the most frequent label: the accuracy of always guessing it.
double majority_rate(const std::vector<data::Example>& examples);

}  // namespace lunar::train
