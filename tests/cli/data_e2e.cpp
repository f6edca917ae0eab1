// `lunar data listops` and `lunar data check` run as a user would, bad files included.
#include <gtest/gtest.h>

#include "data/data_test_util.h"
#include "support/lunar_cli.h"
#include "support/process.h"

namespace {

using lunar::testing::TempDir;
using lunar::testing::write_text;
namespace fs = std::filesystem;

using lunar::testing::run_lunar;

TEST(DataCli, GenerateThenCheckListOps) {
  TempDir dir;
  const auto out = dir / "listops";
  const lunar::testing::CommandResult generate =
      run_lunar("data listops --out '" + out.string() +
                "' --seed 4 --train 200 --val 20 --test 20 --min-len 20 "
                "--max-len 200");
  ASSERT_EQ(generate.code, 0) << generate.output;
  EXPECT_NE(generate.output.find("200 / 20 / 20"), std::string::npos) << generate.output;
  for (const char* name : {"basic_train.tsv", "basic_val.tsv", "basic_test.tsv"}) {
    EXPECT_TRUE(fs::exists(out / name)) << name;
  }
  const lunar::testing::CommandResult check =
      run_lunar("data check --task listops --path '" + out.string() + "'");
  ASSERT_EQ(check.code, 0) << check.output;
  EXPECT_NE(check.output.find("train"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("200"), std::string::npos) << check.output;
  // Small counts differ from the release, and the report says so.
  EXPECT_NE(check.output.find("the release has 96000"), std::string::npos) << check.output;
  const lunar::testing::CommandResult again =
      run_lunar("data check --task listops --path '" + out.string() + "'");
  EXPECT_NE(again.output.find("(from cache)"), std::string::npos) << again.output;
}

TEST(DataCli, CheckFashionMnist) {
  const fs::path path = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(path / "train-images-idx3-ubyte.gz")) GTEST_SKIP() << path << " is missing";
  TempDir dir;
  const lunar::testing::CommandResult check =
      run_lunar("data check --task fmnist --path " + path.string() + " --cache-dir '" +
                (dir / "cache").string() + "'");
  ASSERT_EQ(check.code, 0) << check.output;
  EXPECT_NE(check.output.find("54000"), std::string::npos) << check.output;
  EXPECT_NE(check.output.find("counts match the release"), std::string::npos) << check.output;
}

TEST(DataCli, BadFilesExitNonZeroWithTheLocation) {
  TempDir dir;
  write_text(dir / "basic_train.tsv", "Source\tTarget\n( ( [SM 5 ) ] )\t5\n( ( [SM 5 ) ] )\tx\n");
  write_text(dir / "basic_val.tsv", "Source\tTarget\n");
  write_text(dir / "basic_test.tsv", "Source\tTarget\n");
  const lunar::testing::CommandResult check =
      run_lunar("data check --task listops --path '" + dir.path().string() + "'");
  EXPECT_EQ(check.code, 1) << check.output;
  EXPECT_NE(check.output.find("basic_train.tsv:3: Target: expected an integer, got 'x'"),
            std::string::npos)
      << check.output;
  const lunar::testing::CommandResult unknown =
      run_lunar("data check --task imagenet --path '" + dir.path().string() + "'");
  EXPECT_EQ(unknown.code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("listops, text, matching"), std::string::npos) << unknown.output;
  const lunar::testing::CommandResult missing =
      run_lunar("data check --task fmnist --path '" + (dir / "none").string() + "'");
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_NE(missing.output.find("none"), std::string::npos) << missing.output;
}

}  // namespace
