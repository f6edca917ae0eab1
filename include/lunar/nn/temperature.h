// The softmax divisor of ConvLuna's attentions (Yorsh et al. 2024): logits Q Kᵀ / exp(τ).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include "lunar/nn/choices.h"

namespace lunar::nn {

struct TemperatureOptions {
  TemperatureOptions(TemperatureMode mode, int64_t head_dim) : mode_(mode), head_dim_(head_dim) {}
  TORCH_ARG(TemperatureMode, mode);
  TORCH_ARG(int64_t, head_dim);
};

class TemperatureImpl : public torch::nn::Cloneable<TemperatureImpl> {
 public:
  explicit TemperatureImpl(TemperatureOptions options);
  void reset() override;
  at::Tensor divisor() const;  // 0-dim: exp(τ)

  TemperatureOptions options;
  at::Tensor log_temperature;  // τ: a parameter for `learn`, a buffer otherwise
};
TORCH_MODULE(Temperature);

}  // namespace lunar::nn
