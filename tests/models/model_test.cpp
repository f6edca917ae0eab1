// Whole models: padding invariance with masks on, batched vs one at a time, memory shapes, and
// chunked attention against the reference.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lunar/models/model.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "support/tensor_compare.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;

LunarModel masked_model(const std::string& variant, uint64_t seed = 41) {
  auto config = tiny_config(variant);
  config.masks = Masks::on;
  lunar::seed_everything(seed);
  auto model = build_double(config);
  randomize_norms(*model);
  return model;
}

const std::vector<std::string> kMaskedVariants = {
    "transformer",   "transformer-pre",  "luna",         "luna-none", "preluna",
    "convluna-conv", "convluna-maxpool", "convluna-full"};

TEST(Model, AppendingPaddingChangesNoRealOutputWithMasksOn) {
  for (const auto& variant : kMaskedVariants) {
    SCOPED_TRACE(variant);
    auto model = masked_model(variant);
    lunar::seed_everything(42);
    const auto batch = random_batch({6, 3}, 6);
    const auto longer = pad_to(batch, 13);
    const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
    const auto padded = model->forward({longer.tokens, longer.mask, {}, {}});
    EXPECT_TENSORS_CLOSE(padded.logits, out.logits, 1e-9, 1e-11);
    for (int64_t b = 0; b < 2; ++b) {
      const int64_t real = batch.mask[b].sum().item<int64_t>() + 1;  // + CLS
      EXPECT_TENSORS_CLOSE(padded.encoded.sequence[b].slice(0, 0, real),
                           out.encoded.sequence[b].slice(0, 0, real), 1e-9, 1e-11);
    }
    if (out.encoded.memory.defined()) {
      EXPECT_TENSORS_CLOSE(padded.encoded.memory, out.encoded.memory, 1e-9, 1e-11);
    }
  }
}

TEST(Model, AppendingPaddingChangesOutputsWithMasksOff) {
  // The counterpart of the test above: without masks the padding is attended to.
  for (const std::string variant : {"transformer", "luna", "convluna-conv"}) {
    SCOPED_TRACE(variant);
    auto config = tiny_config(variant);
    config.masks = Masks::off;
    lunar::seed_everything(41);
    auto model = build_double(config);
    lunar::seed_everything(42);
    const auto batch = random_batch({6, 3}, 6);
    const auto longer = pad_to(batch, 13);
    const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
    const auto padded = model->forward({longer.tokens, longer.mask, {}, {}});
    EXPECT_FALSE(at::allclose(padded.logits, out.logits, 1e-6, 1e-8));
  }
}

TEST(Model, MeanRepresentationIgnoresPaddingWithMasksOn) {
  for (const std::string variant : {"transformer", "convluna-conv"}) {
    SCOPED_TRACE(variant);
    auto config = tiny_config(variant);
    config.masks = Masks::on;
    config.representation = Representation::mean;
    lunar::seed_everything(43);
    auto model = build_double(config);
    const auto batch = random_batch({6, 2}, 6);
    const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
    const auto padded = model->forward({pad_to(batch, 11).tokens, pad_to(batch, 11).mask, {}, {}});
    EXPECT_TENSORS_CLOSE(padded.logits, out.logits, 1e-9, 1e-11);
  }
}

TEST(Model, BatchedEqualsOneAtATime) {
  for (const auto& variant : kMaskedVariants) {
    SCOPED_TRACE(variant);
    auto model = masked_model(variant);
    lunar::seed_everything(44);
    const std::vector<int64_t> lengths = {7, 2, 4};
    const auto batch = random_batch(lengths, 7);
    const auto logits = model->forward({batch.tokens, batch.mask, {}, {}}).logits;
    ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{3, 3}));
    for (int64_t b = 0; b < 3; ++b) {
      const auto tokens = batch.tokens.slice(0, b, b + 1).slice(1, 0, lengths[b]);
      const auto alone =
          model->forward({tokens, at::ones({1, lengths[b]}, at::kBool), {}, {}}).logits;
      EXPECT_TENSORS_CLOSE(logits.slice(0, b, b + 1), alone, 1e-9, 1e-11) << "example " << b;
    }
  }
}

TEST(Model, MemoryShapesDoNotDependOnLength) {
  for (const std::string variant :
       {"luna", "luna-none", "preluna", "convluna-conv", "convluna-maxpool", "convluna-full"}) {
    SCOPED_TRACE(variant);
    auto config = tiny_config(variant);
    config.input.max_length = 64;
    config.masks = Masks::on;
    auto model = build_model(config);
    model->eval();
    for (int64_t length : {5, 17, 64}) {
      const auto batch = random_batch({length, 3}, length);
      const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
      EXPECT_EQ(out.encoded.memory.sizes(), (std::vector<int64_t>{2, 3, 8})) << "L " << length;
      ASSERT_EQ(out.encoded.blocks.size(), 2u);
      for (const auto& trace : out.encoded.blocks) {
        EXPECT_EQ(trace.memory.sizes(), (std::vector<int64_t>{2, 3, 8}));
        EXPECT_EQ(trace.pack_weights.size(2), 3);
        EXPECT_EQ(trace.unpack_weights.sizes(), (std::vector<int64_t>{2, 2, length + 1, 3}));
      }
      EXPECT_EQ(out.encoded.sequence.sizes(), (std::vector<int64_t>{2, length + 1, 8}));
      EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 3}));
    }
  }
}

// model.attention_chunk trades memory for time and changes nothing else: the same loss and the
// same gradient for every parameter, in training mode with masks on; the weights are omitted
// only while gradients are recorded (diagnostics, under no_grad, still get them).
TEST(Model, ChunkedAttentionTrainsLikeTheReference) {
  for (const char* variant : {"luna", "convluna-maxpool", "convluna-full"}) {
    auto config = tiny_config(variant);
    config.masks = Masks::on;
    auto chunked_config = config;
    chunked_config.attention_chunk = 2;
    lunar::seed_everything(3);
    auto reference = build_double(config);
    lunar::seed_everything(3);
    auto chunked = build_double(chunked_config);
    reference->train();
    chunked->train();
    const auto batch = random_batch({9, 5, 12}, 12);
    const ModelInput input{batch.tokens, batch.mask, {}, {}};
    const auto want = reference->forward(input);
    const auto got = chunked->forward(input);
    EXPECT_TENSORS_CLOSE(got.logits, want.logits, 1e-10, 1e-12) << variant;
    EXPECT_FALSE(got.encoded.blocks[0].pack_weights.defined()) << variant;
    want.logits.pow(2).sum().backward();
    got.logits.pow(2).sum().backward();
    const auto a = reference->named_parameters(), b = chunked->named_parameters();
    for (const auto& item : a) {
      if (!item.value().grad().defined()) continue;
      EXPECT_TENSORS_CLOSE(b[item.key()].grad(), item.value().grad(), 1e-9, 1e-11)
          << variant << " " << item.key();
    }
    at::NoGradGuard no_grad;
    EXPECT_TRUE(chunked->forward(input).encoded.blocks[0].pack_weights.defined()) << variant;
  }
}

}  // namespace
