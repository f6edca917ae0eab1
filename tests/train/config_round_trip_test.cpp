// Run configuration round trip: to_toml and save_config write what load_config reads back.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "config_test_support.h"
#include "lunar/train/config.h"

namespace {

namespace fs = std::filesystem;
using lunar::train::describe_keys;
using lunar::train::load_config;
using lunar::train::RunConfig;
using lunar::train::to_toml;
using lunar::train::testing::ConfigTest;

TEST_F(ConfigTest, ToTomlRoundTripsDefaultsAndChangedValues) {
  RunConfig config;
  EXPECT_EQ(load_config(write("defaults.toml", to_toml(config))), config);

  config.model.architecture = "preluna";
  config.model.dropout = 0.1 + 0.2;  // not exactly 0.3: the text must keep every bit
  config.model.norm = lunar::models::Norm::automatic;
  config.optim.eps = 1e-8;
  config.optim.lr = 1.0 / 3.0;
  config.task.path = "data/with \"quotes\", \\ backslash,\ttab and\nnewline";
  config.train.seed = 123456789012345ull;
  config.diag.heatmap_steps = {0, 100, 1000};
  config.run_dir = "runs/a b";
  const RunConfig back = load_config(write("changed.toml", to_toml(config)));
  EXPECT_EQ(back, config);
  EXPECT_EQ(back.task.path, config.task.path);
  EXPECT_EQ(back.model.dropout, config.model.dropout);
  // Equality sees a difference in any key.
  RunConfig other = back;
  other.diag.heatmap_steps.push_back(5);
  EXPECT_NE(other, back);
}

TEST_F(ConfigTest, ToTomlWritesEveryKey) {
  const std::string text = to_toml(RunConfig{});
  for (const auto& row : describe_keys()) {
    const std::string name = row.key.substr(row.key.rfind('.') + 1);
    EXPECT_NE(text.find("\n" + name + " = " + row.default_value), std::string::npos) << row.key;
  }
}

TEST_F(ConfigTest, SaveConfigWritesWhatLoadReads) {
  RunConfig config;
  config.model.luna.memory_len = 64;
  const auto path = dir_ / "saved" / "config.toml";
  fs::create_directories(path.parent_path());
  lunar::train::save_config(config, path);
  EXPECT_EQ(load_config(path), config);
}

}  // namespace
