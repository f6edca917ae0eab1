// Position-wise feed-forward network.
#include "lunar/nn/feedforward.h"

#include "lunar/core/error.h"
#include "lunar/nn/dropout.h"
#include "lunar/nn/projections.h"

namespace lunar::nn {

FeedForwardImpl::FeedForwardImpl(FeedForwardOptions options_) : options(std::move(options_)) {
  reset();
}

void FeedForwardImpl::reset() {
  check(options.hidden() >= 1, "[model] expected ffn_dim >= 1, got {}", options.hidden());
  input = register_module("input", torch::nn::Linear(options.dim(), options.hidden()));
  output = register_module("output", torch::nn::Linear(options.hidden(), options.dim()));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  const double p = options.dropout();
  return nn::fast_dropout(
      linear_forward(output,
                     nn::fast_dropout(at::gelu(linear_forward(input, x)), p, is_training())),
      p, is_training());
}

}  // namespace lunar::nn
