// `lunar launch`: starts N local ranks of one command with the distributed-run variables set,
// forwards their output line by line, and stops the others when one fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lunar::dist {

struct LaunchOptions {
  int64_t nproc = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 0;  // 0 = a free port chosen on the loopback interface
  std::string program;      // executable to start (the lunar binary)
  std::vector<std::string> arguments;
  std::chrono::milliseconds grace{5000};  // after SIGTERM, until SIGKILL
  // Receives each line (without its newline) a rank wrote to stdout or stderr.
  std::function<void(int64_t rank, bool is_stderr, const std::string& line)> on_line;
};

struct RankExit {
  int64_t rank = 0;
  std::string how;  // "exited with status 1", "was killed by signal 9"
};

struct LaunchResult {
  int64_t master_port = 0;
  // Ranks that did not exit with status 0, in the order their ends were seen; the first one
  // caused the others to be stopped.
  std::vector<RankExit> failures;
  // SIGINT or SIGTERM the launcher received and passed on to the ranks; 0 when none.
  int forwarded_signal = 0;
  bool ok() const { return failures.empty(); }
};

// Runs the ranks to completion. Each child gets MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and
// LOCAL_RANK (= RANK). When one rank fails, the others get SIGTERM, then SIGKILL after
// `grace`. SIGINT/SIGTERM to the launcher are passed on to the ranks.
LaunchResult launch(const LaunchOptions& options);

// A TCP port that was free on `address` a moment ago.
int64_t free_port(const std::string& address);

}  // namespace lunar::dist
