// ConvLuna's sequence filter on hand-worked cases: conv (k = 4 'same' padding at stride 1, no
// padding at stride 2, as the authors' ConvLunaBlock),
// max-pool (lengths and values), the identity, masks, initialisation and option errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/filter.h"
#include "support/tensor_compare.h"

namespace {

using lunar::nn::FilterKind;
using lunar::nn::SequenceFilter;
using lunar::nn::SequenceFilterOptions;

SequenceFilter make_filter(FilterKind kind, int64_t heads, int64_t kernel, int64_t stride) {
  return SequenceFilter(SequenceFilterOptions(kind, heads, kernel, stride));
}

// [H][L] values of a one-feature-per-head sequence as [1, H, L, 1].
at::Tensor sequence(const std::vector<std::vector<double>>& rows) {
  std::vector<double> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  const auto heads = static_cast<int64_t>(rows.size());
  const auto length = static_cast<int64_t>(rows.front().size());
  return at::tensor(flat, at::kDouble).view({1, heads, length, 1});
}

// Cross-correlation of each (head, feature) channel with the head's taps, `left` zeros before
// the sequence and `right` after it, every `stride`-th output: a plain loop.
at::Tensor loop_conv(const at::Tensor& x, const at::Tensor& weight, int64_t left, int64_t right,
                     int64_t stride) {
  const int64_t batch = x.size(0), heads = x.size(1), length = x.size(2), width = x.size(3);
  const int64_t k = weight.size(1), out_length = (length + left + right - k) / stride + 1;
  auto out = at::zeros({batch, heads, out_length, width}, at::kDouble);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t t = 0; t < out_length; ++t) {
        for (int64_t f = 0; f < width; ++f) {
          double total = 0;
          for (int64_t i = 0; i < k; ++i) {
            const int64_t position = t * stride + i - left;
            if (position < 0 || position >= length) continue;
            total += weight[h][i].item<double>() * x[b][h][position][f].item<double>();
          }
          out[b][h][t][f] = total;
        }
      }
    }
  }
  return out;
}

TEST(ConvFilter, KernelFourPadsOneLeftTwoRightByHand) {
  auto filter = make_filter(FilterKind::conv, 2, 4, 1);
  filter->to(at::kDouble);
  ASSERT_EQ(filter->weight.sizes(), (std::vector<int64_t>{2, 4}));
  {
    at::NoGradGuard no_grad;
    filter->weight.copy_(at::tensor({1.0, 10.0, 100.0, 1000.0, 0.5, 0.0, 0.0, -1.0}).view({2, 4}));
  }
  const auto x = sequence({{1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}});
  const auto result = filter->forward(x, at::Tensor());
  // Head 0: y[t] = x[t-1] + 10 x[t] + 100 x[t+1] + 1000 x[t+2], zeros outside.
  // Head 1: y[t] = 0.5 x[t-1] - x[t+2].
  const auto expected = sequence({{3210, 4321, 5432, 543, 54}, {-3, -3.5, -4, 1.5, 2}});
  EXPECT_TENSORS_CLOSE(result.values, expected, 0.0, 1e-12);
  EXPECT_FALSE(result.mask.defined());
  EXPECT_EQ(filter->output_length(5), 5);
}

TEST(ConvFilter, OneTapPerHeadSharedByTheHeadsFeatures) {
  torch::manual_seed(5);
  auto filter = make_filter(FilterKind::conv, 3, 4, 1);
  filter->to(at::kDouble);
  const auto x = at::randn({2, 3, 9, 4}, at::kDouble);
  const auto result = filter->forward(x, at::Tensor());
  EXPECT_TENSORS_CLOSE(result.values, loop_conv(x, filter->weight.detach(), 1, 2, 1), 1e-12, 1e-12);
}

TEST(ConvFilter, OddKernelIsCentred) {
  torch::manual_seed(6);
  auto filter = make_filter(FilterKind::conv, 2, 5, 1);
  filter->to(at::kDouble);
  const auto x = at::randn({1, 2, 7, 3}, at::kDouble);
  EXPECT_TENSORS_CLOSE(filter->forward(x, at::Tensor()).values,
                       loop_conv(x, filter->weight.detach(), 2, 2, 1), 1e-12, 1e-12);
}

