// The AVX-512 fp32 kernels of fused attention (FMA micro-kernels) against attention in float64 on
// the same fp32 values: forward and the query, key, value and temperature gradients, with and
// without masks, M = 1 and M above the block, head widths neither multiples of 16 nor even,
// lengths not multiples of the blocks, blocks of one; dropout with the kernel's own mask; rows
// without a real key; and agreement with the at::mm block path the kernels replace.
//
// Tolerance: fp32 rounding. Each product sums at most a few hundred terms in fp32 (unit roundoff
// 2⁻²⁴ ≈ 6e-8, so a relative error of at most ~300 · 6e-8 ≈ 2e-5 of the sum of magnitudes),
// the softmax adds its exp polynomial (2e-7 relative) and one division, and backward reuses
// forward's rounded output and statistics. With unit-scale inputs the sums of magnitudes stay
// within a few times each result's largest magnitude, so every element is held to
// 1e-4 relative plus 2e-5 of its tensor's largest magnitude (as the at::mm path in
// fused_attention_test.cpp), and a test shows a swapped key breaks that.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <sstream>

#include "fused_attention_cases.h"
#include "lunar/nn/attention.h"
#include "lunar/nn/fused_attention.h"
#include "support/tensor_compare.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

using cases::Case;
using cases::kBatch;
using cases::kHeads;

// fp32 leaves (the divisor a learned temperature); batch 1 loses its last `padded` keys.
struct Inputs {
  at::Tensor query, key, value, divisor, mask, upstream;
  std::vector<at::Tensor> leaves() const { return {query, key, value, divisor}; }
};

Inputs make_inputs(const Case& c) {
  Inputs in;
  in.query = at::randn({kBatch, kHeads, c.lq, c.head_dim}).requires_grad_();
  in.key = at::randn({kBatch, kHeads, c.lk, c.head_dim}).requires_grad_();
  in.value = at::randn({kBatch, kHeads, c.lk, c.value_dim}).requires_grad_();
  in.divisor = at::full({}, std::sqrt(double(c.head_dim)) * 0.9).requires_grad_();
  in.upstream = at::randn({kBatch, kHeads, c.lq, c.value_dim});
  if (c.padded > 0) {
    in.mask = at::ones({kBatch, c.lk}, at::kBool);
    in.mask[1].narrow(0, c.lk - c.padded, c.padded).fill_(false);
  }
  return in;
}

struct Result {
  at::Tensor output;
  std::vector<at::Tensor> grads;  // query, key, value, divisor
};

// fused_attention on the AVX-512 kernels (or, with avx512 = false, on the at::mm blocks), with
// the default generator at a fixed state, so a dropout call draws the same seed every time.
Result run_fused(const Inputs& in, const Case& c, double dropout, bool avx512 = true) {
  FusedAttentionConfig config;
  config.query_block = c.query_block;
  config.key_block = c.key_block;
  config.avx512 = avx512;
  at::manual_seed(21);
  const auto out =
      fused_attention(in.query, in.key, in.value, in.mask, in.divisor, dropout, true, config);
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  return {out.detach(), torch::autograd::grad({out}, in.leaves(), {in.upstream})};
}

// The seed run_fused's dropout draws.
uint64_t fused_seed() {
  at::manual_seed(21);
  return draw_attention_seed();
}

// Attention in float64 on the same values through autograd; `keep` (float64 [B, H, Lq, Lk],
// kept weights scaled) multiplies the probabilities, or is undefined.
Result reference(const Inputs& in, const at::Tensor& keep) {
  std::vector<at::Tensor> wide;
  for (const auto& t : in.leaves()) wide.push_back(t.detach().to(at::kDouble).requires_grad_());
  auto logits = at::matmul(wide[0] / wide[3], wide[1].transpose(-1, -2));
  if (in.mask.defined()) {
    logits = logits.masked_fill(in.mask.view({kBatch, 1, 1, -1}).logical_not(), -INFINITY);
  }
  auto weights = at::softmax(logits, -1);
  if (keep.defined()) weights = weights * keep;
  const auto out = at::matmul(weights, wide[2]);
  return {out.detach(), torch::autograd::grad({out}, wide, {in.upstream.to(at::kDouble)})};
}

// Within fp32 rounding of the reference (see the top); NaN exactly where the reference has NaN.
void expect_close(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  const auto g = got.to(at::kDouble);
  EXPECT_TRUE(g.isnan().equal(want.isnan())) << what << ": NaN where the reference has none";
  const auto finite = want.isnan().logical_not();
  const auto w = want.masked_select(finite);
  const double scale = w.numel() > 0 ? w.abs().max().item<double>() : 0.0;
  EXPECT_TENSORS_CLOSE(g.masked_select(finite), w, 1e-4, 2e-5 * scale) << what;
}

