// The run directory's names: paths, heatmap names written and parsed back, run-folder detection.
#include "lunar/runs/layout.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace fs = std::filesystem;
using namespace lunar::runs;

namespace {

TEST(Layout, PathsInsideARunDirectory) {
  const fs::path run = "out/run";
  EXPECT_EQ(config_path(run), fs::path("out/run/config.toml"));
  EXPECT_EQ(metrics_path(run), fs::path("out/run/metrics.jsonl"));
  EXPECT_EQ(summary_path(run), fs::path("out/run/summary.json"));
  EXPECT_EQ(last_checkpoint(run), fs::path("out/run/checkpoints/last.pt"));
  EXPECT_EQ(best_checkpoint(run), fs::path("out/run/checkpoints/best.pt"));
  EXPECT_EQ(tensorboard_folder(run), fs::path("out/run/tensorboard"));
  EXPECT_EQ(heatmaps_folder(run), fs::path("out/run/heatmaps"));
}

TEST(HeatmapName, WrittenNamesParseBack) {
  EXPECT_EQ(heatmap_file_name({false, 200}), "memory_step000200.png");
  EXPECT_EQ(heatmap_file_name({true, 3}), "memory_grad_step000003.png");
  EXPECT_EQ(heatmap_file_name({false, 1234567}), "memory_step1234567.png");  // wider than 6
  for (const bool gradient : {false, true}) {
    for (const int64_t step : {0, 7, 200, 999999, 1234567}) {
      const auto name =
          parse_heatmap_name(heatmaps_folder("r") / heatmap_file_name({gradient, step}));
      EXPECT_EQ(name.gradient, gradient) << step;
      EXPECT_EQ(name.step, step) << gradient;
    }
  }
}

TEST(HeatmapName, OtherNamesHaveNoStep) {
  EXPECT_EQ(parse_heatmap_name("memory_step.png").step, -1);
  EXPECT_EQ(parse_heatmap_name("memory_step12a.png").step, -1);
  EXPECT_EQ(parse_heatmap_name("block0_step000001.png").step, -1);
  EXPECT_EQ(parse_heatmap_name("memory_step1234567890123456789.png").step, -1);  // > int64
}

TEST(Layout, RunDirsAndTheirParts) {
  lunar::testing::TempDir dir;
  EXPECT_FALSE(is_run_dir(dir.path()));
  std::ofstream(config_path(dir.path())) << "";
  EXPECT_TRUE(is_run_dir(dir.path()));
  for (const auto* part : {"checkpoints", "tensorboard", "heatmaps"})
    EXPECT_TRUE(is_run_part(part));
  EXPECT_FALSE(is_run_part("seed0"));
}

TEST(Layout, HeatmapsArePngFilesSortedByName) {
  lunar::testing::TempDir dir;
  EXPECT_TRUE(list_heatmaps(dir.path()).empty());  // no folder yet: a live run before step 0
  fs::create_directories(heatmaps_folder(dir.path()));
  for (const auto& name : {heatmap_file_name({false, 20}), heatmap_file_name({true, 10}),
                           heatmap_file_name({false, 10}), std::string("notes.txt")}) {
    std::ofstream(heatmaps_folder(dir.path()) / name) << "";
  }
  const auto heatmaps = list_heatmaps(dir.path());
  ASSERT_EQ(heatmaps.size(), 3u);
  EXPECT_EQ(heatmaps[0].filename(), "memory_grad_step000010.png");
  EXPECT_EQ(heatmaps[1].filename(), "memory_step000010.png");
  EXPECT_EQ(heatmaps[2].filename(), "memory_step000020.png");
}

}  // namespace
