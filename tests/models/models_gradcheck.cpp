// Float64 central-difference gradient checks (dropout off, eval mode) of every block variant
// with respect to its inputs and parameters, and of a tiny model of each family with respect to
// a sample of every parameter (the initial memory P and the temperature τ included).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lunar/runtime/seed.h"
#include "support/gradcheck.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;
using lunar::testing::gradcheck;

constexpr double kEps = 1e-6, kRtol = 1e-4, kAtol = 1e-6;

struct BlockInputs {
  at::Tensor x, memory, mask, readout, memory_readout;
};

BlockInputs block_inputs() {
  lunar::seed_everything(61);
  BlockInputs in;
  in.x = at::randn({2, 7, 8}, at::kDouble).set_requires_grad(true);
  in.memory = at::randn({2, 3, 8}, at::kDouble).set_requires_grad(true);
  in.mask =
      at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, at::kLong).to(at::kBool).view({2, 7});
  in.readout = at::randn({2, 7, 8}, at::kDouble);
  in.memory_readout = at::randn({2, 3, 8}, at::kDouble);
  return in;
}

LunarModel one_block_model(const std::string& variant) {
  auto config = tiny_config(variant);
  config.num_blocks = 1;
  lunar::seed_everything(62);
  auto model = build_double(config);
  randomize_norms(*model);
  return model;
}

void set_temperatures(const LunaBlock& block, double pack, double unpack) {
  at::NoGradGuard no_grad;
  block->attention->pack_temperature->log_temperature.fill_(pack);
  block->attention->unpack_temperature->log_temperature.fill_(unpack);
}

TEST(BlockGradcheck, TransformerPostAndPreLn) {
  for (const std::string variant : {"transformer", "transformer-pre"}) {
    SCOPED_TRACE(variant);
    auto model = one_block_model(variant);
    auto& block = transformer_encoder_of(model)->blocks.at(0);
    const auto in = block_inputs();
    const auto loss = [&] { return (block->forward(in.x, in.mask).sequence * in.readout).sum(); };
    auto inputs = block->parameters();
    inputs.push_back(in.x);
    EXPECT_TRUE(gradcheck(loss, inputs, kEps, kRtol, kAtol, 24));
  }
}

TEST(BlockGradcheck, LunaFamily) {
  for (const std::string variant :
       {"luna", "luna-none", "preluna", "convluna-conv", "convluna-maxpool", "convluna-full"}) {
    SCOPED_TRACE(variant);
    auto model = one_block_model(variant);
    auto& block = luna_encoder_of(model)->blocks.at(0);
    if (variant.rfind("convluna", 0) == 0) set_temperatures(block, 0.3, -0.2);
    const auto in = block_inputs();
    const auto loss = [&] {
      const auto out = block->forward(in.x, in.memory, in.mask);
      return (out.sequence * in.readout).sum() + (out.memory * in.memory_readout).sum();
    };
    auto inputs = block->parameters();
    inputs.push_back(in.x);
    inputs.push_back(in.memory);
    EXPECT_TRUE(gradcheck(loss, inputs, kEps, kRtol, kAtol, 24));
  }
}

// Names every parameter the check covers, so a missing P or τ fails loudly.
std::vector<at::Tensor> all_parameters(const LunarModel& model, const std::string& variant) {
  std::vector<at::Tensor> inputs;
  bool memory = false, temperature = false;
  for (const auto& item : model->named_parameters()) {
    inputs.push_back(item.value());
    memory = memory || item.key() == "encoder.memory";
    temperature = temperature || item.key().find("log_temperature") != std::string::npos;
  }
  if (variant != "transformer") {
    EXPECT_TRUE(memory) << variant;
  }
  if (variant.rfind("convluna", 0) == 0) {
    EXPECT_TRUE(temperature) << variant;
  }
  return inputs;
}

void check_model(const std::string& variant, ModelConfig config, bool masks) {
  SCOPED_TRACE(variant);
  config.masks = masks ? Masks::on : Masks::off;
  lunar::seed_everything(63);
  auto model = build_double(config);
  randomize_norms(*model);
  {
    // Positions start at 0, so a repeated token gives identical raw values, which tie exactly
    // in the max-pool (where a central difference is one-sided): move them off 0.
    at::NoGradGuard no_grad;
    model->embedding->positions.normal_(0.0, 0.5);
  }
  if (auto encoder = luna_encoder_of(model)) {
    for (auto& block : encoder->blocks) {
      if (variant.rfind("convluna", 0) == 0) set_temperatures(block, 0.25, 0.0);
    }
  }
  // With masks off every position is real (the padding embedding would otherwise be used while
  // its gradient is frozen by padding_idx).
  const auto first = masks ? random_batch({6, 4}, 6) : random_batch({6, 6}, 6);
  const auto second = masks ? random_batch({5, 3}, 5) : random_batch({5, 5}, 5);
  at::Tensor tokens = first.tokens, tokens2 = second.tokens;
  if (config.input.embedding == Embedding::pixel) {
    tokens = at::randint(0, 256, tokens.sizes(), at::kLong);
    tokens2 = at::randint(0, 256, tokens2.sizes(), at::kLong);
  }
  const ModelInput input{tokens, first.mask, config.pair ? tokens2 : at::Tensor(),
                         config.pair ? second.mask : at::Tensor()};
  const auto readout = at::randn({2, config.num_classes}, at::kDouble);
  const auto loss = [&] { return (model->forward(input).logits * readout).sum(); };
  EXPECT_TRUE(gradcheck(loss, all_parameters(model, variant), kEps, kRtol, kAtol, 16));
}

TEST(ModelGradcheck, Transformer) { check_model("transformer", tiny_config("transformer"), true); }

TEST(ModelGradcheck, Luna) {
  check_model("luna", tiny_config("luna"), false);
  check_model("luna-none", tiny_config("luna-none"), true);
}

TEST(ModelGradcheck, PreLuna) { check_model("preluna", tiny_config("preluna"), true); }

TEST(ModelGradcheck, ConvLuna) {
  check_model("convluna-conv", tiny_config("convluna-conv"), true);
  check_model("convluna-maxpool", tiny_config("convluna-maxpool"), false);
  auto memory_representation = tiny_config("convluna-full");
  memory_representation.representation = Representation::memory;
  check_model("convluna-full", memory_representation, true);
}

TEST(ModelGradcheck, PairMatchingModel) {
  auto config = tiny_config("convluna-conv");
  config.pair = true;
  config.num_classes = 2;
  config.pair_features = PairFeatures::full;
  check_model("convluna-conv", config, true);
}

TEST(ModelGradcheck, PixelEmbeddingModel) {
  auto config = tiny_config("convluna-conv");
  config.input.embedding = Embedding::pixel;
  config.representation = Representation::mean;
  check_model("convluna-conv", config, true);
}

}  // namespace