TEST(ConvFilter, StrideTwoByHand) {
  auto filter = make_filter(FilterKind::conv, 1, 4, 2);
  filter->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    filter->weight.copy_(at::tensor({1.0, 10.0, 100.0, 1000.0}).view({1, 4}));
  }
  // No padding for stride > 1: windows [0, 4), [2, 6), [4, 8), output length ⌊(L−k)/s⌋+1.
  const auto x = sequence({{1, 2, 3, 4, 5, 6, 7, 8}});
  const auto mask = at::tensor({1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).to(at::kBool).view({1, 8});
  const auto result = filter->forward(x, mask);
  EXPECT_EQ(filter->output_length(8), 3);
  EXPECT_EQ(filter->output_length(9), 3);
  EXPECT_EQ(filter->output_length(4), 1);
  EXPECT_EQ(filter->output_length(3), 0);
  // y[t] = x[2t] + 10 x[2t+1] + 100 x[2t+2] + 1000 x[2t+3]; positions 6 and 7 are padding,
  // zeroed first, and the window holding them is not real.
  EXPECT_TENSORS_CLOSE(result.values, sequence({{4321, 6543, 65}}), 0.0, 1e-12);
  ASSERT_TRUE(result.mask.defined());
  EXPECT_TRUE(result.mask.equal(at::tensor({1, 1, 0}, at::kLong).to(at::kBool).view({1, 3})));
  // Without a mask (the research's regime) the last window reads the pad values as given.
  EXPECT_TENSORS_CLOSE(filter->forward(x, at::Tensor()).values, sequence({{4321, 6543, 8765}}), 0.0,
                       1e-12);
}

TEST(ConvFilter, StridedConvMatchesTheLoopWithoutPadding) {
  torch::manual_seed(10);
  for (int64_t stride : {2, 3, 4}) {
    auto filter = make_filter(FilterKind::conv, 2, 4, stride);
    filter->to(at::kDouble);
    const auto x = at::randn({2, 2, 13, 3}, at::kDouble);
    const auto result = filter->forward(x, at::Tensor());
    EXPECT_EQ(result.values.size(2), (13 - 4) / stride + 1) << stride;
    EXPECT_TENSORS_CLOSE(result.values, loop_conv(x, filter->weight.detach(), 0, 0, stride), 1e-12,
                         1e-12);
  }
}

TEST(ConvFilter, StridedConvRejectsSequencesShorterThanTheKernel) {
  auto filter = make_filter(FilterKind::conv, 1, 4, 2);
  EXPECT_THROW(filter->forward(sequence({{1, 2, 3}}), at::Tensor()), lunar::Error);
}

TEST(ConvFilter, PaddedPositionsAreZeroedBeforeFiltering) {
  torch::manual_seed(7);
  auto filter = make_filter(FilterKind::conv, 2, 4, 1);
  filter->to(at::kDouble);
  auto x = at::randn({2, 2, 6, 3}, at::kDouble);
  const auto mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).to(at::kBool).view({2, 6});
  const auto zeroed = x.masked_fill(mask.logical_not().view({2, 1, 6, 1}), 0.0);
  const auto result = filter->forward(x, mask);
  EXPECT_TENSORS_CLOSE(result.values, loop_conv(zeroed, filter->weight.detach(), 1, 2, 1), 1e-12,
                       1e-12);
  EXPECT_TRUE(result.mask.equal(mask));
  // A garbage value in the padding changes nothing.
  x.select(2, 4).select(0, 1).fill_(1e6);
  EXPECT_TENSORS_CLOSE(filter->forward(x, mask).values, result.values, 0.0, 0.0);
}

TEST(ConvFilter, InitIsUniformWithinOneOverSqrtK) {
  torch::manual_seed(8);
  auto filter = make_filter(FilterKind::conv, 64, 4, 1);
  const auto w = filter->weight.detach();
  EXPECT_LE(w.abs().max().item<double>(), 0.5);
  EXPECT_GT(w.abs().max().item<double>(), 0.45);  // spread over the interval, not tiny
  EXPECT_LT(w.min().item<double>(), -0.4);
  EXPECT_EQ(filter->parameters().size(), 1u);
}

