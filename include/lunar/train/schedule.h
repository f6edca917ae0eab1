// Learning-rate schedules λ(step) · base. As PyTorch's LambdaLR (which the research used), update
// n (counting from 1) takes λ(n − 1): `step` is the number of updates already made, so the
// first update has learning rate 0 whenever there is a warmup.
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
