// The ffkernel and simpletron families as whole models: structure, padding invariance with
// masks on, the orthogonality penalty, and float64 gradients of tiny models.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lunar/core/error.h"
#include "lunar/runtime/seed.h"
#include "support/gradcheck.h"
#include "support/tensor_compare.h"
#include "tiny_models.h"

using namespace lunar;
using namespace lunar::models;
using namespace lunar::models::testing;

namespace {
std::vector<std::string> parameter_names(const LunarModel& model) {
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  return names;
}

bool has(const std::vector<std::string>& names, const std::string& part) {
  for (const auto& n : names) {
    if (n.find(part) != std::string::npos) return true;
  }
  return false;
}
}  // namespace

TEST(Siblings, StructureAndDefaults) {
  seed_everything(0);
  auto ff = build_model(tiny_config("ffkernel"));
  EXPECT_EQ(ff->config().norm, Norm::pre);
  EXPECT_EQ(ff->config().masks, Masks::off);
  const auto ff_names = parameter_names(ff);
  EXPECT_TRUE(has(ff_names, "block0.feature_map.layer2_gate_up"));  // gated3 by default
  EXPECT_TRUE(has(ff_names, "block0.attention.output"));
  EXPECT_FALSE(ff->regularization().defined());  // λ = 0

  auto st = build_model(tiny_config("simpletron"));
  const auto st_names = parameter_names(st);
  EXPECT_FALSE(has(st_names, "attention.output"));  // no output projection by default
  EXPECT_FALSE(has(st_names, "feature_map"));
  auto with_projection = tiny_config("simpletron");
  with_projection.simpletron.output_projection = true;
  EXPECT_TRUE(has(parameter_names(build_model(with_projection)), "attention.output"));

  auto bad = tiny_config("ffkernel");
  bad.representation = Representation::memory;
  EXPECT_THROW(build_model(bad), lunar::Error);
  bad = tiny_config("ffkernel");
  bad.ffkernel.orthogonality = -1;
  EXPECT_THROW(build_model(bad), lunar::Error);
}

TEST(Siblings, PaddingChangesNoRealOutputWithMasksOn) {
  for (const std::string arch : {"ffkernel", "simpletron"}) {
    auto config = tiny_config(arch);
    config.masks = Masks::on;
    seed_everything(1);
    auto model = build_double(config);
    const auto batch = random_batch({5, 3}, 5);
    const auto padded = pad_to(batch, 9);
    const auto a = model->forward({batch.tokens, batch.mask, {}, {}});
    const auto b = model->forward({padded.tokens, padded.mask, {}, {}});
    EXPECT_TENSORS_CLOSE(b.logits, a.logits, 1e-9, 1e-11) << arch;
    EXPECT_TENSORS_CLOSE(b.encoded.sequence.slice(1, 0, 6), a.encoded.sequence, 1e-9, 1e-11)
        << arch;
  }
}

TEST(Siblings, OrthogonalityPenaltyReachesTheLossAndItsGradient) {
  auto config = tiny_config("ffkernel");
  config.ffkernel.orthogonality = 0.5;
  seed_everything(2);
  auto model = build_model(config);
  EXPECT_NEAR(model->regularization().item<double>(), 0.0, 1e-6);  // orthogonal init
  auto output_weight = model->named_parameters()["encoder.block0.feature_map.layer0_output"];
  {
    at::NoGradGuard no_grad;
    output_weight.mul_(1.5);
  }
  const auto penalty = model->regularization();
  EXPECT_GT(penalty.item<double>(), 0.0);
  penalty.backward();
  EXPECT_GT(output_weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(Siblings, TinyModelsGradcheck) {
  for (const std::string arch : {"ffkernel", "simpletron"}) {
    auto config = tiny_config(arch);
    config.masks = Masks::on;
    config.ffkernel.orthogonality = 0.1;
    seed_everything(3);
    auto model = build_double(config);
    const auto batch = random_batch({6, 4}, 6);
    std::vector<at::Tensor> parameters = model->parameters();
    EXPECT_TRUE(lunar::testing::gradcheck(
        [&] {
          auto loss = model->forward({batch.tokens, batch.mask, {}, {}}).logits.pow(2).sum();
          const auto penalty = model->regularization();
          return penalty.defined() ? loss + penalty : loss;
        },
        parameters, 1e-6, 1e-4, 1e-6, 16))
        << arch;
  }
}
