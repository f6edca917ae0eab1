// Position-wise feed-forward network.
#include "lunar/nn/feedforward.h"

#include "lunar/core/error.h"

namespace lunar::nn {

FeedForwardImpl::FeedForwardImpl(FeedForwardOptions options_) : options(std::move(options_)) {
  reset();
}

void FeedForwardImpl::reset() {
  check(options.hidden() >= 1, "[model] expected ffn_dim >= 1, got {}", options.hidden());
  input = register_module("input", torch::nn::Linear(options.dim(), options.hidden()));
  output = register_module("output", torch::nn::Linear(options.hidden(), options.dim()));
  dropout = register_module("dropout", torch::nn::Dropout(options.dropout()));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  return dropout->forward(output->forward(dropout->forward(at::gelu(input->forward(x)))));
}

}  // namespace lunar::nn
