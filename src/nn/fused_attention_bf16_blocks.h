// Native bf16 block kernels of fused attention: the algorithm of fused_attention_kernel.cpp
// (online softmax forward, Milakov & Gimelshein 2018; FlashAttention-2's backward, Dao 2023,
// Algorithm 2) with every block product a hand-written AVX512-BF16 micro-kernel: VDPBF16PS
// multiplies bf16 pairs and accumulates in fp32 (Intel SDM; the packed "VNNI" operand layout as
// in oneDNN's bf16 GEMMs). Softmax, dropout and accumulation stay in fp32 registers; only the
// operands of the products (Q, K, V, dO, P, P∘Z, dS) are bf16, as in the at::mm path.
//
// Products C[m, n] += A[m, k] · B[k, n]: A is row-major with k in pairs (a row of Q, of P, ...),
// B is packed as [n / 16][k / 2][16][2], so one 64-byte load gives 16 columns' pairs and one
// broadcast 32-bit pair of A feeds them all. Odd k and n pad with zeros. Blocks: keys in
// multiples of 16 (whole vectors), queries in pairs (backward packs P∘Z and dS along queries).
//
// This header holds the blocks both directions use; fused_attention_bf16_forward.cpp and
// fused_attention_bf16_backward.cpp, the only files that include it, are compiled with the
// AVX-512 flags (see fused_attention_bf16.h for why nothing here is shared with other files).
#pragma once

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fused_attention_bf16.h"

namespace lunar::nn::fused::avx512 {

inline int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }
inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

// Carves 64-byte aligned arrays from a scratch buffer; with a null base it only counts bytes.
struct Arena {
  char* base;
  int64_t used = 0;
  template <typename T>
  T* take(int64_t count) {
    T* at = base ? reinterpret_cast<T*>(base + used) : nullptr;
    used += round_up(count * static_cast<int64_t>(sizeof(T)), 64);
    return at;
  }
};

// The same bits as another type (vector casts without aliasing questions; compiles to nothing).
template <typename To, typename From>
To bits(const From& x) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To out;
  memcpy(&out, &x, sizeof out);
  return out;
}

inline __mmask16 first(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << n) - 1);
}

inline uint16_t to_bf16(float x) {
  return static_cast<uint16_t>(_mm_extract_epi16(bits<__m128i>(_mm_cvtneps_pbh(_mm_set_ss(x))), 0));
}

inline float from_bf16(uint16_t x) {
  const uint32_t word = static_cast<uint32_t>(x) << 16;
  float out;
  memcpy(&out, &word, sizeof out);
  return out;
}

inline __m256i round_to_bf16(__m512 x) { return bits<__m256i>(_mm512_cvtneps_pbh(x)); }

// fused_attention_kernel.cpp's softmax_exp on 16 lanes: Cephes' expf polynomial after range
// reduction by ln 2; 0 at or below −87 (masked logits are −inf), NaN stays NaN.
inline __m512 exp16(__m512 x) {
  const __m512 clamped = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
  const __m512 n =
      _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
  return _mm512_maskz_mov_ps(static_cast<__mmask16>(~under), _mm512_scalef_ps(y, n));
}

