// Command execution for end-to-end tests, by lunar's process runner.
#include "support/process.h"

#include <unistd.h>

#include <array>
#include <cerrno>

#include "lunar/core/process.h"

namespace lunar::testing {

CommandResult run_command(const std::string& command) {
  SpawnOptions options;
  options.args = {"/bin/sh", "-c", command};
  options.output = Output::kMergedPipe;
  Process process(options);
  CommandResult result{-1, ""};
  std::array<char, 4096> buffer{};
  ssize_t count;
  while ((count = read(process.output_fd(), buffer.data(), buffer.size())) != 0) {
    if (count > 0) result.output.append(buffer.data(), static_cast<size_t>(count));
    if (count < 0 && errno != EINTR) break;
  }
  close(process.output_fd());
  const auto status = process.wait();
  result.code = status.signal == 0 ? status.code : -1;
  return result;
}

}  // namespace lunar::testing
