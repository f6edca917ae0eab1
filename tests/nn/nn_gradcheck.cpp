// Float64 central-difference gradient checks of the nn kernels: attention (key mask and a
// learnable divisor), the conv and max-pool filters, and the learned temperature in pack/unpack.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "lunar/nn/attention.h"
#include "lunar/nn/filter.h"
#include "lunar/nn/pack_unpack.h"
#include "support/gradcheck.h"

namespace {

using lunar::testing::gradcheck;

at::Tensor leaf(at::Tensor t) { return t.to(at::kDouble).set_requires_grad(true); }

std::vector<at::Tensor> parameters_of(const torch::nn::Module& module) {
  return module.parameters();
}

TEST(NnGradcheck, AttentionWithKeyMaskAndLearnableDivisor) {
  torch::manual_seed(1);
  auto query = leaf(at::randn({2, 2, 3, 4}));
  auto key = leaf(at::randn({2, 2, 7, 4}));
  auto value = leaf(at::randn({2, 2, 7, 5}));
  auto log_divisor = leaf(at::full({}, 0.4));
  const auto mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).to(at::kBool).view({2, 7});
  const auto weights = at::randn({2, 2, 3, 5}, at::kDouble);  // a fixed random readout
  const auto loss = [&] {
    const auto result =
        lunar::nn::scaled_attention(query, key, value, mask, log_divisor.exp(), 0.0, false);
    return (result.output * weights).sum() + result.weights.pow(2).sum();
  };
  EXPECT_TRUE(gradcheck(loss, {query, key, value, log_divisor}));
}

TEST(NnGradcheck, ConvFilterWithStrideAndMask) {
  torch::manual_seed(2);
  for (int64_t stride : {1, 2}) {
    lunar::nn::SequenceFilter filter(
        lunar::nn::SequenceFilterOptions(lunar::nn::FilterKind::conv, 2, 4, stride));
    filter->to(at::kDouble);
    auto x = leaf(at::randn({2, 2, 7, 3}));
    const auto mask = at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kLong)
                          .to(at::kBool)
                          .view({2, 7});
    const auto readout = at::randn({2, 2, filter->output_length(7), 3}, at::kDouble);
    const auto loss = [&] { return (filter->forward(x, mask).values * readout).sum(); };
    std::vector<at::Tensor> inputs = {x, filter->weight};
    EXPECT_TRUE(gradcheck(loss, inputs)) << "stride " << stride;
  }
}

TEST(NnGradcheck, MaxPoolFilter) {
  torch::manual_seed(3);
  lunar::nn::SequenceFilter filter(
      lunar::nn::SequenceFilterOptions(lunar::nn::FilterKind::maxpool, 2, 3, 2));
  auto x = leaf(at::randn({2, 2, 9, 3}));
  const auto readout = at::randn({2, 2, filter->output_length(9), 3}, at::kDouble);
  const auto loss = [&] { return (filter->forward(x, at::Tensor()).values * readout).sum(); };
  EXPECT_TRUE(gradcheck(loss, {x}, 1e-6, 1e-4, 1e-6, 1000));
}

// Pack then unpack with a learned pack temperature (and learned unpack temperature), conv
// filter: every parameter, τ included, and the inputs.
TEST(NnGradcheck, PackUnpackWithLearnedTemperature) {
  torch::manual_seed(4);
  lunar::nn::PackUnpack unit(lunar::nn::PackUnpackOptions(8, 2)
                                 .pack_projections({true, true, false, true})
                                 .filter(lunar::nn::FilterKind::conv)
                                 .kernel(4)
                                 .pack_temperature(lunar::nn::TemperatureMode::learn)
                                 .unpack_temperature(lunar::nn::TemperatureMode::learn));
  unit->to(at::kDouble);
  unit->eval();
  {
    at::NoGradGuard no_grad;  // away from 0 so a wrong sign or factor in d/dτ shows
    unit->pack_temperature->log_temperature.fill_(0.2);
    unit->unpack_temperature->log_temperature.fill_(-0.3);
  }
  auto memory = leaf(at::randn({2, 3, 8}));
  auto x = leaf(at::randn({2, 7, 8}));
  const auto mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).to(at::kBool).view({2, 7});
  const auto readout = at::randn({2, 7, 8}, at::kDouble);
  const auto loss = [&] {
    const auto packed = unit->pack(memory, x, mask);
    return (unit->unpack(x, packed.packed).sequence * readout).sum() + packed.packed.sum();
  };
  auto inputs = parameters_of(*unit);
  ASSERT_EQ(unit->pack_temperature->parameters().size(), 1u);
  inputs.push_back(memory);
  inputs.push_back(x);
  EXPECT_TRUE(gradcheck(loss, inputs, 1e-6, 1e-4, 1e-6, 16));
}

}  // namespace
