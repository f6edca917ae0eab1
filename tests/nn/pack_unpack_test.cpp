// The softmax temperature and Luna's pack/unpack attention: divisors by hand, the simplified
// ConvLuna dataflow (no value projection), shapes that do not depend on L, and masks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/nn/pack_unpack.h"
#include "lunar/nn/temperature.h"
#include "support/tensor_compare.h"

namespace {

using lunar::nn::FilterKind;
using lunar::nn::PackUnpack;
using lunar::nn::PackUnpackOptions;
using lunar::nn::Temperature;
using lunar::nn::TemperatureMode;
using lunar::nn::TemperatureOptions;

std::vector<std::string> parameter_names(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& item : module.named_parameters()) names.push_back(item.key());
  return names;
}

// x W + b for a torch Linear, written out.
at::Tensor linear(const torch::nn::Linear& layer, const at::Tensor& x) {
  return at::matmul(x, layer->weight.t()) + layer->bias;
}

// [B, L, H·Dh] -> [B, H, L, Dh] and back, written independently of split_heads.
at::Tensor heads_of(const at::Tensor& x, int64_t heads) {
  return x.reshape({x.size(0), x.size(1), heads, x.size(2) / heads}).permute({0, 2, 1, 3});
}
at::Tensor merged(const at::Tensor& x) {
  return x.permute({0, 2, 1, 3}).reshape({x.size(0), x.size(2), x.size(1) * x.size(3)});
}

TEST(Temperature, LearnStartsAtDivisorOneAndIsAParameter) {
  Temperature temperature(TemperatureOptions(TemperatureMode::learn, 4));
  EXPECT_DOUBLE_EQ(temperature->divisor().item<double>(), 1.0);
  EXPECT_EQ(parameter_names(*temperature), std::vector<std::string>{"log_temperature"});
  EXPECT_TRUE(temperature->log_temperature.requires_grad());
  EXPECT_EQ(temperature->log_temperature.dim(), 0);
  {
    at::NoGradGuard no_grad;
    temperature->log_temperature.fill_(std::log(3.0));
  }
  EXPECT_NEAR(temperature->divisor().item<double>(), 3.0, 1e-6);
}

TEST(Temperature, UnitDividesByOneWithoutParameters) {
  Temperature temperature(TemperatureOptions(TemperatureMode::unit, 4));
  EXPECT_DOUBLE_EQ(temperature->divisor().item<double>(), 1.0);
  EXPECT_TRUE(temperature->parameters().empty());
  EXPECT_FALSE(temperature->divisor().requires_grad());
}

TEST(Temperature, SqrtDividesBySqrtHeadDimWithoutParameters) {
  for (int64_t head_dim : {1, 4, 32}) {
    Temperature temperature(TemperatureOptions(TemperatureMode::sqrt, head_dim));
    EXPECT_NEAR(temperature->divisor().item<double>(), std::sqrt(static_cast<double>(head_dim)),
                1e-6);
    EXPECT_TRUE(temperature->parameters().empty());
  }
}

// Simplified ConvLuna attention (shared W_q, W_k, W_o; no W_v), no filter (kernel 1) so the
// divisors can be read off the weights directly.
PackUnpack simplified(TemperatureMode pack_temperature, TemperatureMode unpack_temperature,
                      FilterKind filter = FilterKind::conv, int64_t kernel = 1) {
  auto unit = PackUnpack(PackUnpackOptions(8, 2)
                             .shared(true)
                             .pack_projections({true, true, false, true})
                             .filter(filter)
                             .kernel(kernel)
                             .pack_temperature(pack_temperature)
                             .unpack_temperature(unpack_temperature));
  unit->to(at::kDouble);
  unit->eval();
  return unit;
}

class PackUnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(21);
    memory = at::randn({2, 3, 8}, at::kDouble);  // [B, M, D]
    x = at::randn({2, 7, 8}, at::kDouble);       // [B, L, D]
  }
  at::Tensor memory, x;
};

