// AVX-512 block kernels of fused attention: the algorithm of fused_attention_kernel.cpp (online
// softmax forward, Milakov & Gimelshein 2018; FlashAttention-2's backward, Dao 2023,
// Algorithm 2) with every block product a hand-written micro-kernel accumulating in fp32
// registers, for two element types (Ops below):
// - fp32: VFMADD231PS, one k at a time;
// - bf16: VDPBF16PS, which multiplies bf16 pairs and accumulates in fp32 (Intel SDM; the packed
//   "VNNI" operand layout as in oneDNN's bf16 GEMMs).
// Softmax, dropout and accumulation stay in fp32 registers; only the operands of the products
// (Q, K, V, dO, P, P∘Z, dS) have the element type, as in the at::mm path.
//
// Products C[m, n] += A[m, k] · B[k, n]: A is row-major with k in groups of P (P = 1 for fp32,
// 2 for bf16; a row of Q, of P, ...), B is packed as [n / 16][k / P][16][P], so one 64-byte load
// gives 16 columns' groups and one broadcast 32-bit group of A feeds them all. k and n pad with
// zeros. Blocks: keys in multiples of 16 (whole vectors), queries in multiples of P (backward
// packs P∘Z and dS along queries).
//
// This header holds the blocks both directions use; fused_attention_avx512_forward.cpp and
// fused_attention_avx512_backward.cpp, the only files that include it, are compiled with the
// AVX-512 flags (see fused_attention_avx512.h for why nothing here is shared with other files).
#pragma once

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "avx512_lanes.h"
#include "fused_attention_avx512.h"

namespace lunar::nn::fused::avx512 {

using simd512::bits;
using simd512::first;
using simd512::from_bf16;
using simd512::round_to_bf16;
using simd512::store_lanes;
using simd512::to_bf16;

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

// The bytes a scratch layout (a struct carving its arrays from an Arena) takes for `d`.
template <typename Scratch>
int64_t scratch_bytes(const Dims& d) {
  Arena arena{nullptr};
  Scratch(d, arena);
  return arena.used;
}

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
  Dropout() = default;
  Dropout(const Dims& d, int64_t row, int64_t k0) : d_(&d), row_(row), k0_(k0) {}
  __m512 factors(int64_t v) {
    if (v % 2 == 0) keep_ = keep_mask(*d_, row_, k0_ + 16 * v);
    const auto lanes = static_cast<__mmask16>(v % 2 == 0 ? keep_ : keep_ >> 16);
    return _mm512_maskz_mov_ps(lanes, _mm512_set1_ps(d_->keep_scale));
  }

 private:
  const Dims* d_ = nullptr;
  int64_t row_ = 0, k0_ = 0;
  __mmask32 keep_ = 0;
};

// The element types' operations: loads and broadcasts of product operands as 32-bit lanes,
// the multiply-add, and conversions to and from fp32.
template <typename T>
struct Ops;

template <>
struct Ops<float> {
  static constexpr int64_t kPack = 1;
  static __m512 load(const float* b) { return _mm512_loadu_ps(b); }
  static __m512 broadcast(const float* a) { return _mm512_set1_ps(*a); }
  static __m512 madd(__m512 sum, __m512 a, __m512 b) { return _mm512_fmadd_ps(a, b, sum); }
  static void store(float* out, __m512 x, __mmask16 lanes) { store_lanes(out, x, lanes); }
  static float to_float(float x) { return x; }
  static float from_float(float x) { return x; }
  // A group of kPack rows' 16 columns in B's layout along k: for fp32, one row as it is.
  static void store_group(float* out, const __m512 (&rows)[kPack]) {
    _mm512_storeu_ps(out, rows[0]);
  }
};

