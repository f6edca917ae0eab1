// Internals of fused_attention shared by its autograd function and its block kernels.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

namespace lunar::nn::fused {

// Dropout keeps an element when 15 random bits reach round(p·2¹⁵), as fast_dropout does.
constexpr int64_t kDropLevels = 1 << 15;
inline int64_t drop_threshold(double p) { return std::llround(p * kDropLevels); }
inline double keep_probability(double p) {
  return 1.0 - static_cast<double>(drop_threshold(p)) / kDropLevels;
}

// SplitMix64's output function (Steele, Lea, Flood 2014) on a Weyl sequence: a counter-based
// generator, so any element's bits are computed from (seed, position) alone.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Dropout factors of columns [col0, col0 + n) of one query row: `scale` where kept, 0 where
// dropped. `row` counts rows over batch and heads (bh · Lq + query index). Four neighbouring
// columns share one 64-bit hash and take 15 bits from each of its 16-bit lanes.
template <typename acc_t>
void dropout_factors(uint64_t seed, int64_t row, int64_t key_len, int64_t col0, int64_t n,
                     int64_t threshold, acc_t scale, acc_t* out) {
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
  const uint64_t base = static_cast<uint64_t>(row) * static_cast<uint64_t>((key_len + 3) / 4);
  int64_t col = col0;
  const int64_t end = col0 + n;
  while (col < end) {
    const uint64_t hash = mix64(seed + (base + static_cast<uint64_t>(col / 4) + 1) * kGolden);
    for (int64_t lane = col % 4; lane < 4 && col < end; ++lane, ++col) {
      const auto bits = static_cast<int64_t>((hash >> (16 * lane)) & (kDropLevels - 1));
      out[col - col0] = bits >= threshold ? scale : acc_t(0);
    }
  }
}

struct KernelArgs {
  at::Tensor query;     // [B, H, Lq, Dh] contiguous, already divided by the divisor
  at::Tensor key;       // [B, H, Lk, Dh] contiguous, the query's dtype
  at::Tensor value;     // [B, H, Lk, Dv] contiguous, the query's dtype
  at::Tensor key_mask;  // [B, Lk] bool or undefined
  double dropout = 0;   // applied when > 0
  uint64_t seed = 0;
  int64_t query_block = 64, key_block = 256;
  bool avx512 = true;  // the AVX-512 micro-kernels where the CPU has them (FusedAttentionConfig)
};

struct ForwardResult {
  at::Tensor output;   // [B, H, Lq, Dv], the query's dtype
  at::Tensor log_sum;  // [B, H, Lq] row max + log(row sum of exp), float (double for double)
};

struct Gradients {
  at::Tensor query, key, value;
};

ForwardResult forward(const KernelArgs& args);
Gradients backward(const KernelArgs& args, const ForwardResult& saved,
                   const at::Tensor& grad_output);

}  // namespace lunar::nn::fused
