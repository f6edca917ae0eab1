// Reading a run directory: a live run (no summary yet), a finished one, and config.toml errors
// naming the file, the line and the key.
#include "lunar/runs/run_folder.h"

#include <gtest/gtest.h>

#include <fstream>

#include "lunar/core/error.h"
#include "lunar/runs/layout.h"
#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace lunar::runs;

namespace {

const std::string kConfig =
    "[model]\narchitecture = \"luna\"\n[model.luna]\nmemory_len = 8\n[task]\nname = "
    "\"listops\"\n[train]\nseed = 1\nsteps = 250\n";

TEST(RunFolder, LiveRunHasNoResultsYet) {
  lunar::testing::TempDir dir;
  std::ofstream(config_path(dir.path())) << kConfig;
  auto run = read_run_folder(dir.path());
  EXPECT_EQ(run.dir, dir.path());
  EXPECT_EQ(run.architecture, "luna");
  EXPECT_EQ(run.memory_len, 8);
  EXPECT_EQ(run.task, "listops");
  EXPECT_EQ(run.seed, 1);
  ASSERT_TRUE(run.planned_steps.has_value());
  EXPECT_EQ(*run.planned_steps, 250);
  EXPECT_EQ(run.config_text, kConfig);
  EXPECT_FALSE(run.results.has_value());
  EXPECT_TRUE(run.metrics.empty());
  EXPECT_TRUE(run.heatmaps.empty());
}

TEST(RunFolder, FinishedRunHasEveryFile) {
  lunar::testing::TempDir dir;
  std::ofstream(config_path(dir.path())) << kConfig;
  RunSummary summary;
  summary.steps = 250;
  summary.test_accuracy_best = 0.4;
  write_summary(summary_path(dir.path()), summary);
  { MetricsLog(metrics_path(dir.path())).append({0, "data", {{"majority_val", 0.2}}}); }
  fs::create_directories(heatmaps_folder(dir.path()));
  std::ofstream(heatmaps_folder(dir.path()) / heatmap_file_name({false, 0})) << "";
  const auto run = read_run_folder(dir.path());
  ASSERT_TRUE(run.results.has_value());
  EXPECT_EQ(run.results->steps, 250);
  EXPECT_EQ(run.results->test_accuracy_best, 0.4);
  ASSERT_EQ(run.metrics.size(), 1u);
  EXPECT_EQ(run.metrics[0].values.at("majority_val"), 0.2);
  ASSERT_EQ(run.heatmaps.size(), 1u);
}

TEST(RunFolder, ConfigErrorsNameTheFileAndTheKey) {
  lunar::testing::TempDir dir;
  const auto path = config_path(dir.path());
  const auto expect_key = [&](const std::string& text, int64_t line, const std::string& key) {
    std::ofstream(path) << text;
    try {
      read_run_folder(dir.path());
      ADD_FAILURE() << "no error for " << text;
    } catch (const lunar::DataError& error) {
      EXPECT_EQ(error.path(), path.string());
      EXPECT_EQ(error.line(), line) << error.what();
      EXPECT_EQ(error.field(), key) << error.what();
    }
  };
  expect_key("[model]\narchitecture = 3\n", 2, "model.architecture");
  expect_key("[model]\narchitecture = \"luna\"\n", 0, "model.luna.memory_len");
  expect_key(kConfig + "[extra\n", 10, "");  // not TOML
  EXPECT_THROW(read_run_folder(dir / "none"), lunar::DataError);
}

}  // namespace
