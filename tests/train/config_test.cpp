// Run configuration: defaults, loading, includes, overrides, errors and the to_toml round trip.
#include "lunar/train/config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "lunar/core/error.h"
#include "lunar/core/keys.h"
#include "support/process.h"

namespace {

namespace fs = std::filesystem;
using lunar::DataError;
using lunar::train::apply_override;
using lunar::train::apply_overrides;
using lunar::train::describe_keys;
using lunar::train::load_config;
using lunar::train::RunConfig;
using lunar::train::to_toml;

// A fresh folder per test, removed afterwards.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("lunar_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& contents) {
    const fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
    return path;
  }

  fs::path dir_;
};

// Runs `action`, expects a DataError, and returns its message.
template <typename Action>
std::string data_error_message(Action action) {
  try {
    action();
  } catch (const DataError& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected a lunar::DataError";
  return "";
}

TEST(ConfigDefaults, MatchTheDocumentedValues) {
  const RunConfig config;
  EXPECT_EQ(config.optim.name, lunar::train::OptimizerKind::adamw);
  EXPECT_DOUBLE_EQ(config.optim.lr, 0.005);
  EXPECT_DOUBLE_EQ(config.optim.weight_decay, 0.01);
  EXPECT_DOUBLE_EQ(config.optim.grad_clip, 0.0);
  EXPECT_EQ(config.schedule.kind, lunar::train::ScheduleKind::rsqrt);
  EXPECT_EQ(config.schedule.warmup, 1000);
  EXPECT_EQ(config.train.steps, 1000);
  EXPECT_EQ(config.train.batch_size, 32);
  EXPECT_EQ(config.train.micro_batch, 0);
  EXPECT_EQ(config.train.eval_every, 200);
  EXPECT_EQ(config.runtime.device, "cpu");
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::fp32);
  EXPECT_EQ(config.diag.every, 0);
  EXPECT_TRUE(config.diag.heatmap_steps.empty());
  EXPECT_EQ(config.run_dir, "runs/default");
  EXPECT_EQ(config.model.architecture, "convluna");
  EXPECT_EQ(config.model.luna.memory_len, 16);
  EXPECT_NO_THROW(lunar::train::validate(config));
}

TEST_F(ConfigTest, EmptyFileGivesDefaults) {
  EXPECT_EQ(load_config(write("empty.toml", "")), RunConfig{});
}

TEST_F(ConfigTest, LoadsEveryTable) {
  const auto path = write("run.toml", R"(run_dir = "runs/x"
[model]
architecture = "luna"
dim = 64
num_heads = 2
dropout = 0
norm = "pre"
pair = true
[model.input]
embedding = "pixel"
max_length = 784
[model.luna]
memory_len = 256
sharing = "none"
[model.convluna]
filter = "maxpool"
kernel = 2
stride = 2
[task]
name = "fmnist"
path = "/usr/share/datasets/fashion-mnist"
limit = 100
[optim]
lr = 1
weight_decay = 0.04
grad_clip = 1.5
[schedule]
kind = "cosine"
warmup = 10
min_lr = 1e-5
[train]
steps = 10
batch_size = 64
micro_batch = 16
seed = 7
bucket_by_length = true
[runtime]
device = "cuda:1"
precision = "bf16"
threads = 2
[diag]
every = 5
heatmap_steps = [0, 5, 10]
)");
  const RunConfig config = load_config(path);
  EXPECT_EQ(config.run_dir, "runs/x");
  EXPECT_EQ(config.model.architecture, "luna");
  EXPECT_EQ(config.model.dim, 64);
  EXPECT_EQ(config.model.num_heads, 2);
  EXPECT_DOUBLE_EQ(config.model.dropout, 0.0);
  EXPECT_EQ(config.model.norm, lunar::models::Norm::pre);
  EXPECT_TRUE(config.model.pair);
  EXPECT_EQ(config.model.input.embedding, lunar::models::Embedding::pixel);
  EXPECT_EQ(config.model.input.max_length, 784);
  EXPECT_EQ(config.model.luna.memory_len, 256);
  EXPECT_EQ(config.model.luna.sharing, lunar::models::Sharing::none);
  EXPECT_EQ(config.model.convluna.filter, lunar::nn::FilterKind::maxpool);
  EXPECT_EQ(config.model.convluna.kernel, 2);
  EXPECT_EQ(config.task.name, "fmnist");
  EXPECT_EQ(config.task.limit, 100);
  EXPECT_DOUBLE_EQ(config.optim.lr, 1.0);  // an integer is accepted for a float key
  EXPECT_DOUBLE_EQ(config.optim.grad_clip, 1.5);
  EXPECT_EQ(config.schedule.kind, lunar::train::ScheduleKind::cosine);
  EXPECT_DOUBLE_EQ(config.schedule.min_lr, 1e-5);
  EXPECT_EQ(config.train.steps, 10);
  EXPECT_EQ(config.train.micro_batch, 16);
  EXPECT_EQ(config.train.seed, 7u);
  EXPECT_TRUE(config.train.bucket_by_length);
  EXPECT_EQ(config.runtime.device, "cuda:1");
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::bf16);
  EXPECT_EQ(config.diag.every, 5);
  EXPECT_EQ(config.diag.heatmap_steps, (std::vector<int64_t>{0, 5, 10}));
  // Keys the file leaves out keep their defaults.
  EXPECT_EQ(config.model.ffn_dim, RunConfig{}.model.ffn_dim);
  EXPECT_EQ(config.train.eval_every, RunConfig{}.train.eval_every);
}

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
  EXPECT_EQ(listops.task.padding, "max_length");
  EXPECT_EQ(cifar.task.padding, "max_length");
  EXPECT_EQ(matching.task.padding, "longest");
  EXPECT_EQ(load_config(lra / "text" / "luna.toml").task.padding, "max_length");
}

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
  const auto result = lunar::testing::run_command(LUNAR_BINARY " train --list-keys --json");
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

