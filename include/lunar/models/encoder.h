// Encoders: a stack of blocks over embedded inputs. The Luna family carries a memory from block
// to block, starting from a learned initial memory P [M, D].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <memory>
#include <vector>

#include "lunar/models/blocks.h"

namespace lunar::models {

// What one block saw and produced, kept for diagnostics (tensors that exist anyway).
struct BlockTrace {
  at::Tensor memory;          // [B, M, D] the block's output memory (Luna family)
  at::Tensor pack_weights;    // [B, H, M, L'] (Luna family)
  at::Tensor pack_mask;       // [B, L'] or undefined
  at::Tensor unpack_weights;  // [B, H, L, M] (Luna family)
  at::Tensor self_weights;    // [B, H, L, L] (Transformer)
};

struct EncoderOutput {
  at::Tensor sequence;  // [B, L, D]
  at::Tensor memory;    // [B, M, D] final memory; undefined for the Transformer
  std::vector<BlockTrace> blocks;
};

class EncoderImpl : public torch::nn::Module {
 public:
  // x [B, L, D]; mask [B, L] bool (true = real) or undefined when masks are off.
  virtual EncoderOutput forward(const at::Tensor& x, const at::Tensor& mask) = 0;
  // The learned initial memory P [M, D]; undefined for encoders without memory.
  virtual at::Tensor initial_memory() const { return {}; }
  // A penalty on parameters to add to the training loss (ffkernel); undefined when none.
  virtual at::Tensor regularization() const { return {}; }
};

class TransformerEncoderImpl : public EncoderImpl {
 public:
  TransformerEncoderImpl(const TransformerBlockOptions& block, int64_t num_blocks);
  EncoderOutput forward(const at::Tensor& x, const at::Tensor& mask) override;
  at::Tensor regularization() const override;

  std::vector<TransformerBlock> blocks;
};

struct LunaEncoderOptions {
  LunaEncoderOptions(LunaBlockOptions block, int64_t num_blocks, int64_t memory_len)
      : block_(std::move(block)), num_blocks_(num_blocks), memory_len_(memory_len) {}
  TORCH_ARG(LunaBlockOptions, block);
  TORCH_ARG(int64_t, num_blocks);
  TORCH_ARG(int64_t, memory_len);
  TORCH_ARG(double, memory_init_std) = 1.0;  // N(0, 1) as the research; d^-1/2 official Luna
  TORCH_ARG(bool, input_norms) = false;      // official Luna: LN on the embeddings and on P
};

class LunaEncoderImpl : public EncoderImpl {
 public:
  explicit LunaEncoderImpl(LunaEncoderOptions options);
  EncoderOutput forward(const at::Tensor& x, const at::Tensor& mask) override;
  at::Tensor initial_memory() const override { return memory; }

  LunaEncoderOptions options;
  at::Tensor memory;  // P [M, D]
  std::vector<LunaBlock> blocks;
  torch::nn::LayerNorm embedding_norm{nullptr}, memory_norm{nullptr};
};

}  // namespace lunar::models
