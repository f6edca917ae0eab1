// Run states from run folders, statuses, and the manifest sweep.json.
#include "lunar/study/plan.h"

#include <nlohmann/json.hpp>

#include "lunar/core/atomic_file.h"
#include "lunar/core/error.h"
#include "lunar/runs/layout.h"

namespace lunar::study {

namespace fs = std::filesystem;

RunState run_state(const fs::path& run_dir) {
  if (fs::exists(runs::summary_path(run_dir))) return RunState::kDone;
  if (fs::exists(runs::last_checkpoint(run_dir)) || fs::exists(runs::best_checkpoint(run_dir))) {
    return RunState::kResume;
  }
  return RunState::kNew;
}

const char* status_name(RunStatus status) {
  static constexpr const char* kNames[] = {"pending", "running", "done", "failed", "interrupted"};
  return kNames[static_cast<int>(status)];
}

FinishedRun read_finished_run(const fs::path& run_dir) {
  try {
    return {runs::read_summary(runs::summary_path(run_dir)), ""};
  } catch (const Error& error) {
    return {std::nullopt, error.what()};
  }
}

std::vector<PlannedRun> plan_sweep(const std::vector<GridRun>& runs, const fs::path& out) {
  std::vector<PlannedRun> planned;
  for (const auto& run : runs) {
    PlannedRun p{run, out / run.name, run_state(out / run.name), RunStatus::kPending, 0.0, {}};
    if (p.state == RunState::kDone) {
      p.earlier = read_finished_run(p.dir);
      p.status = RunStatus::kDone;
      if (p.earlier.results) p.seconds = p.earlier.results->seconds;
    }
    planned.push_back(p);
  }
  return planned;
}

PlanCounts count_states(const std::vector<PlannedRun>& runs) {
  PlanCounts counts;
  for (const auto& p : runs) {
    counts.to_run += p.state == RunState::kNew;
    counts.to_resume += p.state == RunState::kResume;
    counts.finished += p.state == RunState::kDone;
  }
  return counts;
}

RunStatus status_after(const CommandEnd& end, const fs::path& run_dir) {
  if (end.outcome == Outcome::kDone && fs::exists(runs::summary_path(run_dir))) {
    return RunStatus::kDone;
  }
  return end.outcome == Outcome::kInterrupted ? RunStatus::kInterrupted : RunStatus::kFailed;
}

void write_manifest(const ManifestHeader& header, const std::vector<PlannedRun>& runs) {
  nlohmann::ordered_json manifest;
  manifest["grid"] = header.grid;
  manifest["out"] = header.out.string();
  manifest["jobs"] = header.jobs;
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
         {"status", status_name(p.status)},
         {"seconds", p.seconds},
         {"command", command_line(train_arguments(header.executable, p.run, p.dir, false,
                                                  header.threads_per_job))}});
  }
  write_atomically(header.out / "sweep.json", manifest.dump(2) + "\n");
}

}  // namespace lunar::study
