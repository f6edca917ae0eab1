// The conv filter's row kernels with AVX-512 (sequence_conv.cpp holds the convolution, its
// backward and the portable kernels): fp32 by FMA; bf16 (the bits as uint16_t) widened exactly to
// fp32, summed by FMA in fp32 registers and rounded once to nearest even. Raw pointers only, for
// the reason fused_attention_avx512.h gives; the fp32 kernels run only where cpu_has_avx512(), the
// bf16 ones only where cpu_has_avx512_bf16().
#pragma once

#include <cstdint>

namespace lunar::nn::conv_avx512 {

// out[0, n) = Σ_{i < count} taps[i] · rows[i][0, n).
void weighted_rows(float* out, const float* const* rows, const float* taps, int64_t count,
                   int64_t n);
void weighted_rows(uint16_t* out, const uint16_t* const* rows, const float* taps, int64_t count,
                   int64_t n);

// sums[0, n) += Σ_{r < rows} a[r · a_stride + (0, n)] · b[r · b_stride + (0, n)].
void row_products(float* sums, const float* a, int64_t a_stride, const float* b, int64_t b_stride,
                  int64_t rows, int64_t n);
void row_products(float* sums, const uint16_t* a, int64_t a_stride, const uint16_t* b,
                  int64_t b_stride, int64_t rows, int64_t n);

}  // namespace lunar::nn::conv_avx512
