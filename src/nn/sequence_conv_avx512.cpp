// The conv filter's row kernels on AVX-512 (see sequence_conv_avx512.h). A row of Dh features is
// 16 lanes a vector, up to four vectors at a time in registers while the taps or rows are summed.
#include "sequence_conv_avx512.h"

#include <immintrin.h>

#include "avx512_lanes.h"

namespace lunar::nn::conv_avx512 {

namespace {

using simd512::first;
using simd512::load_lanes;
using simd512::store_lanes;

// A count of 16-column vectors, known at compile time.
template <int count>
struct Vectors {
  static constexpr int kCount = count;
};

// Calls block(Vectors<V>{}, d, last) for the columns [d, d + 16·V) of [0, n), in chunks of up to
// 64 columns (V ≤ 4 vectors kept in registers), the chunk's last vector `last` lanes wide.
template <typename Block>
void column_blocks(int64_t n, const Block& block) {
  for (int64_t d = 0; d < n; d += 64) {
    const int64_t columns = n - d < 64 ? n - d : 64;
    const __mmask16 last = first(columns - (columns - 1) / 16 * 16);
    switch ((columns + 15) / 16) {
      case 1:
        block(Vectors<1>{}, d, last);
        break;
      case 2:
        block(Vectors<2>{}, d, last);
        break;
      case 3:
        block(Vectors<3>{}, d, last);
        break;
      default:
        block(Vectors<4>{}, d, last);
        break;
    }
  }
}

// The lanes of vector v of a chunk of `vectors`: all but the last are whole.
__mmask16 lanes_of(int v, int vectors, __mmask16 last) {
  return v + 1 < vectors ? __mmask16(0xFFFF) : last;
}

template <typename T>
void weighted(T* out, const T* const* rows, const float* taps, int64_t count, int64_t n) {
  column_blocks(n, [&](auto tag, int64_t d, __mmask16 last) {
    constexpr int vectors = decltype(tag)::kCount;
    __m512 sum[vectors];
    for (int v = 0; v < vectors; ++v) sum[v] = _mm512_setzero_ps();
    for (int64_t i = 0; i < count; ++i) {
      const __m512 tap = _mm512_set1_ps(taps[i]);
      const T* in = rows[i] + d;
      for (int v = 0; v < vectors; ++v) {
        sum[v] = _mm512_fmadd_ps(tap, load_lanes(in + 16 * v, lanes_of(v, vectors, last)), sum[v]);
      }
    }
    for (int v = 0; v < vectors; ++v)
      store_lanes(out + d + 16 * v, sum[v], lanes_of(v, vectors, last));
  });
}

// Sums over the rows in two register sets (alternate rows) to overlap the FMAs' latency; rows are
// fetched a few ahead, as they lie far apart.
template <typename T>
void products(float* sums, const T* a, int64_t a_stride, const T* b, int64_t b_stride, int64_t rows,
              int64_t n) {
  constexpr int64_t kAhead = 8;
  column_blocks(n, [&](auto tag, int64_t d, __mmask16 last) {
    constexpr int vectors = decltype(tag)::kCount;
    __m512 even[vectors], odd[vectors];
    for (int v = 0; v < vectors; ++v) even[v] = odd[v] = _mm512_setzero_ps();
    const auto fetch = [&](int64_t r) {
      for (int64_t byte = 0; byte < 16 * vectors * int64_t(sizeof(T)); byte += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(a + r * a_stride + d) + byte, _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + r * b_stride + d) + byte, _MM_HINT_T0);
      }
    };
    const auto add_row = [&](__m512(&acc)[vectors], int64_t r) {
      const T *a_row = a + r * a_stride + d, *b_row = b + r * b_stride + d;
      for (int v = 0; v < vectors; ++v) {
        const __mmask16 lanes = lanes_of(v, vectors, last);
        acc[v] = _mm512_fmadd_ps(load_lanes(a_row + 16 * v, lanes),
                                 load_lanes(b_row + 16 * v, lanes), acc[v]);
      }
    };
    int64_t r = 0;
    for (; r + 2 <= rows; r += 2) {
      if (r + kAhead + 1 < rows) {
        fetch(r + kAhead);
        fetch(r + kAhead + 1);
      }
      add_row(even, r);
      add_row(odd, r + 1);
    }
    if (r < rows) add_row(even, r);
    for (int v = 0; v < vectors; ++v) {
      const __mmask16 lanes = lanes_of(v, vectors, last);
      float* out = sums + d + 16 * v;
      store_lanes(out, _mm512_add_ps(load_lanes(out, lanes), _mm512_add_ps(even[v], odd[v])),
                  lanes);
    }
  });
}

}  // namespace

void weighted_rows(float* out, const float* const* rows, const float* taps, int64_t count,
                   int64_t n) {
  weighted(out, rows, taps, count, n);
}

void weighted_rows(uint16_t* out, const uint16_t* const* rows, const float* taps, int64_t count,
                   int64_t n) {
  weighted(out, rows, taps, count, n);
}

void row_products(float* sums, const float* a, int64_t a_stride, const float* b, int64_t b_stride,
                  int64_t rows, int64_t n) {
  products(sums, a, a_stride, b, b_stride, rows, n);
}

void row_products(float* sums, const uint16_t* a, int64_t a_stride, const uint16_t* b,
                  int64_t b_stride, int64_t rows, int64_t n) {
  products(sums, a, a_stride, b, b_stride, rows, n);
}

}  // namespace lunar::nn::conv_avx512
