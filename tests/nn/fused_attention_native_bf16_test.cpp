// The native bf16 kernels of fused attention (AVX512-BF16 micro-kernels) against attention in
// float64 on the same bf16 values: forward and the query, key and value gradients, with and
// without masks, M = 1 and M above the block, head widths neither even nor multiples of 16,
// lengths not multiples of the blocks, dropout with the kernel's own mask, rows without keys.
//
// Tolerance: an elementwise first-order bound of the kernel's roundings, computed from the
// float64 quantities. The divisor is 2 and the upstream gradient bf16, so the kernel sees the
// reference's inputs exactly; it then rounds to bf16 (8-bit significand: unit roundoff u = 2⁻⁸,
// the largest relative rounding error, half the spacing 2⁻⁷ above 1): each dropped
// probability W = P∘Z before W·V and Wᵀ·dO, each dS before dS·K and dSᵀ·Q̃, and each result.
// Products of bf16 are exact in fp32 and accumulate in fp32, so
//   |δO|  ≤ u·(W|V|) + u|O|                |δdV| ≤ u·(Wᵀ|dO|) + u|dV|
//   |δD|  ≤ |dO|·|δO| (D = rowsum(dO∘O) takes the kernel's rounded O)
//   |δdS| ≤ u|dS| + P|δD| + c·P∘(|dO||V|ᵀZ + |D|)   (dP and D in fp32: c = 1e-5 ≥ 64·2⁻²⁴)
//   |δdQ̃| ≤ |δdS|·|K| + u|dQ̃|              |δdK| ≤ |δdS|ᵀ·|Q̃| + u|dK|
// and the query's gradient is dQ̃ / 2 (exact). Second-order terms (u² relative), fp32
// accumulation (≤ 300 terms · 2⁻²⁴ ≈ 2e-5 relative, 1% of u) and the exp polynomial (2e-7)
// stay under the 5% margin the checks add.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <sstream>

#include "fused_attention_cases.h"
#include "lunar/nn/fused_attention.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

constexpr double u = 1.0 / 256;
constexpr double kFp32 = 1e-5;
using cases::Case;
using cases::kBatch;
using cases::kHeads;

struct Inputs {
  at::Tensor query, key, value, mask, upstream;  // bf16 (mask bool, or undefined)
};

// Scaled queries Q/2 of unit-scale logits; batch 1 loses its last `padded` keys to padding.
Inputs make_inputs(const Case& c) {
  const auto bf16 = [](at::Tensor t) { return t.to(at::kBFloat16); };
  Inputs in;
  in.query = bf16(at::randn({kBatch, kHeads, c.lq, c.head_dim}) * (2 / std::sqrt(c.head_dim)));
  in.key = bf16(at::randn({kBatch, kHeads, c.lk, c.head_dim}));
  in.value = bf16(at::randn({kBatch, kHeads, c.lk, c.value_dim}));
  in.upstream = bf16(at::randn({kBatch, kHeads, c.lq, c.value_dim}));
  if (c.padded > 0) {
    in.mask = at::ones({kBatch, c.lk}, at::kBool);
    in.mask[1].narrow(0, c.lk - c.padded, c.padded).fill_(false);
  }
  return in;
}

struct Result {
  at::Tensor output, grad_query, grad_key, grad_value;
};

// The native kernel through fused_attention; `seed` receives the dropout seed it draws.
Result run_native(const Inputs& in, const Case& c, double dropout, uint64_t* seed) {
  FusedAttentionConfig config;
  config.bf16_native = true;
  config.query_block = c.query_block;
  config.key_block = c.key_block;
  const auto q = in.query.clone().requires_grad_(), k = in.key.clone().requires_grad_(),
             v = in.value.clone().requires_grad_();
  at::manual_seed(21);
  if (seed) *seed = draw_attention_seed();
  at::manual_seed(21);
  const auto divisor = at::full({}, 2.0);
  const auto out = fused_attention(q, k, v, in.mask, divisor, dropout, true, config);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  const auto grads = torch::autograd::grad({out}, {q, k, v}, {in.upstream});
  return {out.detach(), grads[0], grads[1], grads[2]};
}

// Attention in float64 with its gradients and the bounds above. `keep` scales kept weights
// (float64 [B, H, Lq, Lk]) or is undefined.
struct Reference {
  Result want, bound;
};

Reference reference(const Inputs& in, const at::Tensor& keep) {
  const auto f64 = [](const at::Tensor& t) { return t.to(at::kDouble); };
  const auto q = f64(in.query) / 2, k = f64(in.key), v = f64(in.value), go = f64(in.upstream);
  auto logits = at::matmul(q, k.transpose(-1, -2));
  at::Tensor real;  // [B, 1, 1, Lk] or undefined
  if (in.mask.defined()) {
    real = in.mask.view({kBatch, 1, 1, -1});
    logits = logits.masked_fill(real.logical_not(), -INFINITY);
  }
  const auto p = at::softmax(logits, -1);
  const auto z = keep.defined() ? keep : at::ones_like(p);
  const auto w = p * z;
  const auto t = [](const at::Tensor& x) { return x.transpose(-1, -2); };
  Reference r;
  r.want.output = at::matmul(w, v);
  r.want.grad_value = at::matmul(t(w), go);
  const auto delta = (go * r.want.output).sum(-1, true);
  auto grad_score = p * (at::matmul(go, t(v)) * z - delta);
  if (real.defined()) grad_score = grad_score.masked_fill(real.logical_not(), 0);
  r.want.grad_query = at::matmul(grad_score, k) / 2;
  r.want.grad_key = at::matmul(t(grad_score), q);

  r.bound.output = u * at::matmul(w, v.abs()) + u * r.want.output.abs();
  r.bound.grad_value = u * at::matmul(t(w), go.abs()) + u * r.want.grad_value.abs();
  const auto delta_error = (go.abs() * r.bound.output).sum(-1, true);
  auto score_error = u * grad_score.abs() + p * delta_error +
                     kFp32 * p * (at::matmul(go.abs(), t(v.abs())) * z + delta.abs());
  if (real.defined()) score_error = score_error.masked_fill(real.logical_not(), 0);
  r.bound.grad_query = at::matmul(score_error, k.abs()) / 2 + u * r.want.grad_query.abs();
  r.bound.grad_key = at::matmul(t(score_error), q.abs()) + u * r.want.grad_key.abs();
  return r;
}

