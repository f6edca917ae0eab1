// `lunar sweep`: runs every combination of a grid file as `lunar train` subprocesses, N at a time,
// skipping finished runs and resuming killed ones; or prints their commands for a scheduler.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/report/grid.h"
#include "lunar/report/run_data.h"
#include "lunar/train/config.h"
#include "lunar/train/signals.h"

extern char** environ;

namespace lunar::cli {

namespace {
namespace fs = std::filesystem;

struct SweepOptions {
  std::string grid;                    // a grid file, or:
  std::string config;                  // a base configuration with
  std::vector<std::string> grid_sets;  // axes key=v1,v2,... and
  std::vector<std::string> sets;       // fixed settings key=value
  std::string out = "runs/sweep";
  int jobs = 1;
  int threads_per_job = 0;
  bool emit_commands = false;
  bool dry_run = false;
  std::string only;  // run just this one (a scheduler's array task); no shared manifest
};

enum class State { kNew, kResume, kDone };

struct Planned {
  report::GridRun run;
  fs::path dir;
  State state = State::kNew;
  std::string status;  // pending | running | done | failed | interrupted
  double seconds = 0.0;
};

std::vector<std::string> assignments(const report::GridRun& run) {
  std::vector<std::string> out;
  for (const auto& s : run.overrides) out.push_back(s.key + "=" + s.value);
  return out;
}

// A finished run's results as its summary.json says them (the file the report reads), or why
// they cannot be read.
struct Finished {
  std::optional<report::RunResults> results;
  std::string error;
};

Finished finished_run(const fs::path& dir) {
  try {
    return {report::load_run(dir).results, ""};
  } catch (const Error& error) {
    return {std::nullopt, error.what()};
  }
}

std::string result_text(const Finished& finished) {
  if (!finished.results) return finished.error.empty() ? "" : ": " + finished.error;
  return fmt::format(": test accuracy {:.4f} (best checkpoint), majority class {:.4f}",
                     finished.results->test_accuracy_best, finished.results->majority_rate);
}

// The sweep's grid, from the grid file or from the command line.
report::Grid load_sweep_grid(const SweepOptions& options) {
  std::vector<std::string> keys;
  for (const auto& key : train::describe_keys()) keys.push_back(key.key);
  check(options.grid.empty() != options.config.empty(),
        "[sweep] expected either --grid FILE or --config FILE with --grid-set key=v1,v2");
  check(!options.grid.empty() || !options.grid_sets.empty(),
        "[sweep] --config: expected at least one --grid-set key=v1,v2,...");
  check(
      options.grid.empty() || (options.grid_sets.empty() && options.sets.empty()),
      "[sweep] --grid-set and --set go with --config; a grid file holds its own [grid] and [set]");
  if (!options.grid.empty()) return report::load_grid(options.grid, keys);
  return report::command_line_grid(fs::absolute(options.config).lexically_normal(),
                                   options.grid_sets, options.sets, keys);
}

// The arguments that name this sweep's grid, for commands that repeat the sweep.
std::vector<std::string> grid_arguments(const SweepOptions& options) {
  if (!options.grid.empty()) return {"--grid", fs::absolute(options.grid).lexically_normal()};
  std::vector<std::string> args{"--config", fs::absolute(options.config).lexically_normal()};
  for (const auto& axis : options.grid_sets) args.insert(args.end(), {"--grid-set", axis});
  for (const auto& fixed : options.sets) args.insert(args.end(), {"--set", fixed});
  return args;
}

// Expands the grid, checks every run's configuration as `lunar train` would, and leaves out the
// memory size of models without memory (their runs would otherwise repeat).
std::vector<report::GridRun> plan_runs(const report::Grid& grid) {
  std::map<std::string, bool> memoryless;
  for (const auto& run : report::expand_grid(grid)) {
    try {
      auto config = train::load_config(run.config);
      train::apply_overrides(config, assignments(run));
      memoryless[run.name] = !models::find_architecture(config.model.architecture).has_memory;
    } catch (const Error& error) {
      throw Error(
          fmt::format("[sweep] {}: run '{}': {}", grid.file.string(), run.name, error.what()));
    }
  }
  return report::drop_setting(report::expand_grid(grid), "model.luna.memory_len",
                              [&](const report::GridRun& run) { return memoryless.at(run.name); });
}

std::string command_line(const std::vector<std::string>& args) {
  std::string line;
  for (const auto& arg : args) line += (line.empty() ? "" : " ") + report::shell_quote(arg);
  return line;
}

void write_manifest(const SweepOptions& options, const std::vector<Planned>& runs,
                    const std::string& executable) {
  nlohmann::ordered_json manifest;
  manifest["grid"] = command_line(grid_arguments(options));
  manifest["out"] = fs::absolute(options.out).lexically_normal().string();
  manifest["jobs"] = options.jobs;
  manifest["runs"] = nlohmann::ordered_json::array();
  for (const auto& p : runs) {
    nlohmann::ordered_json settings = nlohmann::ordered_json::object();
    for (const auto& s : p.run.settings) settings[s.key] = s.value;
    nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
    for (const auto& s : p.run.overrides) overrides[s.key] = s.value;
    manifest["runs"].push_back(
        {{"name", p.run.name},
         {"config", p.run.config.string()},
         {"settings", settings},
         {"overrides", overrides},
         {"run_dir", p.dir.string()},
         {"log", (p.dir / "train.log").string()},
         {"status", p.status},
         {"seconds", p.seconds},
         {"command", command_line(report::train_arguments(executable, p.run, p.dir, false,
                                                          options.threads_per_job))}});
  }
  write_atomically(fs::path(options.out) / "sweep.json", manifest.dump(2) + "\n");
}

State state_of(const fs::path& dir) {
  if (fs::exists(dir / "summary.json")) return State::kDone;
  // `train --resume` continues from either checkpoint (the newer one).
  if (fs::exists(dir / "checkpoints" / "last.pt") || fs::exists(dir / "checkpoints" / "best.pt")) {
    return State::kResume;
  }
  return State::kNew;
}

// Each run gets its own process group, so a Ctrl-C reaches the sweep alone, which passes it on
// once (a second SIGINT would kill a run in the middle of its checkpoint).
pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  check(rc == 0, "[sweep] expected to start '{}', got error {}", args[0], rc);
  return pid;
}

void run_sweep(SweepOptions options) {
  check(options.jobs >= 1, "[sweep] --jobs: expected a positive number, got {}", options.jobs);
  check(options.threads_per_job >= 0, "[sweep] --threads-per-job: expected >= 0, got {}",
        options.threads_per_job);
  const std::string executable = fs::read_symlink("/proc/self/exe").string();
  auto runs = plan_runs(load_sweep_grid(options));
  const fs::path out = options.out;

  if (options.emit_commands) {
    // Each line is this sweep narrowed to one run, so a requeued task skips or resumes it.
    const auto out_dir = fs::absolute(out).lexically_normal().string();
    for (const auto& run : runs) {
      std::vector<std::string> args{executable, "sweep"};
      const auto grid = grid_arguments(options);
      args.insert(args.end(), grid.begin(), grid.end());
      args.insert(args.end(), {"--out", out_dir, "--only", run.name});
      if (options.threads_per_job > 0) {
        args.insert(args.end(), {"--threads-per-job", std::to_string(options.threads_per_job)});
      }
      fmt::print("{}\n", command_line(args));
    }
    return;
  }
  if (!options.only.empty()) {
    const auto found = std::find_if(
        runs.begin(), runs.end(), [&](const report::GridRun& r) { return r.name == options.only; });
    check(found != runs.end(), "[sweep] --only: the grid has no run named '{}' (see --dry-run)",
          options.only);
    runs = {*found};
  }
  if (options.threads_per_job == 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    options.threads_per_job = std::max(1, cores / options.jobs);
  }
  std::vector<Planned> planned;
  int counts[3] = {0, 0, 0};
  for (const auto& run : runs) {
    Planned p{run, out / run.name, state_of(out / run.name), "pending", 0.0};
    ++counts[static_cast<int>(p.state)];
    planned.push_back(p);
  }
  std::vector<std::string> earlier;  // finished by an earlier invocation: kept as they were
  for (auto& p : planned) {
    if (p.state != State::kDone) continue;
    const auto finished = finished_run(p.dir);
    p.status = "done";
    if (finished.results) p.seconds = finished.results->seconds;
    earlier.push_back(fmt::format("done    {} (earlier){}", p.run.name, result_text(finished)));
  }
  fmt::print(
      "lunar sweep: {} runs in {} ({} to run, {} to resume, {} finished), {} at a time, "
      "{} thread(s) each\n",
      planned.size(), out.string(), counts[0], counts[1], counts[2], options.jobs,
      options.threads_per_job);
  if (options.dry_run) {
    const char* names[] = {"run", "resume", "skip"};
    for (const auto& p : planned) {
      fmt::print("{:<7} {}\n", names[static_cast<int>(p.state)], p.run.name);
    }
    return;
  }
  for (const auto& line : earlier) fmt::print("{}\n", line);
  fs::create_directories(out);
  train::install_stop_handlers();
  const bool manifest = options.only.empty();  // array tasks would overwrite each other's
  if (manifest) write_manifest(options, planned, executable);

  std::map<pid_t, std::pair<size_t, std::chrono::steady_clock::time_point>> active;
  size_t next = 0;
  int finished = 0;
  const int total = counts[0] + counts[1];
  std::vector<std::string> failures;
  auto launch = [&](size_t i) {
    auto& p = planned[i];
    fs::create_directories(p.dir);
    const auto args = report::train_arguments(executable, p.run, p.dir, p.state == State::kResume,
                                              options.threads_per_job);
    active[spawn(args, p.dir / "train.log")] = {i, std::chrono::steady_clock::now()};
    p.status = "running";
    fmt::print("{} {}\n", p.state == State::kResume ? "resuming" : "started ", p.run.name);
    std::fflush(stdout);
  };
  int stopped_by = 0;  // SIGINT or SIGTERM: the running runs save their state, none starts
  while (true) {
    if (train::stop_requested() && stopped_by == 0) {
      stopped_by = train::stop_signal();
      for (const auto& entry : active) kill(entry.first, stopped_by);
    }
    while (stopped_by == 0 && active.size() < static_cast<size_t>(options.jobs) &&
           next < planned.size()) {
      if (planned[next].state != State::kDone) launch(next);
      ++next;
    }
    if (active.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);  // polled, so that a stop is seen at once
    if (pid < 0 && errno != EINTR) {
      throw Error(fmt::format("[sweep] waitpid failed with error {}", errno));
    }
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    const auto found = active.find(pid);
    if (found == active.end()) continue;
    auto& p = planned[found->second.first];
    p.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - found->second.second)
            .count();
    active.erase(found);
    ++finished;
    const bool ok =
        WIFEXITED(status) && WEXITSTATUS(status) == 0 && fs::exists(p.dir / "summary.json");
    // Stopped by the signal passed on: saved its state, or died of it before its handlers
    // were in place (then it had nothing to save, and starts afresh).
    const bool saved = stopped_by != 0 && ((WIFEXITED(status) && WEXITSTATUS(status) > 128) ||
                                           (WIFSIGNALED(status) && WTERMSIG(status) == stopped_by));
    p.status = ok ? "done" : saved ? "interrupted" : "failed";
    if (ok) {
      fmt::print("[{}/{}] done    {} ({:.0f} s){}\n", finished, total, p.run.name, p.seconds,
                 result_text(finished_run(p.dir)));
    } else if (saved) {
      fmt::print("[{}/{}] stopped {} (the same command continues it)\n", finished, total,
                 p.run.name);
    } else {
      const auto why = WIFEXITED(status)
                           ? fmt::format("exit status {}", WEXITSTATUS(status))
                           : fmt::format("signal {}", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      failures.push_back(
          fmt::format("{} ({}; log {})", p.run.name, why, (p.dir / "train.log").string()));
      fmt::print("[{}/{}] FAILED  {} ({}; log {})\n", finished, total, p.run.name, why,
                 (p.dir / "train.log").string());
    }
    std::fflush(stdout);
    if (manifest) write_manifest(options, planned, executable);
  }
  if (manifest) write_manifest(options, planned, executable);
  if (stopped_by != 0) {
    fmt::print("lunar sweep: stopped by signal {}; run the same command to resume\n", stopped_by);
    std::fflush(stdout);
    throw Interrupted{stopped_by};
  }
  if (!failures.empty()) {
    std::string list;
    for (const auto& f : failures) list += "\n  " + f;
    throw Error(fmt::format("[sweep] {} of {} runs failed:{}", failures.size(), total, list));
  }
  fmt::print("lunar sweep: all {} runs finished{}\n", planned.size(),
             manifest ? "; manifest " + (out / "sweep.json").string() : "");
}
}  // namespace

