// Run configuration, what the repository ships against the key table: every file under configs/
// loads, the LRA configurations carry the research settings, and the key listing is
// docs/configuration.md's table and python/lunar_torch/keys.json.
#include "lunar/train/config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "lunar/core/keys.h"
#include "support/lunar_cli.h"
#include "support/process.h"

namespace {

namespace fs = std::filesystem;
using lunar::train::describe_keys;
using lunar::train::load_config;
using lunar::train::RunConfig;

TEST(ConfigFiles, EveryShippedConfigLoads) {
  const fs::path root = fs::path(LUNAR_SOURCE_DIR) / "configs";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  int count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    // configs/studies holds sweep grids, not run configurations (tests/report checks them).
    if (entry.path().extension() != ".toml" || entry.path().parent_path().filename() == "studies")
      continue;
    SCOPED_TRACE(entry.path().string());
    RunConfig config;
    ASSERT_NO_THROW(config = load_config(entry.path()));
    EXPECT_EQ(load_config(entry.path()), config);
    ++count;
  }
  EXPECT_GE(count, 16 + 4 + 5);  // 4 tasks x 4 models, their bases, the CPU configs
}

TEST(ConfigFiles, LraConfigsCarryTheResearchSettings) {
  const fs::path lra = fs::path(LUNAR_SOURCE_DIR) / "configs" / "lra";
  const RunConfig listops = load_config(lra / "listops" / "luna.toml");
  EXPECT_EQ(listops.model.architecture, "luna");
  EXPECT_EQ(listops.model.num_blocks, 6);
  EXPECT_EQ(listops.model.luna.memory_len, 256);
  EXPECT_EQ(listops.model.input.vocab_size, 17);
  EXPECT_EQ(listops.model.num_classes, 10);
  EXPECT_DOUBLE_EQ(listops.optim.weight_decay, 0.002);
  EXPECT_EQ(listops.schedule.warmup, 1000);
  EXPECT_EQ(listops.train.steps, 50000);
  const RunConfig cifar = load_config(lra / "cifar10" / "convluna.toml");
  EXPECT_EQ(cifar.model.input.embedding, lunar::models::Embedding::pixel);
  EXPECT_EQ(cifar.train.batch_size, 64);
  EXPECT_DOUBLE_EQ(cifar.model.dropout, 0.0);
  EXPECT_EQ(cifar.model.num_blocks, 8);
  const RunConfig matching = load_config(lra / "matching" / "transformer.toml");
  EXPECT_TRUE(matching.model.pair);
  EXPECT_EQ(matching.model.norm,
            lunar::models::Norm::pre);  // LRA's Transformer and the authors' TBlock
  EXPECT_DOUBLE_EQ(matching.optim.lr, 0.015);
  // The research's fixed-length padding wherever masks are off; the masked Transformer pads
  // each batch to its longest example, which computes the same function.
  EXPECT_EQ(listops.task.padding, lunar::data::Padding::max_length);
  EXPECT_EQ(cifar.task.padding, lunar::data::Padding::max_length);
  EXPECT_EQ(matching.task.padding, lunar::data::Padding::longest);
  EXPECT_EQ(load_config(lra / "text" / "luna.toml").task.padding, lunar::data::Padding::max_length);
}

TEST(ConfigKeys, DescribeKeysListsEachKeyOnceWithItsDefault) {
  const auto rows = describe_keys();
  std::set<std::string> keys;
  for (const auto& row : rows) {
    EXPECT_TRUE(keys.insert(row.key).second) << "duplicate " << row.key;
    EXPECT_FALSE(row.description.empty()) << row.key;
    EXPECT_FALSE(row.expected.empty()) << row.key;
  }
  EXPECT_GE(rows.size(), 55u);
  auto find = [&](const std::string& key) {
    for (const auto& row : rows)
      if (row.key == key) return row;
    ADD_FAILURE() << "missing " << key;
    return lunar::train::KeyDescription{};
  };
  EXPECT_EQ(find("train.steps").default_value, "1000");
  EXPECT_EQ(find("train.steps").type, "integer");
  EXPECT_EQ(find("optim.eps").default_value, "1e-08");
  EXPECT_EQ(find("model.norm").default_value, "\"\"");
  EXPECT_EQ(find("diag.heatmap_steps").type, "array of integers");
  EXPECT_EQ(find("run_dir").default_value, "\"runs/default\"");
}

std::string read_source_file(const fs::path& relative) {
  std::ifstream in(fs::path(LUNAR_SOURCE_DIR) / relative);
  EXPECT_TRUE(in) << relative;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The listing of a fresh `lunar` process: the built-in families and tasks only, whatever rows
// other tests of this executable registered (tests/train/toy_family_test.cpp).
std::string builtin_listing() {
  const auto result = lunar::testing::run_lunar("train --list-keys --json");
  EXPECT_EQ(result.code, 0) << result.output;
  return result.output;
}

// TOML text of a JSON default, as to_toml writes it.
std::string toml_text(const nlohmann::json& value, const std::string& type) {
  using lunar::keys::Value;
  if (type == "string") return lunar::keys::format_value(Value{value.get<std::string>()});
  if (type == "float") return lunar::keys::format_value(Value{value.get<double>()});
  if (type == "boolean") return lunar::keys::format_value(Value{value.get<bool>()});
  if (type == "integer") return lunar::keys::format_value(Value{value.get<int64_t>()});
  return lunar::keys::format_value(Value{value.get<std::vector<int64_t>>()});
}

// The docs' rows are the key listing, row for row.
TEST(ConfigKeys, DocumentationRowsAreTheKeyTable) {
  const std::string doc = read_source_file("docs/configuration.md");
  for (const auto& row : nlohmann::json::parse(builtin_listing())) {
    const auto type = row["type"].get<std::string>();
    const std::string line =
        fmt::format("| `{}` | {} | `{}` | {} | {} |\n", row["key"].get<std::string>(), type,
                    toml_text(row["default"], type), row["expected"].get<std::string>(),
                    row["description"].get<std::string>());
    EXPECT_NE(doc.find(line), std::string::npos) << "docs/configuration.md lacks\n" << line;
  }
}

// python/lunar_torch reads its defaults from this listing; the copy it ships is current.
TEST(ConfigKeys, JsonListingIsThePythonPackagesCopy) {
  const std::string json = builtin_listing();
  EXPECT_EQ(read_source_file("python/lunar_torch/keys.json"), json)
      << "regenerate: lunar train --list-keys --json > python/lunar_torch/keys.json";
  EXPECT_NE(json.find("\"key\": \"model.convluna.filter\""), std::string::npos);
  EXPECT_NE(json.find("\"default\": 16"), std::string::npos);  // values, not TOML text
}

TEST(ConfigKeys, EnumeratedKeysListTheirValues) {
  for (const auto& row : describe_keys()) {
    if (row.key == "model.convluna.filter") {
      EXPECT_EQ(row.values, (std::vector<std::string>{"conv", "maxpool"}));
      EXPECT_EQ(row.expected, "one of \"conv\", \"maxpool\"");
    }
    if (row.key == "model.norm") {
      EXPECT_EQ(row.values, (std::vector<std::string>{"", "post", "pre"}));
    }
    if (row.key == "train.steps") {
      EXPECT_TRUE(row.values.empty());
    }
  }
}

}  // namespace
