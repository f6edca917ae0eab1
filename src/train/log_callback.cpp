// Training and validation values into metrics.jsonl and TensorBoard.
#include "lunar/train/callbacks.h"

namespace lunar::train {

LogCallback::LogCallback(std::shared_ptr<RunLog> log, int64_t log_every)
    : log_(std::move(log)), log_every_(std::max<int64_t>(1, log_every)) {}

void LogCallback::on_step(const StepRecord& r, models::LunarModel&, const models::ModelOutput&) {
  sums_["loss"] += r.loss;
  sums_["accuracy"] += r.accuracy;
  sums_["grad_norm"] += r.grad_norm;
  sums_["tokens_per_second"] += r.tokens_per_second;
  ++window_;
  if (r.step % log_every_ != 0 && r.step != r.total_steps) return;
  std::map<std::string, double> values;
  for (const auto& [name, sum] : sums_) values[name] = sum / window_;
  values["learning_rate"] = r.learning_rate;
  log_->record(r.step, "train", values);
  sums_.clear();
  window_ = 0;
}

void LogCallback::on_eval(const EvalRecord& r, models::LunarModel&) {
  log_->record(r.step, "val", {{"loss", r.validation.loss}, {"accuracy", r.validation.accuracy}});
}

}  // namespace lunar::train