void expect_matches(const Result& got, const Result& want, const std::string& where) {
  expect_close(got.output, want.output, where + " output");
  const char* names[] = {"dQ", "dK", "dV", "d divisor"};
  for (size_t i = 0; i < want.grads.size(); ++i) {
    expect_close(got.grads[i], want.grads[i], where + " " + names[i]);
  }
}

#define REQUIRE_AVX512()                                                              \
  if (!cpu_has_avx512()) {                                                            \
    GTEST_SKIP() << "this CPU lacks AVX-512: fp32 runs the at::mm blocks, tested in " \
                    "fused_attention_test";                                           \
  }

TEST(FusedAttentionNativeFp32, MatchesFloat64) {
  REQUIRE_AVX512();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(41);
  for (const auto& c : cases::kShapes) {
    const auto in = make_inputs(c);
    std::ostringstream where;
    where << c;
    expect_matches(run_fused(in, c, 0.0), reference(in, {}), where.str());
  }
}

TEST(FusedAttentionNativeFp32, DropoutEqualsTheReferenceWithTheKernelsOwnMask) {
  REQUIRE_AVX512();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(42);
  const double p = 0.3, kept = 1.0 - std::llround(p * 32768) / 32768.0;
  for (const auto& c : cases::kDropoutShapes) {
    const auto in = make_inputs(c);
    const auto keep = fused_dropout_keep_mask(fused_seed(), kBatch, kHeads, c.lq, c.lk, p);
    ASSERT_FALSE(keep.all().item<bool>());  // dropping something at all
    std::ostringstream where;
    where << c << " dropout";
    expect_matches(run_fused(in, c, p), reference(in, keep.to(at::kDouble) / kept), where.str());
  }
}

TEST(FusedAttentionNativeFp32, RowsWithoutRealKeysBehaveAsTheReference) {
  // Batch 1 has no real key: NaN output and value gradient there, as the reference softmax
  // gives; no gradient reaches its queries and keys (exactly 0); batch 0 within tolerance.
  REQUIRE_AVX512();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(43);
  const Case c{40, 50, 9, 6, 16, 16, 0};
  auto in = make_inputs(c);
  in.mask = at::ones({kBatch, c.lk}, at::kBool);
  in.mask[1].fill_(false);
  const auto got = run_fused(in, c, 0.0);
  EXPECT_TRUE(got.output[1].isnan().all().item<bool>());
  EXPECT_TRUE(got.grads[2][1].isnan().all().item<bool>());
  EXPECT_TRUE(got.grads[0][1].eq(0).all().item<bool>());
  EXPECT_TRUE(got.grads[1][1].eq(0).all().item<bool>());
  const auto want = reference(in, {});
  expect_close(got.output[0], want.output[0], "batch 0 output");
  for (size_t i = 0; i < 3; ++i) {
    expect_close(got.grads[i][0], want.grads[i][0], "batch 0 gradient " + std::to_string(i));
  }
}

TEST(FusedAttentionNativeFp32, AgreesWithTheAtMmPathAndItsDropoutMask) {
  // The same seed gives the same mask on both paths, so they differ by rounding alone.
  REQUIRE_AVX512();
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(44);
  const Case c{100, 130, 32, 32, 64, 64, 9};
  const auto in = make_inputs(c);
  const auto native = run_fused(in, c, 0.2, true);
  const auto blocks = run_fused(in, c, 0.2, false);
  expect_close(native.output, blocks.output.to(at::kDouble), "native vs at::mm output");
  for (size_t i = 0; i < native.grads.size(); ++i) {
    expect_close(native.grads[i], blocks.grads[i].to(at::kDouble),
                 "native vs at::mm gradient " + std::to_string(i));
  }
  // Not vacuous: this dropout moves the output by far more than rounding, so another mask on
  // either path would have failed the checks above.
  const auto other = run_fused(in, c, 0.0, true);
  EXPECT_GT((other.output - native.output).abs().max().item<double>(), 0.1);
}

TEST(FusedAttentionNativeFp32, ToleranceIsTightEnoughToCatchAWrongKey) {
  // The check is not vacuous: swapping two keys of one head (an indexing slip) breaks it.
  REQUIRE_AVX512();
  at::manual_seed(45);
  const Case c{20, 40, 16, 16, 16, 16, 0};
  const auto in = make_inputs(c);
  const auto want = reference(in, {});
  auto swapped = make_inputs(c);
  swapped.query = in.query;
  swapped.value = in.value;
  swapped.divisor = in.divisor;
  swapped.upstream = in.upstream;
  swapped.key = in.key.detach().clone();
  swapped.key[0][0][3].copy_(in.key[0][0][30]);
  swapped.key[0][0][30].copy_(in.key[0][0][3]);
  swapped.key.requires_grad_();
  const auto got = run_fused(swapped, c, 0.0);
  const double scale = want.output.abs().max().item<double>();
  EXPECT_FALSE(
      ::lunar::testing::tensors_close(got.output.to(at::kDouble), want.output, 1e-4, 2e-5 * scale));
}

}  // namespace
}  // namespace lunar::nn