TEST(ConfigOverride, BareStringsNumbersArraysAndNestedKeys) {
  RunConfig config;
  apply_override(config, "model.architecture=luna");
  apply_override(config, "model.luna.memory_len=256");
  apply_override(config, "train.steps = 100");
  apply_override(config, "runtime.precision=bf16");
  apply_override(config, "runtime.device=\"cuda:0\"");
  apply_override(config, "diag.heatmap_steps=[0,100]");
  apply_override(config, "optim.lr=2e-3");
  apply_override(config, "optim.weight_decay=0");
  apply_override(config, "train.bucket_by_length=true");
  apply_override(config, "task.path=data/lra/listops-1000");
  apply_override(config, "run_dir=2024");  // string keys take the text as written
  apply_override(config, "model.norm=");
  apply_override(config, "model.convluna={kernel = 8, filter = \"maxpool\"}");
  EXPECT_EQ(config.model.architecture, "luna");
  EXPECT_EQ(config.model.luna.memory_len, 256);
  EXPECT_EQ(config.train.steps, 100);
  EXPECT_EQ(config.runtime.precision, lunar::train::Precision::bf16);
  EXPECT_EQ(config.runtime.device, "cuda:0");
  EXPECT_EQ(config.diag.heatmap_steps, (std::vector<int64_t>{0, 100}));
  EXPECT_DOUBLE_EQ(config.optim.lr, 2e-3);
  EXPECT_DOUBLE_EQ(config.optim.weight_decay, 0.0);
  EXPECT_TRUE(config.train.bucket_by_length);
  EXPECT_EQ(config.task.path, "data/lra/listops-1000");
  EXPECT_EQ(config.run_dir, "2024");
  EXPECT_EQ(config.model.norm, lunar::models::Norm::automatic);
  EXPECT_EQ(config.model.convluna.kernel, 8);
  EXPECT_EQ(config.model.convluna.filter, lunar::nn::FilterKind::maxpool);
}

TEST(ConfigOverride, RelationsAreCheckedAfterAllAssignments) {
  RunConfig config;
  config.train.batch_size = 32;
  config.train.micro_batch = 32;
  // 48 % 32 != 0 in between, but the final state is valid.
  apply_overrides(config, {"train.batch_size=48", "train.micro_batch=16"});
  EXPECT_EQ(config.train.batch_size, 48);
  EXPECT_EQ(config.train.micro_batch, 16);
  const std::string message =
      data_error_message([&] { apply_override(config, "train.micro_batch=5"); });
  EXPECT_NE(message.find("--set: train.micro_batch: expected 0 or a divisor of train.batch_size"),
            std::string::npos)
      << message;
  EXPECT_EQ(config.train.micro_batch, 16);  // a failed override leaves the config unchanged
}

