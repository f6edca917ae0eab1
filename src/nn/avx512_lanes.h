// 16 fp32 lanes of an AVX-512 register against fp32 or bf16 memory, for the AVX-512 kernel files
// (fused_attention_avx512_*.cpp, sequence_conv_avx512.cpp), the only files that include it: they
// are compiled with AVX-512 flags, so nothing here may be shared with other files (see
// fused_attention_avx512.h). bf16 travels as its bits in uint16_t.
#pragma once

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

namespace lunar::nn::simd512 {

// The same bits as another type (vector casts without aliasing questions; compiles to nothing).
template <typename To, typename From>
To bits(const From& x) {
  static_assert(sizeof(To) == sizeof(From), "same size");
  To out;
  memcpy(&out, &x, sizeof out);
  return out;
}

// The mask of the first min(n, 16) lanes.
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

// Rounded to nearest even.
inline __m256i round_to_bf16(__m512 x) { return bits<__m256i>(_mm512_cvtneps_pbh(x)); }

// The `lanes` of 16 elements as fp32 (zero elsewhere): bf16 is the upper half of an fp32, so
// widening it is exact, a shift.
inline __m512 load_lanes(const float* p, __mmask16 lanes) {
  return _mm512_maskz_loadu_ps(lanes, p);
}
inline __m512 load_lanes(const uint16_t* p, __mmask16 lanes) {
  const __m256i half = _mm256_maskz_loadu_epi16(lanes, p);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
}

// Stores the `lanes` of x; bf16 rounded to nearest even.
inline void store_lanes(float* p, __m512 x, __mmask16 lanes) { _mm512_mask_storeu_ps(p, lanes, x); }
inline void store_lanes(uint16_t* p, __m512 x, __mmask16 lanes) {
  _mm256_mask_storeu_epi16(p, lanes, round_to_bf16(x));
}

}  // namespace lunar::nn::simd512