// Every element within 1.05 × its bound (NaN exactly where the reference has NaN); reports
// the worst ratio of error to bound.
void expect_within(const at::Tensor& got, const at::Tensor& want, const at::Tensor& bound,
                   const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const auto g = got.to(at::kDouble);
  EXPECT_TRUE(g.isnan().equal(want.isnan())) << what << ": NaN where the reference has none";
  const auto finite = want.isnan().logical_not();
  const auto error = (g - want).abs().masked_select(finite);
  const auto limit = (1.05 * bound).masked_select(finite);
  const auto over = error.gt(limit);
  EXPECT_FALSE(over.any().item<bool>())
      << what << ": " << over.sum().item<int64_t>() << " elements over the bound, worst error "
      << error.masked_select(over).max().item<double>() << " with bound "
      << limit.masked_select(over).min().item<double>();
}

void expect_matches(const Result& got, const Reference& r, const std::string& where) {
  expect_within(got.output, r.want.output, r.bound.output, where + " output");
  expect_within(got.grad_query, r.want.grad_query, r.bound.grad_query, where + " dQ");
  expect_within(got.grad_key, r.want.grad_key, r.bound.grad_key, where + " dK");
  expect_within(got.grad_value, r.want.grad_value, r.bound.grad_value, where + " dV");
}

#define REQUIRE_AVX512_BF16()                                                                   \
  if (!cpu_has_avx512_bf16()) {                                                                 \
    GTEST_SKIP() << "this CPU lacks AVX512-BF16: the native bf16 kernel cannot run here; "      \
                    "bf16 runs through the fp32 fallback, tested in fused_attention_bf16_test"; \
  }

TEST(FusedAttentionNativeBf16, MatchesFloat64WithinTheRoundingBound) {
  REQUIRE_AVX512_BF16();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(31);
  for (const auto& c : cases::kShapes) {
    const auto in = make_inputs(c);
    const auto got = run_native(in, c, 0.0, nullptr);
    std::ostringstream where;
    where << c;
    expect_matches(got, reference(in, {}), where.str());
  }
}

TEST(FusedAttentionNativeBf16, DropoutEqualsTheReferenceWithTheKernelsOwnMask) {
  REQUIRE_AVX512_BF16();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(32);
  const double p = 0.3, kept = 1.0 - std::llround(p * 32768) / 32768.0;
  for (const auto& c : cases::kDropoutShapes) {
    const auto in = make_inputs(c);
    uint64_t seed = 0;
    const auto got = run_native(in, c, p, &seed);
    const auto keep = fused_dropout_keep_mask(seed, kBatch, kHeads, c.lq, c.lk, p);
    // Dropping something at all: the mask is not all-kept.
    ASSERT_FALSE(keep.all().item<bool>());
    std::ostringstream where;
    where << c << " dropout";
    expect_matches(got, reference(in, keep.to(at::kDouble) / kept), where.str());
  }
}

TEST(FusedAttentionNativeBf16, RowsWithoutRealKeysBehaveAsTheReference) {
  // Batch 1 has no real key: NaN output and value gradient there, as the reference softmax
  // gives; no gradient reaches its queries and keys (exactly 0); batch 0 within the bound.
  REQUIRE_AVX512_BF16();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(33);
  const Case c{40, 50, 9, 6, 16, 16, 0};
  auto in = make_inputs(c);
  in.mask = at::ones({kBatch, c.lk}, at::kBool);
  in.mask[1].fill_(false);
  const auto got = run_native(in, c, 0.0, nullptr);
  EXPECT_TRUE(got.output[1].isnan().all().item<bool>());
  EXPECT_TRUE(got.grad_value[1].isnan().all().item<bool>());
  EXPECT_TRUE(got.grad_query[1].eq(0).all().item<bool>());
  EXPECT_TRUE(got.grad_key[1].eq(0).all().item<bool>());
  expect_matches(got, reference(in, {}), "no real keys in batch 1");
}

TEST(FusedAttentionNativeBf16, RoundingBoundIsTightEnoughToCatchAWrongKey) {
  // The check is not vacuous: swapping two keys of one head (an indexing slip) breaks it.
  REQUIRE_AVX512_BF16();
  at::manual_seed(34);
  const Case c{20, 40, 16, 16, 16, 16, 0};
  const auto in = make_inputs(c);
  const auto r = reference(in, {});
  auto swapped = in;
  swapped.key = in.key.clone();
  swapped.key[0][0][3].copy_(in.key[0][0][30]);
  swapped.key[0][0][30].copy_(in.key[0][0][3]);
  const auto got = run_native(swapped, c, 0.0, nullptr);
  const auto error = (got.output.to(at::kDouble) - r.want.output).abs();
  EXPECT_FALSE(error.le(1.05 * r.bound.output).all().item<bool>());
}

}  // namespace
}  // namespace lunar::nn
