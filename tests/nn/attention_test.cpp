// The attention kernel against a naive per-(b, h, i, j) loop, its invariants, and the head
// split/merge layout.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/attention.h"
#include "support/tensor_compare.h"

namespace {

using lunar::nn::merge_heads;
using lunar::nn::scaled_attention;
using lunar::nn::split_heads;

struct NaiveResult {
  at::Tensor output;   // [B, H, Lq, Dv]
  at::Tensor weights;  // [B, H, Lq, Lk]
};

// softmax(q·k / divisor) v written out element by element, masked keys skipped entirely.
NaiveResult naive_attention(const at::Tensor& query, const at::Tensor& key, const at::Tensor& value,
                            const at::Tensor& key_mask, double divisor) {
  const auto q = query.to(at::kDouble).contiguous();
  const auto k = key.to(at::kDouble).contiguous();
  const auto v = value.to(at::kDouble).contiguous();
  const int64_t batch = q.size(0), heads = q.size(1), lq = q.size(2), lk = k.size(2);
  const int64_t dh = q.size(3), dv = v.size(3);
  auto output = at::zeros({batch, heads, lq, dv}, at::kDouble);
  auto weights = at::zeros({batch, heads, lq, lk}, at::kDouble);
  auto qa = q.accessor<double, 4>();
  auto ka = k.accessor<double, 4>();
  auto va = v.accessor<double, 4>();
  auto oa = output.accessor<double, 4>();
  auto wa = weights.accessor<double, 4>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < lq; ++i) {
        std::vector<double> logits(lk, 0.0);
        std::vector<bool> real(lk, true);
        double largest = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < lk; ++j) {
          if (key_mask.defined()) real[j] = key_mask[b][j].item<bool>();
          if (!real[j]) continue;
          double dot = 0;
          for (int64_t d = 0; d < dh; ++d) dot += qa[b][h][i][d] * ka[b][h][j][d];
          logits[j] = dot / divisor;
          largest = std::max(largest, logits[j]);
        }
        double total = 0;
        for (int64_t j = 0; j < lk; ++j) {
          if (real[j]) total += std::exp(logits[j] - largest);
        }
        for (int64_t j = 0; j < lk; ++j) {
          const double p = real[j] ? std::exp(logits[j] - largest) / total : 0.0;
          wa[b][h][i][j] = p;
          for (int64_t e = 0; e < dv; ++e) oa[b][h][i][e] += p * va[b][h][j][e];
        }
      }
    }
  }
  return {output, weights};
}

at::Tensor scalar(double value) { return at::full({}, value, at::kDouble); }

class AttentionKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(11);
    query = at::randn({2, 3, 4, 5}, at::kDouble);
    key = at::randn({2, 3, 6, 5}, at::kDouble);
    value = at::randn({2, 3, 6, 7}, at::kDouble);  // Dv != Dh on purpose
    // Example 0 keeps all 6 keys, example 1 only the first 2 and the 5th.
    mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0}, at::kLong).to(at::kBool).view({2, 6});
  }
  at::Tensor query, key, value, mask;
};

TEST_F(AttentionKernel, MatchesNaiveLoopsWithoutMask) {
  const auto result =
      scaled_attention(query, key, value, at::Tensor(), scalar(std::sqrt(5.0)), 0.0, false);
  const auto naive = naive_attention(query, key, value, at::Tensor(), std::sqrt(5.0));
  EXPECT_TENSORS_CLOSE(result.weights, naive.weights, 1e-12, 1e-14);
  EXPECT_TENSORS_CLOSE(result.output, naive.output, 1e-12, 1e-14);
}

TEST_F(AttentionKernel, MatchesNaiveLoopsWithKeyMask) {
  const auto result = scaled_attention(query, key, value, mask, scalar(1.7), 0.0, false);
  const auto naive = naive_attention(query, key, value, mask, 1.7);
  EXPECT_TENSORS_CLOSE(result.weights, naive.weights, 1e-12, 1e-14);
  EXPECT_TENSORS_CLOSE(result.output, naive.output, 1e-12, 1e-14);
  // Masked keys get exactly zero probability.
  const auto padded = mask.logical_not().view({2, 1, 1, 6}).expand_as(result.weights);
  EXPECT_EQ(result.weights.masked_select(padded).abs().max().item<double>(), 0.0);
}

