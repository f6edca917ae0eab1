// Whole models: padding invariance with masks on, batched vs one at a time, memory shapes,
// embeddings by hand, heads, seeding, and a tiny learning task.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/models/embedding.h"
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

// The authors' initialisations: TEmbedding's CLS is xavier-uniform on [1, 1, d] (bound
// √(3/d)); IEmbedding's w ~ N(0, 1), b ~ N(0, 0.1) and CLS ~ N(0, 1); positions 0.
TEST(Embedding, InitialisationsFollowTheAuthors) {
  constexpr int64_t kDim = 4096;  // enough draws for the sample moments to be tight
  InputConfig tokens;
  tokens.vocab_size = 5;
  tokens.max_length = 4;
  torch::manual_seed(41);
  InputEmbedding token_embedding(tokens, kDim);
  const double bound = std::sqrt(3.0 / kDim);
  const auto& cls = token_embedding->cls;
  EXPECT_LE(cls.abs().max().item<double>(), bound);
  EXPECT_GT(cls.abs().max().item<double>(), 0.95 * bound);
  EXPECT_NEAR(cls.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);  // U(±a): a/√3

  InputConfig pixels;
  pixels.embedding = Embedding::pixel;
  pixels.max_length = 4;
  InputEmbedding pixel_embedding(pixels, kDim);
  EXPECT_NEAR(pixel_embedding->pixels->weight.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(pixel_embedding->pixels->bias.std().item<double>(), 0.1, 0.005);
  EXPECT_NEAR(pixel_embedding->cls.std().item<double>(), 1.0, 0.05);
  EXPECT_NEAR(pixel_embedding->pixels->weight.mean().item<double>(), 0.0, 0.05);
  EXPECT_EQ(pixel_embedding->positions.abs().max().item<double>(), 0.0);
}

// Pathfinder's constants, (p/255 − 0.5)/0.5: p = 0 → −1, p = 255 → 1, p = 51 → −0.6.
TEST(Embedding, PixelNormalisationComesFromTheInputConfig) {
  InputConfig input;
  input.embedding = Embedding::pixel;
  input.max_length = 3;
  input.pixel_mean = 0.5;
  input.pixel_std = 0.5;
  InputEmbedding embedding(input, 1);
  embedding->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    embedding->pixels->weight.fill_(1.0);
    embedding->pixels->bias.zero_();
  }
  const auto out =
      embedding->forward(at::tensor({0, 255, 51}, at::kLong).view({1, 3}), at::Tensor());
  EXPECT_TENSORS_CLOSE(out.x.slice(1, 1).flatten(), at::tensor({-1.0, 1.0, -0.6}, at::kDouble),
                       1e-12, 1e-12);
}

TEST(Embedding, PixelFormulaByHand) {
  InputConfig input;
  input.embedding = Embedding::pixel;
  input.max_length = 4;
  InputEmbedding embedding(input, 2);
  embedding->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    embedding->pixels->weight.copy_(at::tensor({2.0, -1.0}).view({2, 1}));
    embedding->pixels->bias.copy_(at::tensor({0.5, 0.25}));
    embedding->positions.copy_(at::tensor({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8}).view({4, 2}));
    embedding->cls.copy_(at::tensor({7.0, 8.0}));
  }
  const auto out =
      embedding->forward(at::tensor({0, 255, 51}, at::kLong).view({1, 3}), at::Tensor());
  // x̂ = (p/255 − 0.48)/0.24: p = 0 → −2, p = 255 → 13/6, p = 51 → −7/6; e = x̂·w + b + pos.
  const auto expected = at::tensor({7.0, 8.0,                                          // CLS
                                    -2.0 * 2 + 0.5 + 0.1, 2.0 + 0.25 + 0.2,            //
                                    13.0 / 6 * 2 + 0.5 + 0.3, -13.0 / 6 + 0.25 + 0.4,  //
                                    -7.0 / 6 * 2 + 0.5 + 0.5, 7.0 / 6 + 0.25 + 0.6},
                                   at::kDouble)
                            .view({1, 4, 2});
  EXPECT_TENSORS_CLOSE(out.x, expected, 1e-12, 1e-12);
  EXPECT_FALSE(out.mask.defined());
}

