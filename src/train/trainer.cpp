// The training loop.
#include "lunar/train/trainer.h"

#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "lunar/core/error.h"
#include "lunar/runtime/compat.h"
#include "lunar/train/random_state.h"
#include "lunar/train/schedule.h"
#include "lunar/train/signals.h"

namespace lunar::train {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimConfig& optim,
                                                        std::vector<at::Tensor> parameters) {
  if (optim.name == OptimizerKind::adamw) {
    return std::make_unique<torch::optim::AdamW>(std::move(parameters),
                                                 torch::optim::AdamWOptions(optim.lr)
                                                     .betas({optim.beta1, optim.beta2})
                                                     .eps(optim.eps)
                                                     .weight_decay(optim.weight_decay));
  }
  if (optim.name == OptimizerKind::adam) {
    return std::make_unique<torch::optim::Adam>(std::move(parameters),
                                                torch::optim::AdamOptions(optim.lr)
                                                    .betas({optim.beta1, optim.beta2})
                                                    .eps(optim.eps)
                                                    .weight_decay(optim.weight_decay));
  }
  throw Error(fmt::format("[optim] expected adamw or adam, got '{}'", to_string(optim.name)));
}

namespace {
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

int64_t world_size(const GradientSynchronizer* sync) {
  return sync == nullptr ? 1 : sync->world_size();
}

// Examples per micro-batch on this rank: train.batch_size is the global batch, split evenly
// across the ranks.
int64_t micro_batch_size(const TrainConfig& train, const GradientSynchronizer* sync) {
  const int64_t world = world_size(sync);
  if (train.micro_batch > 0) return train.micro_batch;
  check(train.batch_size % world == 0,
        "[train] train.batch_size = {} must be divisible by the number of processes ({})",
        train.batch_size, world);
  return train.batch_size / world;
}

// Every rank's random_state, row r for rank r; every rank must call it (a collective). The
// bytes travel through the synchronizer's sum, each rank filling its own row.
at::Tensor random_states(GradientSynchronizer* sync, const at::Device& device) {
  const auto own = random_state(device);
  if (!sync) return own.unsqueeze(0);
  const int64_t bytes = own.numel(), rank = sync->rank();
  std::vector<double> rows(static_cast<size_t>(sync->world_size() * bytes), 0.0);
  const auto* data = own.data_ptr<uint8_t>();
  for (int64_t i = 0; i < bytes; ++i) rows[static_cast<size_t>(rank * bytes + i)] = data[i];
  sync->sum(rows);
  auto out = at::empty({sync->world_size(), bytes}, at::kByte);
  auto* target = out.data_ptr<uint8_t>();
  for (size_t i = 0; i < rows.size(); ++i) target[i] = static_cast<uint8_t>(rows[i]);
  return out;
}
}  // namespace

Trainer::Trainer(const RunConfig& config, models::LunarModel model, const data::TaskData& task,
                 at::Device device, CheckpointPaths paths, std::string config_toml,
                 std::shared_ptr<GradientSynchronizer> sync)
    : config_(config),
      model_(std::move(model)),
      task_(task),
      device_(device),
      paths_(std::move(paths)),
      config_toml_(std::move(config_toml)),
      sync_(std::move(sync)) {
  check(!task_.train.empty(), "[train] the training split of task '{}' is empty", task_.info.name);
  check(!task_.validation.empty(), "[train] the validation split of task '{}' is empty",
        task_.info.name);
  optimizer_ = make_optimizer(config_.optim, model_->parameters());
  const int64_t world = world_size(sync_.get());
  const int64_t micro = micro_batch_size(config_.train, sync_.get()) * world;  // global
  check(config_.train.batch_size % micro == 0,
        "[train] train.batch_size = {} must be a multiple of train.micro_batch x processes = {}",
        config_.train.batch_size, micro);
  check(static_cast<int64_t>(task_.train.size()) >= micro,
        "[train] expected at least one batch ({} examples) in the training split, got {}", micro,
        task_.train.size());
  data::BatchLoaderOptions options;
  options.batch_size = micro;
  options.rank = sync_ ? sync_->rank() : 0;
  options.world_size = world;
  options.shuffle = true;
  options.seed = config_.train.seed;
  options.drop_last = true;
  options.repeat = true;
  options.bucket_by_length = config_.train.bucket_by_length;
  options.pad_to = padded_length(config_);
  loader_ = std::make_unique<data::BatchLoader>(task_.train, options);
}

