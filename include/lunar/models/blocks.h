// Encoder blocks. Transformer (LRA baseline, Pre-LN default as LRA ran it) and the Luna family,
// whose variants (Luna, PreLuna, ConvLuna) share one dataflow and differ by options
// (docs/models.md).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lunar/nn/feature_map.h"
#include "lunar/nn/feedforward.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/nn/projections.h"

namespace lunar::models {

inline constexpr double kLayerNormEps = 1e-6;

struct TransformerBlockOptions {
  TransformerBlockOptions(int64_t dim, int64_t num_heads, int64_t ffn_dim)
      : dim_(dim), num_heads_(num_heads), ffn_dim_(ffn_dim) {}
  TORCH_ARG(int64_t, dim);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, ffn_dim);
  TORCH_ARG(int64_t, attention_dim) = 0;
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(double, attention_dropout) = 0.1;
  TORCH_ARG(bool, pre_norm) = false;
  // softmax (the Transformer) | ffkernel (normalised linear attention with a trainable φ) |
  // simpletron (softmax-free Q·(KᵀV)/√N). The sibling families run Pre-LN.
  TORCH_ARG(std::string, kernel) = "softmax";
  TORCH_ARG(std::string, feature_map) = "gated3";  // ffkernel
  TORCH_ARG(double, orthogonality) = 0.0;          // ffkernel: λ of the penalty
  TORCH_ARG(std::string, length_norm) = "padded";  // simpletron
  TORCH_ARG(bool, output_projection) = true;       // W_o (simpletron: off by default)
};

struct TransformerBlockOutput {
  at::Tensor sequence;  // [B, L, D]
  at::Tensor weights;   // [B, H, L, L] (softmax kernel only; the linear kernels never form it)
};

// Post-LN: X_A = LN(X + Att(X, X)); X' = LN(X_A + FFN(X_A)).
// Pre-LN:  X_A = X + Att(LN(X), LN(X)); X' = X_A + FFN(LN(X_A)).
class TransformerBlockImpl : public torch::nn::Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(TransformerBlockOptions options);
  void reset() override;
  TransformerBlockOutput forward(const at::Tensor& x, const at::Tensor& mask);  // mask [B, L]
  // The ffkernel orthogonality penalty λ·mean((W_o W_oᵀ − I)²); undefined when λ = 0.
  at::Tensor regularization() const;

  TransformerBlockOptions options;
  nn::AttentionProjections attention{nullptr};
  nn::FeatureMap feature_map{nullptr};  // ffkernel only
  nn::FeedForward feedforward{nullptr};
  torch::nn::LayerNorm attention_norm{nullptr}, feedforward_norm{nullptr};
};
TORCH_MODULE(TransformerBlock);

struct LunaBlockOptions {
  LunaBlockOptions(nn::PackUnpackOptions attention, int64_t ffn_dim)
      : attention_(std::move(attention)), ffn_dim_(ffn_dim) {}
  TORCH_ARG(nn::PackUnpackOptions, attention);
  TORCH_ARG(int64_t, ffn_dim);
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(bool, pre_norm) = false;  // PreLuna
};

struct LunaBlockOutput {
  at::Tensor sequence;        // X' [B, L, D]
  at::Tensor memory;          // P' [B, M, D], the next block's memory
  at::Tensor pack_weights;    // [B, H, M, L']
  at::Tensor pack_mask;       // [B, L'] or undefined
  at::Tensor unpack_weights;  // [B, H, L, M]
};

// Luna (Post-LN):  Yp = Att(P, X); Yx = Att(X, Yp);
//                  X_A = LN_x(X + Yx); P' = LN_p(P + Yp); X' = LN_f(X_A + FFN(X_A)).
// PreLuna:         x = LN_x(X); m = LN_p(P); Yp = LN_y(Att(m, x)); Yx = Att(x, Yp);
//                  X_A = X + Yx; P' = P + Yp; X' = X_A + FFN(LN_f(X_A)).
class LunaBlockImpl : public torch::nn::Cloneable<LunaBlockImpl> {
 public:
  explicit LunaBlockImpl(LunaBlockOptions options);
  void reset() override;
  // x [B, L, D], memory [B, M, D], mask [B, L] bool or undefined
  LunaBlockOutput forward(const at::Tensor& x, const at::Tensor& memory, const at::Tensor& mask);

  LunaBlockOptions options;
  nn::PackUnpack attention{nullptr};
  nn::FeedForward feedforward{nullptr};
  torch::nn::LayerNorm sequence_norm{nullptr}, memory_norm{nullptr}, feedforward_norm{nullptr},
      packed_norm{nullptr};  // packed_norm (LN_y) only in PreLuna
};
TORCH_MODULE(LunaBlock);

}  // namespace lunar::models
