// Transformer and Luna-family encoders.
#include "lunar/models/encoder.h"

#include <torch/nn/init.h>

#include "lunar/core/error.h"

namespace lunar::models {

TransformerEncoderImpl::TransformerEncoderImpl(const TransformerBlockOptions& block,
                                               int64_t num_blocks) {
  check(num_blocks >= 1, "[model] expected num_blocks >= 1, got {}", num_blocks);
  for (int64_t i = 0; i < num_blocks; ++i) {
    blocks.push_back(register_module(fmt::format("block{}", i), TransformerBlock(block)));
  }
}

EncoderOutput TransformerEncoderImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  EncoderOutput out{x, {}, {}};
  for (auto& block : blocks) {
    auto result = block->forward(out.sequence, mask);
    out.sequence = result.sequence;
    out.blocks.push_back(BlockTrace{{}, {}, {}, {}, result.weights});
  }
  return out;
}

at::Tensor TransformerEncoderImpl::regularization() const {
  at::Tensor total;
  for (const auto& block : blocks) {
    const auto penalty = block->regularization();
    if (penalty.defined()) total = total.defined() ? total + penalty : penalty;
  }
  return total;
}

LunaEncoderImpl::LunaEncoderImpl(LunaEncoderOptions options_) : options(std::move(options_)) {
  check(options.num_blocks() >= 1, "[model] expected num_blocks >= 1, got {}",
        options.num_blocks());
  check(options.memory_len() >= 1, "[model] expected luna.memory_len >= 1, got {}",
        options.memory_len());
  const int64_t dim = options.block().attention().dim();
  memory = register_parameter("memory", at::empty({options.memory_len(), dim}));
  torch::nn::init::normal_(memory, 0.0, options.memory_init_std());
  if (options.input_norms()) {
    const auto norm = torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps);
    embedding_norm = register_module("embedding_norm", torch::nn::LayerNorm(norm));
    memory_norm = register_module("memory_norm", torch::nn::LayerNorm(norm));
  }
  for (int64_t i = 0; i < options.num_blocks(); ++i) {
    blocks.push_back(register_module(fmt::format("block{}", i), LunaBlock(options.block())));
  }
}

EncoderOutput LunaEncoderImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  auto p = memory.unsqueeze(0).expand({x.size(0), memory.size(0), memory.size(1)});  // [B, M, D]
  EncoderOutput out{x, p, {}};
  if (embedding_norm) {
    out.sequence = embedding_norm->forward(x);
    out.memory = memory_norm->forward(p);
  }
  for (auto& block : blocks) {
    auto result = block->forward(out.sequence, out.memory, mask);
    out.sequence = result.sequence;
    out.memory = result.memory;
    out.blocks.push_back(BlockTrace{
        result.memory, result.pack_weights, result.pack_mask, result.unpack_weights, {}});
  }
  return out;
}

}  // namespace lunar::models
