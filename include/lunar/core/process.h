// Child processes: start a program with its output sent to a file or to pipes, poll or wait for
// its end, signal it. One runner for `lunar sweep`'s pool, `lunar launch`'s ranks and the tests.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lunar {

// Where the child's standard output and standard error go.
enum class Output {
  kFile,        // both appended to SpawnOptions::file (created with mode 0644)
  kPipes,       // one pipe each: Process::output_fd and Process::error_fd
  kMergedPipe,  // both into one pipe: Process::output_fd
};

struct SpawnOptions {
  std::vector<std::string> args;  // args[0] is the program's path (PATH is not searched)
  std::vector<std::pair<std::string, std::string>> environment;  // set over the parent's
  Output output = Output::kMergedPipe;
  std::filesystem::path file;  // with Output::kFile
  bool null_stdin = false;     // read /dev/null instead of the parent's stdin
  // Its own process group, so a Ctrl-C at the terminal reaches the parent alone, which can pass
  // it on once (a second SIGINT would end `lunar train` in the middle of its checkpoint).
  bool own_process_group = false;
  bool end_with_parent = false;  // SIGTERM when the parent's thread that started it ends
};

// How a child ended: exited with `code`, or killed by `signal`.
struct ExitStatus {
  int code = -1;   // -1 when killed by a signal
  int signal = 0;  // 0 when it exited
  bool ok() const { return signal == 0 && code == 0; }
};

// A started child. The pipe read ends belong to the caller, who reads and closes them. A process
// that is never waited for stays a zombie until the parent ends.
class Process {
 public:
  // Throws lunar::Error `[process] expected to start 'PROGRAM', got: REASON` when the program
  // cannot be executed (no such file, not executable) or the pipes or log file cannot be opened.
  explicit Process(const SpawnOptions& options);
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  Process(Process&&) = default;
  Process& operator=(Process&&) = default;

  pid_t pid() const { return pid_; }
  int output_fd() const { return output_fd_; }  // -1 with Output::kFile
  int error_fd() const { return error_fd_; }    // -1 unless Output::kPipes
  bool running() const { return running_; }

  // The exit status once the child has ended (it is then reaped); nullopt while it runs and
  // after it was reaped.
  std::optional<ExitStatus> poll();
  // Blocks until the child ends.
  ExitStatus wait();
  // Sends `signal` to the child; nothing once it was reaped (its pid may belong to another).
  void signal(int signal) const;

 private:
  std::optional<ExitStatus> reap(bool block);

  pid_t pid_ = -1;
  int output_fd_ = -1;
  int error_fd_ = -1;
  bool running_ = false;
};

}  // namespace lunar
