// Memory-collapse diagnostics during training: metrics, and heatmaps as PNG files and as
// TensorBoard images.
#include <fmt/format.h>

#include "lunar/core/atomic_file.h"
#include "lunar/diag/heatmap.h"
#include "lunar/diag/memory_metrics.h"
#include "lunar/runs/layout.h"
#include "lunar/train/callbacks.h"
#include "lunar/train/evaluate.h"

namespace lunar::train {

namespace {
// Metrics is diag::MemoryMetrics (one matrix) or diag::BatchMemoryMetrics (batch mean).
template <typename Metrics>
void add_memory(std::map<std::string, double>& out, const std::string& prefix, const Metrics& m) {
  out[prefix + ".mean_cosine"] = m.mean_cosine;
  out[prefix + ".distinct_fraction"] = m.distinct_fraction;
  out[prefix + ".effective_rank"] = m.effective_rank;
  out[prefix + ".collapse_residual"] = m.collapse_residual;
}

}  // namespace

std::map<std::string, double> memory_diagnostics(models::LunarModel& model,
                                                 const data::Batch& batch,
                                                 const at::Device& device) {
  std::map<std::string, double> out;
  const auto initial = model->initial_memory();
  if (!initial.defined()) return out;
  add_memory(out, "initial", diag::memory_metrics(initial));
  if (initial.grad().defined()) add_memory(out, "grad", diag::memory_metrics(initial.grad()));
  const bool was_training = model->is_training();
  model->eval();
  {
    at::NoGradGuard no_grad;
    const auto output = model->forward(to_model_input(batch, device));
    // Unpack queries are the CLS token plus the input positions.
    const auto cls = at::ones({batch.mask.size(0), 1}, batch.mask.options());
    const auto query_mask = at::cat({cls, batch.mask}, 1).to(device);
    for (size_t i = 0; i < output.encoded.blocks.size(); ++i) {
      const auto& block = output.encoded.blocks[i];
      const auto prefix = fmt::format("block{}", i);
      add_memory(out, prefix, diag::batch_memory_metrics(block.memory));
      out[prefix + ".pack_entropy"] =
          diag::attention_entropy(block.pack_weights, block.pack_mask).mean;
      const auto usage = diag::slot_usage(block.unpack_weights, query_mask);
      out[prefix + ".slot_entropy"] = usage.normalized_entropy;
      out[prefix + ".slot_effective"] = usage.effective_slots;
    }
  }
  if (was_training) model->train();
  return out;
}

DiagnosticsCallback::DiagnosticsCallback(std::shared_ptr<RunLog> log, data::Batch probe,
                                         at::Device device, int64_t every,
                                         std::vector<int64_t> heatmap_steps,
                                         std::filesystem::path heatmap_dir)
    : log_(std::move(log)),
      probe_(std::move(probe)),
      device_(device),
      every_(every),
      heatmap_steps_(heatmap_steps.begin(), heatmap_steps.end()),
      heatmap_dir_(std::move(heatmap_dir)) {}

void DiagnosticsCallback::on_start(const TrainingState& state, models::LunarModel& model) {
  if (state.step != 0) return;
  measure(0, model);  // the starting point of every collapse curve
  if (heatmap_steps_.count(0)) write_heatmaps(0, model);
}

void DiagnosticsCallback::measure(int64_t step, models::LunarModel& model) {
  if (probe_.size() == 0 || !model->initial_memory().defined()) return;
  const auto values = memory_diagnostics(model, probe_, device_);
  if (!values.empty()) log_->record(step, "diag", values);
}

void DiagnosticsCallback::write_heatmaps(int64_t step, models::LunarModel& model) {
  const auto memory = model->initial_memory();
  if (!memory.defined()) return;
  const auto values = memory.detach();
  if (memory_limit_ <= 0) memory_limit_ = diag::heatmap_limit(values);
  diag::HeatmapOptions options;
  options.limit = memory_limit_;
  options.title = fmt::format("P step {}", step);
  write_heatmap(runs::heatmap_file_name({false, step}), "memory/P", step, values, options);
  if (memory.grad().defined()) {
    diag::HeatmapOptions grad_options;
    grad_options.title = fmt::format("grad P step {}", step);
    write_heatmap(runs::heatmap_file_name({true, step}), "memory/grad_P", step,
                  memory.grad().detach(), grad_options);
  }
}

// One PNG encoding serves both the file and TensorBoard, so the two hold the same bytes.
void DiagnosticsCallback::write_heatmap(const std::string& file_name, const std::string& tag,
                                        int64_t step, const at::Tensor& values,
                                        const diag::HeatmapOptions& options) {
  const auto png = diag::encode_png(diag::render_heatmap(values, options).image);
  write_atomically(heatmap_dir_ / file_name, png);
  log_->record_image(tag, step, png);
}

void DiagnosticsCallback::on_step(const StepRecord& record, models::LunarModel& model,
                                  const models::ModelOutput&) {
  if (every_ > 0 && record.step % every_ == 0) measure(record.step, model);
  if (heatmap_steps_.count(record.step)) write_heatmaps(record.step, model);
}

void DiagnosticsCallback::on_eval(const EvalRecord& record, models::LunarModel& model) {
  if (every_ == 0) measure(record.step, model);
}

}  // namespace lunar::train
