// Block kernels of fused attention: forward with an online softmax (Milakov & Gimelshein 2018)
// and FlashAttention-2's backward (Dao 2023, Algorithm 2). fp32 and bf16 run lunar's AVX-512
// kernels where the CPU has them (fused_attention_avx512_*.cpp). Otherwise, and for fp64, the
// block products go through at::mm (BLAS for fp32/fp64, oneDNN for bf16) and the softmax,
// dropout and accumulation run here in the accumulation type (fp32, fp64 for double inputs).
// Tensors are detached: parallel_for's worker threads record gradients by default (grad mode is
// per thread), and nothing here needs them.
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "fused_attention_kernel.h"
#ifdef LUNAR_AVX512_KERNELS
#include "fused_attention_avx512.h"
#endif
#include "lunar/nn/fused_attention.h"

namespace lunar::nn::fused {

namespace {

// exp for the softmax: Cephes' expf polynomial (range reduction by ln 2, relative error about
// 2e-7), written without branches or library calls so the compiler vectorises the row loops.
// Arguments at or below −87 (masked logits are −inf) give exactly 0.
inline float softmax_exp(float x) {
  const float clamped = x < -87.0f ? -87.0f : x;
  constexpr float kRound = 12582912.0f;  // 1.5·2²³: adding it rounds to an integer
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  const float r = clamped - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return x < -87.0f ? 0.0f : y * two_n;
}
inline double softmax_exp(double x) { return std::exp(x); }

template <typename acc_t>
constexpr acc_t kNegInf = -std::numeric_limits<acc_t>::infinity();

// Additive key bias [B, Lk]: 0 for real keys, −inf for padding (undefined without a mask).
template <typename acc_t>
at::Tensor key_bias(const at::Tensor& key_mask, at::ScalarType acc_type) {
  if (!key_mask.defined()) return at::Tensor();
  return at::zeros(key_mask.sizes(), at::TensorOptions().dtype(acc_type))
      .masked_fill_(key_mask.logical_not(), kNegInf<acc_t>)
      .contiguous();
}

// A [rows, cols] tensor over the front of a flat scratch buffer.
at::Tensor block_view(const at::Tensor& scratch, int64_t rows, int64_t cols) {
  return scratch.narrow(0, 0, rows * cols).view({rows, cols});
}

// total[i] += part[i] for a contiguous block
template <typename T, typename acc_t>
void accumulate(acc_t* total, const at::Tensor& part, int64_t count) {
  const T* p = part.data_ptr<T>();
  for (int64_t i = 0; i < count; ++i) total[i] += static_cast<acc_t>(p[i]);
}

template <typename T, typename acc_t>
void store(T* out, const acc_t* values, int64_t count) {
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(values[i]);
}

struct Shape {
  int64_t batch, heads, query_len, key_len, head_dim, value_dim;
  explicit Shape(const KernelArgs& a)
      : batch(a.query.size(0)),
        heads(a.query.size(1)),
        query_len(a.query.size(2)),
        key_len(a.key.size(2)),
        head_dim(a.query.size(3)),
        value_dim(a.value.size(3)) {}
  int64_t heads_total() const { return batch * heads; }
};

template <typename T>
ForwardResult forward_typed(const KernelArgs& a) {
  using acc_t = at::opmath_type<T>;
  const Shape s(a);
  const at::ScalarType acc_type = c10::CppTypeToScalarType<acc_t>::value;
  const auto q3 = a.query.detach().view({s.heads_total(), s.query_len, s.head_dim});
  const auto k3 = a.key.detach().view({s.heads_total(), s.key_len, s.head_dim});
  const auto v3 = a.value.detach().view({s.heads_total(), s.key_len, s.value_dim});
  auto output = at::empty({s.heads_total(), s.query_len, s.value_dim}, a.query.options());
  at::Tensor log_sum = at::empty({s.heads_total(), s.query_len}, a.query.options().dtype(acc_type));
  const at::Tensor bias = key_bias<acc_t>(a.key_mask, acc_type);
  const bool drops = a.dropout > 0;
  const int64_t threshold = drop_threshold(a.dropout);
  const auto keep_scale = static_cast<acc_t>(1.0 / keep_probability(a.dropout));
  const int64_t qb = a.query_block, kb = a.key_block;
  const int64_t query_blocks = (s.query_len + qb - 1) / qb;

  at::parallel_for(0, s.heads_total() * query_blocks, 1, [&](int64_t begin, int64_t end) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto scores = at::empty({qb * kb}, a.query.options());
    const auto probs = at::empty({qb * kb}, a.query.options());
    const auto product = at::empty({qb * s.value_dim}, a.query.options());
    std::vector<acc_t> out_acc(qb * s.value_dim), row_max(qb), row_sum(qb), factors(kb);
    for (int64_t task = begin; task < end; ++task) {
      const int64_t bh = task / query_blocks, q0 = (task % query_blocks) * qb;
      const int64_t nq = std::min(qb, s.query_len - q0);
      const acc_t* bias_row =
          bias.defined() ? bias.data_ptr<acc_t>() + (bh / s.heads) * s.key_len : nullptr;
      std::fill(out_acc.begin(), out_acc.end(), acc_t(0));
      std::fill(row_max.begin(), row_max.end(), kNegInf<acc_t>);
      std::fill(row_sum.begin(), row_sum.end(), acc_t(0));
      const auto q_block = q3[bh].narrow(0, q0, nq);
      for (int64_t k0 = 0; k0 < s.key_len; k0 += kb) {
        const int64_t nk = std::min(kb, s.key_len - k0);
        auto score = block_view(scores, nq, nk);
        at::mm_out(score, q_block, k3[bh].narrow(0, k0, nk).t());
        auto prob = block_view(probs, nq, nk);
        const T* sp = score.data_ptr<T>();
        T* pp = prob.data_ptr<T>();
        for (int64_t i = 0; i < nq; ++i) {
          const T* srow = sp + i * nk;
          T* prow = pp + i * nk;
          acc_t top = row_max[i];
          for (int64_t j = 0; j < nk; ++j) {
            const acc_t v = static_cast<acc_t>(srow[j]) + (bias_row ? bias_row[k0 + j] : acc_t(0));
            top = v > top ? v : top;
          }
          if (top == kNegInf<acc_t>) {  // no real key yet: nothing to add
            std::fill(prow, prow + nk, T(0));
            continue;
          }
          const acc_t rescale = softmax_exp(row_max[i] - top);
          if (drops) {
            dropout_factors(a.seed, bh * s.query_len + q0 + i, s.key_len, k0, nk, threshold,
                            keep_scale, factors.data());
          }
          acc_t sum = 0;
          for (int64_t j = 0; j < nk; ++j) {
            const acc_t v = static_cast<acc_t>(srow[j]) + (bias_row ? bias_row[k0 + j] : acc_t(0));
            const acc_t e = softmax_exp(v - top);
            sum += e;
            prow[j] = static_cast<T>(drops ? e * factors[j] : e);
          }
          row_sum[i] = row_sum[i] * rescale + sum;
          row_max[i] = top;
          acc_t* orow = out_acc.data() + i * s.value_dim;
          for (int64_t d = 0; d < s.value_dim; ++d) orow[d] *= rescale;
        }
        auto pv = block_view(product, nq, s.value_dim);
        at::mm_out(pv, prob, v3[bh].narrow(0, k0, nk));
        accumulate<T>(out_acc.data(), pv, nq * s.value_dim);
      }
      T* out = output.data_ptr<T>() + (bh * s.query_len + q0) * s.value_dim;
      acc_t* lse = log_sum.data_ptr<acc_t>() + bh * s.query_len + q0;
      for (int64_t i = 0; i < nq; ++i) {
        // A row without a real key has sum 0: 0 · (1/0) = NaN, as the reference softmax gives.
        const acc_t inverse = acc_t(1) / row_sum[i];
        for (int64_t d = 0; d < s.value_dim; ++d) {
          out[i * s.value_dim + d] = static_cast<T>(out_acc[i * s.value_dim + d] * inverse);
        }
        lse[i] = row_max[i] + std::log(row_sum[i]);
      }
    }
  });
  return {output.view({s.batch, s.heads, s.query_len, s.value_dim}),
          log_sum.view({s.batch, s.heads, s.query_len})};
}

template <typename T>
Gradients backward_typed(const KernelArgs& a, const ForwardResult& saved,
                         const at::Tensor& grad_output) {
  using acc_t = at::opmath_type<T>;
  const Shape s(a);
  const at::ScalarType acc_type = c10::CppTypeToScalarType<acc_t>::value;
  const int64_t n = s.heads_total();
  const auto q3 = a.query.detach().view({n, s.query_len, s.head_dim});
  const auto k3 = a.key.detach().view({n, s.key_len, s.head_dim});
  const auto v3 = a.value.detach().view({n, s.key_len, s.value_dim});
  const auto go3 = grad_output.detach()
                       .to(a.query.scalar_type())
                       .contiguous()
                       .view({n, s.query_len, s.value_dim});
  // D = rowsum(dO ∘ O) (FlashAttention-2, eq. for dS = P ∘ (dP − D))
  const at::Tensor delta =
      (go3.to(acc_type) * saved.output.view({n, s.query_len, s.value_dim}).to(acc_type))
          .sum(-1)
          .contiguous();
  const at::Tensor lse3 = saved.log_sum.contiguous().view({n, s.query_len});
  auto grad_query = at::empty_like(q3), grad_key = at::empty_like(k3),
       grad_value = at::empty_like(v3);
  const at::Tensor bias = key_bias<acc_t>(a.key_mask, acc_type);
  const bool drops = a.dropout > 0;
  const int64_t threshold = drop_threshold(a.dropout);
  const auto keep_scale = static_cast<acc_t>(1.0 / keep_probability(a.dropout));
  const int64_t qb = a.query_block, kb = a.key_block;
  const int64_t wide = std::max(s.head_dim, s.value_dim);

  // One task per (batch, head): dK and dV of a key block gather over all query blocks.
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto scores = at::empty({qb * kb}, a.query.options());
    const auto dprobs = at::empty({qb * kb}, a.query.options());
    const auto grads = at::empty({qb * kb}, a.query.options());  // P∘Z, then dS
    const auto product = at::empty({std::max(qb, kb) * wide}, a.query.options());
    std::vector<acc_t> prob(qb * kb), factor(drops ? qb * kb : 0);
    std::vector<acc_t> dq(s.query_len * s.head_dim), dk(kb * s.head_dim), dv(kb * s.value_dim);
    for (int64_t bh = begin; bh < end; ++bh) {
      const acc_t* bias_row =
          bias.defined() ? bias.data_ptr<acc_t>() + (bh / s.heads) * s.key_len : nullptr;
      const acc_t* lse = lse3.data_ptr<acc_t>() + bh * s.query_len;
      const acc_t* dl = delta.data_ptr<acc_t>() + bh * s.query_len;
      std::fill(dq.begin(), dq.end(), acc_t(0));
      for (int64_t k0 = 0; k0 < s.key_len; k0 += kb) {
        const int64_t nk = std::min(kb, s.key_len - k0);
        const auto k_block = k3[bh].narrow(0, k0, nk), v_block = v3[bh].narrow(0, k0, nk);
        std::fill(dk.begin(), dk.end(), acc_t(0));
        std::fill(dv.begin(), dv.end(), acc_t(0));
        for (int64_t q0 = 0; q0 < s.query_len; q0 += qb) {
          const int64_t nq = std::min(qb, s.query_len - q0);
          const auto q_block = q3[bh].narrow(0, q0, nq), go_block = go3[bh].narrow(0, q0, nq);
          auto score = block_view(scores, nq, nk);
          at::mm_out(score, q_block, k_block.t());
          auto dropped = block_view(grads, nq, nk);
          const T* sp = score.data_ptr<T>();
          T* gp = dropped.data_ptr<T>();
          for (int64_t i = 0; i < nq; ++i) {
            acc_t* prow = prob.data() + i * nk;
            const acc_t stat = lse[q0 + i];
            if (!(stat > kNegInf<acc_t>)) {  // no real key: NaN, as the reference softmax
              std::fill(prow, prow + nk, std::numeric_limits<acc_t>::quiet_NaN());
            } else {
              for (int64_t j = 0; j < nk; ++j) {
                const acc_t v =
                    static_cast<acc_t>(sp[i * nk + j]) + (bias_row ? bias_row[k0 + j] : acc_t(0));
                prow[j] = softmax_exp(v - stat);
              }
            }
            acc_t* zrow = drops ? factor.data() + i * nk : nullptr;
            if (drops) {
              dropout_factors(a.seed, bh * s.query_len + q0 + i, s.key_len, k0, nk, threshold,
                              keep_scale, zrow);
            }
            for (int64_t j = 0; j < nk; ++j) {
              gp[i * nk + j] = static_cast<T>(drops ? prow[j] * zrow[j] : prow[j]);
            }
          }
          auto dv_part = block_view(product, nk, s.value_dim);
          at::mm_out(dv_part, dropped.t(), go_block);  // dV += (P∘Z)ᵀ dO
          accumulate<T>(dv.data(), dv_part, nk * s.value_dim);
          auto dprob = block_view(dprobs, nq, nk);
          at::mm_out(dprob, go_block, v_block.t());  // d(P∘Z) = dO Vᵀ
          const T* dp = dprob.data_ptr<T>();
          for (int64_t i = 0; i < nq; ++i) {
            const acc_t* prow = prob.data() + i * nk;
            const acc_t* zrow = drops ? factor.data() + i * nk : nullptr;
            for (int64_t j = 0; j < nk; ++j) {
              const acc_t d = static_cast<acc_t>(dp[i * nk + j]) * (drops ? zrow[j] : acc_t(1));
              // dS; exactly 0 at padded keys, also in rows without a real key (where P is NaN),
              // as the reference's masked_fill passes no gradient there.
              const bool padded = bias_row && bias_row[k0 + j] < acc_t(0);
              gp[i * nk + j] = static_cast<T>(padded ? acc_t(0) : prow[j] * (d - dl[q0 + i]));
            }
          }
          auto dq_part = block_view(product, nq, s.head_dim);
          at::mm_out(dq_part, dropped, k_block);  // dQ += dS K
          accumulate<T>(dq.data() + q0 * s.head_dim, dq_part, nq * s.head_dim);
          auto dk_part = block_view(product, nk, s.head_dim);
          at::mm_out(dk_part, dropped.t(), q_block);  // dK += dSᵀ Q
          accumulate<T>(dk.data(), dk_part, nk * s.head_dim);
        }
        store(grad_key.data_ptr<T>() + (bh * s.key_len + k0) * s.head_dim, dk.data(),
              nk * s.head_dim);
        store(grad_value.data_ptr<T>() + (bh * s.key_len + k0) * s.value_dim, dv.data(),
              nk * s.value_dim);
      }
      store(grad_query.data_ptr<T>() + bh * s.query_len * s.head_dim, dq.data(),
            s.query_len * s.head_dim);
    }
  });
  return {grad_query.view(a.query.sizes()), grad_key.view(a.key.sizes()),
          grad_value.view(a.value.sizes())};
}

