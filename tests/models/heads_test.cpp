// The heads of a model by hand: the classifier on the memory representation, the pixel models'
// second hidden layer, and the matching towers' shared weights and DualClassifier.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lunar/core/error.h"
#include "lunar/models/model.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "support/tensor_compare.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;

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

}  // namespace
