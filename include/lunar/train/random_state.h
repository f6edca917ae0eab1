// The state of the random generators a training process draws from (dropout masks), saved per
// rank in checkpoints so that a resumed run draws what the uninterrupted one would have.
#pragma once

#include <ATen/ATen.h>

namespace lunar::train {

// The CPU generator's state, followed by the training device's generator's when it is a GPU,
// as one byte tensor.
at::Tensor random_state(const at::Device& device);

// Restores what random_state returned, generator by generator while the state holds one
// whole. Returns false when `state` is not exactly one state for `device` (a run moved
// between a CPU and a GPU): what fits is restored, and dropout draws will differ.
bool restore_random_state(const at::Tensor& state, const at::Device& device);

}  // namespace lunar::train