void register_sweep(CLI::App& app) {
  auto options = std::make_shared<SweepOptions>();
  auto* cmd = app.add_subcommand("sweep", "Run a grid of training runs (a study) from a grid file");
  cmd->add_option("--grid", options->grid, "grid file (configs/studies/...)");
  cmd->add_option("--config", options->config,
                  "base configuration of a command-line grid (instead of --grid)");
  cmd->add_option("--grid-set", options->grid_sets,
                  "with --config: an axis of the grid, key=v1,v2,... (repeatable)");
  cmd->add_option("--set", options->sets,
                  "with --config: a setting of every run, key=value (repeatable)");
  cmd->add_option("--out", options->out, "folder for the run directories and sweep.json")
      ->capture_default_str();
  cmd->add_option("-j,--jobs", options->jobs, "runs at once")->capture_default_str();
  cmd->add_option("--threads-per-job", options->threads_per_job,
                  "CPU threads per run; 0 = cores / jobs")
      ->capture_default_str();
  cmd->add_flag("--emit-commands", options->emit_commands,
                "print one command per run (this sweep with --only NAME, e.g. for a Slurm array) "
                "and run nothing");
  cmd->add_option("--only", options->only,
                  "run only the named run (skipped if finished, resumed if interrupted)");
  cmd->add_flag("--dry-run", options->dry_run, "print what would run, resume or be skipped");
  cmd->callback([options] { run_sweep(*options); });
}

}  // namespace lunar::cli
