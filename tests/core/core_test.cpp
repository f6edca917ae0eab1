// Contract tests for lunar_core: errors, spelling, atomic writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/core/spelling.h"

namespace fs = std::filesystem;

TEST(Error, DataErrorNamesPathLineAndField) {
  lunar::DataError error("data/x.tsv", 12, "label", "expected an integer, got 'abc'");
  EXPECT_STREQ(error.what(), "data/x.tsv:12: label: expected an integer, got 'abc'");
  EXPECT_EQ(error.line(), 12);
  EXPECT_EQ(error.field(), "label");
}

TEST(Error, CheckFormatsMessage) {
  EXPECT_NO_THROW(lunar::check(true, "never {}", 1));
  try {
    lunar::check(false, "[model] expected memory_len >= 1, got {}", 0);
    FAIL() << "check did not throw";
  } catch (const lunar::Error& error) {
    EXPECT_STREQ(error.what(), "[model] expected memory_len >= 1, got 0");
  }
}

TEST(Spelling, EditDistanceAndTheClosestName) {
  EXPECT_EQ(lunar::edit_distance("kitten", "sitting"), 3u);  // the textbook case
  EXPECT_EQ(lunar::edit_distance("", "abc"), 3u);
  const std::vector<std::string> commands = {"train", "eval", "predict", "sweep"};
  EXPECT_EQ(lunar::closest_spelling("trian", commands), std::optional<std::string>("train"));
  EXPECT_EQ(lunar::closest_spelling("swep", commands), std::optional<std::string>("sweep"));
  EXPECT_FALSE(lunar::closest_spelling("xyzzy", commands).has_value());  // nothing close
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  const fs::path dir = fs::temp_directory_path() / "lunar_atomic_test";
  fs::remove_all(dir);
  lunar::write_atomically(dir / "out.txt", std::string("hello"));
  std::ifstream in(dir / "out.txt");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "hello");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(AtomicFile, FailedWriteKeepsOldContents) {
  const fs::path dir = fs::temp_directory_path() / "lunar_atomic_test2";
  fs::remove_all(dir);
  lunar::write_atomically(dir / "out.txt", std::string("old"));
  EXPECT_THROW(lunar::write_atomically(dir / "out.txt",
                                       [](std::ostream& out) {
                                         out << "partial";
                                         throw lunar::Error("disk full");
                                       }),
               lunar::Error);
  std::ifstream in(dir / "out.txt");
  std::string text;
  in >> text;
  EXPECT_EQ(text, "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}
