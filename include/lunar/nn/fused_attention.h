// Fused attention for the CPU (FlashAttention-2 style, Dao 2023): the queries meet the keys a
// block at a time with an online softmax, so no [Lq, Lk] attention map is written or kept; the
// dropout mask comes from a counter-based hash, so backward redraws it; backward recomputes the
// probabilities from the saved row statistics. Tested against scaled_attention.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "lunar/runtime/platform.h"

namespace lunar::nn {

struct FusedAttentionConfig {
  int64_t query_block = 64;  // query rows per task and per block
  int64_t key_block = 256;   // keys per block: the [query_block, key_block] scores stay in cache
  // bf16 inputs run bf16 block products when true, and are computed in fp32 otherwise.
  bool bf16_native = cpu_has_avx512_bf16();
  // Block products by lunar's AVX-512 micro-kernels where this CPU has them (fp32 where
  // cpu_has_avx512(), bf16 where cpu_has_avx512_bf16()); false, or a CPU without them, runs
  // the same blocks through at::mm.
  bool avx512 = true;
};

// The kernel that runs for inputs of `dtype` (the common dtype of query, key and value).
enum class FusedKernel { kFloat64, kFloat32, kBFloat16, kBFloat16ViaFloat32 };
FusedKernel select_fused_kernel(at::ScalarType dtype, bool bf16_native);

// The output of scaled_attention (same arguments, shapes, mask polarity and semantics, rows
// without a real key included: they give NaN as there) without its weights. A divisor of shape
// [H, 1, 1] gives each head its own. If any of query, key, value is bf16 (as under CPU
// autocast), all are computed and returned in bf16 with fp32 softmax statistics; otherwise
// in their common floating dtype.
//   query [B, H, Lq, Dh], key [B, H, Lk, Dh], value [B, H, Lk, Dv], key_mask [B, Lk] bool
//   (true = real) or undefined; returns [B, H, Lq, Dv].
// With dropout in training, the call takes one 64-bit draw from the default CPU generator as
// the seed of its mask (so seeding and saving that generator reproduce it).
at::Tensor fused_attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                           const at::Tensor& key_mask, const at::Tensor& divisor, double dropout,
                           bool training, const FusedAttentionConfig& config = {});

// The seed fused_attention draws for its dropout mask (one 64-bit draw; exposed for tests).
uint64_t draw_attention_seed();

// The keep mask fused_attention uses with `seed`: [B, H, Lq, Lk] bool, P(true) = 1 − p' with p'
// = p rounded to a multiple of 2⁻¹⁵ (as fast_dropout); kept probabilities are scaled by 1/(1−p').
at::Tensor fused_dropout_keep_mask(uint64_t seed, int64_t batch, int64_t num_heads,
                                   int64_t query_len, int64_t key_len, double p);

}  // namespace lunar::nn
