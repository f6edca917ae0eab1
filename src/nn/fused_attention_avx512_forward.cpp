// AVX-512 fused attention, forward: blocks of queries against blocks of keys with an online
// softmax (Milakov & Gimelshein 2018), products by the micro-kernels of
// fused_attention_avx512_blocks.h (fp32 or bf16 operands), softmax and dropout in fp32 registers.
#include "fused_attention_avx512_blocks.h"

namespace lunar::nn::fused::avx512 {

namespace {

template <typename T>
struct ForwardScratch {
  T *key_b, *value_b, *query_a, *probs;
  float *scores, *out, *row_max, *row_sum;
  ForwardScratch(const Dims& d, Arena& arena) {
    constexpr int64_t P = Ops<T>::kPack;
    const int64_t qb = query_block(d), kb = key_block(d), dhp = round_up(d.head_dim, P);
    key_b = arena.take<T>(round_up(d.key_len, 16) * dhp);
    value_b = arena.take<T>(round_up(d.value_dim, 16) * round_up(d.key_len, P));
    query_a = arena.take<T>(qb * dhp);
    probs = arena.take<T>(qb * kb);
    scores = arena.take<float>(qb * kb);
    out = arena.take<float>(qb * round_up(d.value_dim, 16));
    row_max = arena.take<float>(qb);
    row_sum = arena.take<float>(qb);
  }
};

// One query row of a forward block: updates the running max and sum, rescales the output
// accumulator, and writes the (dropped) probabilities as T.
template <typename T>
void forward_row(const Dims& d, const float* score, const float* bias, int64_t row, int64_t k0,
                 int64_t nk, float& row_max, float& row_sum, float* out, T* prob) {
  const int64_t vectors = (nk + 15) / 16;
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  const auto logits = [&](int64_t v) {
    const __mmask16 real = first(nk - 16 * v);
    __m512 s = _mm512_mask_loadu_ps(neg_inf, real, score + 16 * v);
    if (bias) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(real, bias + k0 + 16 * v));
    return s;
  };
  __m512 top_v = _mm512_set1_ps(row_max);
  for (int64_t v = 0; v < vectors; ++v) top_v = _mm512_max_ps(top_v, logits(v));
  const float top = _mm512_reduce_max_ps(top_v);
  if (top == -INFINITY) {  // no real key yet: nothing to add
    for (int64_t v = 0; v < vectors; ++v) Ops<T>::store(prob + 16 * v, _mm512_setzero_ps(), 0xFFFF);
    return;
  }
  const __m512 top_b = _mm512_set1_ps(top);
  __m512 sum = _mm512_setzero_ps();
  Dropout dropout(d, row, k0);
  for (int64_t v = 0; v < vectors; ++v) {
    __m512 e = exp16(_mm512_sub_ps(logits(v), top_b));
    sum = _mm512_add_ps(sum, e);
    if (d.drop_threshold > 0) e = _mm512_mul_ps(e, dropout.factors(v));
    Ops<T>::store(prob + 16 * v, e, 0xFFFF);
  }
  const float rescale = expf(row_max - top);
  row_sum = row_sum * rescale + _mm512_reduce_add_ps(sum);
  row_max = top;
  const __m512 rescale_b = _mm512_set1_ps(rescale);
  for (int64_t c = 0; c < round_up(d.value_dim, 16); c += 16) {
    _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_loadu_ps(out + c), rescale_b));
  }
}

}  // namespace

int64_t forward_query_blocks(const Dims& d) {
  return (d.query_len + query_block(d) - 1) / query_block(d);
}

template <typename T>
int64_t forward_scratch_bytes(const Dims& d) {
  return scratch_bytes<ForwardScratch<T>>(d);
}

template <typename T>
void forward_tasks(const Dims& d, const ForwardIo<T>& io, int64_t begin, int64_t end,
                   void* scratch) {
  constexpr int64_t P = Ops<T>::kPack;
  Arena arena{static_cast<char*>(scratch)};
  const ForwardScratch<T> s(d, arena);
  const int64_t qb = query_block(d), kb = key_block(d), blocks = forward_query_blocks(d);
  const int64_t lq = d.query_len, lk = d.key_len, dh = d.head_dim, dv = d.value_dim;
  const int64_t dhp = round_up(dh, P), dv16 = round_up(dv, 16), lkp = round_up(lk, P);
  int64_t packed = -1;  // tasks run bh-major: a thread packs each head's K and V once
  for (int64_t task = begin; task < end; ++task) {
    const int64_t bh = task / blocks, q0 = (task % blocks) * qb, nq = smaller(qb, lq - q0);
    if (bh != packed) {
      pack_b(io.key + bh * lk * dh, 1, dh, dh, lk, s.key_b);      // Kᵀ
      pack_b(io.value + bh * lk * dv, dv, 1, lk, dv, s.value_b);  // V
      packed = bh;
    }
    pack_a(io.query + (bh * lq + q0) * dh, dh, 1, nq, dh, s.query_a);
    const float* bias = io.bias ? io.bias + (bh / d.heads) * lk : nullptr;
    for (int64_t i = 0; i < nq * dv16; ++i) s.out[i] = 0;
    for (int64_t i = 0; i < nq; ++i) {
      s.row_max[i] = -INFINITY;
      s.row_sum[i] = 0;
    }
    for (int64_t k0 = 0; k0 < lk; k0 += kb) {
      const int64_t nk = smaller(kb, lk - k0);
      gemm(s.query_a, dhp, s.key_b + k0 * dhp, 16 * dhp, dhp / P, nq, (nk + 15) / 16, s.scores, kb,
           false);  // S = Q Kᵀ
      for (int64_t i = 0; i < nq; ++i) {
        forward_row(d, s.scores + i * kb, bias, bh * lq + q0 + i, k0, nk, s.row_max[i],
                    s.row_sum[i], s.out + i * dv16, s.probs + i * kb);
      }
      gemm(s.probs, kb, s.value_b + k0 * 16, lkp * 16, (nk + P - 1) / P, nq, dv16 / 16, s.out, dv16,
           true);  // O += (P∘Z) V
    }
    T* out = io.output + (bh * lq + q0) * dv;
    for (int64_t i = 0; i < nq; ++i) {
      // A row without a real key has sum 0: 0 · (1/0) = NaN, as the reference softmax gives.
      const __m512 inverse = _mm512_set1_ps(1.0f / s.row_sum[i]);
      for (int64_t c = 0; c < dv; c += 16) {
        const __m512 o = _mm512_mul_ps(_mm512_loadu_ps(s.out + i * dv16 + c), inverse);
        Ops<T>::store(out + i * dv + c, o, first(dv - c));
      }
      io.log_sum[bh * lq + q0 + i] = s.row_max[i] + logf(s.row_sum[i]);
    }
  }
}

template int64_t forward_scratch_bytes<float>(const Dims&);
template int64_t forward_scratch_bytes<uint16_t>(const Dims&);
template void forward_tasks(const Dims&, const ForwardIo<float>&, int64_t, int64_t, void*);
template void forward_tasks(const Dims&, const ForwardIo<uint16_t>&, int64_t, int64_t, void*);

}  // namespace lunar::nn::fused::avx512