TEST(Embedding, TokensPlusPositionsAfterCls) {
  InputConfig input;
  input.vocab_size = 5;
  input.max_length = 4;
  torch::manual_seed(45);
  InputEmbedding embedding(input, 3);
  embedding->to(at::kDouble);
  EXPECT_EQ(embedding->positions.abs().max().item<double>(), 0.0);          // init 0
  EXPECT_EQ(embedding->tokens->weight[0].abs().max().item<double>(), 0.0);  // padding id 0
  {
    at::NoGradGuard no_grad;
    embedding->positions.copy_(at::randn({4, 3}, at::kDouble));
  }
  const auto ids = at::tensor({3, 1, 0, 4, 2, 2}, at::kLong).view({2, 3});
  const auto mask = at::tensor({1, 1, 0, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 3});
  const auto out = embedding->forward(ids, mask);
  ASSERT_EQ(out.x.sizes(), (std::vector<int64_t>{2, 4, 3}));
  const auto& table = embedding->tokens->weight;
  for (int64_t b = 0; b < 2; ++b) {
    EXPECT_TENSORS_CLOSE(out.x[b][0], embedding->cls, 0.0, 0.0);
    for (int64_t i = 0; i < 3; ++i) {
      EXPECT_TENSORS_CLOSE(out.x[b][i + 1],
                           table[ids[b][i].item<int64_t>()] + embedding->positions[i], 1e-15,
                           1e-15);
    }
  }
  EXPECT_TRUE(
      out.mask.equal(at::tensor({1, 1, 1, 0, 1, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 4})));
  EXPECT_THROW(embedding->forward(at::ones({1, 5}, at::kLong), at::Tensor()), lunar::Error);
}

TEST(Heads, ClassifierAndMemoryRepresentation) {
  auto config = tiny_config("convluna-conv");
  config.representation = Representation::memory;
  lunar::seed_everything(46);
  auto model = build_double(config);
  randomize_norms(*model);
  const auto batch = random_batch({5, 5}, 5);
  const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
  // LN → mean over the final memory rows → Linear → GELU → Linear.
  const auto pooled = model->pooler->norm->forward(out.encoded.memory).mean(1);
  const auto& head = model->classifier;
  const auto hidden =
      at::gelu(at::matmul(pooled, head->hidden_layer->weight.t()) + head->hidden_layer->bias);
  const auto expected = at::matmul(hidden, head->output->weight.t()) + head->output->bias;
  EXPECT_TENSORS_CLOSE(out.logits, expected, 1e-12, 1e-12);
}

// The authors' image classifier (IClassifier) has a second Linear(f, f) + GELU.
TEST(Heads, PixelModelsHaveTheSecondHiddenLayer) {
  auto config = tiny_config("convluna-conv");
  config.input.embedding = Embedding::pixel;
  lunar::seed_everything(48);
  auto model = build_double(config);
  ASSERT_TRUE(model->classifier->hidden_layer2);
  EXPECT_FALSE(build_double(tiny_config("convluna-conv"))->classifier->hidden_layer2);
  const auto batch = random_batch({5, 5}, 5);
  const auto out = model->forward({batch.tokens, batch.mask, {}, {}});
  const auto pooled = model->pooler->norm->forward(out.encoded.sequence).select(1, 0);
  const auto& head = model->classifier;
  auto hidden =
      at::gelu(at::matmul(pooled, head->hidden_layer->weight.t()) + head->hidden_layer->bias);
  hidden =
      at::gelu(at::matmul(hidden, head->hidden_layer2->weight.t()) + head->hidden_layer2->bias);
  const auto expected = at::matmul(hidden, head->output->weight.t()) + head->output->bias;
  EXPECT_TENSORS_CLOSE(out.logits, expected, 1e-12, 1e-12);
}

// The authors' DualClassifier: the towers' CLS vectors, concatenated with no LayerNorm, through
// the MLP with GELU (their final code) or ReLU (their workshop-era head).
TEST(Heads, MatchingTowersShareEveryWeight) {
  for (const std::string features : {"uv", "full"}) {
    for (const std::string activation : {"gelu", "relu"}) {
      SCOPED_TRACE(features + " " + activation);
      auto config = tiny_config("convluna-conv");
      config.pair = true;
      config.num_classes = 2;
      config.pair_features = lunar::parse<PairFeatures>(features, "pair_features");
      config.pair_activation = lunar::parse<PairActivation>(activation, "pair_activation");
      config.masks = Masks::on;
      lunar::seed_everything(47);
      auto model = build_double(config);
      EXPECT_FALSE(model->classifier);
      const auto first = random_batch({6, 4}, 6);
      const auto second = random_batch({3, 5}, 5);
      const auto out = model->forward({first.tokens, first.mask, second.tokens, second.mask});
      ASSERT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 2}));
      // The second tower is the first tower applied to the second document.
      const auto swapped = model->forward({second.tokens, second.mask, first.tokens, first.mask});
      EXPECT_TENSORS_CLOSE(swapped.encoded.sequence, out.encoded2.sequence, 1e-12, 1e-12);
      EXPECT_TENSORS_CLOSE(swapped.encoded.memory, out.encoded2.memory, 1e-12, 1e-12);
      // Head on [u, v] (uv) or [u, v, u·v, u − v] (full), u and v the raw CLS outputs.
      EXPECT_FALSE(model->pooler->norm);
      const auto u = out.encoded.sequence.select(1, 0);
      const auto v = out.encoded2.sequence.select(1, 0);
      const auto joined =
          features == "uv" ? at::cat({u, v}, -1) : at::cat({u, v, u * v, u - v}, -1);
      const auto& m = model->matcher;
      const auto act = [&](const at::Tensor& x) {
        return activation == "relu" ? x.clamp_min(0.0) : at::gelu(x);
      };
      auto h = act(at::matmul(joined, m->first->weight.t()) + m->first->bias);
      h = act(at::matmul(h, m->second->weight.t()) + m->second->bias);
      EXPECT_EQ(m->second->weight.size(0), 8);  // f/2
      EXPECT_TENSORS_CLOSE(out.logits, at::matmul(h, m->output->weight.t()) + m->output->bias,
                           1e-12, 1e-12);
      EXPECT_THROW(model->forward({first.tokens, first.mask, {}, {}}), lunar::Error);
    }
  }
}

