// Linear-time attention kernels of the sibling families (docs/models.md), computed right to
// left so that no N×N matrix is ever formed: O(N·Dh²) time and memory per head.
#pragma once

#include <ATen/ATen.h>

#include "lunar/nn/choices.h"

namespace lunar::nn {

// Normalised linear attention: O_i = φ(q_i)ᵀ(φ(K)ᵀV) / φ(q_i)ᵀ(φ(K)ᵀ1). No ε in the
// denominator (φ > 0); sums run in float32 at least (float64 inputs stay float64).
//   phi_query [B, H, Lq, F] > 0, phi_key [B, H, Lk, F] > 0, value [B, H, Lk, Dv]
//   key_mask  [B, Lk] bool, true = real; padding rows of φ(K) are zeroed. Undefined = all real.
// Returns [B, H, Lq, Dv] in the dtype of `value`.
at::Tensor normalized_linear_attention(const at::Tensor& phi_query, const at::Tensor& phi_key,
                                       const at::Tensor& value, const at::Tensor& key_mask);

// SimpleTRON: O = Q · Dropout(Kᵀ V / √N).
//   query [B, H, Lq, Dh], key [B, H, Lk, Dh], value [B, H, Lk, Dv]
//   key_mask [B, Lk] bool or undefined; padding rows of K and V are zeroed.
//   length_norm: see LengthNorm (the padded length is Lk).
at::Tensor softmax_free_attention(const at::Tensor& query, const at::Tensor& key,
                                  const at::Tensor& value, const at::Tensor& key_mask,
                                  LengthNorm length_norm, double dropout, bool training);

}  // namespace lunar::nn
