// Run configuration overrides (--set key=value): values of every type, relations checked after
// all assignments, and errors that name the source and the key.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config_test_support.h"
#include "lunar/train/config.h"

namespace {

using lunar::train::apply_override;
using lunar::train::apply_overrides;
using lunar::train::RunConfig;
using lunar::train::testing::data_error_message;

TEST(ConfigOverride, BareStringsNumbersArraysAndNestedKeys) {
  RunConfig config;
  apply_override(config, "model.architecture=luna");
  apply_override(config, "model.luna.memory_len=256");
  apply_override(config, "train.steps = 100");
  apply_override(config, "runtime.precision=bf16");
  apply_override(config, "runtime.device=\"cuda:0\"");
  apply_override(config, "diag.heatmap_steps=[0,100]");
  apply_override(config, "optim.lr=2e-3");
  apply_override(config, "optim.weight_decay=0");
  apply_override(config, "train.bucket_by_length=true");
  apply_override(config, "task.path=data/lra/listops-1000");
  apply_override(config, "run_dir=2024");  // string keys take the text as written
  apply_override(config, "model.norm=");
  apply_override(config, "model.convluna={kernel = 8, filter = \"maxpool\"}");
  EXPECT_EQ(config.model.architecture, "luna");
  EXPECT_EQ(config.model.luna.memory_len, 256);
  EXPECT_EQ(config.train.steps, 100);
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::bf16);
  EXPECT_EQ(config.runtime.device, "cuda:0");
  EXPECT_EQ(config.diag.heatmap_steps, (std::vector<int64_t>{0, 100}));
  EXPECT_DOUBLE_EQ(config.optim.lr, 2e-3);
  EXPECT_DOUBLE_EQ(config.optim.weight_decay, 0.0);
  EXPECT_TRUE(config.train.bucket_by_length);
  EXPECT_EQ(config.task.path, "data/lra/listops-1000");
  EXPECT_EQ(config.run_dir, "2024");
  EXPECT_EQ(config.model.norm, lunar::models::Norm::automatic);
  EXPECT_EQ(config.model.convluna.kernel, 8);
  EXPECT_EQ(config.model.convluna.filter, lunar::nn::FilterKind::maxpool);
}

TEST(ConfigOverride, RelationsAreCheckedAfterAllAssignments) {
  RunConfig config;
  config.train.batch_size = 32;
  config.train.micro_batch = 32;
  // 48 % 32 != 0 in between, but the final state is valid.
  apply_overrides(config, {"train.batch_size=48", "train.micro_batch=16"});
  EXPECT_EQ(config.train.batch_size, 48);
  EXPECT_EQ(config.train.micro_batch, 16);
  const std::string message =
      data_error_message([&] { apply_override(config, "train.micro_batch=5"); });
  EXPECT_NE(message.find("--set: train.micro_batch: expected 0 or a divisor of train.batch_size"),
            std::string::npos)
      << message;
  EXPECT_EQ(config.train.micro_batch, 16);  // a failed override leaves the config unchanged
}

TEST(ConfigOverride, ErrorsNameTheSourceAndTheKey) {
  RunConfig config;
  std::string message = data_error_message([&] { apply_override(config, "train.stpes=5"); });
  EXPECT_NE(message.find("--set: train.stpes: unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean train.steps?"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "train.steps=-5"); });
  EXPECT_NE(message.find("--set: train.steps: expected a positive integer, got -5"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "train.steps=many"); });
  EXPECT_NE(message.find("train.steps: expected a positive integer, got \"many\""),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "runtime.precision=fp16"); });
  EXPECT_NE(message.find("runtime.precision: expected one of \"fp32\", \"bf16\""),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "model.convluna.filter=maxpol"); });
  EXPECT_NE(message.find("model.convluna.filter: expected one of \"conv\", \"maxpool\", got "
                         "\"maxpol\" (did you mean maxpool?)"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "runtime.device=cuda:x"); });
  EXPECT_NE(message.find("runtime.device"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "diag.heatmap_steps=[0,-1]"); });
  EXPECT_NE(message.find("diag.heatmap_steps: expected an array of non-negative integers"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "no equals sign"); });
  EXPECT_NE(message.find("expected key=value"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "model=3"); });
  EXPECT_NE(message.find("--set: model: expected a key inside [model]"), std::string::npos)
      << message;
  EXPECT_EQ(config, RunConfig{});
}

}  // namespace
