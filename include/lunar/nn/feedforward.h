// The position-wise feed-forward network: Linear(d, f) → GELU → Dropout → Linear(f, d) → Dropout.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace lunar::nn {

struct FeedForwardOptions {
  FeedForwardOptions(int64_t dim, int64_t hidden) : dim_(dim), hidden_(hidden) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, hidden);
  TORCH_ARG(double, dropout) = 0.1;
};

class FeedForwardImpl : public torch::nn::Cloneable<FeedForwardImpl> {
 public:
  explicit FeedForwardImpl(FeedForwardOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);  // [B, L, D] -> [B, L, D]

  FeedForwardOptions options;
  torch::nn::Linear input{nullptr}, output{nullptr};
};
TORCH_MODULE(FeedForward);

}  // namespace lunar::nn