#ifdef LUNAR_AVX512_KERNELS
// The AVX-512 kernels (fused_attention_avx512_*.cpp): tensors, threads and per-thread scratch
// here, the blocks there. T is their element: float, or uint16_t for bf16's bits.
avx512::Dims native_dims(const KernelArgs& a) {
  const Shape s(a);
  const bool drops = a.dropout > 0;
  return {s.heads,
          s.query_len,
          s.key_len,
          s.head_dim,
          s.value_dim,
          a.query_block,
          a.key_block,
          drops ? drop_threshold(a.dropout) : 0,
          static_cast<float>(drops ? 1.0 / keep_probability(a.dropout) : 1.0),
          a.seed};
}

template <typename T>
const T* elements(const at::Tensor& t) {
  if constexpr (std::is_same_v<T, float>) {
    return t.data_ptr<float>();
  } else {
    return reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>());
  }
}
template <typename T>
T* elements(at::Tensor& t) {
  return const_cast<T*>(elements<T>(static_cast<const at::Tensor&>(t)));
}

at::Tensor scratch(int64_t bytes) { return at::empty({bytes}, at::TensorOptions(at::kByte)); }

template <typename T>
ForwardResult forward_avx512(const KernelArgs& a) {
  const Shape s(a);
  const auto dims = native_dims(a);
  auto output = at::empty({s.heads_total(), s.query_len, s.value_dim}, a.query.options());
  auto log_sum = at::empty({s.heads_total(), s.query_len}, a.query.options().dtype(at::kFloat));
  const at::Tensor bias = key_bias<float>(a.key_mask, at::kFloat);
  const avx512::ForwardIo<T> io{
      elements<T>(a.query), elements<T>(a.key),
      elements<T>(a.value), bias.defined() ? bias.data_ptr<float>() : nullptr,
      elements<T>(output),  log_sum.data_ptr<float>()};
  const int64_t bytes = avx512::forward_scratch_bytes<T>(dims);
  at::parallel_for(0, s.heads_total() * avx512::forward_query_blocks(dims), 1,
                   [&](int64_t begin, int64_t end) {
                     auto buffer = scratch(bytes);
                     avx512::forward_tasks(dims, io, begin, end, buffer.data_ptr());
                   });
  return {output.view({s.batch, s.heads, s.query_len, s.value_dim}),
          log_sum.view({s.batch, s.heads, s.query_len})};
}

