// Pooling, classifier and matching heads.
#include "lunar/models/heads.h"

#include "lunar/core/error.h"
#include "lunar/models/blocks.h"

namespace lunar::models {

PoolerImpl::PoolerImpl(int64_t dim_, Representation representation_, bool normalize_)
    : dim(dim_), representation(representation_), normalize(normalize_) {
  reset();
}

void PoolerImpl::reset() {
  if (!normalize) return;
  norm = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps)));
}

at::Tensor PoolerImpl::forward(const EncoderOutput& encoded, const at::Tensor& mask) {
  const auto normed = [this](const at::Tensor& x) { return norm ? norm->forward(x) : x; };
  if (representation == Representation::memory) {
    check(encoded.memory.defined(), "[model] representation = memory needs a model with memory");
    return normed(encoded.memory).mean(1);
  }
  const auto x = normed(encoded.sequence);  // [B, L, D]
  if (representation == Representation::cls) return x.select(1, 0);
  if (!mask.defined()) return x.mean(1);
  const auto weights = mask.to(x.scalar_type()).unsqueeze(-1);  // [B, L, 1]
  return (x * weights).sum(1) / weights.sum(1).clamp_min(1.0);
}

ClassifierHeadImpl::ClassifierHeadImpl(int64_t dim_, int64_t hidden_, int64_t num_classes_,
                                       bool second_layer_)
    : dim(dim_), hidden(hidden_), num_classes(num_classes_), second_layer(second_layer_) {
  reset();
}

void ClassifierHeadImpl::reset() {
  check(num_classes >= 2, "[model] expected num_classes >= 2, got {}", num_classes);
  hidden_layer = register_module("hidden", torch::nn::Linear(dim, hidden));
  if (second_layer) hidden_layer2 = register_module("hidden2", torch::nn::Linear(hidden, hidden));
  output = register_module("output", torch::nn::Linear(hidden, num_classes));
}

at::Tensor ClassifierHeadImpl::forward(const at::Tensor& pooled) {
  auto x = at::gelu(hidden_layer->forward(pooled));
  if (hidden_layer2) x = at::gelu(hidden_layer2->forward(x));
  return output->forward(x);
}

MatchingHeadImpl::MatchingHeadImpl(int64_t dim_, int64_t hidden_, int64_t num_classes_,
                                   PairFeatures features_, PairActivation activation_)
    : dim(dim_),
      hidden(hidden_),
      num_classes(num_classes_),
      features(features_),
      activation(activation_) {
  reset();
}

void MatchingHeadImpl::reset() {
  check(hidden >= 2, "[model] expected ffn_dim >= 2 for the matching head, got {}", hidden);
  const int64_t in = features == PairFeatures::uv ? 2 * dim : 4 * dim;
  first = register_module("first", torch::nn::Linear(in, hidden));
  second = register_module("second", torch::nn::Linear(hidden, hidden / 2));
  output = register_module("output", torch::nn::Linear(hidden / 2, num_classes));
}

at::Tensor MatchingHeadImpl::forward(const at::Tensor& u, const at::Tensor& v) {
  const auto joined =
      features == PairFeatures::uv ? at::cat({u, v}, -1) : at::cat({u, v, u * v, u - v}, -1);
  const auto act = [this](const at::Tensor& x) {
    return activation == PairActivation::relu ? at::relu(x) : at::gelu(x);
  };
  return output->forward(act(second->forward(act(first->forward(joined)))));
}

}  // namespace lunar::models
