// Full-split evaluation.
#include "lunar/train/evaluate.h"

#include <torch/nn/functional/loss.h>

#include <algorithm>
#include <map>

#include "lunar/core/error.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/runtime/compat.h"

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

bool predicts_one_class(const EvalResult& result) {
  return std::count_if(result.predictions.begin(), result.predictions.end(),
                       [](int64_t n) { return n > 0; }) == 1;
}

EvalResult evaluate(models::LunarModel& model, const std::vector<data::Example>& examples,
                    int64_t batch_size, int64_t pad_to, const at::Device& device, bool bf16,
                    const EvalProgress& progress) {
  check(!examples.empty(), "[evaluate] expected a non-empty split");
  const bool was_training = model->is_training();
  model->eval();
  at::NoGradGuard no_grad;
  const nn::AttentionWeightsUnused logits_only;
  compat::AutocastGuard autocast(device, bf16, at::kBFloat16);
  data::BatchLoaderOptions options;
  options.batch_size = batch_size;
  options.shuffle = false;
  options.pad_to = pad_to;
  data::BatchLoader loader(examples, options);
  const int64_t classes = model->config().num_classes;
  auto predicted = at::zeros({classes}, at::kLong);
  double loss_sum = 0;
  int64_t correct = 0, count = 0;
  bool complete = true;
  while (auto batch = loader.next()) {
    const auto labels = batch->labels.to(device);
    const auto logits = model->forward(to_model_input(*batch, device)).logits.to(at::kFloat);
    loss_sum += at::cross_entropy_loss(logits, labels, {}, at::Reduction::Sum).item<double>();
    const auto guesses = logits.argmax(-1);
    correct += (guesses == labels).sum().item<int64_t>();
    predicted += at::bincount(guesses.cpu(), {}, classes);
    count += labels.size(0);
    if (progress && !progress(count, static_cast<int64_t>(examples.size()))) {
      complete = count == static_cast<int64_t>(examples.size());
      break;
    }
  }
  if (was_training) model->train();
  EvalResult result;
  result.count = count;
  result.loss = count > 0 ? loss_sum / count : 0.0;
  result.accuracy = count > 0 ? static_cast<double>(correct) / count : 0.0;
  result.predictions.assign(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + classes);
  result.complete = complete;
  return result;
}

double majority_rate(const std::vector<data::Example>& examples) {
  if (examples.empty()) return 0.0;
  std::map<int32_t, int64_t> counts;
  int64_t best = 0;
  for (const auto& e : examples) best = std::max(best, ++counts[e.label]);
  return static_cast<double>(best) / examples.size();
}

}  // namespace lunar::train
