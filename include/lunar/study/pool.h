// A process pool: runs commands N at a time, each in its own process group with its output in
// its log file, passes a stop signal on once and tells how each command ended.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lunar/core/process.h"

namespace lunar::study {

struct PoolCommand {
  std::vector<std::string> args;  // args[0] is the program's path
  std::filesystem::path log;      // stdout and stderr, appended; its folder is created
};

enum class Outcome {
  kDone,         // exited with status 0
  kFailed,       // any other end
  kInterrupted,  // after the stop: exited with a status above 128 (saved its state and left) or
                 // killed by the signal passed on (before its handlers were in place)
};

struct CommandEnd {
  size_t index = 0;  // into the commands
  Outcome outcome = Outcome::kFailed;
  ExitStatus status;
  double seconds = 0.0;  // from its start to its end
};

// "exit status 3" or "signal 9".
std::string describe_exit(const ExitStatus& status);

struct PoolOptions {
  int jobs = 1;  // commands at once
  // Polled between waits: SIGINT or SIGTERM to pass on to the running commands, once; 0 while
  // none. After it no command starts.
  std::function<int()> stop_signal;
  std::function<void(size_t index)> on_start;
  std::function<void(const CommandEnd& end)> on_end;
};

// Runs `commands` in order, stdin from /dev/null, until all ended or the stop. In its own process
// group a command does not see a Ctrl-C at the terminal; the pool passes the stop on once (a
// second SIGINT would kill a run in the middle of its checkpoint). Returns the signal passed on,
// 0 when none.
int run_pool(const std::vector<PoolCommand>& commands, const PoolOptions& options);

}  // namespace lunar::study