TEST_F(PackUnpackTest, LearnedTemperatureAtInitDividesPackLogitsByOne) {
  auto unit = simplified(TemperatureMode::learn, TemperatureMode::unit);
  const auto& att = unit->pack_attention;
  const auto q = heads_of(linear(att->query_proj, memory), 2);
  const auto k = heads_of(linear(att->key_proj, x), 2);
  const auto expected = at::softmax(at::matmul(q, k.transpose(-2, -1)), -1);  // ÷ exp(0) = 1
  const auto packed = unit->pack(memory, x, at::Tensor());
  EXPECT_TENSORS_CLOSE(packed.weights, expected, 1e-10, 1e-12);
  // ... and a divisor of √d_h would give different weights.
  const auto scaled = at::softmax(at::matmul(q, k.transpose(-2, -1)) / 2.0, -1);
  EXPECT_FALSE(at::allclose(packed.weights, scaled));
}

TEST_F(PackUnpackTest, SqrtTemperatureDividesBySqrtHeadDim) {
  auto unit = simplified(TemperatureMode::sqrt, TemperatureMode::sqrt);
  // τ = ½·ln d_h is a float32 buffer before the module moves to float64: √d_h to ~1e-8.
  const auto& att = unit->pack_attention;
  const auto q = heads_of(linear(att->query_proj, memory), 2);
  const auto k = heads_of(linear(att->key_proj, x), 2);
  const auto packed = unit->pack(memory, x, at::Tensor());
  EXPECT_TENSORS_CLOSE(packed.weights, at::softmax(at::matmul(q, k.transpose(-2, -1)) / 2.0, -1),
                       1e-7, 1e-9);  // d_h = 4
  const auto qx = heads_of(linear(att->query_proj, x), 2);
  const auto kp = heads_of(linear(att->key_proj, packed.packed), 2);
  EXPECT_TENSORS_CLOSE(unit->unpack(x, packed.packed).weights,
                       at::softmax(at::matmul(qx, kp.transpose(-2, -1)) / 2.0, -1), 1e-7, 1e-9);
}

TEST_F(PackUnpackTest, SimplifiedValuesAreTheRawInputsAndProjectionsAreShared) {
  auto unit = simplified(TemperatureMode::learn, TemperatureMode::unit);
  EXPECT_EQ(unit->pack_attention.ptr(), unit->unpack_attention.ptr());
  {
    at::NoGradGuard no_grad;
    unit->pack_temperature->log_temperature.fill_(0.3);  // a divisor other than 1
  }
  const auto& att = unit->pack_attention;
  const auto q = heads_of(linear(att->query_proj, memory), 2);
  const auto k = heads_of(linear(att->key_proj, x), 2);
  const auto pack_weights = at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::exp(0.3), -1);
  const auto y_p = linear(att->output_proj, merged(at::matmul(pack_weights, heads_of(x, 2))));
  const auto packed = unit->pack(memory, x, at::Tensor());
  EXPECT_TENSORS_CLOSE(packed.packed, y_p, 1e-10, 1e-12);

  const auto qx = heads_of(linear(att->query_proj, x), 2);
  const auto kp = heads_of(linear(att->key_proj, y_p), 2);
  const auto unpack_weights = at::softmax(at::matmul(qx, kp.transpose(-2, -1)), -1);  // unit
  const auto y_x = linear(att->output_proj, merged(at::matmul(unpack_weights, heads_of(y_p, 2))));
  EXPECT_TENSORS_CLOSE(unit->unpack(x, packed.packed).sequence, y_x, 1e-10, 1e-12);
}

TEST_F(PackUnpackTest, PackMaskExcludesPaddedKeys) {
  auto unit = simplified(TemperatureMode::learn, TemperatureMode::unit);
  const auto mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).to(at::kBool).view({2, 7});
  const auto packed = unit->pack(memory, x, mask);
  EXPECT_TRUE(packed.mask.equal(mask));
  EXPECT_EQ(packed.weights.select(0, 1).slice(-1, 4).abs().max().item<double>(), 0.0);
  // Example 1 alone, without its padding, packs to the same memory.
  const auto alone = unit->pack(memory.slice(0, 1), x.slice(0, 1).slice(1, 0, 4), at::Tensor());
  EXPECT_TENSORS_CLOSE(packed.packed.slice(0, 1), alone.packed, 1e-10, 1e-12);
}