void Trainer::add_callback(std::shared_ptr<TrainerCallback> callback) {
  callbacks_.push_back(std::move(callback));
}

void Trainer::resume_from(const std::filesystem::path& checkpoint) {
  auto contents = load_checkpoint(checkpoint, *model_, optimizer_.get());
  state_ = contents.state;
  loader_->restore(state_.loader);
  const auto& rng = state_.rng;
  const int64_t rank = sync_ ? sync_->rank() : 0, world = world_size(sync_.get());
  bool exact = rng.defined() && rng.size(0) == world;
  if (rng.defined() && rank < rng.size(0))
    exact = restore_random_state(rng[rank], device_) && exact;
  if (!exact && is_main_process(sync_.get())) {
    fmt::print(stderr,
               "warning: '{}' holds random states for {} process(es) and this run has {} (or "
               "it moved between a CPU and a GPU): dropout will not draw what the uninterrupted "
               "run drew\n",
               checkpoint.string(), rng.defined() ? rng.size(0) : 0, world);
  }
}

void Trainer::save(const std::filesystem::path& path) {
  state_.loader = loader_->state();
  state_.rng = random_states(sync_.get(), device_);
  if (is_main_process(sync_.get())) {
    save_checkpoint(path, *model_, optimizer_.get(), state_, config_toml_);
  }
  if (sync_) sync_->barrier();  // the checkpoint exists before any rank goes on
}

// A signal may reach only some ranks; all of them stop at the same step.
bool Trainer::stop_requested_anywhere() {
  if (!sync_) return stop_requested();
  std::vector<double> flag{stop_requested() ? 1.0 : 0.0};
  sync_->sum(flag);
  return flag[0] > 0;
}

EvalResult Trainer::evaluate_split(const std::string& split,
                                   const std::vector<data::Example>& examples) {
  return evaluate_across(
      sync_.get(), model_, examples, evaluation_batch_size(config_), padded_length(config_),
      device_, config_.runtime.precision == Precision::bf16, [&](int64_t done, int64_t total) {
        for (auto& callback : callbacks_) {
          callback->on_eval_progress(split, done, total);
        }
        return !stop_requested();
      });
}

void Trainer::evaluate_and_checkpoint(TrainOutcome& outcome) {
  const auto& train = config_.train;
  EvalRecord record;
  record.step = state_.step;
  record.validation = evaluate_split("val", task_.validation);
  state_.evaluation_pending = !record.validation.complete;
  if (state_.evaluation_pending) {
    outcome.interrupted = true;  // the last checkpoint asks its resumed run to evaluate again
    return;
  }
  record.improved = record.validation.accuracy > state_.best_accuracy;
  if (record.improved) {
    state_.best_accuracy = record.validation.accuracy;
    state_.best_step = state_.step;
    state_.evals_since_best = 0;
  } else {
    ++state_.evals_since_best;
  }
  for (auto& callback : callbacks_) callback->on_eval(record, model_);
  if (record.improved) save(paths_.best);
  if (train.checkpoint_every == 0) save(paths_.last);
  if (train.patience > 0 && state_.evals_since_best >= train.patience) outcome.stopped_early = true;
}

