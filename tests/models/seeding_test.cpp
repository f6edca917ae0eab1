// Seeding: the same seed builds the same model and the same dropout, another seed another.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "lunar/models/model.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "tiny_models.h"

namespace {

using namespace lunar::models;
using namespace lunar::models::testing;

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

}  // namespace
