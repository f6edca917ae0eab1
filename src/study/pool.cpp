// The process pool of `lunar sweep`: polled, so that a stop request is seen while commands run.
#include "lunar/study/pool.h"

#include <fmt/format.h>

#include <chrono>
#include <thread>

#include "lunar/core/error.h"

namespace lunar::study {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

struct Started {
  size_t index = 0;
  Process process;
  Clock::time_point start;
};

Process start_command(const PoolCommand& command) {
  fs::create_directories(command.log.parent_path());
  SpawnOptions spawn;
  spawn.args = command.args;
  spawn.output = Output::kFile;
  spawn.file = command.log;
  spawn.null_stdin = true;
  spawn.own_process_group = true;
  return Process(spawn);
}

Outcome outcome_of(const ExitStatus& status, int stopped_by) {
  if (status.ok()) return Outcome::kDone;
  const bool interrupted = stopped_by != 0 && (status.code > 128 || status.signal == stopped_by);
  return interrupted ? Outcome::kInterrupted : Outcome::kFailed;
}

}  // namespace

std::string describe_exit(const ExitStatus& status) {
  if (status.signal != 0) return fmt::format("signal {}", status.signal);
  return fmt::format("exit status {}", status.code);
}

int run_pool(const std::vector<PoolCommand>& commands, const PoolOptions& options) {
  check(options.jobs >= 1, "[pool] expected at least 1 job at once, got {}", options.jobs);
  std::vector<Started> active;
  size_t next = 0;
  int stopped_by = 0;
  while (true) {
    if (stopped_by == 0 && options.stop_signal) {
      stopped_by = options.stop_signal();
      for (const auto& started : active) {
        if (stopped_by != 0) started.process.signal(stopped_by);
      }
    }
    while (stopped_by == 0 && active.size() < static_cast<size_t>(options.jobs) &&
           next < commands.size()) {
      active.push_back({next, start_command(commands[next]), Clock::now()});
      if (options.on_start) options.on_start(next);
      ++next;
    }
    if (active.empty()) break;
    bool ended = false;
    for (auto it = active.begin(); it != active.end();) {
      const auto status = it->process.poll();
      if (!status) {
        ++it;
        continue;
      }
      const CommandEnd end{it->index, outcome_of(*status, stopped_by), *status,
                           std::chrono::duration<double>(Clock::now() - it->start).count()};
      it = active.erase(it);
      ended = true;
      if (options.on_end) options.on_end(end);
    }
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return stopped_by;
}

}  // namespace lunar::study
