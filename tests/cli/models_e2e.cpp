// `lunar models`: the table as people read it, and as JSON for programs, whose checked-in copy
// (python/lunar_torch/architectures.json, read by the PyTorch port) must be current.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <string>

#include "support/lunar_cli.h"
#include "support/process.h"

namespace {

using lunar::testing::run_lunar;

TEST(ModelsCli, JsonListingIsTheCheckedInCopy) {
  const auto listed = run_lunar("models --json");
  ASSERT_EQ(listed.code, 0) << listed.output;
  std::ifstream in(std::string(LUNAR_SOURCE_DIR) + "/python/lunar_torch/architectures.json");
  ASSERT_TRUE(in);
  const std::string copy((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(copy, listed.output)
      << "regenerate: lunar models --json > python/lunar_torch/architectures.json";

  const auto rows = nlohmann::json::parse(listed.output);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[1]["name"], "luna");
  EXPECT_EQ(rows[1]["default_norm"], "post");
  EXPECT_EQ(rows[1]["has_memory"], true);
  EXPECT_EQ(rows[0]["default_masks"], true);  // the LRA Transformer masks padding
  EXPECT_EQ(rows[3]["options"].size(), 7u);   // convluna: memory_len and its six keys
}

TEST(ModelsCli, TextNamesEachFamilysOptionsWithTheirValues) {
  const auto listed = run_lunar("models --dim 32 --heads 2 --ffn 64 --blocks 1 --memory 4");
  ASSERT_EQ(listed.code, 0) << listed.output;
  for (const char* expected :
       {"luna.memory_len, luna.sharing (full|none); defaults: norm=post, masks=off",
        "convluna.filter (conv|maxpool)",
        "none beyond the common keys; defaults: norm=pre, masks=on",
        "Parameter counts for d=32, heads=2"}) {
    EXPECT_NE(listed.output.find(expected), std::string::npos) << expected << "\n" << listed.output;
  }
}

}  // namespace
