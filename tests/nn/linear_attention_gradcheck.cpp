// float64 central-difference gradient checks of the sibling families' kernels and φ.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lunar/nn/feature_map.h"
#include "lunar/nn/linear_attention.h"
#include "support/gradcheck.h"

using namespace lunar;

TEST(LinearAttentionGradcheck, NormalizedKernelWithMask) {
  at::manual_seed(5);
  auto pq = (at::rand({2, 2, 3, 4}, at::kDouble) + 0.2).requires_grad_();
  auto pk = (at::rand({2, 2, 5, 4}, at::kDouble) + 0.2).requires_grad_();
  auto v = at::randn({2, 2, 5, 3}, at::kDouble).requires_grad_();
  auto mask = at::ones({2, 5}, at::kBool);
  mask[1].slice(0, 3).fill_(false);
  const auto weight = at::randn({2, 2, 3, 3}, at::kDouble);
  EXPECT_TRUE(lunar::testing::gradcheck(
      [&] { return (nn::normalized_linear_attention(pq, pk, v, mask) * weight).sum(); },
      {pq, pk, v}));
}

TEST(LinearAttentionGradcheck, SoftmaxFreeKernel) {
  at::manual_seed(6);
  auto q = at::randn({2, 2, 3, 4}, at::kDouble).requires_grad_();
  auto k = at::randn({2, 2, 5, 4}, at::kDouble).requires_grad_();
  auto v = at::randn({2, 2, 5, 3}, at::kDouble).requires_grad_();
  const auto weight = at::randn({2, 2, 3, 3}, at::kDouble);
  for (const auto norm : {nn::LengthNorm::padded, nn::LengthNorm::valid, nn::LengthNorm::none}) {
    EXPECT_TRUE(lunar::testing::gradcheck(
        [&] { return (nn::softmax_free_attention(q, k, v, {}, norm, 0.0, false) * weight).sum(); },
        {q, k, v}))
        << lunar::to_string(norm);
  }
}

TEST(LinearAttentionGradcheck, FeatureMapsAndPenalty) {
  for (const auto& name : lunar::names<nn::FeatureMapKind>()) {
    const auto kind = *lunar::find_choice<nn::FeatureMapKind>(name);
    at::manual_seed(7);
    nn::FeatureMap phi(nn::FeatureMapOptions(kind, 2, 4));
    phi->to(at::kDouble);
    auto x = at::randn({2, 2, 3, 4}, at::kDouble).requires_grad_();
    std::vector<at::Tensor> inputs{x};
    for (auto& p : phi->parameters()) inputs.push_back(p);
    EXPECT_TRUE(lunar::testing::gradcheck(
        [&] { return phi->forward(x).pow(2).sum() + phi->orthogonality() * 3.0; }, inputs))
        << name;
  }
}
