// Output heads (docs/models.md): a classifier on one representation, and the two-tower
// matching head on a pair of representations.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "lunar/models/config.h"
#include "lunar/models/encoder.h"

namespace lunar::models {

// LN (classifiers; the matching towers have none, as the authors' DualClassifier), then the
// representation: cls = position 0; mean = mean over the (real) sequence positions; memory =
// mean over the final memory rows.
class PoolerImpl : public torch::nn::Cloneable<PoolerImpl> {
 public:
  PoolerImpl(int64_t dim, Representation representation, bool normalize);
  void reset() override;
  at::Tensor forward(const EncoderOutput& encoded, const at::Tensor& mask);  // -> [B, D]

  int64_t dim;
  Representation representation;
  bool normalize;
  torch::nn::LayerNorm norm{nullptr};  // when normalize
};
TORCH_MODULE(Pooler);

// Pooler → Linear(d, f) → GELU [→ Linear(f, f) → GELU] → Linear(f, classes). The bracketed
// layer is the authors' image classifier (IClassifier), used for pixel inputs.
class ClassifierHeadImpl : public torch::nn::Cloneable<ClassifierHeadImpl> {
 public:
  ClassifierHeadImpl(int64_t dim, int64_t hidden, int64_t num_classes, bool second_layer);
  void reset() override;
  at::Tensor forward(const at::Tensor& pooled);  // [B, D] -> [B, C]

  int64_t dim, hidden, num_classes;
  bool second_layer;
  torch::nn::Linear hidden_layer{nullptr}, hidden_layer2{nullptr}, output{nullptr};
};
TORCH_MODULE(ClassifierHead);

// [u, v] (or [u, v, u·v, u−v]) → Linear(2d|4d, f) → a → Linear(f, f/2) → a → Linear(f/2, C),
// a = GELU or ReLU.
class MatchingHeadImpl : public torch::nn::Cloneable<MatchingHeadImpl> {
 public:
  MatchingHeadImpl(int64_t dim, int64_t hidden, int64_t num_classes, PairFeatures features,
                   PairActivation activation);
  void reset() override;
  at::Tensor forward(const at::Tensor& u, const at::Tensor& v);  // [B, D] x2 -> [B, C]

  int64_t dim, hidden, num_classes;
  PairFeatures features;
  PairActivation activation;
  torch::nn::Linear first{nullptr}, second{nullptr}, output{nullptr};
};
TORCH_MODULE(MatchingHead);

}  // namespace lunar::models
