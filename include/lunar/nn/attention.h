// Multi-head softmax attention as free functions (the reference path every fast path is
// tested against). Shape letters are defined in docs/glossary.md.
#pragma once

#include <ATen/ATen.h>

namespace lunar::nn {

struct AttentionResult {
  at::Tensor output;   // [B, H, Lq, Dv]
  at::Tensor weights;  // [B, H, Lq, Lk] softmax probabilities before dropout
};

// softmax(Q Kᵀ / divisor) V per head, with dropout on the probabilities when training.
//   query     [B, H, Lq, Dh]
//   key       [B, H, Lk, Dh]
//   value     [B, H, Lk, Dv]
//   key_mask  [B, Lk] bool, true = real key (attend), false = padding; undefined = all real.
//             Every query row must keep at least one real key.
//   divisor   0-dim tensor (may require grad, e.g. a learnable temperature exp(τ)).
AttentionResult scaled_attention(const at::Tensor& query, const at::Tensor& key,
                                 const at::Tensor& value, const at::Tensor& key_mask,
                                 const at::Tensor& divisor, double dropout, bool training);

// [B, L, H·Dh] -> [B, H, L, Dh]
at::Tensor split_heads(const at::Tensor& x, int64_t num_heads);
// [B, H, L, Dh] -> [B, L, H·Dh]
at::Tensor merge_heads(const at::Tensor& x);

}  // namespace lunar::nn