TEST(MaxPoolFilter, OutputLengthAndValuesByHand) {
  auto filter = make_filter(FilterKind::maxpool, 1, 3, 2);
  const auto x = sequence({{3, 1, 4, 1, 5, 9, 2, 6}});
  EXPECT_EQ(filter->output_length(8), 3);  // ⌊(8 − 3)/2⌋ + 1
  EXPECT_EQ(filter->output_length(9), 4);
  const auto result = filter->forward(x, at::Tensor());
  EXPECT_TENSORS_CLOSE(result.values, sequence({{4, 5, 9}}), 0.0, 0.0);
  EXPECT_TRUE(filter->parameters().empty());

  auto dense = make_filter(FilterKind::maxpool, 2, 2, 1);
  const auto two = sequence({{3, 1, 4, 1, 5}, {-1, -2, -3, -4, -5}});
  EXPECT_EQ(dense->output_length(5), 4);
  EXPECT_TENSORS_CLOSE(dense->forward(two, at::Tensor()).values,
                       sequence({{3, 4, 4, 5}, {-1, -2, -3, -4}}), 0.0, 0.0);
}

TEST(MaxPoolFilter, WindowIsRealOnlyWhenAllItsPositionsAre) {
  auto filter = make_filter(FilterKind::maxpool, 1, 3, 2);
  const auto x = sequence({{3, 1, 4, 1, 5, 9, 2, 6}});
  const auto mask = at::tensor({1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).to(at::kBool).view({1, 8});
  const auto result = filter->forward(x, mask);
  // Windows [0, 2], [2, 4] are real; [4, 6] holds padding position 6 (zeroed first).
  EXPECT_TRUE(result.mask.equal(at::tensor({1, 1, 0}, at::kLong).to(at::kBool).view({1, 3})));
  EXPECT_TENSORS_CLOSE(result.values, sequence({{4, 5, 9}}), 0.0, 0.0);
  // Padding is zeroed before pooling: the window over -5, -9 and padding reads 0.
  const auto negative = sequence({{-3, -1, -4, -1, -5, -9, -2, -6}});
  EXPECT_TENSORS_CLOSE(filter->forward(negative, mask).values, sequence({{-1, -1, 0}}), 0.0, 0.0);
}

TEST(MaxPoolFilter, RejectsSequencesShorterThanTheWindow) {
  auto filter = make_filter(FilterKind::maxpool, 1, 4, 1);
  EXPECT_THROW(filter->forward(sequence({{1, 2, 3}}), at::Tensor()), lunar::Error);
}

TEST(Filter, KernelOneIsTheIdentityForEveryStride) {
  torch::manual_seed(9);
  const auto x = at::randn({2, 3, 7, 4}, at::kDouble);
  const auto mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, at::kLong).to(at::kBool).view({2, 7});
  for (const auto kind : {FilterKind::conv, FilterKind::maxpool}) {
    for (int64_t stride : {1, 2, 4}) {
      auto filter = make_filter(kind, 3, 1, stride);
      EXPECT_TRUE(filter->is_identity()) << lunar::to_string(kind) << stride;
      EXPECT_TRUE(filter->parameters().empty()) << lunar::to_string(kind) << stride;
      EXPECT_EQ(filter->output_length(7), 7) << lunar::to_string(kind) << stride;
      const auto result = filter->forward(x, mask);
      EXPECT_TENSORS_CLOSE(result.values, x, 0.0, 0.0);
      EXPECT_TRUE(result.mask.equal(mask)) << lunar::to_string(kind) << stride;
    }
  }
}

TEST(Filter, RejectsInvalidOptionsNamingThem) {
  const auto message_of = [](FilterKind kind, int64_t kernel, int64_t stride) {
    try {
      make_filter(kind, 2, kernel, stride);
    } catch (const lunar::Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of(FilterKind::conv, 0, 1).find("kernel"), std::string::npos);
  EXPECT_NE(message_of(FilterKind::maxpool, 2, 0).find("stride"), std::string::npos);
}

}  // namespace
