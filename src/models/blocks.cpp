// Transformer and Luna-family blocks.
#include "lunar/models/blocks.h"

#include "lunar/core/error.h"
#include "lunar/nn/attention.h"
#include "lunar/nn/linear_attention.h"

namespace lunar::models {

namespace {
torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}
}  // namespace

TransformerBlockImpl::TransformerBlockImpl(TransformerBlockOptions options_)
    : options(std::move(options_)) {
  reset();
}

void TransformerBlockImpl::reset() {
  const auto& kernel = options.kernel();
  check(kernel == "softmax" || kernel == "ffkernel" || kernel == "simpletron",
        "[model] expected attention kernel softmax, ffkernel or simpletron, got '{}'", kernel);
  attention = register_module(
      "attention",
      nn::AttentionProjections(nn::AttentionProjectionsOptions(options.dim(), options.num_heads())
                                   .attention_dim(options.attention_dim())
                                   .output(options.output_projection())));
  if (kernel == "ffkernel") {
    feature_map = register_module(
        "feature_map",
        nn::FeatureMap(
            nn::FeatureMapOptions(options.feature_map(), options.num_heads(), attention->head_dim())
                .dropout(options.attention_dropout())));
  }
  feedforward = register_module(
      "feedforward",
      nn::FeedForward(
          nn::FeedForwardOptions(options.dim(), options.ffn_dim()).dropout(options.dropout())));
  attention_norm = register_module("attention_norm", layer_norm(options.dim()));
  feedforward_norm = register_module("feedforward_norm", layer_norm(options.dim()));
}

TransformerBlockOutput TransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& mask) {
  const auto divisor =
      at::full({}, std::sqrt(static_cast<double>(attention->head_dim())), x.options());
  const auto input = options.pre_norm() ? attention_norm->forward(x) : x;
  const auto query = attention->query(input), key = attention->key(input),
             value = attention->value(input);
  at::Tensor heads, weights;
  if (options.kernel() == "ffkernel") {
    heads = nn::normalized_linear_attention(feature_map->forward(query), feature_map->forward(key),
                                            value, mask);
  } else if (options.kernel() == "simpletron") {
    heads = nn::softmax_free_attention(query, key, value, mask, options.length_norm(),
                                       options.attention_dropout(), is_training());
  } else {
    auto result = nn::scaled_attention(query, key, value, mask, divisor,
                                       options.attention_dropout(), is_training());
    heads = result.output;
    weights = result.weights;
  }
  const auto attended = attention->output(heads);
  if (options.pre_norm()) {
    const auto x_a = x + attended;
    return {x_a + feedforward->forward(feedforward_norm->forward(x_a)), weights};
  }
  const auto x_a = attention_norm->forward(x + attended);
  return {feedforward_norm->forward(x_a + feedforward->forward(x_a)), weights};
}

at::Tensor TransformerBlockImpl::regularization() const {
  if (!feature_map || options.orthogonality() <= 0) return {};
  return feature_map->orthogonality() * options.orthogonality();
}

LunaBlockImpl::LunaBlockImpl(LunaBlockOptions options_) : options(std::move(options_)) { reset(); }

void LunaBlockImpl::reset() {
  const int64_t dim = options.attention().dim();
  attention = register_module("attention", nn::PackUnpack(options.attention()));
  feedforward = register_module(
      "feedforward",
      nn::FeedForward(nn::FeedForwardOptions(dim, options.ffn_dim()).dropout(options.dropout())));
  sequence_norm = register_module("sequence_norm", layer_norm(dim));
  memory_norm = register_module("memory_norm", layer_norm(dim));
  feedforward_norm = register_module("feedforward_norm", layer_norm(dim));
  if (options.pre_norm()) packed_norm = register_module("packed_norm", layer_norm(dim));
}

LunaBlockOutput LunaBlockImpl::forward(const at::Tensor& x, const at::Tensor& memory,
                                       const at::Tensor& mask) {
  if (options.pre_norm()) {
    const auto normed_x = sequence_norm->forward(x);
    auto packed = attention->pack(memory_norm->forward(memory), normed_x, mask);
    const auto y_p = packed_norm->forward(packed.packed);
    auto unpacked = attention->unpack(normed_x, y_p);
    const auto x_a = x + unpacked.sequence;
    return {x_a + feedforward->forward(feedforward_norm->forward(x_a)), memory + y_p,
            packed.weights, packed.mask, unpacked.weights};
  }
  auto packed = attention->pack(memory, x, mask);
  auto unpacked = attention->unpack(x, packed.packed);
  const auto x_a = sequence_norm->forward(x + unpacked.sequence);
  return {feedforward_norm->forward(x_a + feedforward->forward(x_a)),
          memory_norm->forward(memory + packed.packed), packed.weights, packed.mask,
          unpacked.weights};
}

}  // namespace lunar::models