// Keep mask of 32 columns [col0, col0 + 32) of one query row, col0 a multiple of 4: the bits of
// fused_attention_kernel.h's dropout_factors (SplitMix64's output function, Steele, Lea, Flood
// 2014, of seed + counter · golden; four columns per hash, 15 bits from each 16-bit lane),
// which fused_dropout_keep_mask also uses; the tests hold the two equal.
inline __mmask32 keep_mask(const Dims& d, int64_t row, int64_t col0) {
  const uint64_t base = static_cast<uint64_t>(row) * static_cast<uint64_t>((d.key_len + 3) / 4) +
                        static_cast<uint64_t>(col0 / 4) + 1;
  const auto constant = [](uint64_t x) { return _mm512_set1_epi64(static_cast<int64_t>(x)); };
  const __m512i counter =
      _mm512_add_epi64(constant(base), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
  __m512i z = _mm512_add_epi64(constant(d.seed),
                               _mm512_mullo_epi64(counter, constant(0x9E3779B97F4A7C15ULL)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         constant(0xBF58476D1CE4E5B9ULL));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         constant(0x94D049BB133111EBULL));
  z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
  // Little-endian: 16-bit word 4h + lane of the eight hashes is column col0 + 4h + lane.
  const __m512i drawn = _mm512_and_si512(z, _mm512_set1_epi16(0x7FFF));
  return _mm512_cmpge_epu16_mask(drawn, _mm512_set1_epi16(static_cast<int16_t>(d.drop_threshold)));
}

// Dropout factors of one row's columns [k0, ...) a vector (16) at a time: keep_scale where kept,
// 0 where dropped. One hash serves two vectors, so calls go in order from vector 0.
class Dropout {
 public:
  Dropout(const Dims& d, int64_t row, int64_t k0) : d_(d), row_(row), k0_(k0) {}
  __m512 factors(int64_t v) {
    if (v % 2 == 0) keep_ = keep_mask(d_, row_, k0_ + 16 * v);
    const auto lanes = static_cast<__mmask16>(v % 2 == 0 ? keep_ : keep_ >> 16);
    return _mm512_maskz_mov_ps(lanes, _mm512_set1_ps(d_.keep_scale));
  }

 private:
  const Dims& d_;
  int64_t row_, k0_;
  __mmask32 keep_ = 0;
};

// C[RM rows, RN·16 columns] (+)= A · B over kp pairs: RM·RN fp32 accumulators in registers.
template <int RM, int RN, bool accumulate>
void tile(const uint16_t* a, int64_t lda, const uint16_t* b, int64_t b_stride, int64_t kp, float* c,
          int64_t ldc) {
  __m512 sum[RM][RN];
  for (int m = 0; m < RM; ++m) {
    for (int n = 0; n < RN; ++n) {
      sum[m][n] = accumulate ? _mm512_loadu_ps(c + m * ldc + 16 * n) : _mm512_setzero_ps();
    }
  }
  for (int64_t p = 0; p < kp; ++p) {
    __m512i bv[RN];
    for (int n = 0; n < RN; ++n) bv[n] = _mm512_loadu_si512(b + n * b_stride + 32 * p);
    for (int m = 0; m < RM; ++m) {
      int32_t pair;
      memcpy(&pair, a + m * lda + 2 * p, sizeof pair);
      const __m512i av = _mm512_set1_epi32(pair);
      for (int n = 0; n < RN; ++n) {
        sum[m][n] = _mm512_dpbf16_ps(sum[m][n], bits<__m512bh>(av), bits<__m512bh>(bv[n]));
      }
    }
  }
  for (int m = 0; m < RM; ++m) {
    for (int n = 0; n < RN; ++n) _mm512_storeu_ps(c + m * ldc + 16 * n, sum[m][n]);
  }
}

using TileFn = void (*)(const uint16_t*, int64_t, const uint16_t*, int64_t, int64_t, float*,
                        int64_t);

template <int RM, bool accumulate>
struct TileRow {
  static constexpr TileFn fns[4] = {&tile<RM, 1, accumulate>, &tile<RM, 2, accumulate>,
                                    &tile<RM, 3, accumulate>, &tile<RM, 4, accumulate>};
};

template <bool accumulate>
struct Tiles {
  static constexpr const TileFn* rows[8] = {
      TileRow<1, accumulate>::fns, TileRow<2, accumulate>::fns, TileRow<3, accumulate>::fns,
      TileRow<4, accumulate>::fns, TileRow<5, accumulate>::fns, TileRow<6, accumulate>::fns,
      TileRow<7, accumulate>::fns, TileRow<8, accumulate>::fns};
};

// C[m, 16·nv] (+)= A[m, 2·kp] · B with A rows lda apart and B packed with column vectors
// b_stride apart. Tiles of 4×4 vectors, or 8×2 for narrow products (head widths up to 32):
// 16 accumulators hide the dot products' latency, with 8 (4×4) or 10 (8×2) loads per 16 of them.
inline void gemm(const uint16_t* a, int64_t lda, const uint16_t* b, int64_t b_stride, int64_t kp,
                 int64_t m, int64_t nv, float* c, int64_t ldc, bool accumulate) {
  for (int64_t n0 = 0; n0 < nv; n0 += 4) {
    const int64_t rn = smaller(4, nv - n0);
    const int64_t rows = rn <= 2 ? 8 : 4;
    for (int64_t m0 = 0; m0 < m; m0 += rows) {
      const int64_t rm = smaller(rows, m - m0);
      const TileFn fn = (accumulate ? Tiles<true>::rows : Tiles<false>::rows)[rm - 1][rn - 1];
      fn(a + m0 * lda, lda, b + n0 * b_stride, b_stride, kp, c + m0 * ldc + 16 * n0, ldc);
    }
  }
}

// B[k, n] = src[k·sk + n·sn] for k < K, n < N into [N / 16][K / 2][16][2], zero padded.
inline void pack_b(const uint16_t* src, int64_t sk, int64_t sn, int64_t k_len, int64_t n_len,
                   uint16_t* dst) {
  const int64_t kp = (k_len + 1) / 2;
  for (int64_t v = 0; v < (n_len + 15) / 16; ++v) {
    for (int64_t p = 0; p < kp; ++p) {
      uint16_t* out = dst + (v * kp + p) * 32;
      for (int64_t t = 0; t < 16; ++t) {
        const int64_t n = 16 * v + t;
        for (int64_t e = 0; e < 2; ++e) {
          const int64_t k = 2 * p + e;
          out[2 * t + e] = k < k_len && n < n_len ? src[k * sk + n * sn] : uint16_t(0);
        }
      }
    }
  }
}

// A[m, k] = src[m·sm + k·sk] for m < M, k < K into rows of round_up(K, 2), zero padded.
inline void pack_a(const uint16_t* src, int64_t sm, int64_t sk, int64_t m_len, int64_t k_len,
                   uint16_t* dst) {
  const int64_t ld = round_up(k_len, 2);
  for (int64_t m = 0; m < m_len; ++m) {
    for (int64_t k = 0; k < ld; ++k) dst[m * ld + k] = k < k_len ? src[m * sm + k * sk] : 0;
  }
}

// Both kernels' block sizes: keys in whole vectors, queries in pairs.
inline int64_t key_block(const Dims& d) { return round_up(d.key_block, 16); }
inline int64_t query_block(const Dims& d) { return round_up(d.query_block, 2); }

}  // namespace lunar::nn::fused::avx512
