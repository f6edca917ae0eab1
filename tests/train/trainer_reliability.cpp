// A non-finite loss stops training with a message that names the checkpoint to go back to
// only when there is one.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <limits>

#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/trainer.h"

namespace fs = std::filesystem;
using namespace lunar;

TEST(TrainerReliability, NonFiniteLossBeforeAnyCheckpointSaysThereIsNone) {
  data::TaskData task;
  task.info = {"toy", 8, 2, 16, false, false};
  for (int i = 0; i < 32; ++i) {
    data::Example example;
    example.tokens = {2, 3, 4, static_cast<int32_t>(2 + i % 5)};
    example.label = i % 2;
    task.train.push_back(example);
    task.validation.push_back(example);
  }
  train::RunConfig config;
  config.model.architecture = "luna";
  config.model.dim = 8;
  config.model.num_heads = 2;
  config.model.ffn_dim = 16;
  config.model.num_blocks = 1;
  config.model.luna.memory_len = 4;
  config.model.input.vocab_size = 8;
  config.model.input.max_length = 16;
  config.model.num_classes = 2;
  config.train.steps = 5;
  config.train.batch_size = 8;
  config.train.eval_every = 5;
  seed_everything(1);
  auto model = models::build_model(config.model);
  {
    at::NoGradGuard no_grad;  // every output is NaN from the first step on
    for (auto& parameter : model->parameters()) {
      parameter.fill_(std::numeric_limits<double>::quiet_NaN());
    }
  }
  const auto dir = fs::temp_directory_path() / ("lunar_nan_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  train::Trainer trainer(config, model, task, at::kCPU, {dir / "last.pt", dir / "best.pt"}, "");
  try {
    trainer.run();
    ADD_FAILURE() << "a NaN loss did not stop training";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("the loss became nan at step 1"), std::string::npos) << message;
    EXPECT_NE(message.find("No checkpoint was written yet"), std::string::npos) << message;
    EXPECT_EQ(message.find("last.pt"), std::string::npos) << message;
  }
  EXPECT_FALSE(fs::exists(dir / "last.pt"));
  fs::remove_all(dir);
}
