// The lunar binary under test on a command line. Header-only: LUNAR_BINARY is defined per test
// executable (tests/CMakeLists.txt), not for the support library.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "lunar/runs/layout.h"
#include "support/process.h"

namespace lunar::testing {

// The binary's path, for an argument vector.
inline std::string lunar_binary() { return LUNAR_BINARY; }

// The binary's path quoted for /bin/sh: the start of a command line.
inline std::string lunar_command() { return "'" + lunar_binary() + "'"; }

// Runs `lunar <arguments>` with stderr folded into stdout.
inline CommandResult run_lunar(const std::string& arguments) {
  return run_command(lunar_command() + " " + arguments);
}

// The bytes of a run's TensorBoard event files, one after another: for a test that looks for a
// tag or a text in them without decoding the records.
inline std::string tensorboard_bytes(const std::filesystem::path& run_dir) {
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(runs::tensorboard_folder(run_dir))) {
    std::ifstream in(entry.path(), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return bytes;
}

}  // namespace lunar::testing
