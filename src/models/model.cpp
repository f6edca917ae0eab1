// Embedding, encoder and head wired together.
#include "lunar/models/model.h"

#include "lunar/core/error.h"

namespace lunar::models {

LunarModelImpl::LunarModelImpl(ModelConfig config, std::shared_ptr<EncoderImpl> encoder_)
    : encoder(std::move(encoder_)),
      config_(std::move(config)),
      use_masks_(config_.masks == Masks::on) {
  embedding = register_module("embedding", InputEmbedding(config_.input, config_.dim));
  register_module("encoder", encoder);
  pooler = register_module("pooler", Pooler(config_.dim, config_.representation, !config_.pair));
  if (config_.pair) {
    matcher =
        register_module("matcher", MatchingHead(config_.dim, config_.ffn_dim, config_.num_classes,
                                                config_.pair_features, config_.pair_activation));
  } else {
    classifier = register_module("classifier",
                                 ClassifierHead(config_.dim, config_.ffn_dim, config_.num_classes,
                                                config_.input.embedding == Embedding::pixel));
  }
}

EncoderOutput LunarModelImpl::encode(const at::Tensor& tokens, const at::Tensor& mask,
                                     at::Tensor* pooled) {
  auto embedded = embedding->forward(tokens, mask);
  const auto encoder_mask = use_masks_ ? embedded.mask : at::Tensor();
  auto encoded = encoder->forward(embedded.x, encoder_mask);
  *pooled = pooler->forward(encoded, encoder_mask);
  return encoded;
}

ModelOutput LunarModelImpl::forward(const ModelInput& input) {
  check(input.tokens.defined(), "[model] expected input tokens");
  ModelOutput out;
  at::Tensor u;
  out.encoded = encode(input.tokens, input.mask, &u);
  if (!config_.pair) {
    out.logits = classifier->forward(u);
    return out;
  }
  check(input.tokens2.defined(), "[model] a matching model expects a second document (tokens2)");
  at::Tensor v;
  out.encoded2 = encode(input.tokens2, input.mask2, &v);
  out.logits = matcher->forward(u, v);
  return out;
}

}  // namespace lunar::models
