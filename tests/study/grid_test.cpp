// Grid files: expansion (count, order, names), errors naming file and key, dropping the memory
// size of memory-less models, and the `lunar train` command lines a sweep emits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "lunar/core/error.h"
#include "lunar/study/grid.h"

namespace fs = std::filesystem;
using lunar::study::command_line_grid;
using lunar::study::expand_grid;
using lunar::study::load_grid;

namespace {

class GridTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / "lunar_grid_test";
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "lra" / "listops");
    fs::create_directories(dir_ / "lra" / "text");
    for (const char* f : {"base.toml", "lra/listops/luna.toml", "lra/text/luna.toml"}) {
      std::ofstream(dir_ / f) << "# config\n";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& text) {
    const auto path = dir_ / "grid.toml";
    std::ofstream(path) << text;
    return path;
  }

  const std::vector<std::string> known = {"model.architecture", "model.luna.memory_len",
                                          "train.seed",         "train.steps",
                                          "task.path",          "model.norm"};

  fs::path dir_;
};

TEST_F(GridTest, ExpandsEveryCombinationLastAxisFastest) {
  const auto grid = load_grid(write("base = \"base.toml\"\n"
                                    "[grid]\n"
                                    "\"model.architecture\" = [\"luna\", \"transformer\"]\n"
                                    "model.luna.memory_len = [1, 8]\n"
                                    "\"train.seed\" = [0, 1, 2]\n"
                                    "[set]\n"
                                    "\"train.steps\" = 600\n"
                                    "\"task.path\" = \"data/list ops\"\n"),
                              known);
  const auto runs = expand_grid(grid);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].name, "luna_M1_seed0");
  EXPECT_EQ(runs[1].name, "luna_M1_seed1");
  EXPECT_EQ(runs[3].name, "luna_M8_seed0");
  EXPECT_EQ(runs[11].name, "transformer_M8_seed2");
  EXPECT_EQ(runs[0].config, (dir_ / "base.toml").lexically_normal());
  // Fixed settings first (sorted by key), then the grid's, in axis order.
  ASSERT_EQ(runs[4].overrides.size(), 5u);
  EXPECT_EQ(runs[4].overrides[0].key, "task.path");
  EXPECT_EQ(runs[4].overrides[0].value, "\"data/list ops\"");
  EXPECT_EQ(runs[4].overrides[1].key, "train.steps");
  EXPECT_EQ(runs[4].overrides[1].value, "600");
  EXPECT_EQ(runs[4].overrides[2].value, "luna");
  EXPECT_EQ(runs[4].overrides[3].value, "8");
  EXPECT_EQ(runs[4].overrides[4].value, "1");
  std::set<std::string> names;
  for (const auto& run : runs) names.insert(run.name);
  EXPECT_EQ(names.size(), 12u);
}

TEST_F(GridTest, DroppingTheMemorySizeOfMemorylessModelsMergesTheirRuns) {
  const auto grid = load_grid(write("base = \"base.toml\"\n[grid]\n"
                                    "\"model.architecture\" = [\"luna\", \"transformer\"]\n"
                                    "\"model.luna.memory_len\" = [1, 8]\n"
                                    "\"train.seed\" = [0, 1, 2]\n"),
                              known);
  const auto runs = lunar::study::drop_setting(
      expand_grid(grid), "model.luna.memory_len",
      [](const lunar::study::GridRun& run) { return run.settings[0].value == "transformer"; });
  ASSERT_EQ(runs.size(), 9u);  // 6 luna + 3 transformer
  EXPECT_EQ(runs[6].name, "transformer_seed0");
  EXPECT_EQ(runs[8].name, "transformer_seed2");
  ASSERT_EQ(runs[8].overrides.size(), 2u);
  EXPECT_EQ(runs[8].overrides[1].key, "train.seed");
}

TEST_F(GridTest, SeveralConfigurationsAreLabelledByTheirDistinctFolders) {
  const auto grid = load_grid(write("config = [\"lra/listops/luna.toml\", \"lra/text/luna.toml\"]\n"
                                    "[grid]\n\"train.seed\" = [0, 1]\n"),
                              known);
  const auto runs = expand_grid(grid);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0].name, "listops-luna_seed0");
  EXPECT_EQ(runs[3].name, "text-luna_seed1");
}

TEST_F(GridTest, UnknownKeyNamesTheFileLineAndKey) {
  const auto path = write(
      "base = \"base.toml\"\n[grid]\n\"train.seed\" = [0]\n"
      "\"model.memory\" = [1, 2]\n");
  try {
    load_grid(path, known);
    FAIL() << "expected an error";
  } catch (const lunar::DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path.string() + ":4: model.memory:"), std::string::npos) << message;
    EXPECT_NE(message.find("unknown key"), std::string::npos) << message;
  }
  // A misspelt key gets the nearest known one.
  try {
    load_grid(write("base = \"base.toml\"\n[grid]\n\"train.sede\" = [0]\n"), known);
    FAIL() << "expected an error";
  } catch (const lunar::DataError& error) {
    EXPECT_NE(std::string(error.what()).find("(did you mean train.seed?)"), std::string::npos)
        << error.what();
  }
}

