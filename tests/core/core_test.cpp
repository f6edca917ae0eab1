// Contract tests for lunar_core: errors, devices, threads, BLAS detection, atomic writes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/core/runtime.h"

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

TEST(Runtime, ParsesDevices) {
  EXPECT_TRUE(lunar::parse_device("cpu").is_cpu());
  EXPECT_THROW(lunar::parse_device("tpu"), lunar::Error);
}

TEST(Runtime, ConfiguresThreads) {
  EXPECT_EQ(lunar::configure_threads(1), 1);
  EXPECT_GE(lunar::configure_threads(0), 1);
}

TEST(Runtime, ReferenceBlasGivesAWarning) {
  EXPECT_FALSE(lunar::blas_warning({"/usr/lib/x86_64-linux-gnu/blas/libblas.so.3", false}).empty());
  EXPECT_TRUE(lunar::blas_warning({"/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3", true})
                  .empty());
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
