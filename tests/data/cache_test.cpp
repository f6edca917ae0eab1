// The binary cache: a round trip equals a fresh parse; changed sources and corrupt files are
// detected and rebuilt; "off" writes nothing; the default folder is the user's cache folder;
// limit caps every split.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "data_test_util.h"
#include "lunar/data/cache.h"
#include "lunar/data/listops_generator.h"
#include "lunar/data/task.h"

namespace lunar::data {
namespace {

using lunar::testing::read_text;
using lunar::testing::TempDir;
using lunar::testing::write_text;
namespace fs = std::filesystem;

bool same_examples(const std::vector<Example>& a, const std::vector<Example>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].label != b[i].label || a[i].tokens != b[i].tokens || a[i].tokens2 != b[i].tokens2) {
      return false;
    }
  }
  return true;
}

bool same_task(const TaskData& a, const TaskData& b) {
  return same_examples(a.train, b.train) && same_examples(a.validation, b.validation) &&
         same_examples(a.test, b.test);
}

TaskConfig listops_config(const TempDir& dir) {
  ListOpsOptions options;
  options.num_train = 60;
  options.num_val = 10;
  options.num_test = 10;
  options.min_length = 20;
  options.max_length = 100;
  write_listops(options, dir / "listops");
  TaskConfig config;
  config.name = "listops";
  config.path = (dir / "listops").string();
  config.cache_dir = (dir / "cache").string();
  return config;
}

std::vector<fs::path> cache_files(const fs::path& folder) {
  std::vector<fs::path> files;
  if (!fs::exists(folder)) return files;
  for (const auto& entry : fs::directory_iterator(folder)) files.push_back(entry.path());
  return files;
}

TEST(Cache, RoundTripEqualsAFreshParse) {
  TempDir dir;
  TaskConfig config = listops_config(dir);
  const TaskData first = load_task(config);
  EXPECT_FALSE(first.from_cache);
  ASSERT_EQ(cache_files(dir / "cache").size(), 1u);
  const TaskData second = load_task(config);
  EXPECT_TRUE(second.from_cache);
  EXPECT_TRUE(same_task(first, second));
  EXPECT_EQ(second.info.vocab_size, 17);
  config.cache_dir = "off";
  EXPECT_TRUE(same_task(load_task(config), second));

  // A different max length is a different key, hence a second file.
  config.cache_dir = (dir / "cache").string();
  config.max_length = 30;
  const TaskData shorter = load_task(config);
  EXPECT_FALSE(shorter.from_cache);
  EXPECT_EQ(shorter.info.max_length, 30);
  EXPECT_EQ(cache_files(dir / "cache").size(), 2u);
}

TEST(Cache, ModifiedSourceInvalidates) {
  TempDir dir;
  const TaskConfig config = listops_config(dir);
  const TaskData before = load_task(config);
  const auto path = dir / "listops" / "basic_test.tsv";
  write_text(path, "Source\tTarget\n( ( [SM 5 ) ] )\t5\n");
  fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(5));
  const TaskData after = load_task(config);
  EXPECT_FALSE(after.from_cache);
  ASSERT_EQ(after.test.size(), 1u);
  EXPECT_EQ(after.test[0].label, 5);
  EXPECT_TRUE(same_examples(after.train, before.train));
  EXPECT_TRUE(load_task(config).from_cache);
}

TEST(Cache, CorruptFilesAreRebuiltNotTrusted) {
  TempDir dir;
  const TaskConfig config = listops_config(dir);
  const TaskData fresh = load_task(config);
  const auto file = cache_files(dir / "cache").at(0);
  const std::string good = read_text(file);

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;  // payload byte: the checksum catches it
  write_text(file, flipped);
  TaskData loaded = load_task(config);
  EXPECT_FALSE(loaded.from_cache);
  EXPECT_TRUE(same_task(loaded, fresh));
  EXPECT_EQ(read_text(file), good);  // rebuilt

  write_text(file, good.substr(0, good.size() - 7));  // truncated
  EXPECT_FALSE(load_task(config).from_cache);
  std::string magic = good;
  magic[0] = 'X';
  write_text(file, magic);
  EXPECT_FALSE(load_task(config).from_cache);
  std::string version = good;
  version[8] = 99;
  write_text(file, version);
  EXPECT_FALSE(load_task(config).from_cache);
  EXPECT_TRUE(load_task(config).from_cache);
  EXPECT_FALSE(read_cache(file, 12345).has_value());  // another key
}

// Restores an environment variable when it goes out of scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) saved_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (saved_) {
      setenv(name_, saved_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(Cache, OffWritesNothingAndTheDefaultIsTheUsersCacheFolder) {
  TempDir dir;
  const ScopedEnv xdg("XDG_CACHE_HOME", (dir / "xdg").c_str());
  TaskConfig config = listops_config(dir);
  config.cache_dir = "off";
  load_task(config);
  EXPECT_FALSE(fs::exists(dir / "xdg"));
  config.cache_dir = "";
  load_task(config);
  EXPECT_EQ(cache_files(dir / "xdg" / "lunar").size(), 1u);
  EXPECT_TRUE(load_task(config).from_cache);
  // Nothing is written into the dataset's folder.
  for (const auto& entry : fs::recursive_directory_iterator(dir / "listops")) {
    EXPECT_EQ(entry.path().extension(), ".tsv") << entry.path();
  }
  // Without XDG_CACHE_HOME (or with a relative one, which the specification says to ignore):
  // ~/.cache/lunar; with neither variable, no cache.
  const ScopedEnv relative("XDG_CACHE_HOME", "relative/cache");
  const ScopedEnv home("HOME", (dir / "home").c_str());
  EXPECT_EQ(cache_folder(config), dir / "home" / ".cache" / "lunar");
  const ScopedEnv no_home("HOME", nullptr);
  EXPECT_EQ(cache_folder(config), fs::path());
  EXPECT_FALSE(load_task(config).from_cache);
}

TEST(Cache, LimitCapsEverySplit) {
  TempDir dir;
  TaskConfig config = listops_config(dir);
  config.limit = 7;
  const TaskData data = load_task(config);
  EXPECT_EQ(data.train.size(), 7u);
  EXPECT_EQ(data.validation.size(), 7u);
  EXPECT_EQ(data.test.size(), 7u);
  config.limit = 0;
  EXPECT_EQ(load_task(config).train.size(), 60u);  // the cache holds the full splits
}

}  // namespace
}  // namespace lunar::data
