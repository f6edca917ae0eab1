// Fused attention's gradients against central differences in float64, with dropout on (each
// call reseeded, so its mask is fixed) and padded keys, over several query and key blocks.
#include <gtest/gtest.h>

#include "lunar/nn/fused_attention.h"
#include "support/gradcheck.h"

namespace lunar::nn {
namespace {

TEST(FusedAttentionGradcheck, DropoutAndMasksOverSeveralBlocks) {
  at::manual_seed(21);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const auto query = at::randn({2, 2, 11, 4}, f64).requires_grad_();
  const auto key = at::randn({2, 2, 13, 4}, f64).requires_grad_();
  const auto value = at::randn({2, 2, 13, 3}, f64).requires_grad_();
  const auto divisor = at::full({}, 1.3, f64).requires_grad_();
  auto mask = at::ones({2, 13}, at::kBool);
  mask[0].narrow(0, 9, 4).fill_(false);
  FusedAttentionConfig config;
  config.query_block = 4;
  config.key_block = 4;
  const auto weights = at::randn({2, 2, 11, 3}, f64);
  const auto loss = [&] {
    at::manual_seed(17);
    return (fused_attention(query, key, value, mask, divisor, 0.25, true, config) * weights).sum();
  };
  EXPECT_TRUE(lunar::testing::gradcheck(loss, {query, key, value, divisor}));
}

TEST(FusedAttentionGradcheck, OneQueryRowAgainstManyKeys) {
  // Luna with M = 1: a single pack query over keys spanning several blocks.
  at::manual_seed(22);
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const auto query = at::randn({1, 2, 1, 4}, f64).requires_grad_();
  const auto key = at::randn({1, 2, 19, 4}, f64).requires_grad_();
  const auto value = at::randn({1, 2, 19, 4}, f64).requires_grad_();
  const auto divisor = at::full({}, 0.9, f64).requires_grad_();
  FusedAttentionConfig config;
  config.key_block = 8;
  const auto weights = at::randn({1, 2, 1, 4}, f64);
  const auto loss = [&] {
    return (fused_attention(query, key, value, {}, divisor, 0.0, true, config) * weights).sum();
  };
  EXPECT_TRUE(lunar::testing::gradcheck(loss, {query, key, value, divisor}));
}

}  // namespace
}  // namespace lunar::nn