std::vector<at::Tensor> parameter_values(const LunarModel& model) {
  std::vector<at::Tensor> values;
  for (const auto& p : model->parameters()) values.push_back(p.detach().clone());
  return values;
}

TEST(Seeding, SameSeedSameModelDifferentSeedDifferentModel) {
  for (const std::string variant : {"transformer", "luna", "preluna", "convluna-conv"}) {
    SCOPED_TRACE(variant);
    auto config = tiny_config(variant);
    config.dropout = 0.1;
    config.attention_dropout = 0.1;
    lunar::seed_everything(7);
    auto a = build_model(config);
    lunar::seed_everything(7);
    auto b = build_model(config);
    lunar::seed_everything(8);
    auto c = build_model(config);
    const auto pa = parameter_values(a), pb = parameter_values(b), pc = parameter_values(c);
    ASSERT_EQ(pa.size(), pb.size());
    int64_t differing = 0;
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_TRUE(pa[i].equal(pb[i])) << "parameter " << i;
      if (!pa[i].equal(pc[i])) ++differing;
    }
    EXPECT_GE(differing, 10);
    if (variant != "transformer") {
      EXPECT_FALSE(a->initial_memory().equal(c->initial_memory()));
    }
    const auto batch = random_batch({6, 4}, 6);
    a->eval();
    b->eval();
    c->eval();
    const auto la = a->forward({batch.tokens, batch.mask, {}, {}}).logits;
    EXPECT_TRUE(la.equal(b->forward({batch.tokens, batch.mask, {}, {}}).logits));
    EXPECT_FALSE(la.equal(c->forward({batch.tokens, batch.mask, {}, {}}).logits));
    // With dropout on, the same seed gives the same training-mode outputs too.
    a->train();
    lunar::seed_everything(9);
    const auto ta = a->forward({batch.tokens, batch.mask, {}, {}}).logits;
    lunar::seed_everything(9);
    const auto tb = a->forward({batch.tokens, batch.mask, {}, {}}).logits;
    EXPECT_TRUE(ta.equal(tb));
    EXPECT_FALSE(ta.equal(la));  // dropout was active
  }
}

// A tiny model must learn a tiny task: the class is whether token 1 or token 2 comes first;
// the rest is noise from 3..10. Reaching it needs attention (through the memory for Luna).
TEST(Learning, TinyModelsLearnWhichTokenComesFirst) {
  for (const std::string variant : {"transformer", "convluna-conv"}) {
    SCOPED_TRACE(variant);
    auto config = tiny_config(variant);
    config.num_classes = 2;
    lunar::seed_everything(48);
    auto model = build_model(config);
    auto batch = random_batch(std::vector<int64_t>(64, 8), 8, 11, 3);
    const auto labels = at::randint(0, 2, {64}, at::kLong);
    batch.tokens.select(1, 0).copy_(labels + 1);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
    model->train();
    for (int step = 0; step < 150; ++step) {
      optimizer.zero_grad();
      const auto logits = model->forward({batch.tokens, batch.mask, {}, {}}).logits;
      at::cross_entropy_loss(logits, labels).backward();
      optimizer.step();
    }
    model->eval();
    const auto logits = model->forward({batch.tokens, batch.mask, {}, {}}).logits;
    const double accuracy = logits.argmax(1).eq(labels).to(at::kDouble).mean().item<double>();
    EXPECT_GE(accuracy, 0.95);
  }
}

}  // namespace

namespace {
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
