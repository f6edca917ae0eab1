// The trainable positive feature map φ of the ffkernel family (Yorsh & Kovalenko 2022): a stack
// of gated layers a(x W_o) ⊙ sigmoid(x W_g) with per-head weights, identity `a` on hidden layers
// and Softplus on the last, so φ > 0.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "lunar/nn/choices.h"

namespace lunar::nn {

struct FeatureMapOptions {
  FeatureMapOptions(FeatureMapKind kind, int64_t num_heads, int64_t head_dim)
      : kind_(kind), num_heads_(num_heads), head_dim_(head_dim) {}
  TORCH_ARG(FeatureMapKind, kind);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, head_dim);
  TORCH_ARG(double, dropout) = 0.0;  // on each layer's input
};

class FeatureMapImpl : public torch::nn::Cloneable<FeatureMapImpl> {
 public:
  explicit FeatureMapImpl(FeatureMapOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);  // [B, H, L, Dh] -> [B, H, L, Dh], > 0
  // mean over layers of mean((W_o W_oᵀ − I)²): the orthogonality penalty before λ.
  at::Tensor orthogonality() const;

  FeatureMapOptions options;
  std::vector<at::Tensor> outputs;     // W_o per layer [H, Dh, Dh], orthogonal init, no bias
  std::vector<at::Tensor> gates;       // W_g per layer [H, Dh, Dh] (full-rank gates)
  std::vector<at::Tensor> gates_down;  // low-rank gate factors [H, Dh, r] (gated3)
  std::vector<at::Tensor> gates_up;    // [H, r, Dh]
};
TORCH_MODULE(FeatureMap);

}  // namespace lunar::nn
