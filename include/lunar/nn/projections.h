// The projections around an attention kernel: W_q, W_k, W_v (d -> attention width) and W_o
// (attention width -> d), each optional. A missing input projection passes the raw input
// (split into heads); a missing output projection only merges the heads.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace lunar::nn {

// `layer`'s forward; under CPU autocast through at::linear, so the bias is added in bf16 in one
// pass instead of through fp32 copies of the output.
at::Tensor linear_forward(torch::nn::Linear& layer, const at::Tensor& x);

struct AttentionProjectionsOptions {
  AttentionProjectionsOptions(int64_t dim, int64_t num_heads) : dim_(dim), num_heads_(num_heads) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, attention_dim) = 0;  // 0 = dim
  TORCH_ARG(bool, query) = true;
  TORCH_ARG(bool, key) = true;
  TORCH_ARG(bool, value) = true;
  TORCH_ARG(bool, output) = true;
};

class AttentionProjectionsImpl : public torch::nn::Cloneable<AttentionProjectionsImpl> {
 public:
  explicit AttentionProjectionsImpl(AttentionProjectionsOptions options);
  void reset() override;

  at::Tensor query(const at::Tensor& x);       // [B, L, D] -> [B, H, L, Dh]
  at::Tensor key(const at::Tensor& x);         // [B, L, D] -> [B, H, L, Dh]
  at::Tensor value(const at::Tensor& x);       // [B, L, D] -> [B, H, L, Dv]
  at::Tensor output(const at::Tensor& heads);  // [B, H, L, Dv] -> [B, L, D]
  int64_t head_dim() const;

  AttentionProjectionsOptions options;
  torch::nn::Linear query_proj{nullptr}, key_proj{nullptr}, value_proj{nullptr},
      output_proj{nullptr};

 private:
  at::Tensor project(torch::nn::Linear& layer, const at::Tensor& x);
};
TORCH_MODULE(AttentionProjections);

}  // namespace lunar::nn
