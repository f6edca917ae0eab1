// Child processes by fork and execve. Everything the child needs is prepared before the fork:
// in a multi-threaded parent (LibTorch's pools) the child may only make async-signal-safe calls.
#include "lunar/core/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lunar/core/error.h"

extern char** environ;

namespace lunar {

namespace {

void close_all(std::initializer_list<int> fds) {
  for (const int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

// The parent's environment with `overrides` set over it, as NAME=VALUE strings.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> entries;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const auto name = text.substr(0, text.find('='));
    bool overridden = false;
    for (const auto& [key, value] : overrides) overridden = overridden || key == name;
    if (!overridden) entries.push_back(text);
  }
  for (const auto& [key, value] : overrides) entries.push_back(key + "=" + value);
  return entries;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Process::Process(const SpawnOptions& options) {
  check(!options.args.empty(), "[process] expected a program to start, got no arguments");
  const auto& program = options.args.front();
  std::vector<std::string> args = options.args;
  std::vector<std::string> environment = child_environment(options.environment);
  const auto argv = pointers(args);
  const auto envp = pointers(environment);

  int out[2] = {-1, -1}, err[2] = {-1, -1}, exec_error[2] = {-1, -1};
  int file_fd = -1, null_fd = -1;
  const auto fail = [&](const std::string& reason) {
    close_all({out[0], out[1], err[0], err[1], exec_error[0], exec_error[1], file_fd, null_fd});
    throw Error(fmt::format("[process] expected to start '{}', got: {}", program, reason));
  };
  if (options.output == Output::kFile) {
    file_fd = open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (file_fd < 0) fail(fmt::format("{} ({})", std::strerror(errno), options.file.string()));
  } else if (pipe2(out, O_CLOEXEC) != 0) {
    fail(std::strerror(errno));
  }
  if (options.output == Output::kPipes && pipe2(err, O_CLOEXEC) != 0) fail(std::strerror(errno));
  if (options.null_stdin && (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
    fail(std::strerror(errno));
  }
  // Closed by a successful exec; otherwise the child writes its errno into it.
  if (pipe2(exec_error, O_CLOEXEC) != 0) fail(std::strerror(errno));

  const int stdout_fd = options.output == Output::kFile ? file_fd : out[1];
  const int stderr_fd = options.output == Output::kPipes ? err[1] : stdout_fd;
  const pid_t pid = fork();
  if (pid < 0) fail(std::strerror(errno));
  if (pid == 0) {
    if (options.own_process_group) setpgid(0, 0);
    if (options.end_with_parent) prctl(PR_SET_PDEATHSIG, SIGTERM);
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(stdout_fd, STDOUT_FILENO);
    dup2(stderr_fd, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    const int error = errno;
    (void)!write(exec_error[1], &error, sizeof(error));
    _exit(127);
  }
  close_all({out[1], err[1], exec_error[1], file_fd, null_fd});
  pid_ = pid;
  output_fd_ = out[0];
  error_fd_ = err[0];
  running_ = true;
  int error = 0;
  ssize_t count;
  while ((count = read(exec_error[0], &error, sizeof(error))) < 0 && errno == EINTR) {
  }
  close(exec_error[0]);
  if (count == static_cast<ssize_t>(sizeof(error))) {
    wait();
    close_all({output_fd_, error_fd_});
    throw Error(
        fmt::format("[process] expected to start '{}', got: {}", program, std::strerror(error)));
  }
}

std::optional<ExitStatus> Process::reap(bool block) {
  if (!running_) return std::nullopt;
  int status = 0;
  pid_t result;
  while ((result = waitpid(pid_, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  check(result >= 0, "[process] expected to wait for process {}, got: {}", pid_,
        std::strerror(errno));
  if (result == 0) return std::nullopt;
  running_ = false;
  if (WIFEXITED(status)) return ExitStatus{WEXITSTATUS(status), 0};
  return ExitStatus{-1, WTERMSIG(status)};
}

std::optional<ExitStatus> Process::poll() { return reap(false); }

ExitStatus Process::wait() {
  check(running_, "[process] expected a running process to wait for, got process {} reaped", pid_);
  return *reap(true);
}

void Process::signal(int signal) const {
  if (running_) kill(pid_, signal);
}

}  // namespace lunar
