// `lunar sweep`: runs every combination of a grid file as `lunar train` subprocesses, N at a time,
// skipping finished runs and resuming killed ones; or prints their commands for a scheduler.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "lunar/core/error.h"
#include "lunar/models/registry.h"
#include "lunar/study/grid.h"
#include "lunar/study/plan.h"
#include "lunar/study/pool.h"
#include "lunar/train/config.h"
#include "lunar/train/signals.h"

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

std::vector<std::string> assignments(const study::GridRun& run) {
  std::vector<std::string> out;
  for (const auto& s : run.overrides) out.push_back(s.key + "=" + s.value);
  return out;
}

std::string result_text(const study::FinishedRun& finished) {
  if (!finished.results) return finished.error.empty() ? "" : ": " + finished.error;
  return fmt::format(": test accuracy {:.4f} (best checkpoint), majority class {:.4f}",
                     finished.results->test_accuracy_best, finished.results->majority_rate);
}

// The sweep's grid, from the grid file or from the command line.
study::Grid load_sweep_grid(const SweepOptions& options) {
  std::vector<std::string> keys;
  for (const auto& key : train::describe_keys()) keys.push_back(key.key);
  check(options.grid.empty() != options.config.empty(),
        "[sweep] expected either --grid FILE or --config FILE with --grid-set key=v1,v2");
  check(!options.grid.empty() || !options.grid_sets.empty(),
        "[sweep] --config: expected at least one --grid-set key=v1,v2,...");
  check(
      options.grid.empty() || (options.grid_sets.empty() && options.sets.empty()),
      "[sweep] --grid-set and --set go with --config; a grid file holds its own [grid] and [set]");
  if (!options.grid.empty()) return study::load_grid(options.grid, keys);
  return study::command_line_grid(fs::absolute(options.config).lexically_normal(),
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
std::vector<study::GridRun> plan_runs(const study::Grid& grid) {
  std::map<std::string, bool> memoryless;
  for (const auto& run : study::expand_grid(grid)) {
    try {
      auto config = train::load_config(run.config);
      train::apply_overrides(config, assignments(run));
      memoryless[run.name] = !models::find_architecture(config.model.architecture).has_memory;
    } catch (const Error& error) {
      throw Error(
          fmt::format("[sweep] {}: run '{}': {}", grid.file.string(), run.name, error.what()));
    }
  }
  return study::drop_setting(study::expand_grid(grid), "model.luna.memory_len",
                             [&](const study::GridRun& run) { return memoryless.at(run.name); });
}

// Prints one command per run: this sweep narrowed to the run, so a requeued task skips or
// resumes it.
void emit_commands(const SweepOptions& options, const std::string& executable,
                   const std::vector<study::GridRun>& runs) {
  const auto out_dir = fs::absolute(options.out).lexically_normal().string();
  for (const auto& run : runs) {
    std::vector<std::string> args{executable, "sweep"};
    const auto grid = grid_arguments(options);
    args.insert(args.end(), grid.begin(), grid.end());
    args.insert(args.end(), {"--out", out_dir, "--only", run.name});
    if (options.threads_per_job > 0) {
      args.insert(args.end(), {"--threads-per-job", std::to_string(options.threads_per_job)});
    }
    fmt::print("{}\n", study::command_line(args));
  }
}

void run_sweep(SweepOptions options) {
  check(options.jobs >= 1, "[sweep] --jobs: expected a positive number, got {}", options.jobs);
  check(options.threads_per_job >= 0, "[sweep] --threads-per-job: expected >= 0, got {}",
        options.threads_per_job);
  const std::string executable = fs::read_symlink("/proc/self/exe").string();
  auto runs = plan_runs(load_sweep_grid(options));
  const fs::path out = options.out;
  if (options.emit_commands) return emit_commands(options, executable, runs);
  if (!options.only.empty()) {
    const auto found = std::find_if(
        runs.begin(), runs.end(), [&](const study::GridRun& r) { return r.name == options.only; });
    check(found != runs.end(), "[sweep] --only: the grid has no run named '{}' (see --dry-run)",
          options.only);
    runs = {*found};
  }
  if (options.threads_per_job == 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    options.threads_per_job = std::max(1, cores / options.jobs);
  }
  auto planned = study::plan_sweep(runs, out);
  const auto counts = study::count_states(planned);
  fmt::print(
      "lunar sweep: {} runs in {} ({} to run, {} to resume, {} finished), {} at a time, "
      "{} thread(s) each\n",
      planned.size(), out.string(), counts.to_run, counts.to_resume, counts.finished, options.jobs,
      options.threads_per_job);
  if (options.dry_run) {
    const char* names[] = {"run", "resume", "skip"};
    for (const auto& p : planned) {
      fmt::print("{:<7} {}\n", names[static_cast<int>(p.state)], p.run.name);
    }
    return;
  }
  for (const auto& p : planned) {
    if (p.state == study::RunState::kDone) {
      fmt::print("done    {} (earlier){}\n", p.run.name, result_text(p.earlier));
    }
  }
  fs::create_directories(out);
  train::install_stop_handlers();
  const bool manifest = options.only.empty();  // array tasks would overwrite each other's
  const study::ManifestHeader header{study::command_line(grid_arguments(options)),
                                     fs::absolute(out).lexically_normal(), options.jobs, executable,
                                     options.threads_per_job};
  const auto update_manifest = [&] {
    if (manifest) study::write_manifest(header, planned);
  };
  update_manifest();

  std::vector<size_t> to_run;  // indices into `planned` of the runs not finished earlier
  std::vector<study::PoolCommand> commands;
  for (size_t i = 0; i < planned.size(); ++i) {
    const auto& p = planned[i];
    if (p.state == study::RunState::kDone) continue;
    to_run.push_back(i);
    commands.push_back(
        {study::train_arguments(executable, p.run, p.dir, p.state == study::RunState::kResume,
                                options.threads_per_job),
         p.dir / "train.log"});
  }
  int finished = 0;
  const int total = static_cast<int>(commands.size());
  std::vector<std::string> failures;
  study::PoolOptions pool;
  pool.jobs = options.jobs;
  pool.stop_signal = [] { return train::stop_requested() ? train::stop_signal() : 0; };
  pool.on_start = [&](size_t index) {
    auto& p = planned[to_run[index]];
    p.status = study::RunStatus::kRunning;
    fmt::print("{} {}\n", p.state == study::RunState::kResume ? "resuming" : "started ",
               p.run.name);
    std::fflush(stdout);
  };
  pool.on_end = [&](const study::CommandEnd& end) {
    auto& p = planned[to_run[end.index]];
    p.seconds = end.seconds;
    p.status = study::status_after(end, p.dir);
    ++finished;
    const auto log = (p.dir / "train.log").string();
    if (p.status == study::RunStatus::kDone) {
      fmt::print("[{}/{}] done    {} ({:.0f} s){}\n", finished, total, p.run.name, p.seconds,
                 result_text(study::read_finished_run(p.dir)));
    } else if (p.status == study::RunStatus::kInterrupted) {
      fmt::print("[{}/{}] stopped {} (the same command continues it)\n", finished, total,
                 p.run.name);
    } else {
      const auto why = study::describe_exit(end.status);
      failures.push_back(fmt::format("{} ({}; log {})", p.run.name, why, log));
      fmt::print("[{}/{}] FAILED  {} ({}; log {})\n", finished, total, p.run.name, why, log);
    }
    std::fflush(stdout);
    update_manifest();
  };
  const int stopped_by = study::run_pool(commands, pool);
  update_manifest();
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
