// Run configuration files lunar refuses: unknown keys and tables, wrong types, values out of
// range, TOML syntax errors and a missing file, each named by file, line and dotted key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_support.h"
#include "lunar/train/config.h"

namespace {

using lunar::train::load_config;
using lunar::train::testing::ConfigTest;
using lunar::train::testing::data_error_message;

TEST_F(ConfigTest, UnknownKeyNamesFileLineAndDottedKey) {
  const auto path = write("bad.toml", "[train]\nsteps = 10\n\n[model.luna]\nmemory_lenn = 4\n");
  const std::string message = data_error_message([&] { load_config(path); });
  EXPECT_NE(message.find(path.string() + ":5: model.luna.memory_lenn: unknown key"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("did you mean model.luna.memory_len?"), std::string::npos) << message;
}

TEST_F(ConfigTest, UnknownTableIsAnError) {
  const auto path = write("bad.toml", "run_dir = \"x\"\n[trian]\nsteps = 3\n");
  const std::string message = data_error_message([&] { load_config(path); });
  EXPECT_NE(message.find(path.string() + ":2: trian: unknown table"), std::string::npos) << message;
}

TEST_F(ConfigTest, WrongTypeIsAnError) {
  const auto path = write("bad.toml", "[train]\nsteps = \"many\"\n");
  std::string message = data_error_message([&] { load_config(path); });
  EXPECT_NE(
      message.find(path.string() + ":2: train.steps: expected a positive integer, got \"many\""),
      std::string::npos)
      << message;

  const auto as_float = write("float.toml", "[train]\nbatch_size = 32.5\n");
  message = data_error_message([&] { load_config(as_float); });
  EXPECT_NE(message.find(":2: train.batch_size: expected a positive integer, got 32.5"),
            std::string::npos)
      << message;

  const auto scalar_table = write("scalar.toml", "train = 5\n");
  message = data_error_message([&] { load_config(scalar_table); });
  EXPECT_NE(message.find(":1: train: expected a table [train], got 5"), std::string::npos)
      << message;
}

TEST_F(ConfigTest, OutOfRangeValuesAreErrors) {
  struct Case {
    std::string toml;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[train]\n\nsteps = -5\n", ":3: train.steps: expected a positive integer, got -5"},
      {"[model]\ndropout = 1.0\n", ":2: model.dropout: expected a number in [0, 1), got 1.0"},
      {"[model]\nnorm = \"middle\"\n", ":2: model.norm: expected one of \"\", \"post\", \"pre\""},
      {"[schedule]\nkind = \"linear\"\n", ":2: schedule.kind: expected one of \"rsqrt\""},
      {"[optim]\nname = \"sgd\"\n", ":2: optim.name: expected one of"},
      {"[task]\nname = \"imagenet\"\n", ":2: task.name: expected one of"},
      {"[model]\narchitecture = \"nonsense\"\n",
       ":2: model.architecture: expected one of \"transformer\", \"luna\", \"preluna\""},
      {"[model.convluna]\npack_temperature = \"hot\"\n",
       ":2: model.convluna.pack_temperature: expected one of"},
      {"[runtime]\ndevice = \"gpu\"\n", ":2: runtime.device: expected one of \"cpu\""},
      {"[train]\nbatch_size = 32\nmicro_batch = 5\n",
       ":3: train.micro_batch: expected 0 or a divisor of train.batch_size (32), got 5"},
      {"[model]\ndim = 64\nnum_heads = 3\n",
       ":3: model.num_heads: expected a divisor of the attention width (64), got 3"},
  };
  for (const auto& c : cases) {
    const auto path = write("range.toml", c.toml);
    const std::string message = data_error_message([&] { load_config(path); });
    EXPECT_NE(message.find(path.string() + c.expected), std::string::npos)
        << "file:\n"
        << c.toml << "message: " << message;
  }
}

TEST_F(ConfigTest, SyntaxErrorNamesTheLine) {
  const auto path = write("syntax.toml", "[train]\nsteps = = 3\n");
  const std::string message = data_error_message([&] { load_config(path); });
  EXPECT_NE(message.find(path.string() + ":2: expected valid TOML"), std::string::npos) << message;
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  const std::string message = data_error_message([&] { load_config(dir_ / "absent.toml"); });
  EXPECT_NE(message.find("absent.toml: expected a readable TOML file"), std::string::npos)
      << message;
}

}  // namespace
