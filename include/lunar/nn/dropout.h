// Dropout whose random mask is cheap on CPU. LibTorch 1.13's CPU at::dropout draws one Bernoulli
// variate per element through a scalar generator (about 50 ns each on the project's machines:
// 30x the cost of the attention matmul it follows). Here each element takes 15 random bits
// from a 64-bit draw shared by four elements, so a step draws a quarter as many numbers and
// compares them as a vector op.
#pragma once

#include <ATen/ATen.h>

namespace lunar::nn {

// Inverted dropout: in training, each element is kept with probability q = 1 − p' and scaled by
// 1/q, where p' is p rounded to a multiple of 2⁻¹⁵; otherwise x unchanged. On CUDA, and for
// tensors whose element count is not a multiple of four, it calls at::dropout (the reference).
// The mask comes from the default generator, so seeding reproduces it.
at::Tensor fast_dropout(const at::Tensor& x, double p, bool training);

// The keep mask alone: [shape] bool with P(true) = 1 − round(p·2¹⁵)/2¹⁵ (exposed for tests).
at::Tensor dropout_keep_mask(at::IntArrayRef shape, double p, const at::TensorOptions& options);

}  // namespace lunar::nn