TEST_F(AttentionKernel, MatchesNaiveLoopsInFloat32) {
  const auto result = scaled_attention(query.to(at::kFloat), key.to(at::kFloat),
                                       value.to(at::kFloat), mask, at::full({}, 2.0f), 0.0, false);
  const auto naive = naive_attention(query, key, value, mask, 2.0);
  EXPECT_EQ(result.output.scalar_type(), at::kFloat);
  EXPECT_TENSORS_CLOSE(result.output, naive.output, 1e-5, 1e-6);
}

TEST_F(AttentionKernel, SoftmaxRowsSumToOne) {
  for (const auto& m : {at::Tensor(), mask}) {
    const auto result = scaled_attention(query, key, value, m, scalar(0.3), 0.0, false);
    EXPECT_TENSORS_CLOSE(result.weights.sum(-1), at::ones({2, 3, 4}, at::kDouble), 1e-12, 1e-12);
    EXPECT_GE(result.weights.min().item<double>(), 0.0);
  }
}

TEST_F(AttentionKernel, DivisorDividesTheLogits) {
  // Dividing by 4 is the same as scaling the queries by 1/4 with divisor 1.
  const auto divided = scaled_attention(query, key, value, mask, scalar(4.0), 0.0, false);
  const auto scaled = scaled_attention(query / 4.0, key, value, mask, scalar(1.0), 0.0, false);
  EXPECT_TENSORS_CLOSE(divided.weights, scaled.weights, 1e-12, 1e-14);
  const auto unscaled = scaled_attention(query, key, value, mask, scalar(1.0), 0.0, false);
  EXPECT_FALSE(at::allclose(divided.weights, unscaled.weights));
}

TEST_F(AttentionKernel, DropoutOnlyWhenTraining) {
  const auto reference = scaled_attention(query, key, value, mask, scalar(1.0), 0.0, false);
  const auto evaluated = scaled_attention(query, key, value, mask, scalar(1.0), 0.5, false);
  EXPECT_TENSORS_CLOSE(evaluated.output, reference.output, 0.0, 0.0);
  torch::manual_seed(3);
  const auto trained = scaled_attention(query, key, value, mask, scalar(1.0), 0.5, true);
  // The returned weights are the probabilities before dropout; the output uses dropped ones.
  EXPECT_TENSORS_CLOSE(trained.weights, reference.weights, 0.0, 0.0);
  EXPECT_FALSE(at::allclose(trained.output, reference.output));
}

TEST_F(AttentionKernel, RejectsBadShapes) {
  const auto three_d = at::randn({2, 4, 5}, at::kDouble);
  EXPECT_THROW(scaled_attention(three_d, key, value, at::Tensor(), scalar(1.0), 0.0, false),
               lunar::Error);
  const auto narrow_key = at::randn({2, 3, 6, 4}, at::kDouble);
  EXPECT_THROW(scaled_attention(query, narrow_key, value, at::Tensor(), scalar(1.0), 0.0, false),
               lunar::Error);
  const auto short_value = at::randn({2, 3, 5, 7}, at::kDouble);
  EXPECT_THROW(scaled_attention(query, key, short_value, at::Tensor(), scalar(1.0), 0.0, false),
               lunar::Error);
  try {
    scaled_attention(query, key, value, at::ones({2, 5}, at::kBool), scalar(1.0), 0.0, false);
    FAIL() << "a key mask of the wrong length was accepted";
  } catch (const lunar::Error& error) {
    EXPECT_NE(std::string(error.what()).find("key_mask"), std::string::npos) << error.what();
  }
}

TEST(Heads, SplitLayoutIsHeadMajorOverTheWidth) {
  const auto x = at::arange(2 * 3 * 8, at::kDouble).view({2, 3, 8});  // [B, L, H·Dh], H = 4
  const auto heads = split_heads(x, 4);
  ASSERT_EQ(heads.sizes(), (std::vector<int64_t>{2, 4, 3, 2}));
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t h = 0; h < 4; ++h) {
      for (int64_t l = 0; l < 3; ++l) {
        for (int64_t d = 0; d < 2; ++d) {
          EXPECT_EQ(heads[b][h][l][d].item<double>(), x[b][l][h * 2 + d].item<double>());
        }
      }
    }
  }
  EXPECT_TENSORS_CLOSE(merge_heads(heads), x, 0.0, 0.0);
}

TEST(Heads, SplitRejectsWidthNotDivisible) {
  EXPECT_THROW(split_heads(at::zeros({1, 2, 6}), 4), lunar::Error);
}

}  // namespace
