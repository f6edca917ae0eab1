// Running a command line from a test (the lunar CLI, Python) and capturing what it prints.
#pragma once

#include <string>

namespace lunar::testing {

struct CommandResult {
  int code;            // exit status, -1 when the command did not exit normally
  std::string output;  // stdout and stderr together
};

// Runs `command` through /bin/sh with stderr folded into stdout.
CommandResult run_command(const std::string& command);

}  // namespace lunar::testing
