// Learning: a tiny model trained by hand learns a tiny task.
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
