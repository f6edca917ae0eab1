// The installed package: `cmake --install` puts the build into a temporary prefix, the example
// program examples/classify is built against it with find_package(lunar), and it classifies as
// `lunar predict` does.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/listops_suite.h"
#include "support/lunar_cli.h"
#include "support/predictions.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using lunar::testing::parse_predictions;
using lunar::testing::run_command;

TEST(Install, ExampleBuiltAgainstTheInstalledPackageClassifiesAsPredict) {
  const lunar::testing::TempDir dir;
  const std::string lunar = lunar::testing::lunar_binary();
  const std::string cmake = LUNAR_CMAKE;
  ASSERT_EQ(lunar::testing::generate_listops(dir / "data", {2, 64, 16, 16, 20, 60}), "");
  const auto trained = run_command(
      lunar + " train --config " LUNAR_SOURCE_DIR "/configs/cpu/listops_convluna.toml --run-dir " +
      (dir / "run").string() + " --threads 1 --set task.path=" + (dir / "data").string() +
      " task.max_length=60 model.dim=32 model.ffn_dim=64 model.num_blocks=1 train.steps=4"
      " train.eval_every=2 'diag.heatmap_steps=[]'");
  ASSERT_EQ(trained.code, 0) << trained.output;

  const auto prefix = dir / "prefix";
  const auto installed =
      run_command(cmake + " --install " LUNAR_BUILD_DIR " --prefix " + prefix.string());
  ASSERT_EQ(installed.code, 0) << installed.output;
  for (const char* file :
       {"lib/cmake/lunar/lunarConfig.cmake", "lib/cmake/lunar/lunarTargets.cmake",
        "include/lunar/train/classifier.h", "lib/liblunar_train.a", "bin/lunar",
        "share/lunar/python/lunar_torch/__init__.py"}) {
    EXPECT_TRUE(fs::exists(prefix / file)) << file;
  }
  const auto build = dir / "build";
  const auto configured = run_command(cmake + " -S " LUNAR_SOURCE_DIR "/examples/classify -B " +
                                      build.string() + " -DCMAKE_PREFIX_PATH=" + prefix.string());
  ASSERT_EQ(configured.code, 0) << configured.output;
  const auto built = run_command(cmake + " --build " + build.string());
  ASSERT_EQ(built.code, 0) << built.output;

  const auto input = dir / "input.txt";
  std::ofstream(input) << "( ( [MAX 2 ) 9 ) ] )\n( ( [MIN 4 ) 7 ) ] )\n( [SM 3 5 ] )\n";
  const auto checkpoint = (dir / "run" / "checkpoints" / "best.pt").string();
  const auto classified =
      run_command((build / "classify").string() + " " + checkpoint + " < " + input.string());
  ASSERT_EQ(classified.code, 0) << classified.output;
  const auto predicted =
      run_command(lunar + " predict --checkpoint " + checkpoint + " --input " + input.string());
  ASSERT_EQ(predicted.code, 0) << predicted.output;
  // The example prints the predicted class's probability; predict prints all of them.
  const auto example = parse_predictions(classified.output);
  const auto reference = parse_predictions(predicted.output);
  ASSERT_EQ(example.size(), 3u) << classified.output;
  ASSERT_EQ(reference.size(), 3u) << predicted.output;
  for (size_t i = 0; i < example.size(); ++i) {
    EXPECT_EQ(example[i].label, reference[i].label) << i;
    ASSERT_EQ(example[i].values.size(), 1u);
    EXPECT_NEAR(example[i].values[0], reference[i].values.at(reference[i].label), 1e-6) << i;
  }
  // A bad input is an error naming its position.
  std::ofstream(input) << "( [MAX 2 9 ] )\n\n";
  const auto refused =
      run_command((build / "classify").string() + " " + checkpoint + " < " + input.string());
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_NE(refused.output.find("<stdin>:2"), std::string::npos) << refused.output;
}

}  // namespace
