// Raw inputs to predictions: parse, collate as the run did, forward in eval mode.
#include "lunar/train/classifier.h"

#include <algorithm>

#include "lunar/core/error.h"
#include "lunar/data/batch_loader.h"
#include "lunar/data/input_line.h"
#include "lunar/data/task.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/train/evaluate.h"

namespace lunar::train {

Classifier::Classifier(const std::filesystem::path& checkpoint,
                       const std::vector<std::string>& overrides)
    : loaded_(load_checkpoint_model(checkpoint, overrides)),
      task_(data::task_info(loaded_.config.task.name)) {}

std::vector<Prediction> Classifier::classify(const std::vector<std::string>& inputs,
                                             const std::string& source, int64_t batch_size) {
  check(batch_size > 0, "[classify] expected a batch size > 0, got {}", batch_size);
  std::vector<data::Example> examples;
  for (size_t i = 0; i < inputs.size(); ++i) {
    examples.push_back(data::parse_input_line(task_, inputs[i],
                                              loaded_.config.model.input.max_length, source,
                                              static_cast<int64_t>(i) + 1));
  }
  const int64_t pad_to = padded_length(loaded_.config);
  at::NoGradGuard no_grad;
  const nn::AttentionWeightsUnused logits_only;
  std::vector<Prediction> out;
  for (size_t start = 0; start < examples.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<int64_t> indices;
    for (size_t i = start; i < std::min(examples.size(), start + batch_size); ++i) {
      indices.push_back(static_cast<int64_t>(i));
    }
    const auto batch = data::collate(examples, indices, pad_to);
    const auto logits =
        loaded_.model->forward(to_model_input(batch, at::kCPU)).logits.to(at::kDouble).contiguous();
    const auto probabilities = at::softmax(logits, -1).contiguous();
    const int64_t classes = logits.size(1);
    for (int64_t row = 0; row < logits.size(0); ++row) {
      Prediction prediction;
      const double* l = logits.data_ptr<double>() + row * classes;
      const double* p = probabilities.data_ptr<double>() + row * classes;
      prediction.logits.assign(l, l + classes);
      prediction.probabilities.assign(p, p + classes);
      prediction.label = std::max_element(l, l + classes) - l;
      out.push_back(std::move(prediction));
    }
  }
  return out;
}

}  // namespace lunar::train
