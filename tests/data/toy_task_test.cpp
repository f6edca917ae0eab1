// A task added from this file alone, as docs/adding-a-task.md describes: a loader of a small
// release the test writes, one register_task call, then lunar::train runs on it by name.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "data_test_util.h"
#include "lunar/data/input_line.h"
#include "lunar/data/loaders.h"
#include "lunar/data/task.h"
#include "lunar/data/tokenizer.h"
#include "lunar/models/registry.h"
#include "lunar/runs/layout.h"
#include "lunar/runs/metrics_log.h"
#include "lunar/runtime/seed.h"
#include "lunar/train/checkpoint.h"
#include "lunar/train/run.h"
#include "support/expectations.h"

namespace fs = std::filesystem;
using namespace lunar;
using lunar::testing::expect_error;
using lunar::testing::TempDir;
using lunar::testing::throws_data_error;
using lunar::testing::write_text;

namespace {

// The toy release: <path>/{train,val,test}.tsv, one "label<TAB>text" line per example.
const char* const kSplitFiles[] = {"train.tsv", "val.tsv", "test.tsv"};
constexpr int64_t kSplitSizes[] = {96, 32, 32};
constexpr int64_t kToyMaxLength = 24;

// Step 1 of docs/adding-a-task.md: the loader, which reports a bad line as path:line and field.
std::vector<data::Example> read_toy_tsv(const fs::path& path, int64_t max_length) {
  std::vector<data::Example> examples;
  std::ifstream in(path);
  if (!in) throw DataError(path.string(), 0, "", "expected a toy split file, got none");
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const auto tab = line.find('\t');
    if (tab != 1 || (line[0] != '0' && line[0] != '1')) {
      throw DataError(path.string(), number, "label", "expected 0 or 1 and a TAB");
    }
    data::Example example;
    example.label = line[0] - '0';
    example.tokens = data::byte_tokens(std::string_view(line).substr(tab + 1), max_length);
    examples.push_back(std::move(example));
  }
  return examples;
}

std::vector<fs::path> toy_sources(const data::TaskConfig& config) {
  std::vector<fs::path> sources;
  for (const char* file : kSplitFiles) sources.push_back(fs::path(config.path) / file);
  return sources;
}

data::TaskData load_toy(const data::TaskConfig& config) {
  const auto sources = toy_sources(config);
  data::TaskData data;
  data.train = read_toy_tsv(sources[0], config.max_length);
  data.validation = read_toy_tsv(sources[1], config.max_length);
  data.test = read_toy_tsv(sources[2], config.max_length);
  return data;
}

// Step 2: the row.
data::TaskDefinition toy_row(const std::string& name) {
  return {{name, data::kByteVocabSize, 2, kToyMaxLength, false, false},
          toy_sources,
          load_toy,
          [](const data::TaskConfig&) {
            return data::SplitCounts{kSplitSizes[0], kSplitSizes[1], kSplitSizes[2]};
          },
          data::byte_tokens};
}

// Registering twice would throw, so every test goes through this.
void register_toy_task() {
  static const bool registered = [] {
    data::register_task(toy_row("toy"));
    return true;
  }();
  EXPECT_TRUE(registered);
}

// Label 1 iff the text holds a 'z'; the other letters come from "abcde". Balanced.
void write_toy_release(const fs::path& folder) {
  uint64_t state = 12345;
  for (int split = 0; split < 3; ++split) {
    std::string contents;
    for (int64_t i = 0; i < kSplitSizes[split]; ++i) {
      std::string text;
      const int length = 4 + static_cast<int>(i % 17);
      for (int t = 0; t < length; ++t) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        text += "abcde"[(state >> 33) % 5];
      }
      const int label = static_cast<int>(i % 2);
      if (label == 1) text[(state >> 40) % text.size()] = 'z';
      contents += std::to_string(label) + "\t" + text + "\n";
    }
    write_text(folder / kSplitFiles[split], contents);
  }
}

data::TaskConfig toy_config(const TempDir& dir) {
  data::TaskConfig config;
  config.name = "toy";
  config.path = (dir / "release").string();
  config.cache_dir = (dir / "cache").string();
  write_toy_release(config.path);
  return config;
}

}  // namespace

