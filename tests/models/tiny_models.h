// Tiny model configurations and inputs shared by the models tests (d = 8, 2 heads, M = 3).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "lunar/models/config.h"
#include "lunar/models/encoder.h"
#include "lunar/models/model.h"
#include "lunar/models/registry.h"

namespace lunar::models::testing {

// One of the named variants the tests cover: the four families plus the options that change
// the dataflow (Pre-LN transformer, official Luna, max-pool and full ConvLuna).
inline ModelConfig tiny_config(const std::string& variant) {
  ModelConfig c;
  c.dim = 8;
  c.num_heads = 2;
  c.ffn_dim = 16;
  c.num_blocks = 2;
  c.dropout = 0.0;
  c.attention_dropout = 0.0;
  c.num_classes = 3;
  c.input.vocab_size = 11;
  c.input.max_length = 16;
  c.luna.memory_len = 3;
  c.architecture = variant;
  if (variant == "transformer-pre") {
    c.architecture = "transformer";
    c.norm = Norm::pre;
  } else if (variant == "luna-none") {
    c.architecture = "luna";
    c.luna.sharing = Sharing::none;
  } else if (variant == "convluna-conv") {
    c.architecture = "convluna";
  } else if (variant == "convluna-maxpool") {
    c.architecture = "convluna";
    c.convluna.filter = lunar::nn::FilterKind::maxpool;
    c.convluna.kernel = 3;
  } else if (variant == "convluna-full") {
    c.architecture = "convluna";
    c.convluna.variant = ConvLunaVariant::full;
  }
  return c;
}

inline std::shared_ptr<LunaEncoderImpl> luna_encoder_of(const LunarModel& model) {
  return std::dynamic_pointer_cast<LunaEncoderImpl>(model->encoder);
}

inline std::shared_ptr<TransformerEncoderImpl> transformer_encoder_of(const LunarModel& model) {
  return std::dynamic_pointer_cast<TransformerEncoderImpl>(model->encoder);
}

// A float64 model in eval mode.
inline LunarModel build_double(const ModelConfig& config) {
  auto model = build_model(config);
  model->to(at::kDouble);
  model->eval();
  return model;
}

// Moves every LayerNorm's γ, β away from 1, 0 so that swapping two norms changes the result.
inline void randomize_norms(torch::nn::Module& module) {
  at::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    const auto& name = item.key();
    auto& p = item.value();
    if (name.find("norm") == std::string::npos) continue;
    if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) {
      p.copy_(1.0 + 0.3 * at::randn_like(p));
    } else {
      p.copy_(0.3 * at::randn_like(p));
    }
  }
}

struct Batch {
  at::Tensor tokens;  // [B, L] int64, 0 after each example's length
  at::Tensor mask;    // [B, L] bool
};

// Random tokens in [1, vocab) for the given lengths, padded with 0 to `padded_length`.
inline Batch random_batch(const std::vector<int64_t>& lengths, int64_t padded_length,
                          int64_t vocab = 11, int64_t low = 1) {
  const auto batch = static_cast<int64_t>(lengths.size());
  auto tokens = at::randint(low, vocab, {batch, padded_length}, at::kLong);
  auto mask = at::zeros({batch, padded_length}, at::kBool);
  for (int64_t b = 0; b < batch; ++b) {
    mask[b].slice(0, 0, lengths[b]).fill_(true);
  }
  tokens.masked_fill_(mask.logical_not(), 0);
  return {tokens, mask};
}

// The same examples padded further with zeros to `padded_length`.
inline Batch pad_to(const Batch& batch, int64_t padded_length) {
  const int64_t extra = padded_length - batch.tokens.size(1);
  return {at::constant_pad_nd(batch.tokens, {0, extra}, 0),
          at::constant_pad_nd(batch.mask.to(at::kLong), {0, extra}, 0).to(at::kBool)};
}

}  // namespace lunar::models::testing