TEST_F(PackUnpackTest, MemoryShapesDoNotDependOnLength) {
  for (const auto& [filter, kernel] : std::vector<std::pair<FilterKind, int64_t>>{
           {FilterKind::conv, 1}, {FilterKind::conv, 4}, {FilterKind::maxpool, 3}}) {
    auto unit = simplified(TemperatureMode::learn, TemperatureMode::unit, filter, kernel);
    for (int64_t length : {5, 17, 64}) {
      const auto input = at::randn({2, length, 8}, at::kDouble);
      const auto packed = unit->pack(memory, input, at::Tensor());
      EXPECT_EQ(packed.packed.sizes(), (std::vector<int64_t>{2, 3, 8}))
          << lunar::to_string(filter) << " L " << length;
      EXPECT_EQ(packed.weights.sizes(),
                (std::vector<int64_t>{2, 2, 3, unit->filter->output_length(length)}))
          << lunar::to_string(filter);
      const auto unpacked = unit->unpack(input, packed.packed);
      EXPECT_EQ(unpacked.sequence.sizes(), (std::vector<int64_t>{2, length, 8}))
          << lunar::to_string(filter);
      EXPECT_EQ(unpacked.weights.sizes(), (std::vector<int64_t>{2, 2, length, 3}))
          << lunar::to_string(filter);
    }
  }
}

// Without gradients the fused kernel runs only where the weights are declared unused: the
// output is the reference path's, and the weights are then absent.
TEST_F(PackUnpackTest, FusedWithoutGradientsOnlyWhenWeightsAreUnused) {
  auto unit = simplified(TemperatureMode::learn, TemperatureMode::sqrt, FilterKind::conv, 3);
  unit->options.fused(true);
  const auto mask = at::ones({2, 7}, at::kBool).index_put_({1, at::indexing::Slice(5)}, false);
  at::NoGradGuard no_grad;
  const auto reference = unit->pack(memory, x, mask);
  const auto reference_unpacked = unit->unpack(x, reference.packed);
  ASSERT_TRUE(reference.weights.defined());
  ASSERT_TRUE(reference_unpacked.weights.defined());
  EXPECT_FALSE(lunar::nn::AttentionWeightsUnused::active());
  {
    const lunar::nn::AttentionWeightsUnused logits_only;
    EXPECT_TRUE(lunar::nn::AttentionWeightsUnused::active());
    const auto fused = unit->pack(memory, x, mask);
    const auto unpacked = unit->unpack(x, fused.packed);
    EXPECT_FALSE(fused.weights.defined());
    EXPECT_FALSE(unpacked.weights.defined());
    EXPECT_TENSORS_CLOSE(fused.packed, reference.packed, 1e-12, 1e-12);
    EXPECT_TENSORS_CLOSE(unpacked.sequence, reference_unpacked.sequence, 1e-12, 1e-12);
  }
  EXPECT_FALSE(lunar::nn::AttentionWeightsUnused::active());
  EXPECT_TRUE(unit->pack(memory, x, mask).weights.defined());
}

TEST(PackUnpackStructure, SeparateProjectionsWhenNotShared) {
  auto unit = PackUnpack(
      PackUnpackOptions(8, 2).shared(false).pack_projections({true, false, false, false}));
  EXPECT_NE(unit->pack_attention.ptr(), unit->unpack_attention.ptr());
  const auto names = parameter_names(*unit);
  const std::vector<std::string> expected = {
      "pack.query.weight",    "pack.query.bias",   "unpack.query.weight", "unpack.query.bias",
      "unpack.key.weight",    "unpack.key.bias",   "unpack.value.weight", "unpack.value.bias",
      "unpack.output.weight", "unpack.output.bias"};
  EXPECT_EQ(names, expected);
}

}  // namespace