// bf16 bits in uint16_t.
template <>
struct Ops<uint16_t> {
  static constexpr int64_t kPack = 2;
  static __m512 load(const uint16_t* b) { return _mm512_loadu_ps(b); }
  static __m512 broadcast(const uint16_t* a) {
    int32_t pair;
    memcpy(&pair, a, sizeof pair);
    return bits<__m512>(_mm512_set1_epi32(pair));
  }
  static __m512 madd(__m512 sum, __m512 a, __m512 b) {
    return _mm512_dpbf16_ps(sum, bits<__m512bh>(a), bits<__m512bh>(b));
  }
  static void store(uint16_t* out, __m512 x, __mmask16 lanes) { store_lanes(out, x, lanes); }
  static float to_float(uint16_t x) { return from_bf16(x); }
  static uint16_t from_float(float x) { return to_bf16(x); }
  // Two rows' 16 columns interleaved into 16 pairs (B's layout along k).
  static void store_group(uint16_t* out, const __m512 (&rows)[kPack]) {
    alignas(64) static constexpr uint16_t kInterleave[32] = {
        0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512bh both = _mm512_cvtne2ps_pbh(rows[1], rows[0]);
    _mm512_storeu_si512(
        out, _mm512_permutexvar_epi16(_mm512_load_si512(kInterleave), bits<__m512i>(both)));
  }
};

// C[RM rows, RN·16 columns] (+)= A · B over `steps` groups of k: RM·RN fp32 accumulators in
// registers.
template <typename T, int RM, int RN, bool accumulate>
void tile(const T* a, int64_t lda, const T* b, int64_t b_stride, int64_t steps, float* c,
          int64_t ldc) {
  constexpr int64_t P = Ops<T>::kPack;
  __m512 sum[RM][RN];
  for (int m = 0; m < RM; ++m) {
    for (int n = 0; n < RN; ++n) {
      sum[m][n] = accumulate ? _mm512_loadu_ps(c + m * ldc + 16 * n) : _mm512_setzero_ps();
    }
  }
  for (int64_t p = 0; p < steps; ++p) {
    __m512 bv[RN];
    for (int n = 0; n < RN; ++n) bv[n] = Ops<T>::load(b + n * b_stride + 16 * P * p);
    for (int m = 0; m < RM; ++m) {
      const __m512 av = Ops<T>::broadcast(a + m * lda + P * p);
      for (int n = 0; n < RN; ++n) sum[m][n] = Ops<T>::madd(sum[m][n], av, bv[n]);
    }
  }
  for (int m = 0; m < RM; ++m) {
    for (int n = 0; n < RN; ++n) _mm512_storeu_ps(c + m * ldc + 16 * n, sum[m][n]);
  }
}

template <typename T>
using TileFn = void (*)(const T*, int64_t, const T*, int64_t, int64_t, float*, int64_t);

template <typename T, int RM, bool accumulate>
struct TileRow {
  static constexpr TileFn<T> fns[4] = {&tile<T, RM, 1, accumulate>, &tile<T, RM, 2, accumulate>,
                                       &tile<T, RM, 3, accumulate>, &tile<T, RM, 4, accumulate>};
};

template <typename T, bool accumulate>
struct Tiles {
  static constexpr const TileFn<T>* rows[8] = {
      TileRow<T, 1, accumulate>::fns, TileRow<T, 2, accumulate>::fns,
      TileRow<T, 3, accumulate>::fns, TileRow<T, 4, accumulate>::fns,
      TileRow<T, 5, accumulate>::fns, TileRow<T, 6, accumulate>::fns,
      TileRow<T, 7, accumulate>::fns, TileRow<T, 8, accumulate>::fns};
};

// C[m, 16·nv] (+)= A[m, P·steps] · B with A rows lda apart and B packed with column vectors
// b_stride apart. Tiles of 4×4 vectors, or 8×2 for narrow products (head widths up to 32):
// 16 accumulators hide the multiply-adds' latency, with 8 (4×4) or 10 (8×2) loads per 16 of them.
template <typename T>
void gemm(const T* a, int64_t lda, const T* b, int64_t b_stride, int64_t steps, int64_t m,
          int64_t nv, float* c, int64_t ldc, bool accumulate) {
  for (int64_t n0 = 0; n0 < nv; n0 += 4) {
    const int64_t rn = smaller(4, nv - n0);
    const int64_t rows = rn <= 2 ? 8 : 4;
    for (int64_t m0 = 0; m0 < m; m0 += rows) {
      const int64_t rm = smaller(rows, m - m0);
      const TileFn<T> fn =
          (accumulate ? Tiles<T, true>::rows : Tiles<T, false>::rows)[rm - 1][rn - 1];
      fn(a + m0 * lda, lda, b + n0 * b_stride, b_stride, steps, c + m0 * ldc + 16 * n0, ldc);
    }
  }
}

// B[k, n] = src[k·sk + n·sn] for k < K, n < N into [N / 16][K / P][16][P], zero padded.
template <typename T>
void pack_b(const T* src, int64_t sk, int64_t sn, int64_t k_len, int64_t n_len, T* dst) {
  constexpr int64_t P = Ops<T>::kPack;
  const int64_t steps = (k_len + P - 1) / P;
  for (int64_t v = 0; v < (n_len + 15) / 16; ++v) {
    for (int64_t p = 0; p < steps; ++p) {
      T* out = dst + (v * steps + p) * 16 * P;
      for (int64_t t = 0; t < 16; ++t) {
        const int64_t n = 16 * v + t;
        for (int64_t e = 0; e < P; ++e) {
          const int64_t k = P * p + e;
          out[P * t + e] = k < k_len && n < n_len ? src[k * sk + n * sn] : T(0);
        }
      }
    }
  }
}

// A[m, k] = src[m·sm + k·sk] for m < M, k < K into rows of round_up(K, P), zero padded.
template <typename T>
void pack_a(const T* src, int64_t sm, int64_t sk, int64_t m_len, int64_t k_len, T* dst) {
  const int64_t ld = round_up(k_len, Ops<T>::kPack);
  for (int64_t m = 0; m < m_len; ++m) {
    for (int64_t k = 0; k < ld; ++k) dst[m * ld + k] = k < k_len ? src[m * sm + k * sk] : T(0);
  }
}

// Both kernels' block sizes: keys in whole vectors, queries in groups of P (pairs for both types,
// so forward's task count does not depend on the type).
inline int64_t key_block(const Dims& d) { return round_up(d.key_block, 16); }
inline int64_t query_block(const Dims& d) { return round_up(d.query_block, 2); }

}  // namespace lunar::nn::fused::avx512
