// The conv filter's CPU kernel against LibTorch's grouped conv1d: values and gradients in float64,
// a stated bound in fp32 and bf16 (AVX-512 and portable kernels), autocast's dtype.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/filter.h"
#include "lunar/runtime/compat.h"
#include "support/threads.h"

namespace {
using lunar::nn::sequence_conv;

// The independent computation: one conv1d group per (head, feature) channel after padding,
// written as the filter computed it before it had a kernel of its own.
at::Tensor grouped_conv1d(const at::Tensor& x, const at::Tensor& w, int64_t stride, int64_t left,
                          int64_t out_length) {
  const int64_t batch = x.size(0), heads = x.size(1), length = x.size(2), width = x.size(3);
  const int64_t right = std::max<int64_t>(0, (out_length - 1) * stride + w.size(1) - left - length);
  auto channels = x.permute({0, 1, 3, 2}).reshape({batch, heads * width, length});
  auto padded = at::constant_pad_nd(channels, {left, right}, 0);
  auto kernel = w.repeat_interleave(width, 0).unsqueeze(1);
  auto out = at::conv1d(padded, kernel, at::Tensor(), at::IntArrayRef{stride}, at::IntArrayRef{0},
                        at::IntArrayRef{1}, heads * width);
  return out.view({batch, heads, width, out_length}).permute({0, 1, 3, 2});
}

struct Case {
  int64_t length, width, kernel, stride;
  int64_t left() const { return stride == 1 ? (kernel - 1) / 2 : 0; }
  int64_t out_length() const { return stride == 1 ? length : (length - kernel) / stride + 1; }
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (int64_t length : {1, 2, 3, 5, 9, 37}) {
    for (int64_t width : {1, 5, 16}) {
      for (int64_t kernel = 1; kernel <= 5; ++kernel) {
        for (int64_t stride : {1, 2, 3}) {
          if (stride > 1 && length < kernel) continue;  // the unpadded filter refuses these
          out.push_back({length, width, kernel, stride});
        }
      }
    }
  }
  return out;
}

// x [B, H, L, Dh] as the projections give it: a permuted [B, L, H, Dh] buffer.
at::Tensor projected(int64_t batch, int64_t heads, const Case& c, at::ScalarType dtype) {
  return at::randn({batch, c.length, heads, c.width}, at::kDouble)
      .to(dtype)
      .permute({0, 2, 1, 3})
      .requires_grad_();
}

TEST(SequenceConv, ValuesAndGradientsAreGroupedConv1dInFloat64) {
  const lunar::testing::IntraOpThreads threads(2);  // the parallel path
  at::manual_seed(3);
  for (const auto& c : cases()) {
    const auto x = projected(2, 3, c, at::kDouble);
    const auto w = at::randn({3, c.kernel}, at::kDouble).requires_grad_();
    const auto y = sequence_conv(x, w, c.stride, c.left(), c.out_length());
    const auto expected = grouped_conv1d(x, w, c.stride, c.left(), c.out_length());
    ASSERT_EQ(y.sizes(), expected.sizes());
    EXPECT_TRUE(at::allclose(y, expected, 0, 1e-12))
        << "L " << c.length << " Dh " << c.width << " k " << c.kernel << " s " << c.stride;
    const auto readout = at::randn_like(expected);
    const auto got = torch::autograd::grad({(y * readout).sum()}, {x, w});
    const auto want = torch::autograd::grad({(expected * readout).sum()}, {x, w});
    EXPECT_TRUE(at::allclose(got[0], want[0], 0, 1e-12)) << "dx, L " << c.length;
    EXPECT_TRUE(at::allclose(got[1], want[1], 0, 1e-12)) << "dw, L " << c.length;
  }
}

TEST(SequenceConv, ContiguousAndStridedGradientsGiveTheSame) {
  const Case c{11, 4, 4, 1};
  const auto x = projected(2, 2, c, at::kDouble);
  const auto w = at::randn({2, c.kernel}, at::kDouble).requires_grad_();
  const auto y = sequence_conv(x.contiguous(), w, c.stride, c.left(), c.out_length());
  const auto readout = at::randn({2, 2, c.width, c.length}, at::kDouble).transpose(2, 3);
  ASSERT_FALSE(readout.is_contiguous());
  const auto strided = torch::autograd::grad({(y * readout).sum()}, {x, w});
  const auto y2 = sequence_conv(x, w, c.stride, c.left(), c.out_length());
  const auto dense = torch::autograd::grad({(y2 * readout.contiguous()).sum()}, {x, w});
  EXPECT_TRUE(at::allclose(strided[0], dense[0], 0, 1e-14));
  EXPECT_TRUE(at::allclose(strided[1], dense[1], 0, 1e-14));
}

// fp32 or bf16 inputs, float accumulation, one rounding to the input's dtype (unit roundoff u:
// 2⁻⁸ for bf16; 0 for fp32, whose last rounding is part of the float sum) at the end:
// |y − ŷ| ≤ u·|ŷ| + (n + 1)·2⁻²⁴·Σ|w·x| for a sum of n products, ŷ computed in float64 from the
// same inputs. The weight gradient sums n = B·L'·Dh products per tap (bounded by 2·L·Dh here).
void expect_within_rounding_bound(const Case& c, at::ScalarType dtype, bool avx512) {
  const double u = dtype == at::kBFloat16 ? std::ldexp(1.0, -8) : 0.0;
  const double float_u = std::ldexp(1.0, -24);
  const int64_t batch = 2, heads = 4;
  const auto x = projected(batch, heads, c, dtype);
  const auto w = at::randn({heads, c.kernel}).to(dtype).requires_grad_();
  const auto y = sequence_conv(x, w, c.stride, c.left(), c.out_length(), avx512);
  ASSERT_EQ(y.scalar_type(), dtype);
  const auto x64 = x.detach().to(at::kDouble), w64 = w.detach().to(at::kDouble);
  const auto exact = grouped_conv1d(x64, w64, c.stride, c.left(), c.out_length());
  const auto magnitude = grouped_conv1d(x64.abs(), w64.abs(), c.stride, c.left(), c.out_length());
  const auto bound = u * exact.abs() + (c.kernel + 1) * float_u * magnitude + 1e-30;
  EXPECT_TRUE((y.to(at::kDouble) - exact).abs().le(bound).all().item<bool>())
      << "y, L " << c.length << " Dh " << c.width << " avx512 " << avx512;

  const auto readout = at::randn(exact.sizes()).to(dtype);
  const auto got =
      torch::autograd::grad({(y.to(at::kFloat) * readout.to(at::kFloat)).sum()}, {x, w});
  const auto x64g = x64.clone().requires_grad_(), w64g = w64.clone().requires_grad_();
  const auto r64 = readout.to(at::kDouble);
  const auto want = torch::autograd::grad(
      {(grouped_conv1d(x64g, w64g, c.stride, c.left(), c.out_length()) * r64).sum()}, {x64g, w64g});
  const auto dx_magnitude = torch::autograd::grad(
      {(grouped_conv1d(x64g, w64.abs(), c.stride, c.left(), c.out_length()) * r64.abs()).sum()},
      {x64g})[0];
  EXPECT_TRUE((got[0].to(at::kDouble) - want[0])
                  .abs()
                  .le(u * want[0].abs() + (c.kernel + 1) * float_u * dx_magnitude + 1e-30)
                  .all()
                  .item<bool>())
      << "dx, L " << c.length << " Dh " << c.width << " avx512 " << avx512;
  const double products = 2.0 * batch * c.length * c.width;
  const auto dw_magnitude = torch::autograd::grad(
      {(grouped_conv1d(x64.abs(), w64g, c.stride, c.left(), c.out_length()) * r64.abs()).sum()},
      {w64g})[0];
  EXPECT_TRUE((got[1].to(at::kDouble) - want[1])
                  .abs()
                  .le(u * want[1].abs() + products * float_u * dw_magnitude)
                  .all()
                  .item<bool>())
      << "dw, L " << c.length << " Dh " << c.width << " avx512 " << avx512;
  // Not vacuous: float64 results differ from these by more than nothing.
  EXPECT_GT((y.to(at::kDouble) - exact).abs().max().item<double>(), 0.0);
}

// Widths below, at and above the AVX-512 kernels' 64-column blocks, with partial vectors.
const Case kRoundingCases[] = {
    {300, 32, 4, 1}, {64, 64, 3, 1}, {37, 83, 5, 2}, {20, 40, 3, 1}, {9, 1, 2, 1}};

TEST(SequenceConv, Bf16IsWithinItsRoundingBound) {
  const lunar::testing::IntraOpThreads threads(2);
  at::manual_seed(5);
  for (const auto& c : kRoundingCases) {
    for (const bool avx512 : {true, false}) expect_within_rounding_bound(c, at::kBFloat16, avx512);
  }
}

TEST(SequenceConv, Fp32IsWithinItsRoundingBound) {
  const lunar::testing::IntraOpThreads threads(2);
  at::manual_seed(6);
  for (const auto& c : kRoundingCases) {
    for (const bool avx512 : {true, false}) expect_within_rounding_bound(c, at::kFloat, avx512);
  }
}

// The AVX-512 kernels and the portable ones differ only in how the float sums round (FMA or not).
TEST(SequenceConv, Avx512AndPortableKernelsAgree) {
  at::manual_seed(7);
  for (const auto dtype : {at::kFloat, at::kBFloat16}) {
    const Case c{50, 70, 3, 1};
    const auto x = projected(2, 3, c, dtype);
    const auto w = at::randn({3, c.kernel}).to(dtype).requires_grad_();
    const auto readout = at::randn({2, 3, c.out_length(), c.width}).to(dtype);
    std::vector<at::Tensor> results;
    for (const bool avx512 : {true, false}) {
      const auto y = sequence_conv(x, w, c.stride, c.left(), c.out_length(), avx512);
      const auto grads = torch::autograd::grad({(y * readout).sum()}, {x, w});
      for (const auto& t : {y, grads[0], grads[1]}) results.push_back(t.to(at::kDouble));
    }
    const double tolerance = dtype == at::kBFloat16 ? 1e-2 : 1e-5;
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_TRUE(at::allclose(results[i], results[i + 3], tolerance, tolerance))
          << "result " << i << " dtype " << dtype;
    }
  }
}

