// Learning-rate schedules.
#include "lunar/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "lunar/core/error.h"

namespace lunar::train {

double learning_rate(const ScheduleConfig& schedule, double base, int64_t step,
                     int64_t total_steps) {
  check(step >= 0, "[schedule] expected a step >= 0, got {}", step);
  const double s = static_cast<double>(step);
  const double warmup = static_cast<double>(schedule.warmup);
  const double ramp = warmup > 0 ? std::min(1.0, s / warmup) : 1.0;
  if (schedule.kind == ScheduleKind::rsqrt)
    return base * ramp / std::sqrt(std::max({s, warmup, 1.0}));
  if (schedule.kind == ScheduleKind::constant) return base * ramp;
  if (schedule.kind == ScheduleKind::cosine) {
    if (s < warmup) return base * ramp;
    const double span = std::max(1.0, static_cast<double>(total_steps) - warmup);
    const double t = std::min(1.0, (s - warmup) / span);
    return schedule.min_lr + (base - schedule.min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  throw Error(fmt::format("[schedule] expected rsqrt, cosine or constant, got '{}'",
                          to_string(schedule.kind)));
}

}  // namespace lunar::train
