// linear_forward: the frontend's Linear without autocast, bit for bit; under CPU autocast a bf16
// product with the bias added in bf16, against the same sum in float64 of the bf16-rounded
// operands.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lunar/nn/projections.h"
#include "lunar/runtime/compat.h"
#include "support/tensor_compare.h"

namespace {

TEST(LinearForward, WithoutAutocastIsTheModulesForward) {
  torch::manual_seed(3);
  torch::nn::Linear layer(24, 40);
  const auto x = at::randn({2, 7, 24});
  EXPECT_TRUE(lunar::nn::linear_forward(layer, x).equal(layer->forward(x)));
}

TEST(LinearForward, UnderAutocastAddsTheBiasInBf16) {
  torch::manual_seed(4);
  torch::nn::Linear layer(64, 48);
  const auto x = at::randn({2, 9, 64});
  at::Tensor out;
  {
    const lunar::compat::AutocastGuard autocast(at::kCPU, true, at::kBFloat16);
    ASSERT_TRUE(lunar::compat::autocast_enabled(at::kCPU));
    out = lunar::nn::linear_forward(layer, x);
  }
  EXPECT_FALSE(lunar::compat::autocast_enabled(at::kCPU));
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  // x, W and b rounded to bf16 as autocast does; sums of 64 products accumulate in fp32, then
  // the product and the sum with the bias round to bf16 (u = 2⁻⁸ each).
  const auto low = [](const at::Tensor& t) { return t.to(at::kBFloat16).to(at::kDouble); };
  const auto expected = at::matmul(low(x), low(layer->weight).t()) + low(layer->bias);
  const auto bound = at::matmul(low(x).abs(), low(layer->weight).abs().t()) * (2.0 / 256) +
                     low(layer->bias).abs() / 256 + 1e-6;
  EXPECT_TRUE(((out.to(at::kDouble) - expected).abs() <= bound).all().item<bool>());
}

}  // namespace
