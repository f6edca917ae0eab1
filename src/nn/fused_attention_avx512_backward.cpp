// AVX-512 fused attention, backward: FlashAttention-2's Algorithm 2 (Dao 2023), recomputing P
// block by block from the saved log-sum-exp, with the products by the micro-kernels of
// fused_attention_avx512_blocks.h (fp32 or bf16 operands) and dS = P ∘ (dP∘Z − D) in fp32
// registers.
#include "fused_attention_avx512_blocks.h"

namespace lunar::nn::fused::avx512 {

namespace {

template <typename T>
struct BackwardScratch {
  T *query_a, *query_t, *grad_out_a, *grad_out_t, *key_t, *key_b, *value_t;
  T *dropped_b, *grad_score_b, *grad_score_a;
  float *delta, *dq, *scores, *dprobs, *dk_t, *dv_t;
  BackwardScratch(const Dims& d, Arena& arena) {
    constexpr int64_t P = Ops<T>::kPack;
    const int64_t qb = query_block(d), kb = key_block(d), lq = d.query_len, lk = d.key_len;
    const int64_t dh = d.head_dim, dv = d.value_dim;
    query_a = arena.take<T>(lq * round_up(dh, P));
    query_t = arena.take<T>(dh * round_up(lq, P));
    grad_out_a = arena.take<T>(lq * round_up(dv, P));
    grad_out_t = arena.take<T>(dv * round_up(lq, P));
    key_t = arena.take<T>(round_up(lk, 16) * round_up(dh, P));
    key_b = arena.take<T>(round_up(dh, 16) * round_up(lk, P));
    value_t = arena.take<T>(round_up(lk, 16) * round_up(dv, P));
    dropped_b = arena.take<T>(kb * qb);
    grad_score_b = arena.take<T>(kb * qb);
    grad_score_a = arena.take<T>(qb * kb);
    delta = arena.take<float>(lq);
    dq = arena.take<float>(lq * round_up(dh, 16));
    scores = arena.take<float>(qb * kb);
    dprobs = arena.take<float>(qb * kb);
    dk_t = arena.take<float>(dh * kb);
    dv_t = arena.take<float>(dv * kb);
  }
};

// P∘Z and dS = P ∘ (dP∘Z − D) of 16 columns of one row, zero beyond the block; dS is exactly 0
// at padded keys, also in rows without a real key (where P is NaN), as the reference's
// masked_fill passes no gradient there.
struct RowGrads {
  __m512 dropped, grad_score;
};
RowGrads backward_columns(const Dims& d, const float* score, const float* dprob, const float* bias,
                          float log_sum, float delta, Dropout& dropout, int64_t k0, int64_t v,
                          int64_t nk) {
  const __mmask16 real = first(nk - 16 * v);
  __m512 s = _mm512_loadu_ps(score + 16 * v);
  __mmask16 live = real;
  if (bias) {
    const __m512 b = _mm512_maskz_loadu_ps(real, bias + k0 + 16 * v);
    s = _mm512_add_ps(s, b);
    live &= _mm512_cmp_ps_mask(b, _mm512_setzero_ps(), _CMP_GE_OQ);
  }
  const __m512 p =
      log_sum > -INFINITY ? exp16(_mm512_sub_ps(s, _mm512_set1_ps(log_sum))) : _mm512_set1_ps(NAN);
  __m512 dp = _mm512_loadu_ps(dprob + 16 * v);
  __m512 dropped = p;
  if (d.drop_threshold > 0) {
    const __m512 z = dropout.factors(v);
    dropped = _mm512_mul_ps(p, z);
    dp = _mm512_mul_ps(dp, z);
  }
  return {_mm512_maskz_mov_ps(real, dropped),
          _mm512_maskz_mov_ps(live, _mm512_mul_ps(p, _mm512_sub_ps(dp, _mm512_set1_ps(delta))))};
}

}  // namespace

template <typename T>
int64_t backward_scratch_bytes(const Dims& d) {
  return scratch_bytes<BackwardScratch<T>>(d);
}

template <typename T>
void backward_heads(const Dims& d, const BackwardIo<T>& io, int64_t begin, int64_t end,
                    void* scratch) {
  using O = Ops<T>;
  constexpr int64_t P = O::kPack;
  Arena arena{static_cast<char*>(scratch)};
  const BackwardScratch<T> s(d, arena);
  const int64_t qb = query_block(d), kb = key_block(d);
  const int64_t lq = d.query_len, lk = d.key_len, dh = d.head_dim, dv = d.value_dim;
  const int64_t dhp = round_up(dh, P), dvp = round_up(dv, P), dh16 = round_up(dh, 16);
  const int64_t lqp = round_up(lq, P), lkp = round_up(lk, P);
  for (int64_t bh = begin; bh < end; ++bh) {
    const T* q = io.query + bh * lq * dh;
    const T* k = io.key + bh * lk * dh;
    const T* v = io.value + bh * lk * dv;
    const T* o = io.output + bh * lq * dv;
    const T* go = io.grad_output + bh * lq * dv;
    pack_a(q, dh, 1, lq, dh, s.query_a);      // Q, for S
    pack_a(q, 1, dh, dh, lq, s.query_t);      // Qᵀ, for dKᵀ = Qᵀ dS
    pack_a(go, dv, 1, lq, dv, s.grad_out_a);  // dO, for dP = dO Vᵀ
    pack_a(go, 1, dv, dv, lq, s.grad_out_t);  // dOᵀ, for dVᵀ = dOᵀ (P∘Z)
    pack_b(k, 1, dh, dh, lk, s.key_t);        // Kᵀ, for S
    pack_b(k, dh, 1, lk, dh, s.key_b);        // K, for dQ = dS K
    pack_b(v, 1, dv, dv, lk, s.value_t);      // Vᵀ, for dP
    // D = rowsum(dO ∘ O) (FlashAttention-2, for dS = P ∘ (dP − D))
    for (int64_t i = 0; i < lq; ++i) {
      float sum = 0;
      for (int64_t c = 0; c < dv; ++c) {
        sum += O::to_float(go[i * dv + c]) * O::to_float(o[i * dv + c]);
      }
      s.delta[i] = sum;
    }
    for (int64_t i = 0; i < lq * dh16; ++i) s.dq[i] = 0;
    const float* bias = io.bias ? io.bias + (bh / d.heads) * lk : nullptr;
    const float* lse = io.log_sum + bh * lq;
    for (int64_t k0 = 0; k0 < lk; k0 += kb) {
      const int64_t nk = smaller(kb, lk - k0), vectors = (nk + 15) / 16;
      for (int64_t i = 0; i < dh * kb; ++i) s.dk_t[i] = 0;
      for (int64_t i = 0; i < dv * kb; ++i) s.dv_t[i] = 0;
      for (int64_t q0 = 0; q0 < lq; q0 += qb) {
        const int64_t nq = smaller(qb, lq - q0), groups = (nq + P - 1) / P;
        gemm(s.query_a + q0 * dhp, dhp, s.key_t + k0 * dhp, 16 * dhp, dhp / P, nq, vectors,
             s.scores, kb, false);  // S = Q Kᵀ
        gemm(s.grad_out_a + q0 * dvp, dvp, s.value_t + k0 * dvp, 16 * dvp, dvp / P, nq, vectors,
             s.dprobs, kb, false);  // dP = dO Vᵀ
        for (int64_t i = 0; i < nq; i += P) {
          const int64_t rows = smaller(P, nq - i);  // beyond the block: zero rows pad the group
          Dropout dropout[P];
          for (int64_t r = 0; r < rows; ++r) dropout[r] = Dropout(d, bh * lq + q0 + i + r, k0);
          for (int64_t c = 0; c < vectors; ++c) {
            __m512 dropped[P], grad_score[P];
            for (int64_t r = 0; r < P; ++r) {
              const int64_t row = q0 + i + r;
              const RowGrads g =
                  r < rows ? backward_columns(d, s.scores + (i + r) * kb, s.dprobs + (i + r) * kb,
                                              bias, lse[row], s.delta[row], dropout[r], k0, c, nk)
                           : RowGrads{_mm512_setzero_ps(), _mm512_setzero_ps()};
              if (r < rows) O::store(s.grad_score_a + (i + r) * kb + 16 * c, g.grad_score, 0xFFFF);
              dropped[r] = g.dropped;
              grad_score[r] = g.grad_score;
            }
            const int64_t at = (c * qb + i) * 16;  // B's layout along queries
            O::store_group(s.dropped_b + at, dropped);
            O::store_group(s.grad_score_b + at, grad_score);
          }
        }
        gemm(s.grad_out_t + q0, lqp, s.dropped_b, qb * 16, groups, dv, vectors, s.dv_t, kb,
             true);  // dVᵀ += dOᵀ (P∘Z)
        gemm(s.query_t + q0, lqp, s.grad_score_b, qb * 16, groups, dh, vectors, s.dk_t, kb,
             true);  // dKᵀ += Qᵀ dS
        gemm(s.grad_score_a, kb, s.key_b + k0 * 16, lkp * 16, (nk + P - 1) / P, nq, dh16 / 16,
             s.dq + q0 * dh16, dh16, true);  // dQ += dS K
      }
      for (int64_t j = 0; j < nk; ++j) {
        T* gk = io.grad_key + (bh * lk + k0 + j) * dh;
        T* gv = io.grad_value + (bh * lk + k0 + j) * dv;
        for (int64_t c = 0; c < dh; ++c) gk[c] = O::from_float(s.dk_t[c * kb + j]);
        for (int64_t c = 0; c < dv; ++c) gv[c] = O::from_float(s.dv_t[c * kb + j]);
      }
    }
    T* gq = io.grad_query + bh * lq * dh;
    for (int64_t i = 0; i < lq; ++i) {
      for (int64_t c = 0; c < dh; c += 16) {
        O::store(gq + i * dh + c, _mm512_loadu_ps(s.dq + i * dh16 + c), first(dh - c));
      }
    }
  }
}

template int64_t backward_scratch_bytes<float>(const Dims&);
template int64_t backward_scratch_bytes<uint16_t>(const Dims&);
template void backward_heads(const Dims&, const BackwardIo<float>&, int64_t, int64_t, void*);
template void backward_heads(const Dims&, const BackwardIo<uint16_t>&, int64_t, int64_t, void*);

}  // namespace lunar::nn::fused::avx512
