// Helpers for the data tests: a fresh temporary folder per test and small file writers.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>

#include "lunar/core/error.h"
#include "support/temp_dir.h"

namespace lunar::testing {

namespace fs = std::filesystem;

inline void write_text(const fs::path& path, const std::string& contents) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Passes when `action` throws lunar::DataError whose message contains every fragment.
inline ::testing::AssertionResult throws_data_error(const std::function<void()>& action,
                                                    std::initializer_list<std::string> fragments) {
  try {
    action();
  } catch (const DataError& error) {
    const std::string message = error.what();
    for (const auto& fragment : fragments) {
      if (message.find(fragment) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message '" << message << "' lacks '" << fragment << "'";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& error) {
    return ::testing::AssertionFailure() << "expected lunar::DataError, got: " << error.what();
  }
  return ::testing::AssertionFailure() << "expected lunar::DataError, got no exception";
}

}  // namespace lunar::testing
