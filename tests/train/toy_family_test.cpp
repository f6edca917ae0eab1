// Adding a model family is one registry row: this file registers a toy family at run time and
// trains it through the normal path (lunar::train::run_training), exactly as
// docs/adding-a-model.md describes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include "lunar/core/error.h"
#include "lunar/data/listops_generator.h"
#include "lunar/models/registry.h"
#include "lunar/runs/layout.h"
#include "lunar/runs/metrics_log.h"
#include "lunar/train/config.h"
#include "lunar/train/run.h"

namespace fs = std::filesystem;
using namespace lunar;

namespace {

// Step 1: the encoder. Each position plus tanh(W · mean over the real positions): no attention,
// O(L·d²). x [B, L, D], mask [B, L] bool or undefined (masks off).
class MeanMixerImpl : public models::EncoderImpl {
 public:
  explicit MeanMixerImpl(int64_t dim) { mix = register_module("mix", torch::nn::Linear(dim, dim)); }
  models::EncoderOutput forward(const at::Tensor& x, const at::Tensor& mask) override {
    at::Tensor context;  // [B, 1, D]
    if (mask.defined()) {
      const auto weights = mask.to(x.scalar_type()).unsqueeze(-1);  // [B, L, 1]
      context = (x * weights).sum(1, true) / weights.sum(1, true).clamp_min(1.0);
    } else {
      context = x.mean(1, true);
    }
    return {x + at::tanh(mix->forward(context)), {}, {}};
  }
  torch::nn::Linear mix{nullptr};
};

// The encoder the last build made, and a copy of its weights before training.
std::shared_ptr<MeanMixerImpl> built;
at::Tensor initial_weight;

// Step 2: the row. Its defaults, its own checks and its encoder; no `model.mean_mixer.*` keys.
models::Architecture mean_mixer_row() {
  return {"mean_mixer",
          "each position plus tanh(W · mean of the sequence) (a test family)",
          /*options=*/{},
          models::Norm::pre,
          /*default_masks=*/true,
          /*has_memory=*/false,
          /*keys=*/{},
          [](const models::ModelConfig& c) {
            check(c.num_blocks == 1, "[model] expected model.num_blocks = 1 for mean_mixer, got {}",
                  c.num_blocks);
          },
          [](const models::ModelConfig& c) -> std::shared_ptr<models::EncoderImpl> {
            built = std::make_shared<MeanMixerImpl>(c.dim);
            initial_weight = built->mix->weight.detach().clone();
            return built;
          }};
}

// Step 3: register it once, before any configuration names it.
void register_once() {
  static const bool registered = (models::register_architecture(mean_mixer_row()), true);
  (void)registered;
}

train::RunConfig toy_run(const fs::path& dir) {
  data::ListOpsOptions listops;
  listops.num_train = 64;
  listops.num_val = 16;
  listops.num_test = 16;
  listops.min_length = 5;
  listops.max_length = 40;
  listops.max_depth = 4;
  data::write_listops(listops, dir / "listops");

  train::RunConfig config;
  train::apply_overrides(
      config,
      {"model.architecture=mean_mixer", "model.dim=16", "model.num_heads=2", "model.ffn_dim=32",
       "model.num_blocks=1", "task.name=listops", "task.path=" + (dir / "listops").string(),
       "task.cache_dir=off", "task.max_length=40", "train.steps=6", "train.batch_size=8",
       "train.eval_every=3", "train.log_every=1", "schedule.warmup=0", "optim.lr=0.01",
       "runtime.threads=1", "run_dir=" + (dir / "run").string()});
  return config;
}

TEST(ToyFamily, RegistersAndTrainsThroughTheNormalPath) {
  register_once();
  const fs::path dir = fs::temp_directory_path() / "toy_family";
  fs::remove_all(dir);
  const auto config = toy_run(dir);
  EXPECT_EQ(models::resolve(config.model).masks, models::Masks::on);  // the row's default

  const auto summary = train::run_training(config, {});
  EXPECT_EQ(summary.steps, 6);
  ASSERT_TRUE(built);
  EXPECT_GT((built->mix->weight.detach() - initial_weight).abs().max().item<double>(), 0.0);
  int64_t train_records = 0;
  for (const auto& record : runs::read_metrics_log(runs::metrics_path(config.run_dir))) {
    if (record.split != "train") continue;
    ++train_records;
    EXPECT_TRUE(std::isfinite(record.values.at("loss"))) << "step " << record.step;
  }
  EXPECT_EQ(train_records, 6);
  EXPECT_TRUE(std::isfinite(summary.test_loss_best));
  // The saved configuration names the family and loads back.
  EXPECT_EQ(train::load_config(runs::config_path(config.run_dir)).model.architecture, "mean_mixer");
  fs::remove_all(dir);
}

TEST(ToyFamily, ItsRowOwnsNameDefaultsAndChecks) {
  register_once();
  EXPECT_EQ(models::architecture_names().back(), "mean_mixer");
  bool described = false;
  for (const auto& row : train::describe_keys()) {
    if (row.key == "model.architecture") {
      described = row.description.find("mean_mixer") != std::string::npos;
    }
  }
  EXPECT_TRUE(described) << "model.architecture's description lists the registered family";
  models::ModelConfig two_blocks;
  two_blocks.architecture = "mean_mixer";
  two_blocks.num_blocks = 2;
  two_blocks.input.vocab_size = 8;
  two_blocks.input.max_length = 8;
  try {
    models::build_model(two_blocks);
    FAIL() << "the row's check did not run";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("model.num_blocks"), std::string::npos);
  }
  EXPECT_THROW(models::register_architecture(mean_mixer_row()), Error);  // the name is taken
}

}  // namespace
