// Fused attention against the reference scaled_attention: forward and every gradient, masks,
// rows without real keys, dropout against the kernel's own mask, bf16 and its dispatch.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "lunar/nn/attention.h"
#include "lunar/nn/fused_attention.h"
#include "lunar/nn/pack_unpack.h"
#include "support/expectations.h"
#include "support/tensor_compare.h"
#include "support/threads.h"

namespace lunar::nn {
namespace {

struct Inputs {
  at::Tensor query, key, value, mask, divisor;
  std::vector<at::Tensor> leaves() const { return {query, key, value, divisor}; }
};

// B = 2, H = 3, Dh = 8, Dv = 5; batch 1 loses its last `padded` keys to padding.
Inputs make_inputs(int64_t lq, int64_t lk, int64_t padded, at::ScalarType dtype = at::kDouble) {
  const auto options = at::TensorOptions().dtype(dtype);
  Inputs in;
  in.query = at::randn({2, 3, lq, 8}, options).requires_grad_();
  in.key = at::randn({2, 3, lk, 8}, options).requires_grad_();
  in.value = at::randn({2, 3, lk, 5}, options).requires_grad_();
  in.divisor = at::full({}, 1.7, options).requires_grad_();  // a learned temperature
  if (padded > 0) {
    in.mask = at::ones({2, lk}, at::kBool);
    in.mask[1].narrow(0, lk - padded, padded).fill_(false);
  }
  return in;
}

std::vector<at::Tensor> gradients(const at::Tensor& output, const std::vector<at::Tensor>& leaves,
                                  const at::Tensor& upstream) {
  return torch::autograd::grad({output}, leaves, {upstream});
}

FusedAttentionConfig blocks(int64_t query_block, int64_t key_block) {
  FusedAttentionConfig config;
  config.query_block = query_block;
  config.key_block = key_block;
  return config;
}

TEST(FusedAttention, EqualsTheReferenceInFloat64) {
  // Lq = 1 (Luna's M = 1), lengths below, at and not multiples of the blocks; the fp64 kernel
  // runs the same block algorithm in double, so only rounding separates it from the reference.
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(1);
  struct Case {
    int64_t lq, lk, query_block, key_block;
  };
  for (const auto& c : {Case{1, 37, 16, 8}, Case{37, 1, 16, 8}, Case{70, 45, 16, 8},
                        Case{33, 64, 16, 16}, Case{9, 300, 64, 256}}) {
    for (int64_t padded : {0, 5}) {
      if (padded >= c.lk) continue;
      const auto in = make_inputs(c.lq, c.lk, padded);
      const auto upstream = at::randn({2, 3, c.lq, 5}, at::kDouble);
      const auto reference =
          scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true).output;
      const auto fused = fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true,
                                         blocks(c.query_block, c.key_block));
      ASSERT_EQ(fused.scalar_type(), at::kDouble);
      EXPECT_TENSORS_CLOSE(fused, reference, 1e-12, 1e-12) << "Lq " << c.lq << " Lk " << c.lk;
      const auto want = gradients(reference, in.leaves(), upstream);
      const auto got = gradients(fused, in.leaves(), upstream);
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_TENSORS_CLOSE(got[i], want[i], 1e-10, 1e-12)
            << "Lq " << c.lq << " Lk " << c.lk << " padded " << padded << " input " << i;
      }
    }
  }
}

TEST(FusedAttention, TakesAPerHeadDivisor) {
  at::manual_seed(2);
  auto in = make_inputs(20, 30, 4);
  in.divisor = at::tensor({0.7, 1.3, 2.9}, at::kDouble).view({3, 1, 1}).requires_grad_();
  const auto upstream = at::randn({2, 3, 20, 5}, at::kDouble);
  const auto reference =
      scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true).output;
  const auto fused =
      fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true, blocks(8, 8));
  EXPECT_TENSORS_CLOSE(fused, reference, 1e-12, 1e-12);
  const auto want = gradients(reference, in.leaves(), upstream);
  const auto got = gradients(fused, in.leaves(), upstream);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TENSORS_CLOSE(got[i], want[i], 1e-10, 1e-12);
}

