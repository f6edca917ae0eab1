// `lunar launch --nproc N [--master-port P] -- <lunar arguments>`: N local ranks of one lunar
// command (e.g. `train`), their output prefixed with the rank.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/dist/launcher.h"

namespace lunar::cli {

namespace {
struct LaunchCommand {
  int64_t nproc = 2;
  int64_t master_port = 0;
  std::vector<std::string> arguments;
};

void run_launch(const LaunchCommand& command) {
  check(!command.arguments.empty(),
        "[launch] expected the lunar command to run after --, e.g. "
        "`lunar launch --nproc 2 -- train --config F`");
  dist::LaunchOptions options;
  options.nproc = command.nproc;
  options.master_port = command.master_port;
  options.program = "/proc/self/exe";
  options.arguments = command.arguments;
  options.on_line = [](int64_t rank, bool is_stderr, const std::string& line) {
    std::FILE* stream = is_stderr ? stderr : stdout;
    fmt::print(stream, "[rank {}] {}\n", rank, line);
    std::fflush(stream);
  };
  const auto result = dist::launch(options);
  // Interrupted ranks save their state and exit 130/143; the launcher reports the same.
  if (result.forwarded_signal != 0) throw Interrupted{result.forwarded_signal};
  if (result.ok()) return;
  const auto& first = result.failures.front();
  std::string others;
  for (size_t i = 1; i < result.failures.size(); ++i) {
    others += fmt::format("; then rank {} {}", result.failures[i].rank, result.failures[i].how);
  }
  throw Error(fmt::format("[launch] rank {} {} (the first to fail; the others were stopped){}",
                          first.rank, first.how, others));
}
}  // namespace

void register_launch(CLI::App& app) {
  auto command = std::make_shared<LaunchCommand>();
  auto* cmd = app.add_subcommand(
      "launch", "Start N local ranks of a distributed lunar command (lunar launch -- train ...)");
  cmd->add_option("--nproc", command->nproc, "number of local ranks")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--master-port", command->master_port, "rendezvous port; 0 = a free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("arguments", command->arguments, "the lunar command after --")->required();
  cmd->callback([command] { run_launch(*command); });
}

}  // namespace lunar::cli
