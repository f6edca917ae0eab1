// Native bf16 fused attention, backward: FlashAttention-2's Algorithm 2 (Dao 2023), recomputing
// P block by block from the saved log-sum-exp, with the products by the AVX512-BF16
// micro-kernels of fused_attention_bf16_blocks.h and dS = P ∘ (dP∘Z − D) in fp32 registers.
#include "fused_attention_bf16_blocks.h"

namespace lunar::nn::fused::avx512 {

namespace {

struct BackwardScratch {
  uint16_t *query_a, *query_t, *grad_out_a, *grad_out_t, *key_t, *key_b, *value_t;
  uint16_t *dropped_b, *grad_score_b, *grad_score_a;
  float *delta, *dq, *scores, *dprobs, *dk_t, *dv_t;
  BackwardScratch(const Dims& d, Arena& arena) {
    const int64_t qb = query_block(d), kb = key_block(d), lq = d.query_len, lk = d.key_len;
    const int64_t dh = d.head_dim, dv = d.value_dim;
    query_a = arena.take<uint16_t>(lq * round_up(dh, 2));
    query_t = arena.take<uint16_t>(dh * round_up(lq, 2));
    grad_out_a = arena.take<uint16_t>(lq * round_up(dv, 2));
    grad_out_t = arena.take<uint16_t>(dv * round_up(lq, 2));
    key_t = arena.take<uint16_t>(round_up(lk, 16) * round_up(dh, 2));
    key_b = arena.take<uint16_t>(round_up(dh, 16) * round_up(lk, 2));
    value_t = arena.take<uint16_t>(round_up(lk, 16) * round_up(dv, 2));
    dropped_b = arena.take<uint16_t>(kb * qb);
    grad_score_b = arena.take<uint16_t>(kb * qb);
    grad_score_a = arena.take<uint16_t>(qb * kb);
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

int64_t backward_scratch_bytes(const Dims& d) {
  Arena arena{nullptr};
  BackwardScratch(d, arena);
  return arena.used;
}

void backward_heads(const Dims& d, const BackwardIo& io, int64_t begin, int64_t end,
                    void* scratch) {
  Arena arena{static_cast<char*>(scratch)};
  const BackwardScratch s(d, arena);
  const int64_t qb = query_block(d), kb = key_block(d);
  const int64_t lq = d.query_len, lk = d.key_len, dh = d.head_dim, dv = d.value_dim;
  const int64_t dh2 = round_up(dh, 2), dv2 = round_up(dv, 2), dh16 = round_up(dh, 16);
  const int64_t lq2 = round_up(lq, 2), lk2 = round_up(lk, 2);
  // Interleaves two rows' 16 bf16 (low and high halves) into 16 pairs.
  alignas(64) uint16_t order[32];
  for (int t = 0; t < 16; ++t) {
    order[2 * t] = static_cast<uint16_t>(t);
    order[2 * t + 1] = static_cast<uint16_t>(16 + t);
  }
  const __m512i interleave = _mm512_load_si512(order);
  for (int64_t bh = begin; bh < end; ++bh) {
    const uint16_t* q = io.query + bh * lq * dh;
    const uint16_t* k = io.key + bh * lk * dh;
    const uint16_t* v = io.value + bh * lk * dv;
    const uint16_t* o = io.output + bh * lq * dv;
    const uint16_t* go = io.grad_output + bh * lq * dv;
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
      for (int64_t c = 0; c < dv; ++c) sum += from_bf16(go[i * dv + c]) * from_bf16(o[i * dv + c]);
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
        const int64_t nq = smaller(qb, lq - q0), pairs = (nq + 1) / 2;
        gemm(s.query_a + q0 * dh2, dh2, s.key_t + k0 * dh2, 16 * dh2, dh2 / 2, nq, vectors,
             s.scores, kb, false);  // S = Q Kᵀ
        gemm(s.grad_out_a + q0 * dv2, dv2, s.value_t + k0 * dv2, 16 * dv2, dv2 / 2, nq, vectors,
             s.dprobs, kb, false);  // dP = dO Vᵀ
        for (int64_t i = 0; i < nq; i += 2) {
          const bool second = i + 1 < nq;
          Dropout dropout[2] = {{d, bh * lq + q0 + i, k0}, {d, bh * lq + q0 + i + 1, k0}};
          for (int64_t c = 0; c < vectors; ++c) {
            RowGrads g[2];
            for (int r = 0; r < 2; ++r) {
              const int64_t row = q0 + i + r;
              g[r] = r == 0 || second
                         ? backward_columns(d, s.scores + (i + r) * kb, s.dprobs + (i + r) * kb,
                                            bias, lse[row], s.delta[row], dropout[r], k0, c, nk)
                         : RowGrads{_mm512_setzero_ps(), _mm512_setzero_ps()};
              if (r == 0 || second) {
                _mm256_storeu_si256(
                    reinterpret_cast<__m256i*>(s.grad_score_a + (i + r) * kb + 16 * c),
                    round_to_bf16(g[r].grad_score));
              }
            }
            const int64_t at = (c * (qb / 2) + i / 2) * 32;
            const __m512bh dropped = _mm512_cvtne2ps_pbh(g[1].dropped, g[0].dropped);
            const __m512bh grad_score = _mm512_cvtne2ps_pbh(g[1].grad_score, g[0].grad_score);
            _mm512_storeu_si512(s.dropped_b + at,
                                _mm512_permutexvar_epi16(interleave, bits<__m512i>(dropped)));
            _mm512_storeu_si512(s.grad_score_b + at,
                                _mm512_permutexvar_epi16(interleave, bits<__m512i>(grad_score)));
          }
        }
        gemm(s.grad_out_t + q0, lq2, s.dropped_b, qb * 16, pairs, dv, vectors, s.dv_t, kb,
             true);  // dVᵀ += dOᵀ (P∘Z)
        gemm(s.query_t + q0, lq2, s.grad_score_b, qb * 16, pairs, dh, vectors, s.dk_t, kb,
             true);  // dKᵀ += Qᵀ dS
        gemm(s.grad_score_a, kb, s.key_b + k0 * 16, lk2 * 16, (nk + 1) / 2, nq, dh16 / 16,
             s.dq + q0 * dh16, dh16, true);  // dQ += dS K
      }
      for (int64_t j = 0; j < nk; ++j) {
        uint16_t* gk = io.grad_key + (bh * lk + k0 + j) * dh;
        uint16_t* gv = io.grad_value + (bh * lk + k0 + j) * dv;
        for (int64_t c = 0; c < dh; ++c) gk[c] = to_bf16(s.dk_t[c * kb + j]);
        for (int64_t c = 0; c < dv; ++c) gv[c] = to_bf16(s.dv_t[c * kb + j]);
      }
    }
    uint16_t* gq = io.grad_query + bh * lq * dh;
    for (int64_t i = 0; i < lq; ++i) {
      for (int64_t c = 0; c < dh; c += 16) {
        _mm256_mask_storeu_epi16(gq + i * dh + c, first(dh - c),
                                 round_to_bf16(_mm512_loadu_ps(s.dq + i * dh16 + c)));
      }
    }
  }
}

}  // namespace lunar::nn::fused::avx512