TEST(SequenceConv, UnderAutocastComputesInTheAutocastDtype) {
  const Case c{20, 8, 3, 1};
  const auto x = projected(1, 2, c, at::kFloat).detach();
  const auto w = at::randn({2, c.kernel});
  at::Tensor y;
  {
    lunar::compat::AutocastGuard autocast(at::Device(at::kCPU), true, at::kBFloat16);
    y = sequence_conv(x, w, c.stride, c.left(), c.out_length());
  }
  ASSERT_EQ(y.scalar_type(), at::kBFloat16);
  const auto direct =
      sequence_conv(x.to(at::kBFloat16), w.to(at::kBFloat16), c.stride, c.left(), c.out_length());
  EXPECT_TRUE(at::equal(y, direct));
}
TEST(SequenceConv, RejectsShapesAndGeometryItCannotServe) {
  const auto x = at::randn({1, 2, 8, 4});
  const auto w = at::randn({2, 3});
  EXPECT_THROW(sequence_conv(x[0], w, 1, 1, 8), lunar::Error);               // 3-D input
  EXPECT_THROW(sequence_conv(x, at::randn({3, 3}), 1, 1, 8), lunar::Error);  // 3 heads vs 2
  EXPECT_THROW(sequence_conv(x, w, 0, 1, 8), lunar::Error);                  // stride 0
  EXPECT_THROW(sequence_conv(x, w, 1, -1, 8), lunar::Error);                 // negative padding
  EXPECT_THROW(sequence_conv(x, w, 1, 1, 0), lunar::Error);                  // nothing out
  try {
    sequence_conv(x, at::randn({3, 3}), 1, 1, 8);
  } catch (const lunar::Error& error) {
    EXPECT_NE(std::string(error.what()).find("weight [3, 3]"), std::string::npos) << error.what();
  }
}
}  // namespace