TEST_F(GridTest, RejectsBadAxesAndMissingConfigurations) {
  const auto expect_error = [this](const std::string& text, const std::string& fragment) {
    try {
      load_grid(write(text), known);
      ADD_FAILURE() << "expected an error for: " << text;
    } catch (const lunar::Error& error) {
      EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
    }
  };
  expect_error("base = \"base.toml\"\n[grid]\n\"train.seed\" = 3\n",
               "train.seed: expected a non-empty array");
  expect_error("base = \"base.toml\"\n[grid]\n\"train.seed\" = []\n", "non-empty array");
  expect_error("base = \"base.toml\"\n[grid]\n\"train.seed\" = [1, 1]\n", "distinct values");
  expect_error("base = \"missing.toml\"\n", "grid.toml:1: base: expected an existing");
  expect_error("[grid]\n\"train.seed\" = [1]\n", "expected `base");
  expect_error("base = \"base.toml\"\nseeds = [1]\n", "grid.toml:2: seeds: expected one of");
  expect_error("base = \"base.toml\"\n[grid]\n\"train.seed\" = [1]\n[set]\n\"train.seed\" = 2\n",
               "both in [set] and in [grid]");
  expect_error("base = \"base.toml\"\n[grid\n", "expected valid TOML");
}

TEST_F(GridTest, TrainCommandLinesQuoteWhatTheShellWouldSplit) {
  const auto grid = load_grid(write("base = \"base.toml\"\n[grid]\n\"train.seed\" = [3]\n"
                                    "[set]\n\"model.norm\" = \"\"\n"),
                              known);
  const auto runs = expand_grid(grid);
  ASSERT_EQ(runs.size(), 1u);
  const auto args = lunar::study::train_arguments("/bin/lunar", runs[0], "out/seed3", false, 2);
  EXPECT_EQ(lunar::study::command_line(args),
            "/bin/lunar train --config " + (dir_ / "base.toml").string() +
                " --set 'model.norm=\"\"' train.seed=3 --run-dir out/seed3 --threads 2");
  const auto resumed = lunar::study::train_arguments("/bin/lunar", runs[0], "d", true, 0);
  EXPECT_EQ(resumed.back(), "--resume");
  EXPECT_EQ(lunar::study::shell_quote("it's"), "'it'\\''s'");
}

}  // namespace

TEST_F(GridTest, CommandLineGridExpandsAsTheSameGridFile) {
  const auto from_file =
      expand_grid(load_grid(write("base = \"base.toml\"\n[grid]\n"
                                  "\"train.seed\" = [0, 1]\n"
                                  "\"model.architecture\" = [\"luna\", \"preluna\"]\n"
                                  "[set]\n\"train.steps\" = 5\n"),
                            known));
  const auto from_line = expand_grid(
      command_line_grid(dir_ / "base.toml", {"train.seed=0,1", "model.architecture=luna,preluna"},
                        {"train.steps=5"}, known));
  ASSERT_EQ(from_line.size(), 4u);
  ASSERT_EQ(from_line.size(), from_file.size());
  for (size_t i = 0; i < from_line.size(); ++i) {
    EXPECT_EQ(from_line[i].name, from_file[i].name);
    ASSERT_EQ(from_line[i].overrides.size(), 3u);
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(from_line[i].overrides[j].key, from_file[i].overrides[j].key);
      EXPECT_EQ(from_line[i].overrides[j].value, from_file[i].overrides[j].value);
    }
  }
  EXPECT_EQ(from_line[1].name, "luna_seed1");  // axes sorted by key, the last fastest
}

TEST_F(GridTest, CommandLineGridErrorsNameTheOption) {
  const auto message = [&](const std::vector<std::string>& axes,
                           const std::vector<std::string>& sets, const std::string& config) {
    try {
      command_line_grid(dir_ / config, axes, sets, known);
    } catch (const lunar::Error& error) {
      return std::string(error.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"train.sede=0,1"}, {}, "base.toml").find("--grid-set 'train.sede=0,1'"),
            std::string::npos);
  EXPECT_NE(message({"train.sede=0,1"}, {}, "base.toml").find("did you mean train.seed?"),
            std::string::npos);
  EXPECT_NE(message({"train.seed"}, {}, "base.toml").find("expected key=value"), std::string::npos);
  EXPECT_NE(message({"train.seed=0,,1"}, {}, "base.toml").find("separated by commas"),
            std::string::npos);
  EXPECT_NE(message({"train.seed=0,0"}, {}, "base.toml").find("value '0' given twice"),
            std::string::npos);
  EXPECT_NE(message({"train.seed=0,1"}, {"train.seed=3"}, "base.toml").find("also given"),
            std::string::npos);
  EXPECT_NE(message({"train.seed=0"}, {}, "missing.toml").find("expected an existing file"),
            std::string::npos);
}