template <typename T>
Gradients backward_avx512(const KernelArgs& a, const ForwardResult& saved,
                          const at::Tensor& grad_output) {
  const auto dims = native_dims(a);
  const auto go = grad_output.detach().to(a.query.scalar_type()).contiguous();
  const auto out = saved.output.contiguous();
  const auto lse = saved.log_sum.contiguous();
  auto grad_query = at::empty_like(a.query), grad_key = at::empty_like(a.key),
       grad_value = at::empty_like(a.value);
  const at::Tensor bias = key_bias<float>(a.key_mask, at::kFloat);
  const avx512::BackwardIo<T> io{
      elements<T>(a.query),  elements<T>(a.key),
      elements<T>(a.value),  elements<T>(out),
      elements<T>(go),       bias.defined() ? bias.data_ptr<float>() : nullptr,
      lse.data_ptr<float>(), elements<T>(grad_query),
      elements<T>(grad_key), elements<T>(grad_value)};
  const int64_t bytes = avx512::backward_scratch_bytes<T>(dims);
  at::parallel_for(0, Shape(a).heads_total(), 1, [&](int64_t begin, int64_t end) {
    auto buffer = scratch(bytes);
    avx512::backward_heads(dims, io, begin, end, buffer.data_ptr());
  });
  return {grad_query, grad_key, grad_value};
}

