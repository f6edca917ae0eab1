// Gated feature-map layers with per-head weights.
#include "lunar/nn/feature_map.h"

#include <torch/nn/init.h>

#include "lunar/nn/dropout.h"

namespace lunar::nn {

namespace {
at::Tensor per_head_orthogonal(int64_t heads, int64_t rows, int64_t columns) {
  auto weight = at::empty({heads, rows, columns});
  for (int64_t h = 0; h < heads; ++h) torch::nn::init::orthogonal_(weight[h]);
  return weight;
}

at::Tensor per_head_uniform(int64_t heads, int64_t rows, int64_t columns) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(rows));
  return at::empty({heads, rows, columns}).uniform_(-bound, bound);
}

int64_t layer_count(FeatureMapKind kind) {
  switch (kind) {
    case FeatureMapKind::gated2:
      return 2;
    case FeatureMapKind::gated3:
      return 3;
    default:  // softplus, gated1
      return 1;
  }
}

// x [B, H, L, I] times per-head w [H, I, O] -> [B, H, L, O]
at::Tensor per_head(const at::Tensor& x, const at::Tensor& w) {
  return at::matmul(x, w.unsqueeze(0));
}
}  // namespace

FeatureMapImpl::FeatureMapImpl(FeatureMapOptions options_) : options(std::move(options_)) {
  reset();
}

void FeatureMapImpl::reset() {
  const auto kind = options.kind();
  const int64_t h = options.num_heads(), d = options.head_dim();
  const int64_t layers = layer_count(kind);
  const int64_t rank = std::max<int64_t>(1, d / 4);
  for (int64_t i = 0; i < layers; ++i) {
    outputs.push_back(
        register_parameter(fmt::format("layer{}_output", i), per_head_orthogonal(h, d, d)));
    if (kind == FeatureMapKind::gated1 || kind == FeatureMapKind::gated2) {
      gates.push_back(
          register_parameter(fmt::format("layer{}_gate", i), per_head_uniform(h, d, d)));
    } else if (kind == FeatureMapKind::gated3) {
      gates_down.push_back(
          register_parameter(fmt::format("layer{}_gate_down", i), per_head_uniform(h, d, rank)));
      gates_up.push_back(
          register_parameter(fmt::format("layer{}_gate_up", i), per_head_uniform(h, rank, d)));
    }
  }
}

at::Tensor FeatureMapImpl::forward(const at::Tensor& x) {
  auto y = x;
  const size_t layers = outputs.size();
  for (size_t i = 0; i < layers; ++i) {
    const auto input = nn::fast_dropout(y, options.dropout(), is_training());
    auto value = per_head(input, outputs[i]);
    if (i + 1 == layers) value = at::softplus(value);  // the last layer makes φ positive
    if (!gates.empty()) {
      value = value * at::sigmoid(per_head(input, gates[i]));
    } else if (!gates_down.empty()) {
      value = value * at::sigmoid(per_head(per_head(input, gates_down[i]), gates_up[i]));
    }
    y = value;
  }
  return y;
}

at::Tensor FeatureMapImpl::orthogonality() const {
  at::Tensor total;
  for (const auto& w : outputs) {
    const auto identity = at::eye(w.size(1), w.options()).unsqueeze(0);
    const auto deviation = (at::matmul(w, w.transpose(1, 2)) - identity).pow(2).mean();
    total = total.defined() ? total + deviation : deviation;
  }
  return total / static_cast<double>(outputs.size());
}

}  // namespace lunar::nn
