// Run configuration includes: base files applied first, in order, and cycles and errors inside an
// included file named.
#include <gtest/gtest.h>

#include <string>

#include "config_test_support.h"
#include "lunar/core/error.h"
#include "lunar/train/config.h"

namespace {

using lunar::DataError;
using lunar::train::load_config;
using lunar::train::RunConfig;
using lunar::train::testing::ConfigTest;
using lunar::train::testing::data_error_message;

TEST_F(ConfigTest, IncludeAppliesTheBaseFirst) {
  write("base/common.toml", "[train]\nsteps = 50\nbatch_size = 16\n[model]\ndim = 32\n");
  write("base/task.toml", "include = \"common.toml\"\n[train]\nbatch_size = 8\n");
  const auto path = write(
      "run.toml", "include = \"base/task.toml\"\n[train]\nsteps = 7\n[model]\nnum_heads = 8\n");
  const RunConfig config = load_config(path);
  EXPECT_EQ(config.train.steps, 7);       // the file's own key wins
  EXPECT_EQ(config.train.batch_size, 8);  // the nearer include wins
  EXPECT_EQ(config.model.dim, 32);        // from two levels down, relative to base/
  EXPECT_EQ(config.model.num_heads, 8);
}

TEST_F(ConfigTest, IncludeArrayAppliesInOrder) {
  write("a.toml", "[train]\nsteps = 1\nlog_every = 3\n");
  write("b.toml", "[train]\nsteps = 2\n");
  const RunConfig config = load_config(write("run.toml", "include = [\"a.toml\", \"b.toml\"]\n"));
  EXPECT_EQ(config.train.steps, 2);
  EXPECT_EQ(config.train.log_every, 3);
}

TEST_F(ConfigTest, IncludeCycleIsAnError) {
  write("a.toml", "include = \"b.toml\"\n");
  write("b.toml", "\ninclude = \"a.toml\"\n");
  const std::string message = data_error_message([&] { load_config(dir_ / "a.toml"); });
  EXPECT_NE(message.find("b.toml:2: include: expected no include cycle"), std::string::npos)
      << message;

  const auto self = write("self.toml", "include = \"self.toml\"\n");
  EXPECT_THROW(load_config(self), DataError);
}

TEST_F(ConfigTest, ErrorsInsideAnIncludeNameTheIncludedFile) {
  write("base.toml", "[optim]\nlr = -1.0\n");
  const auto missing = write("missing.toml", "include = \"nowhere.toml\"\n");
  std::string message =
      data_error_message([&] { load_config(write("run.toml", "include = \"base.toml\"\n")); });
  EXPECT_NE(
      message.find((dir_ / "base.toml").string() + ":2: optim.lr: expected a positive number"),
      std::string::npos)
      << message;
  message = data_error_message([&] { load_config(missing); });
  EXPECT_NE(message.find(missing.string() + ":1: include: expected a readable TOML file"),
            std::string::npos)
      << message;
}

}  // namespace