// Which AVX-512 kernel serves these arguments, if any.
enum class Avx512 { kNone, kFloat32, kBFloat16 };
Avx512 avx512_kernel(const KernelArgs& args) {
  if (!args.avx512) return Avx512::kNone;
  if (args.query.scalar_type() == at::kFloat && cpu_has_avx512()) return Avx512::kFloat32;
  if (args.query.scalar_type() == at::kBFloat16 && cpu_has_avx512_bf16()) return Avx512::kBFloat16;
  return Avx512::kNone;
}
#endif  // Built without them (a compiler without AVX512-BF16), everything takes at::mm_out's path.

}  // namespace

ForwardResult forward(const KernelArgs& args) {
#ifdef LUNAR_AVX512_KERNELS
  switch (avx512_kernel(args)) {
    case Avx512::kFloat32:
      return forward_avx512<float>(args);
    case Avx512::kBFloat16:
      return forward_avx512<uint16_t>(args);
    case Avx512::kNone:
      break;
  }
#endif
  return AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, args.query.scalar_type(),
                                        "fused_attention_forward",
                                        [&] { return forward_typed<scalar_t>(args); });
}

Gradients backward(const KernelArgs& args, const ForwardResult& saved,
                   const at::Tensor& grad_output) {
#ifdef LUNAR_AVX512_KERNELS
  switch (avx512_kernel(args)) {
    case Avx512::kFloat32:
      return backward_avx512<float>(args, saved, grad_output);
    case Avx512::kBFloat16:
      return backward_avx512<uint16_t>(args, saved, grad_output);
    case Avx512::kNone:
      break;
  }
#endif
  return AT_DISPATCH_FLOATING_TYPES_AND(
      at::kBFloat16, args.query.scalar_type(), "fused_attention_backward",
      [&] { return backward_typed<scalar_t>(args, saved, grad_output); });
}

}  // namespace lunar::nn::fused
