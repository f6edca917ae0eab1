// What the run configuration tests share: a fixture with a fresh folder to write TOML files in,
// and the message of the DataError an action throws.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "lunar/core/error.h"

namespace lunar::train::testing {

namespace fs = std::filesystem;

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

}  // namespace lunar::train::testing
