// Input embeddings (docs/models.md): tokens or continuous pixels, plus learned positions
// (init 0), plus a learned CLS vector prepended after the positions.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "lunar/models/config.h"

namespace lunar::models {

struct Embedded {
  at::Tensor x;     // [B, L+1, D] with CLS at position 0
  at::Tensor mask;  // [B, L+1] bool, true = real (CLS is real)
};

class InputEmbeddingImpl : public torch::nn::Cloneable<InputEmbeddingImpl> {
 public:
  InputEmbeddingImpl(InputConfig input, int64_t dim);
  void reset() override;
  // tokens [B, L] int64 (token ids, or pixel intensities 0..255); mask [B, L] bool or undefined
  Embedded forward(const at::Tensor& tokens, const at::Tensor& mask);

  InputConfig input;
  int64_t dim;
  torch::nn::Embedding tokens{nullptr};  // token embedding (padding id 0)
  torch::nn::Linear pixels{nullptr};     // e = x̂·w + b, x̂ = (p/255 − μ)/σ (input.pixel_*)
  at::Tensor positions;                  // [max_length, D]
  at::Tensor cls;                        // [D]
};
TORCH_MODULE(InputEmbedding);

}  // namespace lunar::models
