// Local multi-process launcher: per-rank output pipes, failure propagation.
#include "lunar/dist/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "lunar/core/error.h"
#include "lunar/core/process.h"

namespace lunar::dist {
namespace {

std::atomic<int> g_forward_signal{0};
void remember_signal(int signal) { g_forward_signal = signal; }

struct Stream {
  int fd = -1;
  int64_t rank = 0;
  bool is_stderr = false;
  std::string pending;  // bytes after the last newline
};

std::string describe(const ExitStatus& status) {
  if (status.signal != 0) return fmt::format("was killed by signal {}", status.signal);
  return fmt::format("exited with status {}", status.code);
}

// A rank with the distributed-run variables, in its own process group: a Ctrl-C reaches the
// launcher only, which passes it on once (a second SIGINT would end `lunar train` without its
// checkpoint). The rank ends if the launcher dies.
Process start_rank(const LaunchOptions& options, int64_t rank, int64_t port) {
  SpawnOptions spawn;
  spawn.args = {options.program};
  spawn.args.insert(spawn.args.end(), options.arguments.begin(), options.arguments.end());
  spawn.environment = {{"MASTER_ADDR", options.master_addr},
                       {"MASTER_PORT", std::to_string(port)},
                       {"RANK", std::to_string(rank)},
                       {"WORLD_SIZE", std::to_string(options.nproc)},
                       {"LOCAL_RANK", std::to_string(rank)}};
  spawn.output = Output::kPipes;
  spawn.own_process_group = true;
  spawn.end_with_parent = true;
  return Process(spawn);
}

// Reads what is available on `stream`; returns false at end of file.
bool drain(Stream& stream, const LaunchOptions& options) {
  std::array<char, 4096> buffer{};
  const ssize_t count = read(stream.fd, buffer.data(), buffer.size());
  if (count < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (count > 0) stream.pending.append(buffer.data(), static_cast<size_t>(count));
  size_t newline;
  while ((newline = stream.pending.find('\n')) != std::string::npos) {
    if (options.on_line)
      options.on_line(stream.rank, stream.is_stderr, stream.pending.substr(0, newline));
    stream.pending.erase(0, newline + 1);
  }
  if (count > 0) return true;
  if (!stream.pending.empty() && options.on_line) {
    options.on_line(stream.rank, stream.is_stderr, stream.pending);
  }
  stream.pending.clear();
  close(stream.fd);
  stream.fd = -1;
  return false;
}

void signal_all(const std::vector<Process>& children, int signal) {
  for (const auto& child : children) child.signal(signal);
}

}  // namespace

int64_t free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "[launch] cannot open a socket: {}", std::strerror(errno));
  sockaddr_in socket_address{};
  socket_address.sin_family = AF_INET;
  socket_address.sin_port = 0;
  if (inet_pton(AF_INET, address.c_str(), &socket_address.sin_addr) != 1) {
    socket_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  socklen_t length = sizeof(socket_address);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&socket_address), length) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&socket_address), &length) == 0;
  const int saved = errno;
  close(fd);
  check(ok, "[launch] cannot find a free port on {}: {}", address, std::strerror(saved));
  return ntohs(socket_address.sin_port);
}

LaunchResult launch(const LaunchOptions& options) {
  check(options.nproc >= 1, "[launch] expected --nproc >= 1, got {}", options.nproc);
  check(!options.program.empty(), "[launch] expected a program to start");
  check(options.master_port >= 0 && options.master_port <= 65535,
        "[launch] expected a port in [0, 65535], got {}", options.master_port);
  LaunchResult result;
  result.master_port = options.master_port > 0 ? options.master_port : free_port("127.0.0.1");

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction previous_int {
  }, previous_term{};
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);
  g_forward_signal = 0;

  std::vector<Process> children;
  std::vector<Stream> streams;
  for (int64_t rank = 0; rank < options.nproc; ++rank) {
    children.push_back(start_rank(options, rank, result.master_port));
    streams.push_back({children.back().output_fd(), rank, false, ""});
    streams.push_back({children.back().error_fd(), rank, true, ""});
  }

  using Clock = std::chrono::steady_clock;
  bool stopping = false, killed = false, forwarded = false;
  Clock::time_point kill_at;
  size_t open_streams = streams.size(), running = children.size();
  while (open_streams > 0 || running > 0) {
    std::vector<pollfd> fds;
    std::vector<Stream*> polled;
    for (auto& stream : streams) {
      if (stream.fd < 0) continue;
      fds.push_back({stream.fd, POLLIN, 0});
      polled.push_back(&stream);
    }
    const int ready = poll(fds.data(), fds.size(), 100);
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (fds[i].revents != 0 && !drain(*polled[i], options)) --open_streams;
    }
    // Ranks that ended in the same round are taken in rank order.
    for (size_t rank = 0; rank < children.size(); ++rank) {
      const auto status = children[rank].poll();
      if (!status) continue;
      --running;
      if (status->ok()) continue;
      result.failures.push_back({static_cast<int64_t>(rank), describe(*status)});
      if (!stopping) {
        stopping = true;
        kill_at = Clock::now() + options.grace;
        signal_all(children, SIGTERM);
      }
    }
    if (g_forward_signal != 0 && !forwarded) {
      forwarded = true;
      signal_all(children, g_forward_signal);
    }
    if (stopping && !killed && Clock::now() >= kill_at) {
      killed = true;
      signal_all(children, SIGKILL);
    }
  }
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  if (forwarded) result.forwarded_signal = g_forward_signal;
  return result;
}

}  // namespace lunar::dist
