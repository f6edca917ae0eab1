// Run configuration loading: the defaults, an empty file, and every table read from a file.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "config_test_support.h"
#include "lunar/train/config.h"

namespace {

using lunar::train::load_config;
using lunar::train::RunConfig;
using lunar::train::testing::ConfigTest;

TEST(ConfigDefaults, MatchTheDocumentedValues) {
  const RunConfig config;
  EXPECT_EQ(config.optim.name, lunar::train::OptimizerKind::adamw);
  EXPECT_DOUBLE_EQ(config.optim.lr, 0.005);
  EXPECT_DOUBLE_EQ(config.optim.weight_decay, 0.01);
  EXPECT_DOUBLE_EQ(config.optim.grad_clip, 0.0);
  EXPECT_EQ(config.schedule.kind, lunar::train::ScheduleKind::rsqrt);
  EXPECT_EQ(config.schedule.warmup, 1000);
  EXPECT_EQ(config.train.steps, 1000);
  EXPECT_EQ(config.train.batch_size, 32);
  EXPECT_EQ(config.train.micro_batch, 0);
  EXPECT_EQ(config.train.eval_every, 200);
  EXPECT_EQ(config.runtime.device, "cpu");
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::fp32);
  EXPECT_EQ(config.diag.every, 0);
  EXPECT_TRUE(config.diag.heatmap_steps.empty());
  EXPECT_EQ(config.run_dir, "runs/default");
  EXPECT_EQ(config.model.architecture, "convluna");
  EXPECT_EQ(config.model.luna.memory_len, 16);
  EXPECT_NO_THROW(lunar::train::validate(config));
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  EXPECT_EQ(load_config(write("empty.toml", "")), RunConfig{});
}

TEST_F(ConfigTest, LoadsEveryTable) {
  const auto path = write("run.toml", R"(run_dir = "runs/x"
[model]
architecture = "luna"
dim = 64
num_heads = 2
dropout = 0
norm = "pre"
pair = true
[model.input]
embedding = "pixel"
max_length = 784
[model.luna]
memory_len = 256
sharing = "none"
[model.convluna]
filter = "maxpool"
kernel = 2
stride = 2
[task]
name = "fmnist"
path = "/usr/share/datasets/fashion-mnist"
limit = 100
[optim]
lr = 1
weight_decay = 0.04
grad_clip = 1.5
[schedule]
kind = "cosine"
warmup = 10
min_lr = 1e-5
[train]
steps = 10
batch_size = 64
micro_batch = 16
seed = 7
bucket_by_length = true
[runtime]
device = "cuda:1"
precision = "bf16"
threads = 2
[diag]
every = 5
heatmap_steps = [0, 5, 10]
)");
  const RunConfig config = load_config(path);
  EXPECT_EQ(config.run_dir, "runs/x");
  EXPECT_EQ(config.model.architecture, "luna");
  EXPECT_EQ(config.model.dim, 64);
  EXPECT_EQ(config.model.num_heads, 2);
  EXPECT_DOUBLE_EQ(config.model.dropout, 0.0);
  EXPECT_EQ(config.model.norm, lunar::models::Norm::pre);
  EXPECT_TRUE(config.model.pair);
  EXPECT_EQ(config.model.input.embedding, lunar::models::Embedding::pixel);
  EXPECT_EQ(config.model.input.max_length, 784);
  EXPECT_EQ(config.model.luna.memory_len, 256);
  EXPECT_EQ(config.model.luna.sharing, lunar::models::Sharing::none);
  EXPECT_EQ(config.model.convluna.filter, lunar::nn::FilterKind::maxpool);
  EXPECT_EQ(config.model.convluna.kernel, 2);
  EXPECT_EQ(config.task.name, "fmnist");
  EXPECT_EQ(config.task.limit, 100);
  EXPECT_DOUBLE_EQ(config.optim.lr, 1.0);  // an integer is accepted for a float key
  EXPECT_DOUBLE_EQ(config.optim.grad_clip, 1.5);
  EXPECT_EQ(config.schedule.kind, lunar::train::ScheduleKind::cosine);
  EXPECT_DOUBLE_EQ(config.schedule.min_lr, 1e-5);
  EXPECT_EQ(config.train.steps, 10);
  EXPECT_EQ(config.train.micro_batch, 16);
  EXPECT_EQ(config.train.seed, 7u);
  EXPECT_TRUE(config.train.bucket_by_length);
  EXPECT_EQ(config.runtime.device, "cuda:1");
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::bf16);
  EXPECT_EQ(config.diag.every, 5);
  EXPECT_EQ(config.diag.heatmap_steps, (std::vector<int64_t>{0, 5, 10}));
  // Keys the file leaves out keep their defaults.
  EXPECT_EQ(config.model.ffn_dim, RunConfig{}.model.ffn_dim);
  EXPECT_EQ(config.train.eval_every, RunConfig{}.train.eval_every);
}

}  // namespace
