// The lunar binary under test on a command line. Header-only: LUNAR_BINARY is defined per test
// executable (tests/CMakeLists.txt), not for the support library.
#pragma once

#include <string>

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

}  // namespace lunar::testing
