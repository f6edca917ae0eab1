// Token / pixel embeddings with learned positions and a CLS vector.
#include "lunar/models/embedding.h"

#include <torch/nn/init.h>

#include <cmath>

#include "lunar/core/error.h"

namespace lunar::models {

InputEmbeddingImpl::InputEmbeddingImpl(InputConfig input_, int64_t dim_)
    : input(std::move(input_)), dim(dim_) {
  reset();
}

void InputEmbeddingImpl::reset() {
  check(input.max_length >= 1, "[model] expected input.max_length >= 1, got {}", input.max_length);
  if (input.embedding == Embedding::token) {
    check(input.vocab_size >= 2, "[model] expected input.vocab_size >= 2, got {}",
          input.vocab_size);
    tokens = register_module(
        "tokens",
        torch::nn::Embedding(torch::nn::EmbeddingOptions(input.vocab_size, dim).padding_idx(0)));
  } else {
    // The authors' IEmbedding: w ~ N(0, 1), b ~ N(0, 0.1).
    pixels = register_module("pixels", torch::nn::Linear(1, dim));
    torch::nn::init::normal_(pixels->weight, 0.0, 1.0);
    torch::nn::init::normal_(pixels->bias, 0.0, 0.1);
  }
  positions = register_parameter("positions", at::zeros({input.max_length, dim}));
  cls = register_parameter("cls", at::empty({dim}));
  if (tokens) {
    // The authors' TEmbedding: xavier-uniform on a [1, 1, d] tensor, fan_in = fan_out = d,
    // so U(±√(3/d)).
    const double bound = std::sqrt(3.0 / static_cast<double>(dim));
    torch::nn::init::uniform_(cls, -bound, bound);
  } else {
    torch::nn::init::normal_(cls, 0.0, 1.0);  // IEmbedding: N(0, 1)
  }
}

Embedded InputEmbeddingImpl::forward(const at::Tensor& ids, const at::Tensor& mask) {
  check(ids.dim() == 2, "[model] expected tokens [B, L], got {}-D", ids.dim());
  const int64_t batch = ids.size(0), length = ids.size(1);
  check(length <= input.max_length, "[model] expected at most input.max_length = {} tokens, got {}",
        input.max_length, length);
  at::Tensor x;
  if (tokens) {
    x = tokens->forward(ids);
  } else {
    const auto scaled =
        (ids.to(positions.scalar_type()) / 255.0 - input.pixel_mean) / input.pixel_std;
    x = pixels->forward(scaled.unsqueeze(-1));
  }
  x = x + positions.slice(0, 0, length).unsqueeze(0);
  x = at::cat({cls.view({1, 1, dim}).expand({batch, 1, dim}), x}, 1);
  at::Tensor full_mask;
  if (mask.defined()) {
    full_mask =
        at::cat({at::ones({batch, 1}, mask.options().dtype(at::kBool)), mask.to(at::kBool)}, 1);
  }
  return {x, full_mask};
}

}  // namespace lunar::models
