// A whole model: embedding → encoder → head, for single inputs or two-tower matching.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "lunar/models/config.h"
#include "lunar/models/embedding.h"
#include "lunar/models/encoder.h"
#include "lunar/models/heads.h"

namespace lunar::models {

struct ModelInput {
  at::Tensor tokens;   // [B, L] int64 (without CLS)
  at::Tensor mask;     // [B, L] bool, true = real; undefined = all real
  at::Tensor tokens2;  // [B, L2] second document (matching only)
  at::Tensor mask2;    // [B, L2]
};

struct ModelOutput {
  at::Tensor logits;       // [B, C]
  EncoderOutput encoded;   // first (or only) tower
  EncoderOutput encoded2;  // second tower (matching only)
};

class LunarModelImpl : public torch::nn::Module {
 public:
  // `config` must be resolved and validated (see registry.h: build_model does both).
  LunarModelImpl(ModelConfig config, std::shared_ptr<EncoderImpl> encoder);
  ModelOutput forward(const ModelInput& input);

  const ModelConfig& config() const { return config_; }
  // The learned initial memory P [M, D] (undefined for the Transformer).
  at::Tensor initial_memory() const { return encoder->initial_memory(); }
  // Parameter penalty to add to the training loss (undefined when none).
  at::Tensor regularization() const { return encoder->regularization(); }

  InputEmbedding embedding{nullptr};
  std::shared_ptr<EncoderImpl> encoder;
  Pooler pooler{nullptr};
  ClassifierHead classifier{nullptr};
  MatchingHead matcher{nullptr};

 private:
  EncoderOutput encode(const at::Tensor& tokens, const at::Tensor& mask, at::Tensor* pooled);

  ModelConfig config_;
  bool use_masks_;
};
TORCH_MODULE(LunarModel);

}  // namespace lunar::models