TEST(ConfigOverride, ErrorsNameTheSourceAndTheKey) {
  RunConfig config;
  std::string message = data_error_message([&] { apply_override(config, "train.stpes=5"); });
  EXPECT_NE(message.find("--set: train.stpes: unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean train.steps?"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "train.steps=-5"); });
  EXPECT_NE(message.find("--set: train.steps: expected a positive integer, got -5"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "train.steps=many"); });
  EXPECT_NE(message.find("train.steps: expected a positive integer, got \"many\""),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "runtime.precision=fp16"); });
  EXPECT_NE(message.find("runtime.precision: expected one of \"fp32\", \"bf16\""),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "model.convluna.filter=maxpol"); });
  EXPECT_NE(message.find("model.convluna.filter: expected one of \"conv\", \"maxpool\", got "
                         "\"maxpol\" (did you mean maxpool?)"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "runtime.device=cuda:x"); });
  EXPECT_NE(message.find("runtime.device"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "diag.heatmap_steps=[0,-1]"); });
  EXPECT_NE(message.find("diag.heatmap_steps: expected an array of non-negative integers"),
            std::string::npos)
      << message;

  message = data_error_message([&] { apply_override(config, "no equals sign"); });
  EXPECT_NE(message.find("expected key=value"), std::string::npos) << message;

  message = data_error_message([&] { apply_override(config, "model=3"); });
  EXPECT_NE(message.find("--set: model: expected a key inside [model]"), std::string::npos)
      << message;
  EXPECT_EQ(config, RunConfig{});
}

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

TEST_F(ConfigTest, IncludeAppliesTheBaseFirst) {
  write("base/common.toml", "[train]\nsteps = 50\nbatch_size = 16\n[model]\ndim = 32\n");
  write("base/task.toml", "include = \"common.toml\"\n[train]\nbatch_size = 8\n");
  const auto path = write(
      "run.toml", "include = \"base/task.toml\"\n[train]\nsteps = 7\n[model]\nnum_heads = 8\n");
  const RunConfig config = load_config(path);
  EXPECT_EQ(config.train.steps, 7);       // the file's own key wins
  EXPECT_EQ(config.train.batch_size, 8);  // the nearer include wins
  EXPECT_EQ(config.model.dim, 32);        // from two levels down, relative to base/
  EXPECT_EQ(config.model.num_heads, 8);
}

TEST_F(ConfigTest, IncludeArrayAppliesInOrder) {
  write("a.toml", "[train]\nsteps = 1\nlog_every = 3\n");
  write("b.toml", "[train]\nsteps = 2\n");
  const RunConfig config = load_config(write("run.toml", "include = [\"a.toml\", \"b.toml\"]\n"));
  EXPECT_EQ(config.train.steps, 2);
  EXPECT_EQ(config.train.log_every, 3);
}

TEST_F(ConfigTest, IncludeCycleIsAnError) {
  write("a.toml", "include = \"b.toml\"\n");
  write("b.toml", "\ninclude = \"a.toml\"\n");
  const std::string message = data_error_message([&] { load_config(dir_ / "a.toml"); });
  EXPECT_NE(message.find("b.toml:2: include: expected no include cycle"), std::string::npos)
      << message;

  const auto self = write("self.toml", "include = \"self.toml\"\n");
  EXPECT_THROW(load_config(self), DataError);
}

TEST_F(ConfigTest, ErrorsInsideAnIncludeNameTheIncludedFile) {
  write("base.toml", "[optim]\nlr = -1.0\n");
  const auto missing = write("missing.toml", "include = \"nowhere.toml\"\n");
  std::string message =
      data_error_message([&] { load_config(write("run.toml", "include = \"base.toml\"\n")); });
  EXPECT_NE(
      message.find((dir_ / "base.toml").string() + ":2: optim.lr: expected a positive number"),
      std::string::npos)
      << message;
  message = data_error_message([&] { load_config(missing); });
  EXPECT_NE(message.find(missing.string() + ":1: include: expected a readable TOML file"),
            std::string::npos)
      << message;
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
