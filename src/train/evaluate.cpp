// Full-split evaluation.
#include "lunar/train/evaluate.h"

#include <torch/nn/functional/loss.h>

#include <map>

#include "lunar/core/error.h"
#include "lunar/core/version.h"

namespace lunar::train {

models::ModelInput to_model_input(const data::Batch& batch, const at::Device& device) {
  models::ModelInput input;
  input.tokens = batch.tokens.to(device);
  input.mask = batch.mask.to(device);
  if (batch.tokens2.defined()) {
    input.tokens2 = batch.tokens2.to(device);
    input.mask2 = batch.mask2.to(device);
  }
  return input;
}

EvalResult evaluate(models::LunarModel& model, const std::vector<data::Example>& examples,
                    int64_t batch_size, int64_t pad_to, const at::Device& device, bool bf16) {
  check(!examples.empty(), "[evaluate] expected a non-empty split");
  const bool was_training = model->is_training();
  model->eval();
  at::NoGradGuard no_grad;
  compat::AutocastGuard autocast(device, bf16, at::kBFloat16);
  data::BatchLoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = false;
  options.pad_to = pad_to;
  data::BatchLoader loader(examples, options);
  double loss_sum = 0;
  int64_t correct = 0, count = 0;
  while (auto batch = loader.next()) {
    const auto labels = batch->labels.to(device);
    const auto logits = model->forward(to_model_input(*batch, device)).logits.to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum).item<double>();
    correct += (logits.argmax(-1) == labels).sum().item<int64_t>();
    count += labels.size(0);
  }
  if (was_training) model->train();
  return {loss_sum / count, static_cast<double>(correct) / count, count};
}

double majority_rate(const std::vector<data::Example>& examples) {
  if (examples.empty()) return 0.0;
  std::map<int32_t, int64_t> counts;
  int64_t best = 0;
  for (const auto& e : examples) best = std::max(best, ++counts[e.label]);
  return static_cast<double>(best) / examples.size();
}

}  // namespace lunar::train
