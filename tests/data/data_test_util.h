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

namespace lunar::testing {

namespace fs = std::filesystem;

// A temporary folder removed when the test ends.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ =
        fs::temp_directory_path() / ("lunar-data-" + std::to_string(::getpid()) + "-" +
                                     std::to_string(counter++) + "-" + (info ? info->name() : "x"));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

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