TEST(FusedAttention, Float32KernelMatchesTheFloat64Reference) {
  // fp32 at the default blocks with Lq, Lk above and not multiples of them. The reference runs
  // in float64 on the same (fp32-representable) inputs: the kernel's error is fp32 rounding
  // (2⁻²⁴ per operation, sums of up to 600 terms) and its exp polynomial (2e-7 relative).
  const lunar::testing::IntraOpThreads threads;
  at::manual_seed(3);
  const auto in = make_inputs(300, 600, 37, at::kFloat);
  const auto upstream = at::randn({2, 3, 300, 5});
  const auto fused = fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true);
  ASSERT_EQ(fused.scalar_type(), at::kFloat);
  std::vector<at::Tensor> wide;
  for (const auto& t : in.leaves()) wide.push_back(t.detach().to(at::kDouble).requires_grad_());
  const auto reference =
      scaled_attention(wide[0], wide[1], wide[2], in.mask, wide[3], 0.0, true).output;
  EXPECT_TENSORS_CLOSE(fused.to(at::kDouble), reference, 1e-4, 2e-5);
  const auto want = gradients(reference, wide, upstream.to(at::kDouble));
  const auto got = gradients(fused, in.leaves(), upstream);
  for (size_t i = 0; i < want.size(); ++i) {
    const double scale = want[i].abs().max().item<double>();
    EXPECT_TENSORS_CLOSE(got[i].to(at::kDouble), want[i], 1e-4, 2e-5 * scale) << "input " << i;
  }
}

TEST(FusedAttention, RowsWithoutRealKeysBehaveAsTheReference) {
  // Batch 1 has no real key: the reference softmax gives NaN there, in the output and in the
  // value gradient; its masked_fill passes no gradient to the logits, so the query, key and
  // divisor gradients stay finite. Everything finite agrees.
  at::manual_seed(4);
  auto in = make_inputs(10, 20, 0);
  in.mask = at::ones({2, 20}, at::kBool);
  in.mask[1].fill_(false);
  const auto upstream = at::randn({2, 3, 10, 5}, at::kDouble);
  const auto reference =
      scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true).output;
  const auto fused =
      fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, true, blocks(4, 8));
  EXPECT_TRUE(fused.isnan().equal(reference.isnan()));
  EXPECT_TRUE(fused[1].isnan().all().item<bool>());
  EXPECT_TENSORS_CLOSE(fused[0], reference[0], 1e-12, 1e-12);
  const auto want = gradients(reference, in.leaves(), upstream);
  const auto got = gradients(fused, in.leaves(), upstream);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(got[i].isnan().equal(want[i].isnan())) << "input " << i;
  }
  EXPECT_TRUE(got[2][1].isnan().all().item<bool>());
  for (size_t i : {0, 1, 3}) EXPECT_TENSORS_CLOSE(got[i], want[i], 1e-10, 1e-12) << "input " << i;
  EXPECT_TENSORS_CLOSE(got[2][0], want[2][0], 1e-10, 1e-12);
}

TEST(FusedAttention, DropoutEqualsTheReferenceWithTheKernelsOwnMask) {
  // The output and every gradient equal plain attention with the mask fused_dropout_keep_mask
  // gives for the seed the call draws: backward redrew forward's mask.
  const double p = 0.3;
  const auto in = make_inputs(21, 34, 6);
  const auto upstream = at::randn({2, 3, 21, 5}, at::kDouble);
  at::manual_seed(7);
  const uint64_t seed = draw_attention_seed();
  at::manual_seed(7);
  const auto fused =
      fused_attention(in.query, in.key, in.value, in.mask, in.divisor, p, true, blocks(8, 16));
  const auto keep = fused_dropout_keep_mask(seed, 2, 3, 21, 34, p);
  const auto weights =
      scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.0, false).weights;
  const double kept = 1.0 - std::llround(p * 32768) / 32768.0;
  const auto reference = at::matmul(weights * keep.to(at::kDouble) / kept, in.value);
  EXPECT_TENSORS_CLOSE(fused, reference, 1e-12, 1e-12);
  const auto want = gradients(reference, in.leaves(), upstream);
  const auto got = gradients(fused, in.leaves(), upstream);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TENSORS_CLOSE(got[i], want[i], 1e-10, 1e-12);
}

