// The progress line.
#include <fmt/format.h>

#include <cstdio>

#include "lunar/train/callbacks.h"

namespace lunar::train {

namespace {
std::string duration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}
double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

EvalProgressLine::EvalProgressLine(bool terminal, double every)
    : terminal_(terminal), every_(every) {}

void EvalProgressLine::update(const std::string& split, int64_t done, int64_t total) {
  if (done <= last_done_ || last_done_ == 0) {
    started_ = printed_ = std::chrono::steady_clock::now();
  }
  last_done_ = done >= total ? 0 : done;
  if (!terminal_ && (seconds_since(printed_) < every_ || done >= total)) return;
  printed_ = std::chrono::steady_clock::now();
  const double elapsed = seconds_since(started_);
  const double eta = done > 0 ? elapsed / done * (total - done) : 0;
  const auto line = fmt::format("evaluating {}: {}/{} examples ({:.0f}%) ETA {}", split, done,
                                total, 100.0 * done / std::max<int64_t>(1, total), duration(eta));
  if (terminal_) {
    fmt::print(stderr, "\r{:<110}", line);
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
}

ProgressCallback::ProgressCallback(int64_t log_every, bool terminal)
    : log_every_(std::max<int64_t>(1, log_every)), terminal_(terminal), eval_line_(terminal) {}

void ProgressCallback::on_eval_progress(const std::string& split, int64_t done, int64_t total) {
  eval_line_.update(split, done, total);
}

void ProgressCallback::on_start(const TrainingState& state, models::LunarModel&) {
  first_step_ = state.step;
  started_ = std::chrono::steady_clock::now();
}

void ProgressCallback::on_step(const StepRecord& r, models::LunarModel&,
                               const models::ModelOutput&) {
  loss_sum_ += r.loss;
  accuracy_sum_ += r.accuracy;
  tokens_per_second_ = r.tokens_per_second;
  ++window_;
  const bool print_line = r.step % log_every_ == 0 || r.step == r.total_steps;
  if (!terminal_ && !print_line) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const int64_t done = r.step - first_step_;
  const double eta = done > 0 ? elapsed / done * (r.total_steps - r.step) : 0;
  const int width = 24;
  const int filled = static_cast<int>(width * r.step / std::max<int64_t>(1, r.total_steps));
  const auto line =
      fmt::format("[{}{}] step {}/{} loss {:.4f} acc {:.3f} lr {:.2e} {:.0f} tok/s ETA {}",
                  std::string(filled, '#'), std::string(width - filled, '.'), r.step, r.total_steps,
                  loss_sum_ / window_, accuracy_sum_ / window_, r.learning_rate, tokens_per_second_,
                  duration(eta));
  if (terminal_) {
    fmt::print(stderr, "\r{:<110}", line);
  } else {
    fmt::print(stderr, "{}\n", line);
  }
  std::fflush(stderr);
  if (print_line) loss_sum_ = accuracy_sum_ = 0, window_ = 0;
}

void ProgressCallback::on_eval(const EvalRecord& r, models::LunarModel&) {
  fmt::print(stderr, "{}eval step {}: val loss {:.4f} acc {:.4f}{}\n", terminal_ ? "\n" : "",
             r.step, r.validation.loss, r.validation.accuracy, r.improved ? " (best)" : "");
}

void ProgressCallback::on_end(const TrainOutcome& outcome) {
  if (terminal_) fmt::print(stderr, "\n");
  if (outcome.interrupted) {
    fmt::print(
        stderr, "interrupted at step {}{}: checkpoint saved; continue with --resume\n",
        outcome.state.step,
        outcome.state.evaluation_pending ? " during its evaluation (done again on resume)" : "");
  } else if (outcome.stopped_early) {
    fmt::print(stderr, "early stop at step {}: no improvement since step {}\n", outcome.state.step,
               outcome.state.best_step);
  }
}

SlowRunWarning::SlowRunWarning(double limit_seconds, int64_t measured_steps)
    : limit_seconds_(limit_seconds), measured_steps_(std::max<int64_t>(1, measured_steps)) {}

void SlowRunWarning::on_start(const TrainingState& state, models::LunarModel&) {
  first_step_ = state.step;
  started_ = std::chrono::steady_clock::now();
}

void SlowRunWarning::on_step(const StepRecord& r, models::LunarModel&, const models::ModelOutput&) {
  if (warned_ || r.step - first_step_ < measured_steps_) return;
  warned_ = true;  // measured once: the first steps tell the order of magnitude
  const double per_step = seconds_since(started_) / static_cast<double>(r.step - first_step_);
  const double left = per_step * static_cast<double>(r.total_steps - r.step);
  if (left <= limit_seconds_) return;
  fmt::print(stderr,
             "\nwarning: at {:.2f} s a step, the {} steps left take about {} on this CPU; the "
             "configuration asks for a GPU (runtime.device = auto) and none was found. "
             "configs/cpu/ holds CPU-sized configurations; Ctrl-C stops with a checkpoint.\n",
             per_step, r.total_steps - r.step, duration(left));
  std::fflush(stderr);
}

}  // namespace lunar::train