TEST(ToyTask, ItsRowIsInTheTable) {
  register_toy_task();
  const auto names = data::task_names();
  ASSERT_FALSE(names.empty());
  EXPECT_EQ(names.back(), "toy");
  EXPECT_EQ(data::task_info("toy").max_length, kToyMaxLength);
  EXPECT_EQ(data::task_info("toy").vocab_size, data::kByteVocabSize);
  expect_error([] { data::register_task(toy_row("toy")); }, "'toy', which is taken");
  auto incomplete = toy_row("toy2");
  incomplete.expected = {};
  expect_error([&] { data::register_task(incomplete); }, "expected sources, load and expected");
  // A row's own option may not reuse a key: here Pathfinder's, which the table already lists.
  auto clash = toy_row("toy3");
  clash.options.push_back(data::pathfinder_difficulty_key());
  expect_error([&] { data::register_task(clash); },
               "expected options with new key names, got task.pathfinder_difficulty");
  EXPECT_EQ(data::task_names().back(), "toy");
}

TEST(ToyTask, LoadsTheSplitSizesItDeclares) {
  register_toy_task();
  TempDir dir;
  const auto config = toy_config(dir);
  const auto expected = data::expected_counts(config);
  const auto data = data::load_task(config);
  EXPECT_FALSE(data.from_cache);
  EXPECT_EQ(static_cast<int64_t>(data.train.size()), expected.train);
  EXPECT_EQ(static_cast<int64_t>(data.validation.size()), expected.validation);
  EXPECT_EQ(static_cast<int64_t>(data.test.size()), expected.test);
  EXPECT_EQ(data.info.max_length, kToyMaxLength);  // max_length 0 took the row's default
  for (const auto& example : data.train) {
    EXPECT_LE(static_cast<int64_t>(example.tokens.size()), kToyMaxLength);
  }
  const auto again = data::load_task(config);  // the binary cache serves registered tasks too
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.train.size(), data.train.size());
}

TEST(ToyTask, BadLineNamesPathLineAndField) {
  register_toy_task();
  TempDir dir;
  auto config = toy_config(dir);
  config.cache_dir = "off";
  write_text(fs::path(config.path) / "val.tsv", "1\tabz\nyes\tabc\n");
  EXPECT_TRUE(throws_data_error([&] { data::load_task(config); },
                                {"val.tsv:2", "label", "expected 0 or 1"}));
}

TEST(ToyTask, PredictInputGoesThroughTheRowTokenizer) {
  register_toy_task();
  const auto example = data::parse_input_line(data::task_info("toy"), "abz", 2, "stdin", 1);
  EXPECT_EQ(example.tokens, data::byte_tokens("ab", 0));
}

// Step 3: lunar::train trains on the task by name, as `lunar train` would with task.name = "toy".
TEST(ToyTask, TrainsThroughTheTrainingApi) {
  register_toy_task();
  TempDir dir;
  train::RunConfig config;
  config.task = toy_config(dir);
  config.run_dir = (dir / "run").string();
  config.model.dim = 16;
  config.model.num_heads = 2;
  config.model.ffn_dim = 32;
  config.model.num_blocks = 1;
  config.model.luna.memory_len = 4;
  config.optim.lr = 0.01;
  config.schedule.warmup = 5;
  config.train.steps = 20;
  config.train.batch_size = 16;
  config.train.eval_every = 10;
  config.train.log_every = 5;
  config.train.seed = 3;
  config.runtime.threads = 1;

  const auto summary = train::run_training(config, {});
  EXPECT_EQ(summary.steps, 20);
  EXPECT_FALSE(summary.interrupted);
  EXPECT_GE(summary.test_accuracy_last, 0.0);
  EXPECT_LE(summary.test_accuracy_last, 1.0);

  int64_t train_lines = 0;
  for (const auto& record : runs::read_metrics_log(runs::metrics_path(config.run_dir))) {
    if (record.split != "train") continue;
    ++train_lines;
    EXPECT_TRUE(std::isfinite(record.values.at("loss"))) << "step " << record.step;
  }
  EXPECT_EQ(train_lines, 4);

  // The weights at the last step differ from the ones the run started from (same seed).
  train::apply_task_facts(config, data::task_info("toy"));
  seed_everything(config.train.seed);
  auto initial = models::build_model(config.model);
  seed_everything(config.train.seed);
  auto trained = models::build_model(config.model);
  train::load_checkpoint(runs::last_checkpoint(config.run_dir), *trained, nullptr);
  const auto before = initial->parameters();
  const auto after = trained->parameters();
  ASSERT_EQ(before.size(), after.size());
  int64_t changed = 0;
  for (size_t i = 0; i < before.size(); ++i) changed += !before[i].equal(after[i]);
  EXPECT_GT(changed, 0);
}