TEST(FusedAttention, DropoutKeepsTheRightShareIndependentlyPerHeadAndRow) {
  const uint64_t seed = 0x1234abcdULL;
  const auto keep = fused_dropout_keep_mask(seed, 2, 2, 64, 1000, 0.1);  // 256,000 draws
  // keep rate 1 − round(0.1·2¹⁵)/2¹⁵; 4 standard deviations of the mean of 256,000 Bernoullis
  const double rate = keep.to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(rate, 1.0 - 3277.0 / 32768.0, 4 * std::sqrt(0.09 / 256000));
  EXPECT_FALSE(keep[0][0].equal(keep[0][1]));        // heads differ
  EXPECT_FALSE(keep[0][0][0].equal(keep[1][0][0]));  // batches differ
  EXPECT_FALSE(keep[0][0][0].equal(keep[0][0][1]));  // rows differ
  EXPECT_FALSE(keep.equal(fused_dropout_keep_mask(seed + 1, 2, 2, 64, 1000, 0.1)));
  EXPECT_TRUE(keep.equal(fused_dropout_keep_mask(seed, 2, 2, 64, 1000, 0.1)));
  EXPECT_TRUE(fused_dropout_keep_mask(seed, 1, 1, 4, 9, 0.0).all().item<bool>());
}

TEST(FusedAttention, DrawsOneSeedFromTheDefaultGeneratorOnlyWhenDropping) {
  const auto in = make_inputs(5, 7, 0);
  at::manual_seed(5);
  fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.2, true);
  const auto after = at::randn({4});
  at::manual_seed(5);
  draw_attention_seed();
  EXPECT_TRUE(at::randn({4}).equal(after));
  // Evaluation: no dropout, no draw, and the reference's output.
  at::manual_seed(5);
  const auto eval = fused_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.2, false);
  EXPECT_TRUE(at::randn({4}).equal([] {
    at::manual_seed(5);
    return at::randn({4});
  }()));
  EXPECT_TENSORS_CLOSE(
      eval, scaled_attention(in.query, in.key, in.value, in.mask, in.divisor, 0.2, false).output,
      1e-12, 1e-12);
}

TEST(FusedAttention, RejectsBadArguments) {
  const auto in = make_inputs(4, 6, 0);
  using lunar::testing::expect_error;
  expect_error([&] { fused_attention(in.query[0], in.key, in.value, {}, in.divisor, 0, true); },
               "expected 4-D");
  expect_error(
      [&] { fused_attention(in.query, in.key, in.value.narrow(2, 0, 5), {}, in.divisor, 0, true); },
      "as many keys as values");
  expect_error(
      [&] {
        fused_attention(in.query, in.key, in.value, at::ones({2, 5}, at::kBool), in.divisor, 0,
                        true);
      },
      "key_mask");
  expect_error(
      [&] { fused_attention(in.query, in.key, in.value, {}, in.divisor, 0, true, blocks(0, 8)); },
      "blocks of at least 1");
  expect_error([&] { fused_attention(in.query, in.key, in.value, {}, in.divisor, 1.0, true); },
               "dropout");
  expect_error([] { select_fused_kernel(at::kHalf, true); }, "float64, float32 or bfloat16");
}

}  // namespace
}  // namespace lunar::nn