TrainOutcome Trainer::run() {
  const auto& train = config_.train;
  const int64_t micro = micro_batch_size(train, sync_.get());
  const int64_t accumulation = train.batch_size / (micro * world_size(sync_.get()));
  const bool bf16 = config_.runtime.precision == Precision::bf16;
  TrainOutcome outcome;
  model_->to(device_);
  model_->train();
  if (sync_) sync_->broadcast_model(model_);
  for (auto& callback : callbacks_) callback->on_start(state_, model_);
  const auto parameters = model_->parameters();
  if (state_.evaluation_pending) evaluate_and_checkpoint(outcome);
  while (state_.step < train.steps && !outcome.stopped_early && !outcome.interrupted) {
    if (stop_requested_anywhere()) {
      outcome.interrupted = true;
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    const int64_t step = state_.step + 1;
    StepRecord record;
    record.step = step;
    record.total_steps = train.steps;
    // Update `step` takes λ(step − 1), as the research's LambdaLR.
    record.learning_rate = learning_rate(config_.schedule, config_.optim.lr, step - 1, train.steps);
    set_learning_rate(*optimizer_, record.learning_rate);
    optimizer_->zero_grad();
    double loss_sum = 0;
    int64_t correct = 0, examples = 0, tokens = 0;
    models::ModelOutput output;
    for (int64_t i = 0; i < accumulation; ++i) {
      auto batch = loader_->next();
      check(batch.has_value(), "[train] the training loader ended unexpectedly");
      const auto labels = batch->labels.to(device_);
      at::Tensor loss;
      {
        compat::AutocastGuard autocast(device_, bf16, at::kBFloat16);
        output = model_->forward(to_model_input(*batch, device_));
        loss = at::cross_entropy_loss(output.logits.to(at::kFloat), labels);
      }
      const auto penalty = model_->regularization();  // e.g. ffkernel's orthogonality term
      const auto objective = penalty.defined() ? loss + penalty : loss;
      if (sync_) sync_->prepare_backward(parameters, i + 1 == accumulation);
      (objective / static_cast<double>(accumulation)).backward();
      loss_sum += loss.item<double>() * labels.size(0);
      correct += (output.logits.argmax(-1) == labels).sum().item<int64_t>();
      examples += labels.size(0);
      tokens += batch->mask.sum().item<int64_t>();
      if (batch->mask2.defined()) tokens += batch->mask2.sum().item<int64_t>();
    }
    if (sync_) {
      // The step's metrics over the global batch; gradients averaged before clipping.
      std::vector<double> sums{loss_sum, static_cast<double>(correct),
                               static_cast<double>(examples), static_cast<double>(tokens)};
      sync_->sum(sums);
      loss_sum = sums[0];
      correct = std::llround(sums[1]);
      examples = std::llround(sums[2]);
      tokens = std::llround(sums[3]);
      sync_->average_gradients(parameters);
    }
    record.loss = loss_sum / examples;
    record.accuracy = static_cast<double>(correct) / examples;
    if (!std::isfinite(record.loss)) {
      const auto kept = std::filesystem::exists(paths_.last)
                            ? fmt::format("The last good checkpoint is '{}'", paths_.last.string())
                            : std::string("No checkpoint was written yet");
      throw Error(fmt::format(
          "[train] the loss became {} at step {}; training stopped. {} (lower optim.lr, set "
          "optim.grad_clip, or use runtime.precision = fp32)",
          record.loss, step, kept));
    }
    const double max_norm = config_.optim.grad_clip > 0 ? config_.optim.grad_clip
                                                        : std::numeric_limits<double>::infinity();
    record.grad_norm = torch::nn::utils::clip_grad_norm_(parameters, max_norm);
    optimizer_->step();
    state_.step = step;
    record.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record.tokens_per_second = tokens / std::max(record.seconds, 1e-9);
    for (auto& callback : callbacks_) callback->on_step(record, model_, output);
    const bool last = step == train.steps;
    if (step % train.eval_every == 0 || last) {
      evaluate_and_checkpoint(outcome);
    } else if (train.checkpoint_every > 0 && step % train.checkpoint_every == 0) {
      save(paths_.last);
    }
  }
  // At checkpoint_every = 0 the last evaluation (also the one that stops early) saved it.
  if (train.checkpoint_every > 0 || outcome.interrupted) save(paths_.last);
  outcome.state = state_;
  outcome.state.loader = loader_->state();
  for (auto& callback : callbacks_) callback->on_end(outcome);
  return outcome;
}

}  // namespace lunar::train
