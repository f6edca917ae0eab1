// Encoder blocks. Transformer (LRA baseline, Pre-LN default as LRA ran it) and the Luna family,
// whose variants (Luna, PreLuna, ConvLuna) share one dataflow and differ by options
// (docs/models.md).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <functional>

#include "lunar/nn/feedforward.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/nn/projections.h"

namespace lunar::models {

inline constexpr double kLayerNormEps = 1e-6;

struct TransformerBlockOptions;

// What a block's attention computes between its projections.
struct KernelOutput {
  at::Tensor heads;    // [B, H, Lq, Dv]
  at::Tensor weights;  // [B, H, Lq, Lk] when the kernel forms the map (softmax), else undefined
};

// The attention kernel of a Transformer-style block: the architecture's registry row chooses it,
// so the block never names a family.
struct AttentionKernel {
  // query, key [B, H, L, Dh], value [B, H, L, Dv], mask [B, L] bool (true = real) or undefined.
  std::function<KernelOutput(const at::Tensor& query, const at::Tensor& key,
                             const at::Tensor& value, const at::Tensor& mask, bool training)>
      attend;
  // A penalty on the kernel's parameters to add to the training loss; empty when none.
  std::function<at::Tensor()> regularization;
};

// Builds one block's kernel. It may register parameters on `block` (ffkernel registers its φ as
// "feature_map"); it is called again when the block is reset or cloned.
using AttentionKernelFactory = std::function<AttentionKernel(
    torch::nn::Module& block, const TransformerBlockOptions& options, int64_t head_dim)>;

// The Transformer's kernel: softmax(Q Kᵀ / √d_h) V, dropout on the probabilities
// (options.attention_dropout).
AttentionKernel softmax_kernel(torch::nn::Module& block, const TransformerBlockOptions& options,
                               int64_t head_dim);

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
  TORCH_ARG(AttentionKernelFactory, kernel) = softmax_kernel;
  TORCH_ARG(bool, output_projection) = true;  // W_o (simpletron: off by default)
};

struct TransformerBlockOutput {
  at::Tensor sequence;  // [B, L, D]
  at::Tensor weights;   // [B, H, L, L] when the kernel forms it (softmax), else undefined
};

// Post-LN: X_A = LN(X + Att(X, X)); X' = LN(X_A + FFN(X_A)).
// Pre-LN:  X_A = X + Att(LN(X), LN(X)); X' = X_A + FFN(LN(X_A)).
class TransformerBlockImpl : public torch::nn::Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(TransformerBlockOptions options);
  void reset() override;
  TransformerBlockOutput forward(const at::Tensor& x, const at::Tensor& mask);  // mask [B, L]
  // The kernel's penalty on its parameters; undefined when it has none.
  at::Tensor regularization() const;

  TransformerBlockOptions options;
  nn::AttentionProjections attention{nullptr};
  AttentionKernel kernel;
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
