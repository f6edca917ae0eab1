// Learning-rate schedules (design.md §3). Steps count from 1; step 0 has learning rate 0.
#pragma once

#include <cstdint>

#include "lunar/train/config.h"

namespace lunar::train {

// rsqrt:    base · min(1, step/W) / √max(step, W)   (the research's; peak base/√W at step W)
// cosine:   base · step/W during warmup, then min_lr + (base − min_lr)·½(1 + cos(π·t)),
//           t = (step − W)/(total − W)
// constant: base · min(1, step/W)
double learning_rate(const ScheduleConfig& schedule, double base, int64_t step,
                     int64_t total_steps);

}  // namespace lunar::train
